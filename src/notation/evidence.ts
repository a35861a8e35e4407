/**
 * Gathering the Notary Project signatures of an image (docs/design.md
 * principle 2: fetch first, then decide), as notation-go's `notation.Verify`
 * and `registry/repository.go` find them: the image's OCI referrers of
 * artifact type `application/vnd.cncf.notary.signature` (the referrers API,
 * or the fallback tag `sha256-<hex>` on registries without it and on OCI
 * layouts), in listing order, each signature manifest (an OCI image manifest,
 * or the pre-release OCI artifact manifest notation-go also reads) fetched by
 * digest and its one envelope read.
 *
 * The listing is a hint: anyone who can push a tag can write the fallback
 * index. So each listed manifest is opened by digest (the store checks the
 * bytes hash to it) and read strictly (formats/notation/signature-manifest.ts):
 * it must name this image as its subject and declare one envelope no larger
 * than `maxEnvelopeBytes`, refused before the blob is fetched; the blob is
 * read through the store, which checks its size and digest.
 *
 * Caps, as notation has them: the first `maxSignatures` signatures listed
 * are examined (notation's `--max-signatures`, 100); the rest are counted,
 * not fetched. When the caller passes `trustedThumbprints` (the SHA-256 of every
 * certificate it trusts for signing), a signature whose
 * `io.cncf.notary.x509chain.thumbprint#S256` annotation names none of them is
 * skipped before its envelope is fetched, as signature-specification.md
 * suggests ("filter ... by the thumbprint"): the annotation is unsigned, so it
 * can only ever make vouch look at fewer signatures, never accept one.
 *
 * A manifest or blob that is missing, corrupt or not a signature manifest
 * rejects that signature alone, with a reason; a transport failure fails the
 * whole image, since the evidence would be incomplete.
 *
 * https://github.com/notaryproject/specifications/blob/main/specs/signature-specification.md#storage
 * https://github.com/notaryproject/notation-go/blob/main/registry/repository.go
 */
import { createLimiter } from '../core/concurrency.ts';
import { isVouchError, messageOf } from '../core/errors.ts';
import { parseStrictJson } from '../core/strict-json.ts';
import {
  NOTATION_ARTIFACT_TYPE,
  type NotationSignatureManifest,
  OCI_ARTIFACT_MANIFEST,
  parseNotationSignatureManifest,
  THUMBPRINT_ANNOTATION,
} from '../formats/notation/signature-manifest.ts';
import type { Digest } from '../oci/digest.ts';
import { type Descriptor, describeManifest } from '../oci/manifest.ts';
import { OCI_MANIFEST } from '../oci/media-types.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';

/** The image signatures must name: its descriptor, read from the store. */
export interface NotationImage {
  /** The image as the caller named it, for messages. */
  readonly reference: string;
  /** Media type, digest and size of the manifest, as a signature's `targetArtifact` must give them. */
  readonly descriptor: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>;
}

/** A signature manifest read and, unless only listed, its envelope fetched. */
export interface NotationSignatureEvidence {
  /** Position among the notation signatures listed (listing order, from 0). */
  readonly index: number;
  readonly manifest: NotationSignatureManifest;
  /** The envelope's exact bytes, checked against `manifest.envelope`; absent when not fetched. */
  readonly envelope?: Uint8Array;
}

export type NotationSignatureProblem =
  /** Not a signature manifest vouch reads (formats/notation/signature-manifest.ts says why). */
  | 'manifest-invalid'
  /** The manifest or its envelope is not in the store. */
  | 'missing'
  /** The manifest or envelope did not match its digest or size, or is no manifest. */
  | 'content-invalid';

/** A listed signature that could not be read; it never verifies. */
export interface RejectedNotationSignature {
  readonly index: number;
  /** The signature manifest's digest. */
  readonly digest: Digest;
  readonly problem: NotationSignatureProblem;
  readonly reason: string;
}

/** A signature skipped before its envelope was fetched: its chain names no trusted certificate. */
export interface UntrustedNotationSignature {
  readonly index: number;
  readonly digest: Digest;
  /** The thumbprints its manifest (or listing) claims, leaf first. */
  readonly thumbprints: readonly string[];
}

export interface NotationEvidence {
  readonly image: NotationImage;
  /** Where the signatures were listed: `registry/repo@sha256:<hex> (referrers)`. */
  readonly referrersLocation: string;
  readonly signatures: readonly NotationSignatureEvidence[];
  readonly rejected: readonly RejectedNotationSignature[];
  readonly untrusted: readonly UntrustedNotationSignature[];
  /** Signatures listed beyond `maxSignatures`, neither fetched nor examined. */
  readonly notExamined: number;
}

/** notation's `--max-signatures` default (cmd/notation/verify.go). */
export const DEFAULT_MAX_NOTATION_SIGNATURES = 100;
/**
 * Envelopes are a few kilobytes (a chain and a timestamp token); notation
 * allows 32 MiB, vouch less by default, as it caps cosign payloads at 4 MiB.
 */
export const DEFAULT_MAX_NOTATION_ENVELOPE_BYTES = 4 * 1024 * 1024;

export interface NotationGatherOptions {
  /** Signatures examined at most; DEFAULT_MAX_NOTATION_SIGNATURES unless given. */
  readonly maxSignatures?: number;
  /** Envelopes declared larger are refused unfetched; DEFAULT_MAX_NOTATION_ENVELOPE_BYTES unless given. */
  readonly maxEnvelopeBytes?: number;
  /** Fetch each envelope (default); false reads the manifests only (`vouch notation list`). */
  readonly envelopes?: boolean;
  /** Lowercase SHA-256 hex of the trusted signing certificates; see the module comment. */
  readonly trustedThumbprints?: ReadonlySet<string>;
  /** Manifests and envelopes fetched at once; 4 unless given. */
  readonly concurrency?: number;
}

/**
 * The image's descriptor: its manifest fetched (by digest, checked against
 * it), so media type and size are the manifest's own and not a registry's
 * claim in a HEAD answer. Throws what the store throws (`invalid`
 * MANIFEST_UNKNOWN for a missing image, `unavailable` on transport failures).
 */
export async function resolveNotationImage(
  store: ImageStore,
  target: ManifestTarget,
  reference: string,
): Promise<NotationImage> {
  const { mediaType, digest, size } = describeManifest(await store.getManifest(target));
  return { reference, descriptor: { mediaType, digest, size } };
}

/** Where the referrers of `digest` in `store` are, for messages. */
export function notationReferrersLocation(store: ImageStore, digest: Digest): string {
  return `${store.location}@${digest} (referrers)`;
}

/**
 * The notation signatures of `image` in `store` (module comment). Throws
 * what the store throws for a listing it could not read (`unavailable` on
 * transport failures, `denied` REFERRERS_INVALID for a malformed fallback
 * index) and for a manifest or blob it could not fetch for want of a
 * connection.
 */
export async function gatherNotationSignatures(
  store: ImageStore,
  image: NotationImage,
  options: NotationGatherOptions = {},
): Promise<NotationEvidence> {
  const maxSignatures = options.maxSignatures ?? DEFAULT_MAX_NOTATION_SIGNATURES;
  const digest = image.descriptor.digest;
  const listed = await store.referrers(digest, NOTATION_ARTIFACT_TYPE);
  const seen = new Set<Digest>();
  const unique = listed.filter((descriptor) => {
    // The store filters by artifact type; a registry that ignored the filter is not trusted to have.
    if (descriptor.artifactType !== NOTATION_ARTIFACT_TYPE || seen.has(descriptor.digest))
      return false;
    seen.add(descriptor.digest);
    return true;
  });
  // notation counts every signature it processes, trusted or not (notation.go `Verify`).
  const examined = unique.slice(0, maxSignatures);
  const rejected: RejectedNotationSignature[] = [];
  const untrusted: UntrustedNotationSignature[] = [];
  const candidates: { readonly index: number; readonly descriptor: Descriptor }[] = [];
  for (const [index, descriptor] of examined.entries()) {
    const claimed = listedThumbprints(descriptor);
    if (claimed !== undefined && !namesTrusted(claimed, options.trustedThumbprints)) {
      untrusted.push({ index, digest: descriptor.digest, thumbprints: claimed });
    } else {
      candidates.push({ index, descriptor });
    }
  }
  const limit = createLimiter(options.concurrency ?? 4);
  const outcomes = await Promise.all(
    candidates.map(({ index, descriptor }) =>
      limit(() => examine(store, image, index, descriptor, options)),
    ),
  );
  const signatures: NotationSignatureEvidence[] = [];
  for (const outcome of outcomes) {
    if ('problem' in outcome) rejected.push(outcome);
    else if ('thumbprints' in outcome) untrusted.push(outcome);
    else signatures.push(outcome);
  }
  const byIndex = (a: { index: number }, b: { index: number }) => a.index - b.index;
  return {
    image,
    referrersLocation: notationReferrersLocation(store, digest),
    signatures,
    rejected,
    untrusted: untrusted.sort(byIndex),
    notExamined: unique.length - examined.length,
  };
}

async function examine(
  store: ImageStore,
  image: NotationImage,
  index: number,
  descriptor: Descriptor,
  options: NotationGatherOptions,
): Promise<NotationSignatureEvidence | RejectedNotationSignature | UntrustedNotationSignature> {
  const digest = descriptor.digest;
  const reject = (
    problem: NotationSignatureProblem,
    reason: string,
  ): RejectedNotationSignature => ({
    index,
    digest,
    problem,
    reason: `signature ${index} (${digest}): ${reason}`,
  });
  // notation-go reads both (registry/repository.go getSignatureBlobDesc).
  if (descriptor.mediaType !== OCI_MANIFEST && descriptor.mediaType !== OCI_ARTIFACT_MANIFEST) {
    return reject(
      'manifest-invalid',
      `the listing says it is ${JSON.stringify(descriptor.mediaType)}, not an OCI image or artifact manifest`,
    );
  }
  const maxEnvelopeBytes = options.maxEnvelopeBytes ?? DEFAULT_MAX_NOTATION_ENVELOPE_BYTES;
  try {
    const parsed = await store.getManifest({ digest });
    let manifest: NotationSignatureManifest;
    try {
      manifest = parseNotationSignatureManifest(parsed.bytes, {
        contentType: parsed.mediaType,
        subject: image.descriptor,
        maxEnvelopeBytes,
      });
    } catch (error) {
      if (!isVouchError(error)) throw error;
      return reject('manifest-invalid', error.message);
    }
    if (
      manifest.thumbprints !== undefined &&
      !namesTrusted(manifest.thumbprints, options.trustedThumbprints)
    ) {
      return { index, digest, thumbprints: manifest.thumbprints };
    }
    if (options.envelopes === false) return { index, manifest };
    const envelope = await store.readBlob(manifest.envelope, maxEnvelopeBytes);
    return { index, manifest, envelope };
  } catch (error) {
    if (!isVouchError(error) || error.category === 'unavailable') throw error;
    const problem = error.code.endsWith('_UNKNOWN') ? 'missing' : 'content-invalid';
    return reject(problem, messageOf(error));
  }
}

/** Whether `thumbprints` names a trusted certificate; always when no filter is asked for. */
function namesTrusted(
  thumbprints: readonly string[],
  trusted: ReadonlySet<string> | undefined,
): boolean {
  return trusted === undefined || thumbprints.some((thumbprint) => trusted.has(thumbprint));
}

const THUMBPRINT = /^[0-9a-fA-F]{64}$/;

/**
 * The thumbprints a listing entry's annotation claims, when it is a JSON
 * array of SHA-256 hex strings; undefined otherwise (the manifest's own
 * annotation then decides, read strictly).
 */
function listedThumbprints(descriptor: Descriptor): string[] | undefined {
  const text = descriptor.annotations?.[THUMBPRINT_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    const value = parseStrictJson(new TextEncoder().encode(text), { maxDepth: 1 });
    if (!Array.isArray(value) || value.length === 0) return undefined;
    const hexes = value.filter((item): item is string => typeof item === 'string');
    if (hexes.length !== value.length || !hexes.every((hex) => THUMBPRINT.test(hex)))
      return undefined;
    return hexes.map((hex) => hex.toLowerCase());
  } catch {
    return undefined;
  }
}
