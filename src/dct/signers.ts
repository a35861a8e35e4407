/**
 * `vouch trust signer add` / `signer remove`, as docker does them
 * (docker/cli cli/command/trust/signer_add.go, signer_remove.go;
 * docs/formats.md "How Docker Content Trust uses notary"): a signer NAME is
 * the delegation `targets/NAME`,
 * and each signer's keys are also keys of `targets/releases`, the role
 * `docker pull` trusts first; both with paths `[""]` (every tag),
 * threshold 1. Adding a signer to a repository without trust data
 * initialises it.
 */
import type { KeyObject } from 'node:crypto';
import { invalid } from '../core/errors.ts';
import { publicKeyJson } from '../formats/notary/encode.ts';
import { notaryKeyId } from '../formats/notary/keys.ts';
import type { TargetsSignedJson } from './draft.ts';
import { RELEASES_ROLE, TARGETS_ROLE } from './lookup.ts';
import { openDraft, publishDraft, type TrustWriteOptions } from './publish.ts';

/** docker/cli signer_add.go `validSignerName`: lower-case letters, digits, `_` and `-`; not "releases". */
const SIGNER_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export function checkSignerName(name: string): void {
  if (!SIGNER_NAME.test(name) || name.length > 200) {
    throw invalid(
      'USAGE',
      `signer name ${JSON.stringify(name)} must be lower-case letters, digits, "_" and "-"`,
    );
  }
  if (name === 'releases')
    throw invalid('USAGE', '"releases" is reserved and cannot be a signer name');
}

export interface SignerChange {
  readonly gun: string;
  readonly name: string;
  /** Canonical IDs of the signer's keys. */
  readonly keyIds: readonly string[];
  readonly initialised: boolean;
}

export async function addSigner(
  gun: string,
  name: string,
  publicKeys: readonly KeyObject[],
  options: TrustWriteOptions,
): Promise<SignerChange> {
  checkSignerName(name);
  const { draft, initialised } = await openDraft(gun, options);
  const targets = draft.editTargets(TARGETS_ROLE);
  const ids = publicKeys.map((key) => {
    const kind = key.asymmetricKeyType;
    if (kind !== 'ec' && kind !== 'rsa') {
      throw invalid(
        'NOTARY_KEY_INVALID',
        `signer keys must be ECDSA or RSA, not ${kind ?? 'unknown'}`,
      );
    }
    const spki = key.export({ format: 'der', type: 'spki' });
    const type = kind === 'ec' ? 'ecdsa' : 'rsa';
    const id = notaryKeyId(type, spki);
    targets.delegations.keys[id] = publicKeyJson(type, spki);
    return id;
  });
  for (const role of [`targets/${name}`, RELEASES_ROLE]) upsertDelegation(targets, role, ids);
  await publishDraft(draft, options);
  return { gun, name, keyIds: ids, initialised };
}

export async function removeSigner(
  gun: string,
  name: string,
  options: TrustWriteOptions,
): Promise<SignerChange> {
  checkSignerName(name);
  const { draft, initialised } = await openDraft(gun, options);
  const role = `targets/${name}`;
  const existing = draft
    .targets(TARGETS_ROLE)
    ?.delegations.roles.find((candidate) => candidate.name === role);
  if (initialised || existing === undefined) {
    throw invalid('NOTARY_SIGNER_NOT_FOUND', `${gun} has no signer ${JSON.stringify(name)}`);
  }
  const targets = draft.editTargets(TARGETS_ROLE);
  targets.delegations.roles = targets.delegations.roles.filter(
    (candidate) => candidate.name !== role,
  );
  const stillUsed = new Set(
    targets.delegations.roles.filter((r) => r.name !== RELEASES_ROLE).flatMap((r) => r.keyids),
  );
  const releases = targets.delegations.roles.find((candidate) => candidate.name === RELEASES_ROLE);
  if (releases !== undefined) {
    const remaining = releases.keyids.filter(
      (id) => !existing.keyids.includes(id) || stillUsed.has(id),
    );
    if (remaining.length === 0) {
      throw invalid(
        'NOTARY_LAST_RELEASE_SIGNER',
        `${name} holds the last key of ${RELEASES_ROLE} of ${gun}; add another signer before removing it`,
      );
    }
    releases.keyids = remaining;
    releases.threshold = Math.min(releases.threshold, remaining.length);
  }
  const referenced = new Set(targets.delegations.roles.flatMap((r) => r.keyids));
  for (const id of Object.keys(targets.delegations.keys)) {
    if (!referenced.has(id)) delete targets.delegations.keys[id];
  }
  draft.roles.delete(role);
  draft.changedRoles.delete(role);
  draft.removedRoles.add(role);
  await publishDraft(draft, options);
  return { gun, name, keyIds: existing.keyids, initialised: false };
}

function upsertDelegation(targets: TargetsSignedJson, role: string, ids: readonly string[]): void {
  const existing = targets.delegations.roles.find((candidate) => candidate.name === role);
  if (existing === undefined) {
    targets.delegations.roles.push({ keyids: [...ids], name: role, paths: [''], threshold: 1 });
    return;
  }
  for (const id of ids) if (!existing.keyids.includes(id)) existing.keyids.push(id);
}
