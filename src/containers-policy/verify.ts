/**
 * `vouch verify --containers-policy`: each image decided by a policy.json
 * as podman, CRI-O and skopeo decide it (containers/image
 * `IsRunningImageAllowed`), fetch first, then decide (docs/design.md
 * principle 2):
 *
 * 1. the scope's requirements are chosen for the image (a registry
 *    reference; containers/image's `docker` transport) by
 *    formats/containers-policy/scope.ts, and the keys they name are read
 *    (material.ts);
 * 2. when a signature requirement applies, the image is resolved to its
 *    digest; for `sigstoreSigned`, where registries.d enables
 *    `use-sigstore-attachments` for it, its cosign signature attachments are
 *    fetched; for `signedBy` and `sigstoreSigned`, the signature blobs of its
 *    store (GPG simple signatures, `\x00sigstore-json` blobs) are read (simple-signing/signature-stores.ts: the registry API extension,
 *    else the registries.d lookaside). A policy of `insecureAcceptAnything`
 *    and `reject` needs no registry at all;
 * 3. `decideContainersPolicy` decides, with no I/O.
 *
 * An image the policy does not allow is `denied` CONTAINERS_POLICY_DENIED,
 * naming each requirement that failed; input vouch cannot use (a reference
 * with both tag and digest, a key that is not one, a requirement vouch does
 * not evaluate) is `invalid`; a registry that cannot be reached is
 * `unavailable`.
 */
import { denied, invalid, isVouchError, type VouchError } from '../core/errors.ts';
import type { ContainersPolicy } from '../formats/containers-policy/policy-json.ts';
import {
  DOCKER_TRANSPORT,
  dockerTransportReference,
  requirementsForImage,
} from '../formats/containers-policy/scope.ts';
import {
  type RegistriesDConfig,
  usesSigstoreAttachments,
} from '../formats/simple-signing/registries-d.ts';
import type { Digest } from '../oci/digest.ts';
import { formatReference } from '../oci/reference.ts';
import { parseImageSpec, type Stores } from '../registry/open.ts';
import { fetchSignatures, type GatherLimits, resolveImage } from '../verify/evidence.ts';
import { createLimiter } from '../core/concurrency.ts';
import { DEFAULT_VERIFY_CONCURRENCY } from '../registry/http.ts';
import type { ImageStatus } from '../verify/verify.ts';
import {
  type ContainersPolicyEvidence,
  decideContainersPolicy,
  type RequirementOutcome,
} from './evaluate.ts';
import { type ReadFile, readCappedFile, requirementPreparer } from './material.ts';
import {
  readSimpleSignatures,
  type SimpleSigningStoreOptions,
} from '../simple-signing/signature-stores.ts';
import './error-codes.ts';

export interface ContainersPolicyOptions {
  readonly policy: ContainersPolicy;
  /**
   * Where GPG simple signatures are read (registries.d lookaside or the
   * registry API extension): simple-signing/signature-stores.ts options, but
   * for registries.d, which is `registriesD` below.
   */
  readonly simpleSigning: Omit<SimpleSigningStoreOptions, 'registriesD'>;
  /** registries.d, for `use-sigstore-attachments`; none: attachments are not read. */
  readonly registriesD: RegistriesDConfig;
  /** How key files are read (tests); a capped read from disk unless given. */
  readonly readFile?: ReadFile;
  readonly limits?: GatherLimits;
  readonly concurrency?: number;
}

export interface ContainersPolicyVerification {
  /** The image as the user named it. */
  readonly image: string;
  readonly status: ImageStatus;
  /** The reference the policy saw (canonical, tag or digest), once parsed. */
  readonly reference?: string;
  readonly digest?: Digest;
  /** The transport section used (`docker`), and the scope in it; both absent when `default` applied. */
  readonly transport?: string;
  readonly scope?: string;
  readonly requirements?: readonly RequirementOutcome[];
  readonly error?: VouchError;
}

/** Decides each image; results come back in the order of `images`. */
export async function verifyContainersPolicyImages(
  stores: Stores,
  images: readonly string[],
  options: ContainersPolicyOptions,
): Promise<ContainersPolicyVerification[]> {
  const limit = createLimiter(options.concurrency ?? DEFAULT_VERIFY_CONCURRENCY);
  // Key material is read once per policy section for the whole call.
  const prepare = requirementPreparer(options.readFile ?? readCappedFile);
  return Promise.all(
    images.map((image) => limit(() => verifyOne(stores, image, options, prepare))),
  );
}

async function verifyOne(
  stores: Stores,
  image: string,
  options: ContainersPolicyOptions,
  prepare: ReturnType<typeof requirementPreparer>,
): Promise<ContainersPolicyVerification> {
  let partial: Omit<ContainersPolicyVerification, 'status' | 'image'> = {};
  try {
    const spec = parseImageSpec(image);
    if (spec.kind !== 'registry') {
      throw invalid(
        'INVALID_REFERENCE',
        `${image}: a containers policy is evaluated for registry images (containers/image's docker transport), not OCI layouts`,
      );
    }
    const reference = dockerTransportReference(spec.reference);
    const match = requirementsForImage(options.policy, reference);
    const section =
      match.scope === undefined
        ? 'default'
        : `transports.${DOCKER_TRANSPORT}[${JSON.stringify(match.scope)}]`;
    partial = {
      reference: formatReference(reference),
      ...(match.scope === undefined ? {} : { transport: DOCKER_TRANSPORT, scope: match.scope }),
    };
    const prepared = await prepare(match.requirements, section);
    const needsAttachments = prepared.some(
      ({ requirement }) => requirement.type === 'sigstoreSigned',
    );
    // containers/image reads the lookaside (or API extension) for sigstore
    // signatures too: `\x00sigstore-json` blobs stored there count for sigstoreSigned.
    const needsSimpleSignatures = needsAttachments || prepared.some((item) => 'keyring' in item);
    const needsSignatures = needsAttachments || needsSimpleSignatures;
    const useSigstoreAttachments = usesSigstoreAttachments(options.registriesD, reference);
    let evidence: ContainersPolicyEvidence = { reference, useSigstoreAttachments };
    // Only signature requirements need the registry.
    if (needsSignatures) {
      const store = await stores.open(spec);
      const target =
        reference.digest !== undefined
          ? { digest: reference.digest }
          : { tag: reference.tag as string };
      const resolved = await resolveImage(store, target, formatReference(reference));
      partial = { ...partial, digest: resolved.digest };
      evidence = {
        ...evidence,
        digest: resolved.digest,
        ...(useSigstoreAttachments && needsAttachments
          ? { sigstore: await fetchSignatures(store, resolved, options.limits) }
          : {}),
        ...(needsSimpleSignatures
          ? {
              simpleSignatures: (
                await readSimpleSignatures(store, reference, resolved.digest, {
                  ...options.simpleSigning,
                  registriesD: options.registriesD,
                })
              ).signatures,
            }
          : {}),
      };
    }
    const decision = await decideContainersPolicy(prepared, evidence);
    const result = { image, ...partial, requirements: decision.requirements };
    if (decision.allowed) return { ...result, status: 'verified' };
    const failed = decision.requirements.filter((outcome) => !outcome.holds);
    const error = denied(
      'CONTAINERS_POLICY_DENIED',
      `${image}: not allowed by ${section} of the policy: ${failed
        .map((outcome) => `requirement ${outcome.index} (${outcome.type}): ${outcome.reason}`)
        .join('; ')}`,
    );
    return { ...result, status: 'denied', error };
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return { image, ...partial, status: error.category, error };
  }
}
