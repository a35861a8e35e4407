import { evaluateBundleSignatures } from './bundle-signatures.ts';
import type { Evidence } from './evidence.ts';
import { type ImageVerification, verificationOf, type VerifyOptions } from './verify.ts';

/**
 * The verdict on already gathered evidence, as a result: its `.sig` layers
 * and, when they were gathered, its bundle referrers. Signatures with a
 * Rekor bundle are checked against `options.trust.tlogs` only (see
 * `withTlogs` to load the default logs first).
 *
 * Kept apart from verify.ts because it needs cosign 3's bundle code at once,
 * which `verifyImage` loads only when the `.sig` layers do not verify.
 */
export function decide(evidence: Evidence, options: VerifyOptions): ImageVerification {
  const { bundles } = evidence;
  const bundleSignatures =
    bundles === undefined
      ? undefined
      : evaluateBundleSignatures(bundles, options.trust, options.policy);
  return verificationOf(evidence, options, bundleSignatures);
}
