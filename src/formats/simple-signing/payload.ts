/**
 * The payload of a GPG "simple signing" signature, as containers/image writes
 * and reads it (docs/containers-signature.5.md; code:
 * https://github.com/containers/image/blob/main/signature/simple.go):
 *
 *   {"critical":{"identity":{"docker-reference":R},
 *                "image":{"docker-manifest-digest":D},
 *                "type":"atomic container signature"},
 *    "optional":{"creator":C,"timestamp":T}}
 *
 * Writing is `untrustedSignature.MarshalJSON`: every object is a Go map, so
 * keys come out sorted, with Go's string escaping (go-json.ts); `optional`
 * is always an object, `{}` when it carries nothing.
 *
 * Reading is `untrustedSignature.strictUnmarshalJSON`
 * (internal.ParanoidUnmarshalJSONObjectExactFields): the top level has
 * exactly `critical` and `optional`; `critical` exactly `type`, `image` and
 * `identity`; `image` exactly `docker-manifest-digest`; `identity` exactly
 * `docker-reference`; `optional` must be an object (not null, unlike
 * cosign's payload) whose other members are allowed and ignored, with
 * `creator` a string and `timestamp` an integral number when present.
 * Duplicate keys are refused anywhere (strict-json.ts), as containers/image
 * refuses them in every object it reads. Deliberately stricter than the Go
 * code, so two readers never disagree: `null` is refused where a string or
 * number is required (Go's decoder leaves the zero value), a key that
 * differs from a required one only in case is refused by name, and
 * `docker-manifest-digest` must be sha256 or sha512 (go-digest would also
 * parse sha384, which no image vouch verifies is addressed by).
 */
import { invalid, denied } from '../../core/errors.ts';
import { type JsonValue, parseStrictJson, StrictJsonError } from '../../core/strict-json.ts';
import { type Digest, isDigest } from '../../oci/digest.ts';
import { readCriticalSection } from './critical.ts';
import { goMarshalBytes, type GoValue } from '../go-json.ts';
import { describe, exactFields, object, string } from '../json-fields.ts';

/** `critical.type` of every GPG simple-signing signature (simple.go signatureType). */
export const ATOMIC_SIGNATURE_TYPE = 'atomic container signature';

export interface AtomicSignaturePayload {
  readonly dockerManifestDigest: Digest;
  /** The claimed identity, unvalidated: the identity rule of the verifier decides. */
  readonly dockerReference: string;
  /** `optional.creator` when present (containers/image writes "atomic <version>"). */
  readonly creator?: string;
  /** `optional.timestamp` in Unix seconds when present. */
  readonly timestamp?: number;
}

export interface AtomicSignatureInput {
  readonly dockerManifestDigest: string;
  readonly dockerReference: string;
  /** e.g. `vouch 0.1.0`; left out of `optional` when undefined. */
  readonly creator?: string;
  /** Unix seconds; left out of `optional` when undefined. */
  readonly timestamp?: number;
}

/** The payload bytes, byte for byte as containers/image's `untrustedSignature.MarshalJSON` writes them. */
export function buildAtomicSignaturePayload(input: AtomicSignatureInput): Uint8Array {
  const { dockerManifestDigest, dockerReference, creator, timestamp } = input;
  if (typeof dockerReference !== 'string' || dockerReference === '') {
    throw invalid('INVALID_SIGNATURE_INPUT', 'docker-reference must be a non-empty string');
  }
  if (typeof dockerManifestDigest !== 'string' || !isDigest(dockerManifestDigest)) {
    throw invalid(
      'INVALID_SIGNATURE_INPUT',
      `docker-manifest-digest must be a sha256 or sha512 digest, found ${JSON.stringify(dockerManifestDigest)}`,
    );
  }
  if (timestamp !== undefined && !Number.isSafeInteger(timestamp)) {
    throw invalid('INVALID_SIGNATURE_INPUT', `timestamp must be an integer, found ${timestamp}`);
  }
  const optional = new Map<string, GoValue>();
  if (creator !== undefined) optional.set('creator', creator);
  if (timestamp !== undefined) optional.set('timestamp', timestamp);
  return goMarshalBytes(
    new Map<string, GoValue>([
      [
        'critical',
        new Map<string, GoValue>([
          ['type', ATOMIC_SIGNATURE_TYPE],
          ['image', new Map([['docker-manifest-digest', dockerManifestDigest]])],
          ['identity', new Map([['docker-reference', dockerReference]])],
        ]),
      ],
      ['optional', optional],
    ]),
  );
}

// Go converts the float64 it decoded to int64 and back; values at or beyond
// 2^63 do not survive that, so containers/image refuses them.
const INT64_LIMIT = 2 ** 63;

/**
 * Parses signed payload bytes strictly (see the module comment). Throws
 * VouchError `denied` SIMPLE_SIGNING_INVALID naming `where`.
 */
export function parseAtomicSignaturePayload(
  bytes: Uint8Array,
  where = 'signature payload',
): AtomicSignaturePayload {
  const fail = (problem: string, cause?: unknown) =>
    denied('SIMPLE_SIGNING_INVALID', `invalid simple-signing payload in ${where}: ${problem}`, {
      cause,
    });
  let document: JsonValue;
  try {
    document = parseStrictJson(bytes);
  } catch (error) {
    if (error instanceof StrictJsonError) throw fail(error.message, error);
    throw error;
  }
  const top = object(document, 'the payload', fail);
  exactFields(top, ['critical', 'optional'], 'the payload', fail);

  const optional = object(top.optional, 'optional', fail);
  let creator: string | undefined;
  let timestamp: number | undefined;
  if (Object.hasOwn(optional, 'creator')) {
    creator = string(optional.creator, 'optional.creator', fail);
  }
  if (Object.hasOwn(optional, 'timestamp')) {
    const value = optional.timestamp;
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      value >= INT64_LIMIT ||
      value < -INT64_LIMIT
    ) {
      throw fail(`optional.timestamp must be an integer, found ${describe(value)}`);
    }
    timestamp = value;
  }

  const signed = readCriticalSection(top, ATOMIC_SIGNATURE_TYPE, fail);
  return {
    ...signed,
    ...(creator === undefined ? {} : { creator }),
    ...(timestamp === undefined ? {} : { timestamp }),
  };
}
