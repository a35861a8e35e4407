/**
 * Reading a Sigstore bundle strictly (the rules are in sigstore-bundle.ts's
 * module comment). Its own module because @sigstore/bundle and the protobuf
 * specs under it take a while to load: only a command that meets a bundle
 * imports this.
 */
import {
  assertBundleLatest,
  assertBundleV01,
  assertBundleV02,
  type Bundle,
  bundleFromJSON,
} from '@sigstore/bundle';
import { hashAlgorithmToJSON } from '@sigstore/protobuf-specs';
import { denied, messageOf } from '../core/errors.ts';
import { decodeProtojsonBase64, encodeStdBase64 } from '../core/base64.ts';
import { chainRootProblem } from './certificate-chain.ts';
import { type Envelope, parseEnvelope } from './dsse.ts';
import { describe, type Fail, object, string } from './json-fields.ts';
import {
  type BundleContent,
  BUNDLE_VERSIONS,
  type SigstoreBundle,
  type VerificationMaterial,
} from './sigstore-bundle.ts';
import {
  type JsonObject,
  type JsonValue,
  parseStrictJson,
  StrictJsonError,
} from '../core/strict-json.ts';

/** Parses bundle bytes (see the module comment). Throws VouchError `denied` BUNDLE_INVALID. */
export function parseBundle(bytes: Uint8Array, where = 'the bundle'): SigstoreBundle {
  const fail = (problem: string, cause?: unknown) =>
    denied('BUNDLE_INVALID', `invalid Sigstore bundle in ${where}: ${problem}`, { cause });
  let document: JsonValue;
  try {
    document = parseStrictJson(bytes);
  } catch (error) {
    if (error instanceof StrictJsonError) throw fail(error.message, error);
    throw error;
  }
  const top = object(document, 'the bundle', fail);
  const mediaType = string(top.mediaType, 'mediaType', fail);
  const version = BUNDLE_VERSIONS.get(mediaType);
  if (version === undefined) {
    throw fail(
      `mediaType ${JSON.stringify(mediaType)} is not a bundle media type vouch reads (v0.1 to v0.3)`,
    );
  }
  for (const path of BYTES_FIELDS) checkBytes(top, path.split('.'), '', fail);
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(top);
    if (version === '0.1') assertBundleV01(bundle);
    else if (version === '0.2') assertBundleV02(bundle);
    else assertBundleLatest(bundle);
  } catch (error) {
    const fields = (error as { fields?: unknown }).fields;
    const detail = Array.isArray(fields) && fields.length > 0 ? `: ${fields.join(', ')}` : '';
    throw fail(`${error instanceof Error ? error.message : String(error)}${detail}`, error);
  }
  // Before anything else reads the chain or the log entries: a root CA in the
  // chain is refused for what it is (sigstore-conformance bundle-with-root-cert_fail).
  const material = bundle.verificationMaterial.content;
  if (material.$case === 'x509CertificateChain') {
    const rest = material.x509CertificateChain.certificates.slice(1);
    const rooted = chainRootProblem(rest.map(({ rawBytes }) => new Uint8Array(rawBytes)));
    // A certificate that is not X.509 is left to the verifier (keyless.ts: CERT_INVALID).
    if (rooted?.code === 'CERT_CHAIN_INCLUDES_ROOT') {
      throw denied(rooted.code, `invalid Sigstore bundle in ${where}: ${rooted.message}`);
    }
  }
  checkTlogEntries(bundle, fail);
  const content = readContent(top, bundle, where, fail);
  return {
    version,
    mediaType,
    content,
    material: readMaterial(top, bundle, fail),
    tlogEntries: bundle.verificationMaterial.tlogEntries,
    timestamps:
      bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0,
    bundle,
    json: bytes,
  };
}

/**
 * The `bytes` fields of a bundle (sigstore/protobuf-specs@104df67
 * protos/sigstore_bundle.proto, sigstore_common.proto, sigstore_rekor.proto,
 * envelope.proto), by JSON name; `[]` marks a repeated field.
 */
const BYTES_FIELDS = [
  'verificationMaterial.x509CertificateChain.certificates[].rawBytes',
  'verificationMaterial.certificate.rawBytes',
  'verificationMaterial.tlogEntries[].logId.keyId',
  'verificationMaterial.tlogEntries[].inclusionPromise.signedEntryTimestamp',
  'verificationMaterial.tlogEntries[].inclusionProof.rootHash',
  'verificationMaterial.tlogEntries[].inclusionProof.hashes[]',
  'verificationMaterial.tlogEntries[].canonicalizedBody',
  'verificationMaterial.timestampVerificationData.rfc3161Timestamps[].signedTimestamp',
  'messageSignature.messageDigest.digest',
  'messageSignature.signature',
  'dsseEnvelope.payload',
  'dsseEnvelope.signatures[].sig',
] as const;

/**
 * Each value at `segments` under `value` is base64 as protojson reads a
 * bytes field (base64.ts). @sigstore/protobuf-specs decodes with Node's
 * Buffer, which takes anything (`INVALID!!!BASE64!!!ENCODING===` decodes
 * to some bytes; sigstore-conformance bundle-invalid-base64-signature_fail),
 * and reads a repeated field that is not an array as empty; protojson refuses
 * both. Absent and `null` fields are left to the bundle's own assertions
 * (protojson reads `null` as the default value).
 */
function checkBytes(value: JsonValue, segments: readonly string[], path: string, fail: Fail) {
  const [segment, ...rest] = segments;
  if (segment === undefined) {
    if (typeof value !== 'string' || decodeProtojsonBase64(value) === undefined) {
      throw fail(`${path} is not base64 (protobuf JSON bytes), found ${describe(value)}`);
    }
    return;
  }
  const repeated = segment.endsWith('[]');
  const name = repeated ? segment.slice(0, -2) : segment;
  const where = path === '' ? name : `${path}.${name}`;
  const parent = object(value, path === '' ? 'the bundle' : path, fail);
  const child = parent[name];
  if (child === undefined || child === null) return;
  if (!repeated) {
    checkBytes(child, rest, where, fail);
    return;
  }
  if (!Array.isArray(child)) throw fail(`${where} must be an array, found ${describe(child)}`);
  for (const [index, element] of (child as readonly JsonValue[]).entries()) {
    checkBytes(element, rest, `${where}[${index}]`, fail);
  }
}

/**
 * What sigstore-go refuses in a tlog entry and @sigstore/bundle lets through
 * (pkg/tlog/entry.go ParseTransparencyLogEntry): a negative log index, and an
 * inclusion proof without a checkpoint, which v0.1 bundles may carry and
 * @sigstore/verify then reads as `undefined.envelope` (a TypeError).
 */
function checkTlogEntries(bundle: Bundle, fail: Fail): void {
  for (const [index, entry] of bundle.verificationMaterial.tlogEntries.entries()) {
    const where = `verificationMaterial.tlogEntries[${index}]`;
    if (Number(entry.logIndex) < 0) {
      throw fail(`${where}.logIndex is ${entry.logIndex}, a log index is never negative`);
    }
    const proof = entry.inclusionProof;
    if (
      proof !== undefined &&
      (proof.checkpoint === undefined || proof.checkpoint.envelope === '')
    ) {
      throw fail(`${where}.inclusionProof.checkpoint is missing: an inclusion proof needs one`);
    }
  }
}

function readContent(
  top: JsonObject,
  bundle: Bundle,
  where: string,
  fail: (problem: string) => Error,
): BundleContent {
  if (bundle.content.$case === 'dsseEnvelope') {
    const raw = object(top.dsseEnvelope, 'dsseEnvelope', fail);
    // The envelope is a protobuf message here: its payload and signatures may be in any base64
    // protojson reads (checked above). dsse.ts reads DSSE's own JSON, so it is given them in
    // standard base64: the very bytes @sigstore/verify checks the signature over. Each
    // signature is an object (checkBytes) and there is exactly one (assertBundle*).
    const { dsseEnvelope } = bundle.content;
    const stored = raw.signatures as readonly JsonObject[];
    const envelopeJson = new TextEncoder().encode(
      JSON.stringify({
        ...raw,
        payload: encodeStdBase64(dsseEnvelope.payload),
        signatures: dsseEnvelope.signatures.map((signature, i) => ({
          ...stored[i],
          sig: encodeStdBase64(signature.sig),
        })),
      }),
    );
    // dsse.ts's reader, so both storage forms are held to one set of envelope rules.
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(envelopeJson, `the DSSE envelope of ${where}`);
    } catch (error) {
      throw fail(messageOf(error));
    }
    if (envelope.signatures.length !== 1) {
      throw fail(
        `the DSSE envelope has ${envelope.signatures.length} signatures, exactly 1 allowed`,
      );
    }
    return { kind: 'dsse-envelope', envelope, envelopeJson };
  }
  const message = bundle.content.messageSignature;
  return {
    kind: 'message-signature',
    digestAlgorithm: hashAlgorithmToJSON(message.messageDigest.algorithm),
    digest: new Uint8Array(message.messageDigest.digest),
    signature: new Uint8Array(message.signature),
  };
}

function readMaterial(
  top: JsonObject,
  bundle: Bundle,
  fail: (problem: string) => Error,
): VerificationMaterial {
  const content = bundle.verificationMaterial.content;
  switch (content.$case) {
    case 'publicKey': {
      // protobuf-specs' reader turns any value into a string; the hint must be one.
      const raw = object(top.verificationMaterial, 'verificationMaterial', fail);
      const key = object(raw.publicKey, 'verificationMaterial.publicKey', fail);
      if (Object.hasOwn(key, 'hint')) string(key.hint, 'verificationMaterial.publicKey.hint', fail);
      return { kind: 'public-key', hint: content.publicKey.hint };
    }
    case 'certificate':
      return { kind: 'certificate', certificate: new Uint8Array(content.certificate.rawBytes) };
    case 'x509CertificateChain':
      return {
        kind: 'x509-chain',
        certificates: content.x509CertificateChain.certificates.map(
          (c) => new Uint8Array(c.rawBytes),
        ),
      };
    default:
      throw fail('verificationMaterial has no public key, certificate or certificate chain');
  }
}
