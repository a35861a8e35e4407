/**
 * `vouch trust sign` and `vouch trust revoke`: add a tag to, or remove tags
 * from, the roles this signer can sign, as `docker trust sign` / `revoke` do
 * (docker/cli cli/trust/trust.go `GetSignableRoles`, cli/trust/trust_push.go,
 * cli/command/trust/revoke.go). A target is the tag's manifest:
 * `{"hashes":{"sha256":<digest bytes>},"length":<manifest bytes>}`
 * (docs/formats.md "How Docker Content Trust uses notary").
 */
import { invalid } from '../core/errors.ts';
import type { Digest } from '../oci/digest.ts';
import { digestHex } from '../oci/digest.ts';
import { type RepositoryDraft } from './draft.ts';
import { RELEASES_ROLE, TARGETS_ROLE } from './lookup.ts';
import { openDraft, publishDraft, type TrustWriteOptions } from './publish.ts';
import { signedTag } from './verify-notary.ts';

export interface TagSignature {
  readonly gun: string;
  readonly tag: string;
  readonly digest: Digest;
  readonly length: number;
  /** The roles the tag was written to. */
  readonly roles: readonly string[];
  /** Whether the repository's trust data was created by this call. */
  readonly initialised: boolean;
}

/**
 * The roles a tag is signed into: with no delegations, `targets`; otherwise
 * every direct child of `targets` whose paths cover the tag and whose keys
 * the key store holds (docker's `GetSignableRoles`, which puts a signer's tag
 * in `targets/releases` and `targets/<signer>` alike); `targets` when none
 * qualifies and the targets key is at hand.
 */
export async function signableRoles(
  draft: RepositoryDraft,
  tag: string,
  options: Pick<TrustWriteOptions, 'keyStore'>,
): Promise<string[]> {
  const targets = draft.targets(TARGETS_ROLE);
  const roles: string[] = [];
  for (const delegation of targets?.delegations.roles ?? []) {
    const direct = delegation.name.split('/').length === 2;
    const covers = (delegation.paths ?? []).some((prefix) => tag.startsWith(prefix));
    if (direct && covers && (await draft.canSign(delegation.name, options.keyStore))) {
      roles.push(delegation.name);
    }
  }
  if (roles.length > 0)
    return roles.sort((a, b) =>
      a === RELEASES_ROLE ? -1 : b === RELEASES_ROLE ? 1 : a < b ? -1 : 1,
    );
  if (await draft.canSign(TARGETS_ROLE, options.keyStore)) return [TARGETS_ROLE];
  throw invalid(
    'NOTARY_KEY_MISSING',
    `no key in the key store can sign ${draft.gun}: neither the repository key nor a key of one of its signers (${(targets?.delegations.roles ?? []).map((role) => role.name).join(', ') || 'none'})`,
  );
}

/** Signs `tag` of `gun` as the manifest `digest` of `length` bytes, initialising the repository if needed. */
export async function signTag(
  gun: string,
  tag: string,
  manifest: { readonly digest: Digest; readonly size: number },
  options: TrustWriteOptions,
): Promise<TagSignature> {
  const { draft, initialised } = await openDraft(gun, options);
  const roles = await signableRoles(draft, tag, options);
  const meta = {
    hashes: { sha256: Buffer.from(digestHex(manifest.digest), 'hex').toString('base64') },
    length: manifest.size,
  };
  for (const role of roles) draft.editTargets(role).targets[tag] = meta;
  const published = await publishDraft(draft, options);
  // What a pull resolves the tag to now must be what was just signed.
  const resolved = signedTag(published.repository, tag);
  if (resolved.digest !== manifest.digest || resolved.length !== manifest.size) {
    throw invalid(
      'NOTARY_TAG_SHADOWED',
      `${gun}:${tag} was signed into ${roles.join(', ')}, but pulls resolve it through ${resolved.role} to ${resolved.digest}`,
    );
  }
  return { gun, tag, digest: manifest.digest, length: manifest.size, roles, initialised };
}

export interface Revocation {
  readonly gun: string;
  /** Each revoked tag with the roles it was removed from. */
  readonly revoked: ReadonlyArray<{ readonly tag: string; readonly roles: readonly string[] }>;
}

/**
 * Removes `tag` (every tag when undefined) from the roles this signer can
 * sign. A tag no such role holds is `invalid` NOTARY_TARGET_NOT_FOUND.
 */
export async function revokeTags(
  gun: string,
  tag: string | undefined,
  options: TrustWriteOptions,
): Promise<Revocation> {
  const { draft, initialised } = await openDraft(gun, options);
  if (initialised) throw invalid('NOTARY_NO_TRUST_DATA', `${gun} has no trust data to revoke`);
  const roles = await signableRoles(draft, tag ?? '', options);
  const revoked = new Map<string, string[]>();
  for (const role of roles) {
    const signed = draft.targets(role);
    const names = Object.keys(signed?.targets ?? {}).filter(
      (name) => tag === undefined || name === tag,
    );
    if (names.length === 0) continue;
    const edited = draft.editTargets(role);
    for (const name of names) {
      delete edited.targets[name];
      revoked.set(name, [...(revoked.get(name) ?? []), role]);
    }
  }
  if (revoked.size === 0) {
    throw invalid(
      'NOTARY_TARGET_NOT_FOUND',
      `${gun}${tag === undefined ? '' : `:${tag}`}: no signature in ${roles.join(', ')} to revoke`,
    );
  }
  await publishDraft(draft, options);
  return { gun, revoked: [...revoked].map(([name, from]) => ({ tag: name, roles: from })) };
}
