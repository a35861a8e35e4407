/**
 * What a successful keyless verification established about its leaf
 * certificate, kept so that the next signature made with the same
 * certificate is not made to establish it again: the certificate parsed,
 * its chain built and verified to a CA of the trust material, its SCTs
 * verified with the CT logs' keys, its key decoded, its identity read. All
 * of that is a function of the certificate's DER bytes and the trust
 * material alone, except one input: the signing time, at which
 * @sigstore/verify checks the chain (sigstore/sigstore-js
 * packages/verify/src/key/index.ts `verifyCertificate`: for each verified
 * timestamp, `verifyCertificateChain` tries the CAs whose `validFor` holds
 * it, in order, and accepts the first path whose every certificate is valid
 * then; the SCTs are checked on the last timestamp's path).
 *
 * So the time is part of what is remembered. The library's answer for a
 * time t changes only where t crosses one of the dates it compares t with
 * (`filterCertAuthorities` and `validForDate` both compare inclusively):
 * the `validFor` start and end of each CA, the `notBefore`/`notAfter` of
 * each certificate of each CA's chain, and the leaf's own. Between two
 * consecutive such dates (or at one of them exactly) every comparison has
 * the same result, so the same CA is chosen, the same path, the same SCT
 * verdict. An entry records the one such stretch that held all the
 * signing times of the verification that succeeded, and counts for another
 * signature only if all of its signing times fall in that stretch too;
 * anything else is verified again in full.
 *
 * What is per signature is never taken from here: the signature over the
 * payload, the timestamps (SET, RFC 3161), the log entries (inclusion, and
 * that they record this signature, payload and certificate), the identity
 * asked for. Entries are keyed by the exact DER bytes, per trust material
 * object, bounded in number (least recently used evicted first) and in the
 * size of the certificate they are kept for; only successes are stored.
 */
import type { KeyObject } from 'node:crypto';
import type { X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import type { CertificateClaims } from './certificate-identity.ts';

/**
 * Signing times, in milliseconds since the epoch, at which the certificate
 * verdict is the one already established: exactly `at`, or strictly
 * between `after` and `before`.
 */
export type SigningWindow =
  { readonly at: number } | { readonly after: number; readonly before: number };

/** A leaf certificate a verification accepted, as a later one may reuse it. */
export interface VerifiedLeaf {
  /** The certificate's public key, as @sigstore/verify decoded it for the signature check. */
  readonly key: KeyObject;
  /** Its identity (frozen: results share it). */
  readonly claims: CertificateClaims;
  readonly window: SigningWindow;
}

/** Entries per trust material; a process verifying a thousand images with fresh certificates keeps them all. */
const MAX_ENTRIES = 2048;
/** Larger certificates (no Fulcio certificate is) are verified in full each time. */
const MAX_CACHED_DER_BYTES = 8 * 1024;

interface LeafCache {
  /** The dates the library compares signing times with, from the trust material (see the module comment). */
  readonly boundaries: readonly number[];
  /** By the DER bytes as a latin1 string; Map order is recency (re-inserted on every hit). */
  readonly leaves: Map<string, VerifiedLeaf>;
}

const caches = new WeakMap<TrustMaterial, LeafCache>();

function cacheOf(material: TrustMaterial): LeafCache {
  let cache = caches.get(material);
  if (cache === undefined) {
    const boundaries: number[] = [];
    for (const authority of material.certificateAuthorities) {
      boundaries.push(authority.validFor.start.getTime(), authority.validFor.end.getTime());
      for (const certificate of authority.certChain) {
        boundaries.push(certificate.notBefore.getTime(), certificate.notAfter.getTime());
      }
    }
    cache = { boundaries, leaves: new Map() };
    caches.set(material, cache);
  }
  return cache;
}

function keyOf(der: Uint8Array): string | undefined {
  if (der.byteLength > MAX_CACHED_DER_BYTES) return undefined;
  return Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1');
}

/** What a past verification against `material` established about the certificate `der`, or undefined. */
export function verifiedLeaf(material: TrustMaterial, der: Uint8Array): VerifiedLeaf | undefined {
  const key = keyOf(der);
  if (key === undefined) return undefined;
  const { leaves } = cacheOf(material);
  const leaf = leaves.get(key);
  if (leaf !== undefined) {
    leaves.delete(key);
    leaves.set(key, leaf);
  }
  return leaf;
}

/**
 * Records that a verification against `material` accepted the certificate
 * `der` (parsed: `certificate`) at every one of `leaf.signingTimes` (a
 * superset of the times @sigstore/verify checked it at). Nothing is recorded when
 * those times straddle one of the dates the verdict depends on.
 */
export function rememberVerifiedLeaf(
  material: TrustMaterial,
  der: Uint8Array,
  certificate: X509Certificate,
  leaf: {
    readonly key: KeyObject;
    readonly claims: CertificateClaims;
    readonly signingTimes: readonly Date[];
  },
): void {
  const key = keyOf(der);
  if (key === undefined) return;
  const cache = cacheOf(material);
  const window = signingWindow(
    [...cache.boundaries, certificate.notBefore.getTime(), certificate.notAfter.getTime()],
    leaf.signingTimes.map((time) => time.getTime()),
  );
  if (window === undefined) return;
  const claims: CertificateClaims = Object.freeze({
    ...leaf.claims,
    github: Object.freeze({ ...leaf.claims.github }),
  });
  cache.leaves.delete(key);
  cache.leaves.set(key, { key: leaf.key, claims, window });
  while (cache.leaves.size > MAX_ENTRIES) {
    cache.leaves.delete(cache.leaves.keys().next().value as string);
  }
}

/**
 * The stretch between consecutive `boundaries` (or the single boundary)
 * that holds every one of `times`; undefined when there is none (no times,
 * times on both sides of a boundary, or a date that is not a number).
 */
export function signingWindow(
  boundaries: readonly number[],
  times: readonly number[],
): SigningWindow | undefined {
  const [first] = times;
  if (first === undefined || boundaries.some(Number.isNaN)) return undefined;
  if (boundaries.includes(first)) {
    return times.every((time) => time === first) ? { at: first } : undefined;
  }
  let after = -Infinity;
  let before = Infinity;
  for (const boundary of boundaries) {
    if (boundary < first && boundary > after) after = boundary;
    if (boundary > first && boundary < before) before = boundary;
  }
  if (!(after < first && first < before)) return undefined;
  const window = { after, before };
  return times.every((time) => inSigningWindow(window, time)) ? window : undefined;
}

/** Whether the signing time `time` (milliseconds since the epoch) lies in `window`. */
export function inSigningWindow(window: SigningWindow, time: number): boolean {
  return 'at' in window ? time === window.at : window.after < time && time < window.before;
}
