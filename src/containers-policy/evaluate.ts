/**
 * containers/image's `PolicyContext.IsRunningImageAllowed`
 * (signature/policy_eval.go) as a pure function of the evidence gathered
 * for one image of the `docker` transport, the requirements of the scope
 * that applies (formats/containers-policy/scope.ts) and the material they
 * name (material.ts): the image is allowed when every requirement holds.
 *
 * - `insecureAcceptAnything` holds; `reject` fails; `signedBaseLayer` fails,
 *   as upstream has never implemented it; `signedBy` with a keyType other
 *   than GPGKeys fails (policy_eval_signedby.go: "Unimplemented keyType").
 * - `signedBy` with GPG keys holds when one of the image's simple-signing
 *   signatures verifies with the keyring, signs this image's digest and
 *   claims an identity the `signedIdentity` rule accepts
 *   (formats/simple-signing/verify.ts).
 * - `sigstoreSigned` (policy_eval_sigstore.go) holds when at least one of
 *   the image's sigstore signatures (cosign attachments, `\x00sigstore-json`
 *   blobs of the lookaside or API extension) is accepted: its signature
 *   verifies over the payload with one of the keys (with `fulcio` or `pki`,
 *   the key of its certificate: certificate-signer.ts); with Rekor keys, its
 *   Rekor bundle's SET verifies with one of them and the entry binds this
 *   signature, key and payload (without Rekor keys the bundle is not looked
 *   at, as upstream ignores it); the payload parses strictly as
 *   containers/image reads it; it is signed for this image's digest; and its
 *   `docker-reference` satisfies the requirement's `signedIdentity` for the
 *   reference the image was named by. Attachments are read only where
 *   registries.d enables `use-sigstore-attachments`, as upstream reads them.
 *
 * Unlike upstream, which stops at the first requirement that fails, every
 * requirement is decided and reported, with why it held or failed, and
 * every signature with why it was or was not accepted.
 */
import { BUNDLE_ANNOTATION } from '../formats/signature-manifest.ts';
import type { PolicyRequirement } from '../formats/containers-policy/policy-json.ts';
import { matchesSignedIdentity } from '../formats/containers-policy/signed-identity.ts';
import { type Digest, digestOf } from '../oci/digest.ts';
import { formatReference, type ImageReference } from '../oci/reference.ts';
import { isVouchError, messageOf } from '../core/errors.ts';
import { evaluate, type Verdict } from '../verify/evaluate.ts';
import type * as certificateSigner from './certificate-signer.ts';
import type { PkiRoot } from './certificate-signer.ts';
import {
  type Evidence,
  evidenceFromLayers,
  type LayerWithPayload,
  type SignatureEvidence,
} from '../verify/evidence.ts';
import {
  layerOfContainersSignature,
  parseContainersSignature,
} from '../formats/containers-signature.ts';
import type { PreparedRequirement } from './material.ts';

export interface ContainersPolicyEvidence {
  /** The image as the policy sees it: canonical, with its tag or its digest. */
  readonly reference: ImageReference;
  /** The image's digest, when it was resolved (signature requirements need it). */
  readonly digest?: Digest;
  /** Whether registries.d enables `use-sigstore-attachments` for the image. */
  readonly useSigstoreAttachments: boolean;
  /** The cosign `.sig` attachments, when read (only if enabled and needed). */
  readonly sigstore?: Evidence;
  /**
   * The GPG simple-signing signature blobs from the image's signature store
   * (lookaside or registry API extension), when a signedBy requirement needs them.
   */
  readonly simpleSignatures?: readonly SimpleSignatureBlob[];
  /** When `pki` certificates must be valid (Go's `Verify` uses the current time); now when absent. */
  readonly now?: Date;
}

export interface SimpleSignatureBlob {
  readonly blob: Uint8Array;
  /** Where it was read, for reports. */
  readonly source: string;
}

export interface SignatureOutcome {
  /** Position of the layer in the `.sig` manifest. */
  readonly index: number;
  readonly layer: Digest;
  readonly accepted: boolean;
  /** A stable code for a signature not accepted (SIGNATURE_INVALID, IDENTITY_MISMATCH, ...). */
  readonly code?: string;
  readonly reason: string;
  /** The identity the signature claims, once its signature verified. */
  readonly dockerReference?: string;
  /** Index of the requirement's key that verified it. */
  readonly key?: number;
}

export interface RequirementOutcome {
  /** Position in the scope's requirement list. */
  readonly index: number;
  readonly type: PolicyRequirement['type'];
  readonly holds: boolean;
  readonly reason: string;
  /** For signature requirements: each signature considered. */
  readonly signatures?: readonly SignatureOutcome[];
}

export interface ContainersPolicyDecision {
  readonly allowed: boolean;
  readonly requirements: readonly RequirementOutcome[];
}

/**
 * Decides every requirement; the image is allowed when all hold (and there
 * is at least one). Asynchronous only because OpenPGP verification
 * (openpgp.js) is; it does no I/O.
 */
export async function decideContainersPolicy(
  prepared: readonly PreparedRequirement[],
  evidence: ContainersPolicyEvidence,
): Promise<ContainersPolicyDecision> {
  // pkijs (certificate-signer.ts) is loaded only for requirements with fulcio or pki CAs.
  const signers = prepared.some(
    (item) => 'keys' in item && (item.fulcio !== undefined || item.pki !== undefined),
  )
    ? await import('./certificate-signer.ts')
    : undefined;
  const requirements: RequirementOutcome[] = [];
  for (const [index, item] of prepared.entries()) {
    requirements.push(
      item.requirement.type === 'signedBy' && 'keyring' in item && item.keyring !== undefined
        ? await decideSignedBy(item as SignedByPrepared, index, evidence)
        : decideRequirement(item, index, evidence, signers),
    );
  }
  return {
    allowed: requirements.length > 0 && requirements.every((outcome) => outcome.holds),
    requirements,
  };
}

/** What certificate-signer.ts gives the decision, once loaded. */
type CertificateSigners = Pick<typeof certificateSigner, 'fulcioSigner' | 'pkiSigner'>;

function decideRequirement(
  prepared: PreparedRequirement,
  index: number,
  evidence: ContainersPolicyEvidence,
  signers: CertificateSigners | undefined,
): RequirementOutcome {
  const { requirement } = prepared;
  const outcome = (holds: boolean, reason: string): RequirementOutcome => ({
    index,
    type: requirement.type,
    holds,
    reason,
  });
  switch (requirement.type) {
    case 'insecureAcceptAnything':
      return outcome(true, 'insecureAcceptAnything accepts every image');
    case 'reject':
      return outcome(
        false,
        `Running image docker://${formatReference(evidence.reference)} is rejected by policy.`,
      );
    case 'signedBaseLayer':
      return outcome(
        false,
        'signedBaseLayer not implemented yet! (containers/image never evaluates it)',
      );
    case 'signedBy':
      // GPGKeys requirements are decided by decideSignedBy.
      return outcome(false, `Unimplemented "keyType" value ${JSON.stringify(requirement.keyType)}`);
    case 'sigstoreSigned':
      if (!('keys' in prepared)) throw new Error('sigstoreSigned requirement was not prepared');
      return decideSigstoreSigned(prepared, index, evidence, signers);
  }
}

type SignedByPrepared = Extract<PreparedRequirement, { keyring?: unknown }> & {
  readonly keyring: NonNullable<Extract<PreparedRequirement, { keyring?: unknown }>['keyring']>;
};

/**
 * signedBy with GPG keys (policy_eval_signedby.go): one simple-signing
 * signature verified by a key of the keyring, for this image's digest, with
 * an identity the rule accepts, is enough. Blobs in containers/image's
 * sigstore format (`\x00sigstore-json`) are not simple signatures and are
 * skipped, as `UnparsedImage.Signatures` skips them.
 */
async function decideSignedBy(
  prepared: SignedByPrepared,
  index: number,
  evidence: ContainersPolicyEvidence,
): Promise<RequirementOutcome> {
  const base = { index, type: 'signedBy' as const };
  if (prepared.keyring.size === 0) {
    return { ...base, holds: false, reason: 'No public keys imported', signatures: [] };
  }
  const digest = evidence.digest;
  const blobs = (evidence.simpleSignatures ?? []).filter(({ blob }) => blob[0] !== 0x00);
  if (digest === undefined || blobs.length === 0) {
    return {
      ...base,
      holds: false,
      reason: 'A signature was required, but no signature exists',
      signatures: [],
    };
  }
  const rule = prepared.requirement.signedIdentity;
  const outcomes: SignatureOutcome[] = [];
  // openpgp.js is loaded only when a signedBy requirement applies.
  const { verifyAtomicSignature } = await import('../formats/simple-signing/verify.ts');
  for (const [position, { blob, source }] of blobs.entries()) {
    const layer = digestOf(blob);
    try {
      const verified = await verifyAtomicSignature(
        blob,
        prepared.keyring,
        { digest },
        { acceptIdentity: (signed) => matchesSignedIdentity(rule, evidence.reference, signed) },
      );
      outcomes.push({
        index: position,
        layer,
        accepted: true,
        reason: `${source}: signed by key ${verified.fingerprint} for ${JSON.stringify(verified.dockerReference)}, accepted by ${rule.type}`,
        dockerReference: verified.dockerReference,
      });
      break; // One accepted signature is enough.
    } catch (error) {
      if (!isVouchError(error) || error.category !== 'denied') throw error;
      outcomes.push({
        index: position,
        layer,
        accepted: false,
        code: error.code,
        reason: `${source}: ${messageOf(error)}`,
      });
    }
  }
  const accepted = outcomes.find((outcome) => outcome.accepted);
  if (accepted !== undefined) {
    return { ...base, holds: true, reason: accepted.reason, signatures: outcomes };
  }
  const reason =
    outcomes.length === 1
      ? (outcomes[0] as SignatureOutcome).reason
      : `None of the signatures were accepted, reasons: ${outcomes.map((o) => o.reason).join('; ')}`;
  return { ...base, holds: false, reason, signatures: outcomes };
}

function decideSigstoreSigned(
  prepared: Extract<PreparedRequirement, { keys: unknown }>,
  index: number,
  evidence: ContainersPolicyEvidence,
  signers: CertificateSigners | undefined,
): RequirementOutcome {
  const base = { index, type: 'sigstoreSigned' as const };
  const outcomes: SignatureOutcome[] = [];
  const sigstore = sigstoreSignatures(evidence, outcomes);
  if (sigstore === undefined) {
    return {
      ...base,
      holds: false,
      reason:
        outcomes.length === 1
          ? (outcomes[0] as SignatureOutcome).reason
          : evidence.useSigstoreAttachments
            ? 'A signature was required, but no signature exists'
            : 'A signature was required, but no signature exists (registries.d does not enable use-sigstore-attachments for this image, so its cosign signatures are not read)',
      signatures: outcomes,
    };
  }
  const { rekor } = prepared;
  const certified = new Map<number, string>();
  let verdict: Pick<Verdict, 'verified' | 'rejected'>;
  if (prepared.fulcio !== undefined || prepared.pki !== undefined) {
    if (signers === undefined) throw new Error('certificate-signer.ts was not loaded');
    const { fulcioSigner, pkiSigner } = signers;
    const verified: Verdict['verified'][number][] = [];
    const rejected: Verdict['rejected'][number][] = [];
    for (const signature of sigstore.signatures) {
      const signer =
        prepared.fulcio !== undefined
          ? fulcioSigner(signature, prepared.fulcio)
          : pkiSigner(signature, prepared.pki as PkiRoot, evidence.now ?? new Date());
      if ('code' in signer) {
        outcomes.push({
          index: signature.index,
          layer: signature.layer.digest,
          accepted: false,
          code: signer.code,
          reason: signer.message,
        });
        continue;
      }
      certified.set(signature.index, signer.description);
      // The SET was checked with the certificate; the signature is checked with its key.
      const one = evaluate(
        { ...sigstore, rejectedLayers: [], signatures: [withoutBundle(signature)] },
        { keys: [signer.publicKey] },
      );
      verified.push(...one.verified);
      rejected.push(...one.rejected);
    }
    verdict = { verified, rejected };
  } else {
    // Without Rekor keys containers/image never looks at the bundle annotation.
    const signatures =
      rekor === undefined ? sigstore.signatures.map(withoutBundle) : sigstore.signatures;
    verdict = evaluate(
      { ...sigstore, signatures },
      { keys: prepared.keys, ...(rekor === undefined ? {} : { tlogs: rekor }) },
      { requireTlog: rekor !== undefined },
    );
  }
  for (const layer of sigstore.rejectedLayers) {
    // A layer of another media type is no signature to upstream, only skipped.
    if (layer.problem === 'not-simple-signing') continue;
    outcomes.push({
      index: layer.index,
      layer: layer.layer.digest,
      accepted: false,
      code: 'LAYER_INVALID',
      reason: layer.reason,
    });
  }
  for (const rejected of verdict.rejected) {
    if (rejected.reason.code === 'LAYER_INVALID') continue; // reported above
    outcomes.push({
      index: rejected.index,
      layer: rejected.layer,
      accepted: false,
      code: rejected.reason.code,
      reason: rejected.reason.message,
      ...(rejected.key === undefined ? {} : { key: rejected.key }),
    });
  }
  const rule = prepared.requirement.signedIdentity;
  for (const signature of verdict.verified) {
    const accepted = matchesSignedIdentity(rule, evidence.reference, signature.dockerReference);
    outcomes.push({
      index: signature.index,
      layer: signature.layer,
      accepted,
      ...(accepted ? {} : { code: 'IDENTITY_MISMATCH' }),
      reason: accepted
        ? `signed by ${certified.get(signature.index) ?? `key ${signature.key ?? 0}`} for ${JSON.stringify(signature.dockerReference)}, accepted by ${rule.type}`
        : `Signature for identity ${JSON.stringify(signature.dockerReference)} is not accepted (${rule.type} for ${formatReference(evidence.reference)})`,
      dockerReference: signature.dockerReference,
      ...(signature.key === undefined || certified.has(signature.index)
        ? {}
        : { key: signature.key }),
    });
  }
  outcomes.sort((a, b) => a.index - b.index);
  const accepted = outcomes.find((outcome) => outcome.accepted);
  if (accepted !== undefined) {
    return {
      ...base,
      holds: true,
      reason: `layer ${accepted.index}: ${accepted.reason}`,
      signatures: outcomes,
    };
  }
  const reason =
    outcomes.length === 0
      ? 'A signature was required, but no signature exists'
      : outcomes.length === 1
        ? (outcomes[0] as SignatureOutcome).reason
        : `None of the signatures were accepted, reasons: ${outcomes.map((o) => o.reason).join('; ')}`;
  return { ...base, holds: false, reason, signatures: outcomes };
}

function withoutBundle(signature: SignatureEvidence): SignatureEvidence {
  if (!Object.hasOwn(signature.annotations, BUNDLE_ANNOTATION)) return signature;
  const annotations = Object.fromEntries(
    Object.entries(signature.annotations).filter(([key]) => key !== BUNDLE_ANNOTATION),
  );
  return { ...signature, annotations };
}

/**
 * The sigstore signatures `sigstoreSigned` considers, as containers/image's
 * docker source returns them (docker/docker_image_src.go
 * `GetSignaturesWithFormat`): the `\x00sigstore-json\n` blobs of the
 * lookaside or the registry API extension first, then the cosign
 * attachments where registries.d enables them. Store blobs that are GPG
 * simple signatures are not sigstore signatures and are skipped; one that
 * does not parse is reported as rejected. Indices of store signatures follow
 * the attachments'. Undefined when there is none to check.
 */
function sigstoreSignatures(
  evidence: ContainersPolicyEvidence,
  unparsed: SignatureOutcome[],
): Evidence | undefined {
  const attached = evidence.useSigstoreAttachments ? evidence.sigstore : undefined;
  const blobs = (evidence.simpleSignatures ?? []).filter(({ blob }) => blob[0] === 0x00);
  const { digest } = evidence;
  if (blobs.length === 0 || digest === undefined) {
    return attached !== undefined && attached.signatures.length + attached.rejectedLayers.length > 0
      ? attached
      : undefined;
  }
  const offset = attached === undefined ? 0 : layerCount(attached);
  const layers: LayerWithPayload[] = [];
  for (const [position, { blob, source }] of blobs.entries()) {
    try {
      const signature = parseContainersSignature(blob, source);
      layers.push({ layer: layerOfContainersSignature(signature), payload: signature.payload });
    } catch (error) {
      if (!isVouchError(error) || error.category !== 'denied') throw error;
      unparsed.push({
        index: offset + position,
        layer: digestOf(blob),
        accepted: false,
        code: error.code,
        reason: messageOf(error),
      });
    }
  }
  const stored = evidenceFromLayers(
    { digest, reference: formatReference(evidence.reference) },
    layers,
  );
  const shift = <T extends { readonly index: number }>(item: T): T => ({
    ...item,
    index: item.index + offset,
  });
  const merged: Evidence = {
    ...(attached ?? stored),
    signatures: [...(attached?.signatures ?? []), ...stored.signatures.map(shift)],
    rejectedLayers: [...(attached?.rejectedLayers ?? []), ...stored.rejectedLayers.map(shift)],
  };
  return merged.signatures.length + merged.rejectedLayers.length > 0 ? merged : undefined;
}

function layerCount(evidence: Evidence): number {
  const indices = [...evidence.signatures, ...evidence.rejectedLayers].map(({ index }) => index);
  return indices.length === 0 ? 0 : Math.max(...indices) + 1;
}
