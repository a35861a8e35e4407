/**
 * Attesting and signing images with a key the way cosign 3 stores
 * attestations and signatures by default (`cosign attest --new-bundle-format`; sigstore/cosign@d6d86c22
 * pkg/oci/remote/write.go WriteAttestationNewBundleFormat, WriteReferrer):
 *
 * 1. The image is resolved to its descriptor once (cosign HEADs it): the
 *    digest is the statement's only subject, and the descriptor becomes the
 *    referrer's `subject`.
 * 2. The predicate is wrapped in an in-toto Statement v1, signed in a DSSE
 *    envelope over its PAE, and the envelope put in a v0.3 Sigstore bundle
 *    with the key's hint and no transparency log entry (nothing is logged;
 *    formats/sigstore-bundle.ts buildDsseBundle).
 * 3. The empty config blob and the bundle blob are uploaded, then the
 *    referrer manifest (formats/sigstore-bundle.ts buildBundleReferrer), by
 *    digest with no tag. The store lists it: a registry with the referrers
 *    API indexes it from its `subject`; without it (no `OCI-Subject` header
 *    in the answer, Distribution 2.8) and on a layout, the store adds it to
 *    the fallback index under the tag `sha256-<hex>` (distribution-spec
 *    "Pushing Manifests with Subject"; registry/referrers-tag.ts).
 *
 * Signing (`signImagesAsBundles`) is the same with cosign 3's signature
 * statement (predicate type `https://sigstore.dev/cosign/sign/v1`).
 *
 * Like cosign, every run adds a new referrer: the manifest records the time
 * (`org.opencontainers.image.created`) and ECDSA signatures are randomised,
 * so no two runs write the same bytes, and cosign has no duplicate check for
 * this form. Only the image named is attested (no `--recursive`, which
 * cosign's new bundle format does not apply to an index's manifests either).
 */
import { createLimiter } from '../core/concurrency.ts';
import { invalid } from '../core/errors.ts';
import { DEFAULT_MAX_ATTESTATION_BYTES } from '../formats/cosign-attestation.ts';
import { IN_TOTO_PAYLOAD_TYPE, preAuthEncoding } from '../formats/dsse.ts';
import { buildSignStatement, buildStatement } from '../formats/in-toto.ts';
import {
  type BundleReferrer,
  buildBundleReferrer,
  buildDsseBundle,
  COSIGN_SIGN_PREDICATE_TYPE,
  publicKeyHint,
} from '../formats/sigstore-bundle.ts';
import { isJsonObject, type JsonObject } from '../core/strict-json.ts';
import type { Signer } from '../keys/signer.ts';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import type { ImageStore } from '../registry/store.ts';
import type { AttestRequest } from './attest.ts';
import {
  type AttachRequest,
  checkSigner,
  countOption,
  DEFAULT_SIGN_CONCURRENCY,
} from './attach.ts';
import type { KeylessSigning, LogEntryRef } from './keyless-signing.ts';
import { loggedNotStored } from './logged-not-stored.ts';

export interface BundleAttestOptions {
  /** Signs the PAE of every statement; see `attestationSigner`. */
  readonly signer: Signer;
  /** The predicate type URI. */
  readonly predicateType: string;
  /** The predicate, a JSON object. */
  readonly predicate: JsonObject;
  /** Sign keylessly with this run's certificate; `signer` must be its `signer`. */
  readonly keyless?: KeylessSigning;
  /** Images attested at once. Default 8. */
  readonly concurrency?: number;
  /** Refuse to write a bundle larger than this; default 16 MiB, what `verify-attestation` reads. */
  readonly maxBundleBytes?: number;
  /** The time recorded in the referrer; now unless given. */
  readonly now?: () => Date;
}

export interface BundleAttestation {
  /** The manifest attested (the statement's subject and the referrer's). */
  readonly digest: Digest;
  readonly mediaType: string;
  /** The referrer manifest written. */
  readonly referrer: Digest;
  /** Where it is: `registry/repository@sha256:...` or `oci:PATH@sha256:...`. */
  readonly location: string;
  /** The bundle layer's digest. */
  readonly bundleDigest: Digest;
  readonly predicateType: string;
}

export type BundleAttestResult =
  | {
      readonly image: string;
      readonly ok: true;
      readonly digest: Digest;
      readonly mediaType: string;
      readonly attestation: BundleAttestation;
    }
  | {
      readonly image: string;
      readonly ok: false;
      readonly digest?: Digest;
      readonly mediaType?: string;
      readonly error: Error;
    };

/**
 * Attests every image as a Sigstore bundle referrer; one result per request,
 * in order. Per-image failures are reported in the results, not thrown;
 * invalid options throw before any I/O.
 */
export async function attestImagesAsBundles(
  requests: readonly AttestRequest[],
  options: BundleAttestOptions,
): Promise<BundleAttestResult[]> {
  const { predicateType, predicate } = options;
  if (typeof predicateType !== 'string' || predicateType === '') {
    throw invalid('INVALID_OPTION', 'the predicate type must be a non-empty string (a URI)');
  }
  if (!isJsonObject(predicate))
    throw invalid('PREDICATE_INVALID', 'the predicate must be a JSON object');
  for (const request of requests) {
    if (typeof request.subjectName !== 'string' || request.subjectName === '') {
      throw invalid(
        'INVALID_STATEMENT_INPUT',
        `${request.name ?? request.store.location}: the subject name must be a non-empty string`,
      );
    }
  }
  return writeBundles(requests, options, predicateType, (request, digest) =>
    buildStatement({ subjectName: request.subjectName, digest, predicateType, predicate }),
  );
}

export interface BundleSignOptions {
  /** Signs the PAE of every statement; cosign 3 signs these as attestations (`attestationSigner`). */
  readonly signer: Signer;
  /** Sign keylessly with this run's certificate; `signer` must be its `signer`. */
  readonly keyless?: KeylessSigning;
  /** cosign's `-a key=value`: recorded on the statement's subject. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Images signed at once. Default 8. */
  readonly concurrency?: number;
  /** The time recorded in the referrer; now unless given. */
  readonly now?: () => Date;
}

/**
 * Signs every image the way cosign 3 does by default (`cosign sign
 * --new-bundle-format`, cmd/cosign/cli/sign/sign.go signDigestBundle): a
 * statement of predicate type `https://sigstore.dev/cosign/sign/v1` about
 * the image (formats/in-toto.ts buildSignStatement), in a bundle referrer
 * like an attestation's. One result per request, in order.
 */
export async function signImagesAsBundles(
  requests: readonly AttachRequest[],
  options: BundleSignOptions,
): Promise<BundleAttestResult[]> {
  const annotations = options.annotations ?? {};
  for (const [key, value] of Object.entries(annotations)) {
    if (typeof value !== 'string') {
      throw invalid('INVALID_OPTION', `annotation ${JSON.stringify(key)} must be a string`);
    }
  }
  return writeBundles(requests, options, COSIGN_SIGN_PREDICATE_TYPE, (_request, digest) =>
    buildSignStatement({ digest, predicateType: COSIGN_SIGN_PREDICATE_TYPE, annotations }),
  );
}

/** Signs `statementFor` each image in a bundle and stores it as a referrer of the image. */
async function writeBundles<Q extends AttachRequest>(
  requests: readonly Q[],
  options: Pick<
    BundleAttestOptions,
    'signer' | 'keyless' | 'concurrency' | 'maxBundleBytes' | 'now'
  >,
  predicateType: string,
  statementFor: (request: Q, digest: Digest) => Uint8Array,
): Promise<BundleAttestResult[]> {
  const signer = checkSigner(options.signer, 'signing a bundle', options.keyless);
  const { keyless } = options;
  const maxBundleBytes = countOption(
    options.maxBundleBytes,
    DEFAULT_MAX_ATTESTATION_BYTES,
    'maxBundleBytes',
    1,
  );
  const limit = createLimiter(
    countOption(options.concurrency, DEFAULT_SIGN_CONCURRENCY, 'concurrency', 1),
  );
  const hint = publicKeyHint(
    new Uint8Array(signer.publicKey.export({ format: 'der', type: 'spki' })),
  );
  const now = options.now ?? (() => new Date());
  return Promise.all(
    requests.map((request) =>
      limit(async (): Promise<BundleAttestResult> => {
        const image = request.name ?? describeTarget(request);
        let subject: Descriptor | undefined;
        let logged: LogEntryRef | undefined;
        try {
          subject = await request.store.resolve(request.target);
          const statement = statementFor(request, subject.digest);
          const bundle =
            keyless === undefined
              ? buildDsseBundle({
                  envelope: {
                    payloadType: IN_TOTO_PAYLOAD_TYPE,
                    payload: statement,
                    signatures: [
                      {
                        sig: await signer.sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement)),
                        keyid: '',
                      },
                    ],
                  },
                  publicKeyHint: hint,
                })
              : await keyless.signStatementBundle(statement).then((signed) => {
                  logged = signed.logEntry;
                  return signed.bundle;
                });
          if (bundle.byteLength > maxBundleBytes) {
            throw invalid(
              'ATTESTATION_TOO_LARGE',
              `the bundle for ${subject.digest} would be ${bundle.byteLength} bytes, more than the ${maxBundleBytes} allowed`,
            );
          }
          const referrer = buildBundleReferrer({ subject, bundle, predicateType, created: now() });
          await writeReferrer(request.store, referrer);
          return {
            image,
            ok: true,
            digest: subject.digest,
            mediaType: subject.mediaType,
            attestation: {
              digest: subject.digest,
              mediaType: subject.mediaType,
              referrer: referrer.descriptor.digest,
              location: `${request.store.location}@${referrer.descriptor.digest}`,
              bundleDigest: referrer.layer.descriptor.digest,
              predicateType,
            },
          };
        } catch (caught) {
          if (!(caught instanceof Error)) throw caught;
          const error = logged === undefined ? caught : loggedNotStored(caught, [logged]);
          return {
            image,
            ok: false,
            error,
            ...(subject === undefined
              ? {}
              : { digest: subject.digest, mediaType: subject.mediaType }),
          };
        }
      }),
    ),
  );
}

/** Uploads the blobs a referrer names, then the referrer itself (which lists it). */
async function writeReferrer(store: ImageStore, referrer: BundleReferrer): Promise<void> {
  for (const blob of [referrer.config, referrer.layer]) {
    if (!(await store.hasBlob(blob.descriptor))) {
      await store.putBlob(blob.descriptor, once(blob.bytes));
    }
  }
  await store.putManifest(referrer.manifest, referrer.descriptor.mediaType);
}

function describeTarget(request: AttachRequest): string {
  const { target } = request;
  return 'tag' in target
    ? `${request.store.location}:${target.tag}`
    : `${request.store.location}@${target.digest}`;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
