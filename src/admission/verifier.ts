/**
 * Deciding images for the webhook, fast: the policy module gathers evidence
 * and decides (`gatherPolicyEvidence`, `evaluateImage`); this module makes
 * sure the slow part, gathering, happens as rarely as correctness allows.
 *
 * 1. No I/O at all for an image whose rule needs none (no rule matches, or
 *    the rule allows or denies without verifying).
 * 2. Tag → digest resolution is cached briefly (`tagTtlMs`): a tag can move,
 *    so this is the only cache that can be stale, and only by that long.
 *    A tag still in use is resolved again in the background before it
 *    expires (refresh ahead, as Caffeine's `refreshAfterWrite`): the cached
 *    digest keeps answering meanwhile, so a tag that requests keep naming
 *    never expires and no request waits for the registry to re-resolve it,
 *    and no answer uses a digest older than `tagTtlMs`. The refresh point
 *    is between half and three quarters of the time to live, spread by the
 *    tag: tags resolved together (a rollout, a cold start) are not all
 *    resolved again at once, and a tag named at least every quarter TTL is
 *    always named inside its refresh window. Without it, a webhook asked
 *    about 1,000 tags at 500 requests/s re-resolved each every 30 s in the
 *    request path: 8% of its "warm" requests in bench/admission.ts, and
 *    its p99.
 * 3. Evidence is keyed by (policy version, rule, repository@digest): what
 *    was verified about a digest does not change, and any policy edit makes
 *    a new revision, so no entry outlives the policy it was gathered for.
 *    Entries are bounded (LRU) and expire (`ttlMs`; `deniedTtlMs` for an
 *    image that did not pass, so a signature added after a denial is seen
 *    soon, as Kyverno's users asked, kyverno#9503). Evidence that says
 *    "could not check" is never cached: the next request tries again.
 * 4. Concurrent requests for the same key share one gathering in flight
 *    (single-flight, the coalescing kyverno#16997 asks for); the number
 *    gathered at once is bounded so a burst cannot hammer a registry (the
 *    registry client itself honours 429 Retry-After, registry/http.ts).
 *
 * The decision itself is always re-evaluated (pure and cheap), so the
 * namespace an image runs in and its spelling (for the digest pin) are
 * those of the request.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createLimiter } from '../core/concurrency.ts';
import { isVouchError, messageOf } from '../core/errors.ts';
import {
  formatReference,
  type ImageReference,
  parseReference,
  repositoryName,
  withDefaultTag,
} from '../oci/reference.ts';
import type { ImageDecision } from '../policy/evaluate.ts';
import { evaluateImage } from '../policy/evaluate.ts';
import type { EvidencedImage, EvidenceError } from '../policy/evidence.ts';
import type { GatherPolicyOptions } from '../policy/gather.ts';
import { gatherPolicyEvidence } from '../policy/gather.ts';
import { selectRuleForReference } from '../policy/match.ts';
import type { CompiledPolicy } from '../policy/types.ts';
import { SingleFlight, TtlLru } from './cache.ts';
import type { AdmissionMetrics } from './metrics.ts';
import type { ServedPolicy } from './policy-watch.ts';

export interface VerifierOptions {
  /** How evidence is gathered: registries, keyless trust, notary (see policy/gather.ts). */
  readonly gather: Omit<GatherPolicyOptions, 'concurrency'>;
  readonly metrics: AdmissionMetrics;
  /** Evidence entries kept; 10,000 unless given. */
  readonly maxEntries?: number;
  /** How long the evidence of an image that passed is kept; 10 minutes unless given. */
  readonly ttlMs?: number;
  /** How long the evidence of an image that did not pass is kept; 30 s unless given. */
  readonly deniedTtlMs?: number;
  /** How long a tag's digest is kept; 30 s (Connaisseur's default) unless given; 0 disables. */
  readonly tagTtlMs?: number;
  /** Images gathered at once across all requests; 32 unless given. */
  readonly concurrency?: number;
  readonly now?: () => number;
}

/** The `cache` label of each cache's counters, made once (metrics.ts remembers frozen label sets). */
const VERIFICATION_CACHE = Object.freeze({ cache: 'verification' });
const TAG_CACHE = Object.freeze({ cache: 'tag' });

/** A tag's digest, and when a request naming the tag starts resolving it again. */
interface CachedDigest {
  readonly digest: string;
  readonly refreshAt: number;
}

type Resolution = { readonly digest: string } | { readonly error: EvidenceError };

export class ImageVerifier {
  readonly #gather: Omit<GatherPolicyOptions, 'concurrency'>;
  readonly #metrics: AdmissionMetrics;
  readonly #ttlMs: number;
  readonly #deniedTtlMs: number;
  readonly #tagTtlMs: number;
  readonly #evidence: TtlLru<string, EvidencedImage>;
  readonly #digests: TtlLru<string, CachedDigest>;
  readonly #gathering = new SingleFlight<string, EvidencedImage>();
  readonly #resolving = new SingleFlight<string, Resolution>();
  readonly #limit: ReturnType<typeof createLimiter>;
  readonly #now: () => number;

  constructor(options: VerifierOptions) {
    this.#gather = options.gather;
    this.#metrics = options.metrics;
    this.#ttlMs = options.ttlMs ?? 600_000;
    this.#deniedTtlMs = options.deniedTtlMs ?? 30_000;
    this.#tagTtlMs = options.tagTtlMs ?? 30_000;
    const now = options.now ?? Date.now;
    this.#now = now;
    const maxEntries = options.maxEntries ?? 10_000;
    this.#evidence = new TtlLru({ maxEntries, now });
    this.#digests = new TtlLru({ maxEntries, now });
    this.#limit = createLimiter(options.concurrency ?? 32);
  }

  /** Entries in the verification and tag caches. */
  get cacheSizes(): { readonly verification: number; readonly tag: number } {
    return { verification: this.#evidence.size, tag: this.#digests.size };
  }

  /** Forgets every verification (a new policy makes them unreachable anyway; this frees them). */
  clearVerifications(): void {
    this.#evidence.clear();
  }

  /** Decides `image` running in `namespace` under `policy`; never throws for a problem with the image. */
  async decide(served: ServedPolicy, image: string, namespace: string): Promise<ImageDecision> {
    const { policy, version } = served;
    const bare = (): EvidencedImage => ({ image, authorities: [], attestations: [] });
    let reference: ImageReference;
    try {
      reference = parseReference(image);
    } catch {
      // Not a reference: evaluateImage says so.
      return evaluateImage(bare(), policy, namespace);
    }
    const rule = selectRuleForReference(policy, reference, namespace);
    const needsDigest =
      rule !== undefined &&
      (rule.action === 'verify' || (rule.action === 'allow' && rule.mutateDigest));
    if (rule === undefined || !needsDigest) {
      return evaluateImage(bare(), policy, namespace, reference);
    }

    // A cached tag is answered without waiting a turn (no promise per review).
    let digest: string | undefined = reference.digest;
    if (digest === undefined) {
      const tagged = formatReference(withDefaultTag(reference));
      digest = this.#cachedDigest(tagged);
      if (digest === undefined) {
        const resolution = await this.#resolve(tagged);
        if ('error' in resolution) {
          return evaluateImage(
            { ...bare(), error: resolution.error },
            policy,
            namespace,
            reference,
          );
        }
        digest = resolution.digest;
      }
    }
    const pinned = `${repositoryName(reference)}@${digest}`;
    const key = `${version}\n${rule.name}\n${pinned}`;
    let evidence = this.#evidence.get(key);
    if (evidence !== undefined) {
      this.#metrics.cacheHits.inc(VERIFICATION_CACHE);
    } else {
      this.#metrics.cacheMisses.inc(VERIFICATION_CACHE);
      const flight = this.#gathering.run(key, () =>
        this.#limit(() => this.#gatherOne(policy, pinned, namespace)),
      );
      if (flight.shared) this.#metrics.shared.inc(VERIFICATION_CACHE);
      evidence = await flight.promise;
      if (!flight.shared) this.#remember(key, evidence, policy, namespace);
    }
    // Attestation conditions may take milliseconds each (policy/condition.ts
    // bounds them): give other requests, /healthz and the deadline's timer a
    // turn of the event loop between images, which cached evidence would
    // otherwise decide back to back in one.
    if (rule.attestations.some((a) => a.condition !== undefined)) await nextTurn();
    // The image as the request spells it: the pin keeps its tag (repo:tag@digest).
    return evaluateImage({ ...evidence, image }, policy, namespace, reference);
  }

  /**
   * The decision for an image the deadline cut short: as if its evidence
   * could not be gathered, so the rule's mode still applies (a warn rule
   * warns) and enforce yields `unavailable`, left to the failure policy.
   */
  timedOut(
    policy: CompiledPolicy,
    image: string,
    namespace: string,
    message: string,
  ): ImageDecision {
    return evaluateImage(
      {
        image,
        error: { code: 'DEADLINE_EXCEEDED', category: 'unavailable', message },
        authorities: [],
        attestations: [],
      },
      policy,
      namespace,
    );
  }

  /** The cached digest of tagged `reference` (refreshing it ahead when due), or undefined. */
  #cachedDigest(reference: string): string | undefined {
    const cached = this.#tagTtlMs > 0 ? this.#digests.get(reference) : undefined;
    if (cached === undefined) return undefined;
    this.#metrics.cacheHits.inc(TAG_CACHE);
    if (this.#now() >= cached.refreshAt) {
      // Refresh ahead (see the top); one at a time per tag. A failure is
      // counted (registry errors) and leaves the entry until it expires,
      // when a request resolves the tag itself and sees the error.
      const flight = this.#resolveNow(reference);
      if (!flight.shared) this.#metrics.tagRefreshes.inc();
    }
    return cached.digest;
  }

  /** Resolves a tag `#cachedDigest` does not know, or joins its resolution in flight. */
  #resolve(reference: string): Promise<Resolution> {
    this.#metrics.cacheMisses.inc(TAG_CACHE);
    const flight = this.#resolveNow(reference);
    if (flight.shared) this.#metrics.shared.inc(TAG_CACHE);
    return flight.promise;
  }

  /** Resolves `reference` at the registry and caches its digest; joins a resolution in flight. */
  #resolveNow(reference: string): {
    readonly promise: Promise<Resolution>;
    readonly shared: boolean;
  } {
    return this.#resolving.run(reference, async () => {
      try {
        const opened = await this.#gather.stores.openImage(reference);
        const target = opened.target ?? { tag: 'latest' };
        const descriptor = await opened.store.resolve(target);
        const refreshAt = this.#now() + this.#tagTtlMs * refreshPoint(reference);
        this.#digests.set(reference, { digest: descriptor.digest, refreshAt }, this.#tagTtlMs);
        return { digest: descriptor.digest };
      } catch (error) {
        const e = isVouchError(error)
          ? { code: error.code, category: error.category, message: error.message }
          : { code: 'CHECK_FAILED', category: 'unavailable' as const, message: messageOf(error) };
        if (e.category === 'unavailable') this.#metrics.registryErrors.inc({ code: e.code });
        return { error: e };
      }
    });
  }

  async #gatherOne(
    policy: CompiledPolicy,
    pinned: string,
    namespace: string,
  ): Promise<EvidencedImage> {
    const evidence = await gatherPolicyEvidence(policy, [{ image: pinned, namespace }], {
      ...this.#gather,
      concurrency: 1,
    });
    const [gathered] = evidence.images;
    if (gathered === undefined) throw new Error(`no evidence was gathered for ${pinned}`);
    for (const code of unavailableCodes(gathered)) this.#metrics.registryErrors.inc({ code });
    return gathered;
  }

  #remember(key: string, evidence: EvidencedImage, policy: CompiledPolicy, namespace: string) {
    if (unavailableCodes(evidence).length > 0) return;
    const passed = evaluateImage(evidence, policy, namespace).passed;
    this.#evidence.set(key, evidence, passed ? this.#ttlMs : this.#deniedTtlMs);
  }
}

/**
 * The share of its time to live after which a tag is resolved again: from
 * 0.5 to 0.75, fixed per tag (FNV-1a of the reference, then murmur3's final
 * mix, so references differing in their last characters spread too): tags
 * cached at the same moment come due over a quarter of the TTL, not
 * together.
 */
export function refreshPoint(reference: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < reference.length; i++) {
    hash = Math.imul(hash ^ reference.charCodeAt(i), 0x01000193);
  }
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  hash ^= hash >>> 16;
  return 0.5 + 0.25 * ((hash >>> 0) / 2 ** 32);
}

/** The codes of every check the evidence says could not be done. */
function unavailableCodes(evidence: EvidencedImage): string[] {
  const codes: string[] = [];
  if (evidence.error?.category === 'unavailable') codes.push(evidence.error.code);
  for (const result of [...evidence.authorities, ...evidence.attestations]) {
    if (result.status === 'unavailable') codes.push(result.code ?? 'UNKNOWN');
  }
  return codes;
}
