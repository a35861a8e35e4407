/**
 * Signing images as notation 1.3 does (`notation sign`; notation-go v1.3
 * `notation.go` `Sign`, `signer/`, `registry/repository.go`
 * `PushSignature`; specifications `specs/signing-and-verification-workflow.md`
 * "Signing steps"):
 *
 * 1. Each image is resolved to its descriptor once; the digest is what is
 *    signed and what the signature names, never the tag.
 * 2. The payload is `{"targetArtifact": <descriptor>}`, the user's metadata
 *    as its annotations (`--user-metadata`; keys under `io.cncf.notary` are
 *    reserved, as notation-go addUserMetadataToDescriptor refuses them).
 * 3. The envelope (JWS by default, or COSE) is signed by a local key or a
 *    plugin (plugin-signer.ts), with the signing time now, the expiry when
 *    asked, the signing agent, and an RFC 3161 countersignature over the
 *    signature bytes when a timestamper is given (its answer checked against
 *    the root the user named: timestamp-authority.ts).
 * 4. The envelope is read back with the verifier's own parser and its
 *    signature verified with its leaf certificate, as notation-go's
 *    GenericSigner calls `sigEnv.Verify()` after signing; its certificate
 *    chain must be in order (each certificate issued by the next), valid at
 *    the signing time, with a leaf that is no CA: the parts of
 *    notation-core-go's `ValidateCodeSigningCertChain` (base/envelope.go
 *    validateCertificateChain) that make a signature no verifier would
 *    accept. (Verification checks the chain against the Notary Project
 *    certificate requirements in full.)
 * 5. Only then is anything written: the config blob `{}`, the envelope blob,
 *    and the signature manifest (notation 1.3's form with the
 *    `application/vnd.cncf.notary.signature` config media type unless the
 *    `artifact-type` form is asked for), by digest with no tag, its
 *    `subject` the image. The store lists it: a registry with the referrers
 *    API indexes it; without one (Distribution 2.8) and on a layout the
 *    fallback index `sha256-<hex>` gets it, without losing a concurrent
 *    writer's entry (registry/referrers-tag.ts). With `forceReferrersTag`
 *    (notation 1.3's default, `--force-referrers-tag`) the fallback index
 *    gets it on a registry with the API too.
 *
 * Like notation, every run adds a new signature: the signing time (and the
 * manifest's `org.opencontainers.image.created`) differ, so two runs never
 * write the same manifest, and notation has no duplicate check. Per-image
 * failures are in the results; options are checked before any I/O.
 */
import { type KeyObject, X509Certificate } from 'node:crypto';
import { createLimiter } from '../core/concurrency.ts';
import { invalid } from '../core/errors.ts';
import { buildCose } from '../formats/notation/cose.ts';
import {
  COSE_ENVELOPE_MEDIA_TYPE,
  JWS_ENVELOPE_MEDIA_TYPE,
  type NotationEnvelope,
  type NotationEnvelopeMediaType,
} from '../formats/notation/envelope.ts';
import { buildJws } from '../formats/notation/jws.ts';
import { parseNotationEnvelope } from '../formats/notation/parse-envelope.ts';
import {
  buildNotationSignatureManifest,
  type NotationSignatureManifestParts,
} from '../formats/notation/signature-manifest.ts';
import {
  type NotationSignRequest,
  notationKeySigner,
  verifyNotationSignature,
} from '../formats/notation/signature.ts';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import { OCI_MANIFEST } from '../oci/media-types.ts';
import { addToReferrersTag } from '../registry/referrers-tag.ts';
import { canSwapTags, type ImageStore, type ManifestTarget } from '../registry/store.ts';
import type {} from './error-codes.ts';
import type { PluginSigning } from './plugin-signer.ts';
import type { Timestamper } from './timestamper.ts';

export type NotationSignatureFormat = 'jws' | 'cose';

/** Who signs: a key with its certificate chain, or a plugin (startPluginSigning). */
export type NotationSigningKey =
  | {
      readonly kind: 'key';
      readonly privateKey: KeyObject;
      /** DER certificates, leaf first. */
      readonly certificateChain: readonly Uint8Array[];
    }
  | { readonly kind: 'plugin'; readonly plugin: PluginSigning };

export interface NotationSignOptions {
  readonly key: NotationSigningKey;
  /** `jws` (notation's default) unless given. */
  readonly format?: NotationSignatureFormat;
  /** The signature's expiry, in whole seconds after the signing time. */
  readonly expirySeconds?: number;
  /** Recorded in the payload as the descriptor's annotations. */
  readonly userMetadata?: Readonly<Record<string, string>>;
  /** Countersigns each signature (createTimestamper); not with an envelope-generating plugin. */
  readonly timestamper?: Timestamper;
  /** `config-media-type` (notation 1.3) unless given. */
  readonly manifestForm?: 'config-media-type' | 'artifact-type';
  /** Also list the signature in the fallback index where the registry has the referrers API. Default true. */
  readonly forceReferrersTag?: boolean;
  /** `io.cncf.notary.signingAgent`, e.g. `vouch/0.1.0`; a plugin's name/version is added after it. */
  readonly signingAgent: string;
  /** Images signed at once. Default 4. */
  readonly concurrency?: number;
  /** The signing time; now unless given. */
  readonly now?: () => Date;
}

export interface NotationSignTarget {
  readonly store: ImageStore;
  /** A tag is resolved once; a digest is used as given. */
  readonly target: ManifestTarget;
  /** How results and errors name the image. */
  readonly name?: string;
}

export interface NotationSignature {
  /** The signature manifest, a referrer of the image. */
  readonly manifest: Digest;
  /** `registry/repository@sha256:...` or `oci:PATH@sha256:...`. */
  readonly location: string;
  readonly envelope: Digest;
  readonly envelopeMediaType: NotationEnvelopeMediaType;
  readonly form: 'config-media-type' | 'artifact-type';
  readonly signingTime: Date;
  readonly expiry?: Date;
  readonly timestamped: boolean;
}

export type NotationSignResult =
  | {
      readonly image: string;
      readonly ok: true;
      readonly digest: Digest;
      readonly mediaType: string;
      readonly signature: NotationSignature;
    }
  | {
      readonly image: string;
      readonly ok: false;
      readonly digest?: Digest;
      readonly mediaType?: string;
      readonly error: Error;
    };

/** notation-go notation.go reservedAnnotationPrefixes. */
const RESERVED_PREFIX = 'io.cncf.notary';
/** More than any signature would carry; each is in every signed payload. */
const MAX_USER_METADATA = 64;

const ENVELOPE_TYPES: Readonly<Record<NotationSignatureFormat, NotationEnvelopeMediaType>> = {
  jws: JWS_ENVELOPE_MEDIA_TYPE,
  cose: COSE_ENVELOPE_MEDIA_TYPE,
};

/** Signs every image (module comment); one result per request, in order. */
export async function signNotationImages(
  requests: readonly NotationSignTarget[],
  options: NotationSignOptions,
): Promise<NotationSignResult[]> {
  const sign = signerFor(options);
  const concurrency = options.concurrency ?? 4;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw invalid(
      'INVALID_NOTATION_INPUT',
      `concurrency must be a positive integer, not ${concurrency}`,
    );
  }
  const limit = createLimiter(concurrency);
  return Promise.all(
    requests.map((request) =>
      limit(async (): Promise<NotationSignResult> => {
        const image = request.name ?? describeTarget(request);
        let subject: Descriptor | undefined;
        try {
          subject = await request.store.resolve(request.target);
          const signature = await signImage(request.store, subject, options, sign);
          return {
            image,
            ok: true,
            digest: subject.digest,
            mediaType: subject.mediaType,
            signature,
          };
        } catch (caught) {
          if (!(caught instanceof Error)) throw caught;
          return {
            image,
            ok: false,
            error: caught,
            ...(subject === undefined
              ? {}
              : { digest: subject.digest, mediaType: subject.mediaType }),
          };
        }
      }),
    ),
  );
}

interface Signed {
  readonly envelope: Uint8Array;
  readonly parsed: NotationEnvelope;
  readonly annotations?: Readonly<Record<string, string>>;
}

type Sign = (subject: Descriptor) => Promise<Signed>;

/** Checks the options (before any I/O) and returns what signs one image's envelope. */
function signerFor(options: NotationSignOptions): Sign {
  const format = options.format ?? 'jws';
  const envelopeType = ENVELOPE_TYPES[format];
  if (envelopeType === undefined) {
    throw invalid(
      'INVALID_NOTATION_INPUT',
      `the signature format must be jws or cose, not ${JSON.stringify(format)}`,
    );
  }
  const expirySeconds = options.expirySeconds;
  if (expirySeconds !== undefined && (!Number.isSafeInteger(expirySeconds) || expirySeconds <= 0)) {
    throw invalid(
      'INVALID_NOTATION_INPUT',
      'the expiry must be a positive whole number of seconds',
    );
  }
  const metadata = checkUserMetadata(options.userMetadata ?? {});
  const now = options.now ?? (() => new Date());
  const { key, timestamper } = options;
  const build = format === 'jws' ? buildJws : buildCose;
  const targetOf = (subject: Descriptor) => ({
    mediaType: subject.mediaType,
    digest: subject.digest,
    size: subject.size,
    ...(Object.keys(metadata).length === 0 ? {} : { annotations: metadata }),
  });
  const times = () => {
    const signingTime = now();
    // notation-core-go truncates both times to the second (base/envelope.go Sign).
    const whole = Math.floor(signingTime.getTime() / 1000) * 1000;
    return {
      signingTime,
      ...(expirySeconds === undefined ? {} : { expiry: new Date(whole + expirySeconds * 1000) }),
    };
  };
  const common = (subject: Descriptor) => ({
    targetArtifact: targetOf(subject),
    ...times(),
    ...(timestamper === undefined ? {} : { timestamp: timestamper }),
  });
  const signedBy = async (request: NotationSignRequest): Promise<Signed> => {
    const envelope = await build(request);
    // Read back as verification reads it (notation-go GenericSigner: sigEnv.Verify()).
    const parsed = parseNotationEnvelope(envelopeType, envelope);
    verifyNotationSignature(parsed);
    checkSigningChain(parsed);
    return { envelope, parsed };
  };

  if (key.kind === 'key') {
    const signer = notationKeySigner(key.privateKey);
    return (subject) =>
      signedBy({
        ...common(subject),
        certificateChain: key.certificateChain,
        signer,
        signingAgent: options.signingAgent,
      });
  }
  const plugin = key.plugin;
  const agent = `${options.signingAgent} ${plugin.metadata.name}/${plugin.metadata.version}`;
  if (plugin.capability === 'signature') {
    return (subject) =>
      signedBy({ ...common(subject), signer: plugin.signer, signingAgent: agent });
  }
  if (timestamper !== undefined) {
    throw invalid(
      'INVALID_NOTATION_INPUT',
      `plugin ${JSON.stringify(plugin.metadata.name)} generates whole envelopes, so it timestamps them itself: a timestamp URL does not apply`,
    );
  }
  return async (subject) => {
    const generated = await plugin.generateEnvelope(targetOf(subject), envelopeType, expirySeconds);
    checkSigningChain(generated.parsed);
    return {
      envelope: generated.envelope,
      parsed: generated.parsed,
      annotations: generated.annotations,
    };
  };
}

/** The chain checks of step 4 (module comment); `invalid` NOTATION_SIGNING_CHAIN_INVALID. */
function checkSigningChain(envelope: NotationEnvelope): void {
  const at = envelope.signingTime;
  const chain = envelope.certificateChain.map((der) => new X509Certificate(der));
  const name = (certificate: X509Certificate) => certificate.subject.replaceAll('\n', ', ');
  const fail = (problem: string) =>
    invalid(
      'NOTATION_SIGNING_CHAIN_INVALID',
      `cannot sign with this certificate chain: ${problem}`,
    );
  if (chain[0]?.ca === true) {
    throw fail(`the signing certificate "${name(chain[0])}" is a CA certificate`);
  }
  for (const [i, certificate] of chain.entries()) {
    if (at < certificate.validFromDate || at > certificate.validToDate) {
      throw fail(
        `the certificate "${name(certificate)}" is not valid at the signing time ${at.toISOString()} (valid from ${certificate.validFromDate.toISOString()} to ${certificate.validToDate.toISOString()})`,
      );
    }
    const issuer = chain[i + 1];
    if (
      issuer !== undefined &&
      !(certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey))
    ) {
      throw fail(
        `the certificate "${name(certificate)}" is not issued by the next one in the chain, "${name(issuer)}"`,
      );
    }
  }
}

function checkUserMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const entries = Object.entries(metadata);
  if (entries.length > MAX_USER_METADATA) {
    throw invalid(
      'INVALID_NOTATION_INPUT',
      `at most ${MAX_USER_METADATA} user metadata entries are accepted`,
    );
  }
  for (const [key, value] of entries) {
    if (key.startsWith(RESERVED_PREFIX)) {
      throw invalid(
        'INVALID_NOTATION_INPUT',
        `user metadata key ${JSON.stringify(key)} has the reserved prefix ${RESERVED_PREFIX}`,
      );
    }
    if (typeof value !== 'string') {
      throw invalid(
        'INVALID_NOTATION_INPUT',
        `user metadata ${JSON.stringify(key)} must be a string`,
      );
    }
  }
  return { ...metadata };
}

/** Signs one resolved image and stores the signature (module comment, steps 2 to 5). */
async function signImage(
  store: ImageStore,
  subject: Descriptor,
  options: NotationSignOptions,
  sign: Sign,
): Promise<NotationSignature> {
  const signed = await sign(subject);
  const form = options.manifestForm ?? 'config-media-type';
  const parts = buildNotationSignatureManifest({
    subject,
    envelope: signed.envelope,
    envelopeMediaType: signed.parsed.mediaType,
    form,
    ...(signed.annotations === undefined ? {} : { annotations: signed.annotations }),
  });
  await writeSignature(store, subject, parts, options.forceReferrersTag ?? true);
  return {
    manifest: parts.descriptor.digest,
    location: `${store.location}@${parts.descriptor.digest}`,
    envelope: parts.layer.descriptor.digest,
    envelopeMediaType: signed.parsed.mediaType,
    form,
    signingTime: signed.parsed.signingTime,
    ...(signed.parsed.expiry === undefined ? {} : { expiry: signed.parsed.expiry }),
    timestamped: signed.parsed.timestampToken !== undefined,
  };
}

/** The blobs, then the manifest by digest; then the fallback index when asked to (module comment). */
async function writeSignature(
  store: ImageStore,
  subject: Descriptor,
  parts: NotationSignatureManifestParts,
  forceReferrersTag: boolean,
): Promise<void> {
  for (const blob of [parts.config, parts.layer]) {
    if (!(await store.hasBlob(blob.descriptor))) {
      await store.putBlob(blob.descriptor, once(blob.bytes));
    }
  }
  await store.putManifest(parts.manifest, OCI_MANIFEST);
  // A layout lists every referrer under the tag already (registry/layout.ts putManifest).
  if (forceReferrersTag && !canSwapTags(store)) {
    await addToReferrersTag(store, subject.digest, parts.descriptor);
  }
}

function describeTarget(request: NotationSignTarget): string {
  const { target } = request;
  return 'tag' in target
    ? `${request.store.location}:${target.tag}`
    : `${request.store.location}@${target.digest}`;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
