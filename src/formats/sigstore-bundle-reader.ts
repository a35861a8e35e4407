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
import { denied, messageOf } from '../core/errors.ts';
import { type Envelope, parseEnvelope } from './dsse.ts';
import { object, string } from './json-fields.ts';
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
  const content = readContent(top, bundle, where, fail);
  const material = readMaterial(top, bundle, fail);
  return {
    version,
    mediaType,
    content,
    material,
    tlogEntries: bundle.verificationMaterial.tlogEntries,
    timestamps:
      bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0,
    bundle,
    json: bytes,
  };
}

function readContent(
  top: JsonObject,
  bundle: Bundle,
  where: string,
  fail: (problem: string) => Error,
): BundleContent {
  if (bundle.content.$case === 'dsseEnvelope') {
    const raw = object(top.dsseEnvelope, 'dsseEnvelope', fail);
    const envelopeJson = new TextEncoder().encode(JSON.stringify(raw));
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
    digestAlgorithm: String(message.messageDigest.algorithm),
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
