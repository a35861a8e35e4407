/**
 * Notary v1 metadata files as the notary client writes them, byte for byte
 * (docs/formats.md "Canonical JSON and byte-exact files"). When the server
 * signs the snapshot (docker's
 * default) it hashes its own re-serialisation of what was uploaded
 * (tuf/tuf.go `SignSnapshot` → `json.Marshal(role.ToSigned())`), not the
 * uploaded bytes, so a file that differs from Go's encoding in one byte
 * leaves a repository no client can read. Hence:
 *
 * - `signed` is docker/go's canonical JSON of exactly the fields Go's structs
 *   declare (`ToSigned` → `MarshalCanonical`), then passed through
 *   `json.Marshal` as a RawMessage, which HTML-escapes `<`, `>`, `&`, U+2028
 *   and U+2029 (encode.go `compact(…, escape=true)`);
 * - signatures come out in struct order `keyid`, `method`, `sig`;
 * - times are Go's RFC3339Nano in UTC: fraction trimmed of trailing zeros,
 *   dropped when zero (`formatGoTime`).
 */
import { createHash, type KeyObject, sign } from 'node:crypto';
import { encodeStdBase64 } from '../../core/base64.ts';
import type { JsonObject, JsonValue } from '../../core/strict-json.ts';
import { notaryCanonicalJson } from './canonical-json.ts';

/** What signs one role's file: the key ID the metadata names it by, and its private key. */
export interface MetadataSigner {
  /** The TUF key ID listed for the role (an x509 root key's certificate ID, not its canonical ID). */
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

export interface SignatureJson {
  readonly keyid: string;
  readonly method: string;
  readonly sig: string;
}

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;

/** Go's `time.Time.MarshalJSON` (RFC3339Nano) of a UTC instant given in milliseconds. */
export function formatGoTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ, years 0-9999
  return iso.replace(/\.?0+Z$/, 'Z');
}

/** `{"keytype":T,"keyval":{"private":null,"public":base64}}`, as root.json and delegations list keys. */
export function publicKeyJson(
  type: string,
  publicBytes: Uint8Array,
): { keytype: string; keyval: { private: null; public: string } } {
  return { keytype: type, keyval: { private: null, public: encodeStdBase64(publicBytes) } };
}

/** A FileMeta with the hashes notary writes for metadata (sha256 and sha512, notary.NotaryDefaultHashes). */
export function metadataFileMeta(bytes: Uint8Array): JsonObject {
  return {
    hashes: {
      sha256: createHash('sha256').update(bytes).digest('base64'),
      sha512: createHash('sha512').update(bytes).digest('base64'),
    },
    length: bytes.length,
  };
}

/** The signature notary makes with a key (tuf/data/keys.go `Sign`): r||s for ECDSA, Ed25519 as is. */
export function signMessage(
  privateKey: KeyObject,
  message: Uint8Array,
): { method: string; sig: Uint8Array } {
  switch (privateKey.asymmetricKeyType) {
    case 'ec':
      return {
        method: 'ecdsa',
        sig: sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
      };
    case 'ed25519':
      return { method: 'eddsa', sig: sign(null, message, privateKey) };
    default:
      // Every key vouch makes or loads for DCT is ECDSA; RSA signers would need rsapss.
      throw new TypeError(`cannot sign notary metadata with a ${privateKey.asymmetricKeyType} key`);
  }
}

/**
 * The file `{"signed":…,"signatures":[…]}` for `signed`, signed by each of
 * `signers` over its canonical JSON, in the bytes Go writes.
 */
export function encodeSignedMetadata(
  signed: JsonValue,
  signers: readonly MetadataSigner[],
): Uint8Array {
  const canonical = notaryCanonicalJson(signed);
  const message = new TextEncoder().encode(canonical);
  const signatures = signers.map(({ keyId, privateKey }) => {
    const { method, sig } = signMessage(privateKey, message);
    return { keyid: keyId, method, sig: encodeStdBase64(sig) };
  });
  return encodeSignedFile(canonical, signatures);
}

/** The file around an already canonical `signed` text and its signatures. */
export function encodeSignedFile(
  canonicalSigned: string,
  signatures: readonly SignatureJson[],
): Uint8Array {
  const escaped = canonicalSigned.replace(
    HTML_UNSAFE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  // keyid and method are hex and lower-case words, sig is base64: nothing in them needs escaping.
  const list = signatures
    .map(
      (s) =>
        `{"keyid":${JSON.stringify(s.keyid)},"method":${JSON.stringify(s.method)},"sig":${JSON.stringify(s.sig)}}`,
    )
    .join(',');
  return new TextEncoder().encode(`{"signed":${escaped},"signatures":[${list}]}`);
}
