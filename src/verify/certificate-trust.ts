/**
 * Keyless trust for `evaluate` and `evaluateAttestations`: a certificate
 * identity and the trust root's material, with the keyless checks of one
 * cosign classic layer bound to them (the layer as a Sigstore bundle,
 * `formats/classic-bundle.ts`, verified by `sigstore/keyless.ts`).
 *
 * The evaluation modules only know the `CertificateTrust` type; this module
 * is what loads @sigstore/verify and @sigstore/bundle, so verifying with
 * keys never pays for loading them (docs/design.md "Principles": a command
 * loads only what it uses). Import it, statically or with `import()`, only to verify
 * keylessly.
 */
import { isVouchError } from '../core/errors.ts';
import {
  bundleOfClassicAttestation,
  bundleOfClassicSignature,
  type ClassicBundleProblemCode,
  type ClassicLayer,
} from '../formats/classic-bundle.ts';
import type { CertificateIdentity } from '../sigstore/certificate-identity.ts';
import { type BundleVerification, verifyBundle } from '../sigstore/keyless.ts';
import type { KeylessTrust } from '../sigstore/keyless-trust.ts';
import type { CertificateTrust } from './evaluate.ts';

/** The outcome of the keyless checks of one layer. */
export type LayerVerification =
  | BundleVerification
  | { readonly ok: false; readonly code: ClassicBundleProblemCode; readonly message: string };

/** What a classic layer is: a `.sig` simple-signing payload, or an `.att` DSSE envelope. */
export type ClassicLayerKind = 'signature' | 'attestation';

/** Trust in signatures by `identity`, checked against `keyless` (see `keylessTrustOf`). */
export function certificateTrust(
  identity: CertificateIdentity,
  keyless: KeylessTrust,
): CertificateTrust {
  return {
    identity,
    verifyLayer: (kind, layer) => verifyClassicLayer(kind, layer, keyless, identity),
    verifyBundle: (bundle) => verifyBundle(bundle, undefined, keyless, identity),
  };
}

/**
 * The keyless checks of one classic layer: it must carry a certificate and
 * a Rekor bundle, and make a bundle that verifies for `identity`.
 */
export function verifyClassicLayer(
  kind: ClassicLayerKind,
  layer: ClassicLayer,
  keyless: KeylessTrust,
  identity: CertificateIdentity,
): LayerVerification {
  let bundle;
  try {
    bundle =
      kind === 'signature' ? bundleOfClassicSignature(layer) : bundleOfClassicAttestation(layer);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    // bundleOf* throw only the codes of ClassicBundleProblemCode.
    return { ok: false, code: error.code as ClassicBundleProblemCode, message: error.message };
  }
  return verifyBundle(bundle, layer.blob, keyless, identity);
}
