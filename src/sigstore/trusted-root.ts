/**
 * Sigstore trust material: a `trusted_root.json`
 * (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`, the protobuf
 * `dev.sigstore.trustroot.v1.TrustedRoot` in its JSON form; sigstore/protobuf-specs
 * protos/sigstore_trustroot.proto) and the transparency logs it names.
 *
 * The document is read the way sigstore-go reads it
 * (`pkg/root/trusted_root.go` `NewTrustedRootFromProtobuf`,
 * `ParseTransparencyLogs`), only stricter where JSON lets two readers
 * disagree: no duplicate keys anywhere, the media type exactly version 0.1,
 * and for each transparency log a SHA2_256 tree hash, a log ID, a public key
 * whose `keyDetails` vouch can verify with and which the key bytes really
 * are (a P-256 key declared as P-384 is refused, not guessed at), and a
 * validity period with a start. Unknown fields are ignored, as protobuf JSON
 * readers ignore them, so roots from newer Sigstore releases still load.
 * Fields are read by their JSON (lowerCamelCase) names, bytes as standard
 * base64, and times as RFC 3339.
 *
 * Only the transparency logs (`tlogs`) are interpreted here; certificate
 * authorities, CT logs and timestamp authorities are kept in `document`
 * for the code that checks certificates.
 *
 * Errors: VouchError `invalid` TRUSTED_ROOT_INVALID (bad trust material is
 * the caller's input, not a verdict).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { invalid } from '../core/errors.ts';
import { decodeStdBase64 } from '../core/base64.ts';
import {
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseStrictJson,
  StrictJsonError,
} from '../core/strict-json.ts';
import {
  defaultHash,
  type KeyAlgorithm,
  type SignatureHash,
  tryKeyAlgorithm,
} from '../keys/algorithms.ts';
import { rfc3339Millis } from './rfc3339.ts';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

/** A transparency log (Rekor) whose signed entry timestamps are trusted. */
export interface TransparencyLog {
  /** Where the log is served, e.g. `https://rekor.sigstore.dev`; empty when unknown. */
  readonly baseUrl: string;
  /** Lowercase hex of the log ID: the SHA-256 of the log key's DER SubjectPublicKeyInfo. */
  readonly logId: string;
  readonly publicKey: KeyObject;
  /** The digest the log signs with; null for Ed25519, which signs the message itself. */
  readonly hash: SignatureHash | null;
  /** First instant (ms since the epoch, inclusive) the key may have signed; absent: always. */
  readonly validFrom?: number;
  /** Last instant (ms since the epoch, inclusive) the key may have signed; absent: still valid. */
  readonly validUntil?: number;
}

export interface TrustedRoot {
  readonly mediaType: string;
  readonly tlogs: readonly TransparencyLog[];
  /** The whole parsed document, for the parts not interpreted here. */
  readonly document: JsonObject;
}

interface KeyDetails {
  readonly algorithms: readonly KeyAlgorithm[];
  readonly hash: SignatureHash | null;
  readonly format: 'spki' | 'pkcs1';
}

/**
 * The `PublicKeyDetails` sigstore-go accepts for transparency logs, and what
 * each means (sigstore protobuf-specs `sigstore_common.proto`).
 */
const KEY_DETAILS: Readonly<Record<string, KeyDetails>> = {
  PKIX_ECDSA_P256_SHA_256: { algorithms: ['ecdsa-p256'], hash: 'sha256', format: 'spki' },
  PKIX_ECDSA_P384_SHA_384: { algorithms: ['ecdsa-p384'], hash: 'sha384', format: 'spki' },
  PKIX_ECDSA_P521_SHA_512: { algorithms: ['ecdsa-p521'], hash: 'sha512', format: 'spki' },
  PKIX_ED25519: { algorithms: ['ed25519'], hash: null, format: 'spki' },
  PKIX_RSA_PKCS1V15_2048_SHA256: { algorithms: ['rsa-2048'], hash: 'sha256', format: 'spki' },
  PKIX_RSA_PKCS1V15_3072_SHA256: { algorithms: ['rsa-3072'], hash: 'sha256', format: 'spki' },
  PKIX_RSA_PKCS1V15_4096_SHA256: { algorithms: ['rsa-4096'], hash: 'sha256', format: 'spki' },
  // Deprecated, still used by the Sigstore staging instance.
  PKCS1_RSA_PKCS1V5: {
    algorithms: ['rsa-2048', 'rsa-3072', 'rsa-4096'],
    hash: 'sha256',
    format: 'pkcs1',
  },
};

/** Parses a `trusted_root.json`. `source` names it in messages. Throws `invalid` TRUSTED_ROOT_INVALID. */
export function parseTrustedRoot(bytes: Uint8Array, source = 'the trusted root'): TrustedRoot {
  const fail = (problem: string, cause?: unknown) =>
    invalid('TRUSTED_ROOT_INVALID', `${source} is not a usable Sigstore trusted root: ${problem}`, {
      cause,
    });
  let document: JsonValue;
  try {
    document = parseStrictJson(bytes);
  } catch (error) {
    if (!(error instanceof StrictJsonError)) throw error;
    throw fail(`it is not valid JSON: ${error.message}`, error);
  }
  if (!isJsonObject(document)) throw fail('it is not a JSON object');
  const mediaType = document.mediaType;
  if (mediaType !== TRUSTED_ROOT_MEDIA_TYPE) {
    throw fail(
      `mediaType is ${JSON.stringify(mediaType ?? null)}, expected ${JSON.stringify(TRUSTED_ROOT_MEDIA_TYPE)}`,
    );
  }
  const tlogs = document.tlogs ?? [];
  if (!Array.isArray(tlogs)) throw fail('tlogs is not an array');
  const logs = (tlogs as readonly JsonValue[]).map((tlog, index) => {
    try {
      return parseTransparencyLog(tlog);
    } catch (error) {
      if (!(error instanceof TrustedRootProblem)) throw error;
      throw fail(`tlogs[${index}]: ${error.message}`);
    }
  });
  return { mediaType, tlogs: logs, document };
}

/**
 * A transparency log known only by its public key (`--rekor-public-key`):
 * its log ID is the SHA-256 of the key's DER SPKI, as Rekor derives it;
 * it signs with the hash sigstore pairs with the key type; no validity bounds.
 */
export function transparencyLogFromKey(publicKey: KeyObject, baseUrl = ''): TransparencyLog {
  const algorithm = tryKeyAlgorithm(publicKey);
  if (algorithm === undefined || publicKey.type !== 'public') {
    throw invalid(
      'UNSUPPORTED_KEY',
      'a transparency log key must be an ECDSA, Ed25519 or RSA public key',
    );
  }
  return {
    baseUrl,
    logId: logIdOf(publicKey),
    publicKey,
    hash: defaultHash(algorithm) ?? null,
  };
}

/** Lowercase hex SHA-256 of the key's DER SubjectPublicKeyInfo: Rekor's log ID. */
export function logIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

/** The logs in `logs` with this log ID (any case of hex). */
export function logsWithId(logs: readonly TransparencyLog[], logId: string): TransparencyLog[] {
  const id = logId.toLowerCase();
  return logs.filter((log) => log.logId === id);
}

/** Whether `log`'s key was valid at `seconds` (Unix time), bounds inclusive, as sigstore-go checks. */
export function validAt(log: TransparencyLog, seconds: number): boolean {
  const ms = seconds * 1000;
  if (log.validFrom !== undefined && ms < log.validFrom) return false;
  if (log.validUntil !== undefined && ms > log.validUntil) return false;
  return true;
}

class TrustedRootProblem extends Error {}

function parseTransparencyLog(value: JsonValue): TransparencyLog {
  const problem = (message: string) => new TrustedRootProblem(message);
  if (!isJsonObject(value)) throw problem('not a JSON object');
  const baseUrl = value.baseUrl ?? '';
  if (typeof baseUrl !== 'string') throw problem('baseUrl is not a string');
  const where = baseUrl === '' ? '' : ` (${baseUrl})`;
  if (value.hashAlgorithm !== 'SHA2_256') {
    throw problem(
      `hashAlgorithm${where} is ${JSON.stringify(value.hashAlgorithm ?? null)}, expected "SHA2_256"`,
    );
  }
  const logId = value.logId;
  if (!isJsonObject(logId)) throw problem(`logId${where} is missing`);
  const keyId = bytesField(logId.keyId, `logId.keyId${where}`, problem);
  if (keyId.byteLength === 0) throw problem(`logId.keyId${where} is empty`);

  const key = value.publicKey;
  if (!isJsonObject(key)) throw problem(`publicKey${where} is missing`);
  const keyDetails = key.keyDetails;
  const details = typeof keyDetails === 'string' ? KEY_DETAILS[keyDetails] : undefined;
  if (details === undefined) {
    throw problem(
      `publicKey.keyDetails${where} is ${JSON.stringify(keyDetails ?? null)}, which vouch cannot verify with (expected one of ${Object.keys(KEY_DETAILS).join(', ')})`,
    );
  }
  const raw = bytesField(key.rawBytes, `publicKey.rawBytes${where}`, problem);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(raw), format: 'der', type: details.format });
  } catch {
    throw problem(`publicKey.rawBytes${where} is not a DER ${details.format} public key`);
  }
  const algorithm = tryKeyAlgorithm(publicKey);
  if (algorithm === undefined || !details.algorithms.includes(algorithm)) {
    throw problem(
      `publicKey${where} is declared ${String(keyDetails)} but is ${algorithm ?? 'an unsupported key'}`,
    );
  }

  const validFor = key.validFor;
  if (!isJsonObject(validFor)) throw problem(`publicKey.validFor${where} is missing`);
  // protobuf's JSON mapping reads null as the field's default, i.e. absent
  // (protobuf.dev/programming-guides/json); roots exported by other tools
  // write `"end": null` for a log still in use (sigstore-conformance
  // trust-root-tlog-validity-end-inclusive).
  if (validFor.start === undefined || validFor.start === null) {
    throw problem(`publicKey.validFor.start${where} is missing`);
  }
  const validFrom = rfc3339Millis(
    validFor.start,
    'up',
    `publicKey.validFor.start${where}`,
    problem,
  );
  const validUntil =
    validFor.end === undefined || validFor.end === null
      ? undefined
      : rfc3339Millis(validFor.end, 'down', `publicKey.validFor.end${where}`, problem);
  if (validUntil !== undefined && validUntil < validFrom) {
    throw problem(`publicKey.validFor${where} ends before it starts`);
  }
  return {
    baseUrl,
    logId: Buffer.from(keyId).toString('hex'),
    publicKey,
    hash: details.hash,
    validFrom,
    ...(validUntil === undefined ? {} : { validUntil }),
  };
}

function bytesField(
  value: JsonValue | undefined,
  what: string,
  problem: (message: string) => Error,
): Uint8Array {
  if (typeof value !== 'string') throw problem(`${what} is not a base64 string`);
  const bytes = decodeStdBase64(value);
  if (bytes === undefined) throw problem(`${what} is not standard base64`);
  return bytes;
}
