/**
 * `vouch trust migrate`: move a repository from Docker Content Trust to
 * cosign signatures before its notary service goes away (docs/formats.md
 * "How Docker Content Trust uses notary": docker removed DCT in v29, Docker
 * Hub's notary shuts down, https://github.com/docker/docs/pull/25382). Every tag
 * the trust data releases (`targets/releases`, `targets`) is first verified
 * end to end through DCT (`verifyNotaryImage`: trust data, then the
 * registry serving exactly the signed manifest); only a tag that verifies is
 * signed, by the digest DCT vouched for, with the existing cosign signing
 * engine. Nothing is written in a dry run.
 */
import { denied, isVouchError, messageOf } from '../core/errors.ts';
import type { Digest } from '../oci/digest.ts';
import { parseReference, repositoryName } from '../oci/reference.ts';
import { parseImageSpec, type Stores } from '../registry/open.ts';
import type { Signer } from '../keys/signer.ts';
import { defaultDockerReference } from '../sign/identity.ts';
import { signImages } from '../sign/sign.ts';
import { RELEASES_ROLE, TARGETS_ROLE } from './lookup.ts';
import type { NotaryServer } from './notary-server.ts';
import { loadRepository } from './publish.ts';
import type { NotaryMetadataStore } from './metadata-store.ts';
import { verifyNotaryImage } from './verify-notary.ts';

export interface MigrateOptions {
  readonly server: NotaryServer;
  readonly trustStore: NotaryMetadataStore;
  readonly stores: Stores;
  readonly signer: Signer;
  readonly dryRun: boolean;
  readonly now?: number;
}

export type MigrationStatus = 'migrated' | 'skipped' | 'failed';

export interface MigratedTag {
  readonly tag: string;
  readonly status: MigrationStatus;
  /** The digest DCT signs the tag as, once it verified. */
  readonly digest?: Digest;
  /** Why a tag was skipped (it does not verify through DCT) or failed (could not be checked or signed). */
  readonly reason?: { readonly code: string; readonly message: string };
}

export interface Migration {
  readonly gun: string;
  readonly dryRun: boolean;
  readonly tags: readonly MigratedTag[];
}

/** Migrates every released tag of `image` (a repository; a tag, if given, limits it to that tag). */
export async function migrateRepository(
  image: string,
  options: MigrateOptions,
): Promise<Migration> {
  const reference = parseReference(image.replace(/^docker:\/\//, ''));
  const gun = repositoryName(reference);
  const repository = await loadRepository(gun, options);
  if (repository === undefined)
    throw denied('NOTARY_NO_TRUST_DATA', `${gun} has no Docker Content Trust data`);
  const names = new Set<string>();
  for (const role of [RELEASES_ROLE, TARGETS_ROLE]) {
    for (const name of repository.targets.get(role)?.metadata.signed.targets.keys() ?? [])
      names.add(name);
  }
  const tags: MigratedTag[] = [];
  for (const tag of [...names]
    .filter((name) => reference.tag === undefined || name === reference.tag)
    .sort()) {
    tags.push(await migrateTag(`${gun}:${tag}`, tag, options));
  }
  if (reference.tag !== undefined && tags.length === 0) {
    tags.push({
      tag: reference.tag,
      status: 'skipped',
      reason: {
        code: 'NOTARY_TARGET_NOT_FOUND',
        message: `no trust data for ${gun}:${reference.tag}`,
      },
    });
  }
  return { gun, dryRun: options.dryRun, tags };
}

async function migrateTag(
  image: string,
  tag: string,
  options: MigrateOptions,
): Promise<MigratedTag> {
  const verification = await verifyNotaryImage(image, options.stores, {
    server: options.server,
    trustStore: options.trustStore,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const reason = (error: { code: string; message: string }) => ({
    code: error.code,
    message: error.message,
  });
  if (verification.status !== 'verified' || verification.digest === undefined) {
    const error = verification.error;
    return {
      tag,
      status: verification.status === 'denied' ? 'skipped' : 'failed',
      ...(error === undefined ? {} : { reason: reason(error) }),
    };
  }
  const digest = verification.digest;
  if (options.dryRun) return { tag, status: 'migrated', digest };
  try {
    const spec = parseImageSpec(image);
    const [result] = await signImages(
      [
        {
          store: await options.stores.open(spec),
          target: { digest },
          dockerReference: defaultDockerReference(spec),
          name: `${image}@${digest}`,
        },
      ],
      { signer: options.signer },
    );
    if (result !== undefined && !result.ok) {
      const error = result.error;
      return {
        tag,
        status: 'failed',
        digest,
        reason: isVouchError(error)
          ? reason(error)
          : { code: 'SIGN_FAILED', message: messageOf(error) },
      };
    }
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return { tag, status: 'failed', digest, reason: reason(error) };
  }
  return { tag, status: 'migrated', digest };
}
