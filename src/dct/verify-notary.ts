/**
 * `vouch verify --notary`: Docker Content Trust verification of an image tag.
 * Evidence first (the trust store, the notary server's metadata, the
 * registry's manifest for the tag), then pure decisions: `update.ts` decides
 * which metadata to trust (`refresh.ts` reads, fetches and saves it); `signedTag` which digest and length the tag is
 * signed for (docker/cli cli/command/image/trust.go `convertTarget`), and
 * `checkServedManifest` that the registry serves exactly that manifest for
 * the tag.
 */
import { denied, invalid, isVouchError, type VouchError } from '../core/errors.ts';
import { canonicalKeyId } from '../formats/notary/keys.ts';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import { parseReference, repositoryName, withDefaultTag } from '../oci/reference.ts';
import type { Stores } from '../registry/open.ts';
import type { ImageStatus } from '../verify/verify.ts';
import { DOCKER_TRUSTED_ROLES, findTarget } from './lookup.ts';
import { type RefreshOptions, refreshRepository } from './refresh.ts';
import type { TrustedRepository } from './update.ts';

export interface NotaryVerifyOptions extends RefreshOptions {
  /**
   * Repositories already updated in this run, by server and GUN: given the
   * same map, every tag of a repository after the first is looked up in the
   * data its first update verified (one run, one update per repository, as
   * `notary lookup` of several tags would want). The caller keeps it for one
   * run only, with the same pins throughout.
   */
  readonly updated?: Map<string, TrustedRepository>;
}

export interface RejectedRole {
  readonly role: string;
  readonly code: string;
  readonly message: string;
}

export interface NotaryVerification {
  readonly image: string;
  readonly gun: string;
  readonly tag: string;
  readonly status: ImageStatus;
  /** The signed digest, once the tag resolved through the trust data. */
  readonly digest?: Digest;
  readonly length?: number;
  /** The role that vouched for the tag: `targets/releases` or `targets`. */
  readonly role?: string;
  /** Canonical IDs of the keys whose signatures on that role verified. */
  readonly signers?: readonly string[];
  /** Delegations skipped during the update, with why. */
  readonly rejectedRoles: readonly RejectedRole[];
  readonly error?: VouchError;
}

export interface SignedTag {
  readonly digest: Digest;
  readonly length: number;
  readonly role: string;
  readonly signers: readonly string[];
}

/**
 * The tag as the trust data signs it. Throws `denied` unless a role docker
 * trusts for pulls signs it with a sha256 digest.
 */
export function signedTag(repository: TrustedRepository, tag: string): SignedTag {
  const target = findTarget(repository, tag);
  if (target === undefined || !(DOCKER_TRUSTED_ROLES as readonly string[]).includes(target.role)) {
    const skipped = [...repository.rejected.keys()];
    throw denied(
      'NOTARY_TARGET_NOT_FOUND',
      `no trust data for ${repository.gun}:${tag}` +
        (target === undefined
          ? ''
          : `: only ${target.role} signs it, and docker trusts only ${DOCKER_TRUSTED_ROLES.join(' and ')}`) +
        (skipped.length === 0 ? '' : ` (roles refused: ${skipped.join(', ')})`),
    );
  }
  const sha256 = target.meta.hashes.get('sha256');
  if (sha256 === undefined) {
    throw denied('NOTARY_TARGET_INVALID', `${target.role} signs ${tag} without a sha256 digest`);
  }
  const verified = repository.targets.get(target.role);
  return {
    digest: `sha256:${Buffer.from(sha256).toString('hex')}` as Digest,
    length: target.meta.length,
    role: target.role,
    signers: target.signers.map((id) => {
      const key = verified?.keys.get(id);
      return key === undefined ? id : canonicalKeyId(key);
    }),
  };
}

/** The manifest the registry serves for the tag must be exactly the signed one. */
export function checkServedManifest(
  where: string,
  signed: SignedTag,
  served: Pick<Descriptor, 'digest' | 'size'>,
): void {
  if (served.digest !== signed.digest || served.size !== signed.length) {
    throw denied(
      'NOTARY_DIGEST_MISMATCH',
      `${where} is signed as ${signed.digest} (${signed.length} bytes), the registry serves ${served.digest} (${served.size} bytes)`,
    );
  }
}

/** Verifies one `IMAGE:TAG` through its notary server; a VouchError becomes the result. */
export async function verifyNotaryImage(
  image: string,
  stores: Stores,
  options: NotaryVerifyOptions,
): Promise<NotaryVerification> {
  let gun = '';
  let tag = '';
  let repository: TrustedRepository | undefined;
  let signed: SignedTag | undefined;
  try {
    const reference = withDefaultTag(parseReference(image.replace(/^docker:\/\//, '')));
    gun = repositoryName(reference);
    if (reference.digest !== undefined || reference.tag === undefined) {
      throw invalid('USAGE', `${image}: Docker Content Trust signs tags; name a tag, not a digest`);
    }
    tag = reference.tag;
    const key = `${options.server.url.href} ${gun}`;
    repository = options.updated?.get(key);
    if (repository === undefined) {
      repository = await refreshRepository(gun, options);
      options.updated?.set(key, repository);
    }
    signed = signedTag(repository, tag);
    const store = stores.client(reference.registry).repository(reference.repository);
    checkServedManifest(`${gun}:${tag}`, signed, await store.resolve({ tag }));
    // By digest, the bytes are hashed and compared: the length is then the bytes' own.
    const manifest = await store.getManifest({ digest: signed.digest });
    checkServedManifest(`${gun}:${tag}`, signed, {
      digest: manifest.digest,
      size: manifest.bytes.length,
    });
    return {
      image,
      gun,
      tag,
      status: 'verified',
      ...fields(signed),
      rejectedRoles: rejectedRoles(repository),
    };
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return {
      image,
      gun,
      tag,
      status: error.category,
      ...(signed === undefined ? {} : fields(signed)),
      rejectedRoles: repository === undefined ? [] : rejectedRoles(repository),
      error,
    };
  }
}

function fields(signed: SignedTag) {
  return {
    digest: signed.digest,
    length: signed.length,
    role: signed.role,
    signers: signed.signers,
  };
}

function rejectedRoles(repository: TrustedRepository): RejectedRole[] {
  return [...repository.rejected].map(([role, error]) => ({
    role,
    code: error.code,
    message: error.message,
  }));
}
