/**
 * One update of a GUN's trust data, from the trust store to the trust store:
 * read what was trusted, gather, decide (`update.ts`), save.
 *
 * When the store already trusts a state, the timestamp is fetched first and
 * alone: if it lists the cached snapshot exactly, the cached files are the
 * evidence (`cachedEvidence`) and the update makes one request instead of
 * one per file. Any refusal on that path (a timestamp the cached root's keys
 * did not sign, an older or expired role, a cached file that does not match
 * what lists it) is not the answer: the full update runs, fetching
 * `root.json` and every file, and its decision stands. So a root rotation
 * is still followed, and a replayed or frozen state is refused either way.
 */
import { isVouchError } from '../core/errors.ts';
import {
  fetchNotaryMetadata,
  fetchTimestamp,
  type NotaryLimits,
  type NotaryMetadataSource,
} from './gather.ts';
import type { NotaryMetadataStore } from './metadata-store.ts';
import { pinnedKeyIds } from './pins.ts';
import {
  cachedEvidence,
  type TrustedMetadata,
  type TrustedRepository,
  type UpdateContext,
  updateTrustedMetadata,
} from './update.ts';

export interface RefreshOptions {
  readonly server: NotaryMetadataSource;
  readonly trustStore: NotaryMetadataStore;
  /** Canonical IDs of pinned root keys; otherwise the trust store's pin file, otherwise trust on first use. */
  readonly pinnedRootKeys?: readonly string[];
  /** Milliseconds since the epoch; now unless given. */
  readonly now?: number;
  readonly limits?: NotaryLimits;
}

/** The verified, current trust data of `gun`, saved to the trust store. */
export async function refreshRepository(
  gun: string,
  options: RefreshOptions,
): Promise<TrustedRepository> {
  const pins = options.pinnedRootKeys ?? (await storedPins(options.trustStore, gun));
  const trusted = await options.trustStore.read(gun);
  const context: UpdateContext = {
    gun,
    now: options.now ?? Date.now(),
    ...(pins === undefined ? {} : { pinnedRootKeys: pins }),
  };
  const cached = await fromCache(trusted, context, options);
  const repository =
    cached?.repository ??
    updateTrustedMetadata(
      trusted,
      await fetchNotaryMetadata(options.server, gun, trusted, options.limits, cached?.timestamp),
      context,
    );
  await options.trustStore.save(repository, trusted);
  return repository;
}

/**
 * The repository from the cache and a fresh timestamp; or the timestamp
 * alone when it lists another snapshot (the full update reuses it); or
 * nothing when the full update must decide from scratch.
 */
async function fromCache(
  trusted: TrustedMetadata,
  context: UpdateContext,
  options: RefreshOptions,
): Promise<{ repository?: TrustedRepository; timestamp?: Uint8Array } | undefined> {
  if (trusted.root === undefined || trusted.snapshot === undefined) return undefined;
  try {
    const timestamp = await fetchTimestamp(options.server, context.gun, options.limits);
    const evidence = cachedEvidence(trusted, timestamp);
    return evidence === undefined
      ? { timestamp }
      : { repository: updateTrustedMetadata(trusted, evidence, context) };
  } catch (error) {
    if (isVouchError(error) && error.category === 'denied') return undefined;
    throw error;
  }
}

async function storedPins(store: NotaryMetadataStore, gun: string): Promise<string[] | undefined> {
  const pem = await store.pinnedRootKeys(gun);
  return pem === undefined ? undefined : pinnedKeyIds(pem, `the pinned root keys of ${gun}`);
}
