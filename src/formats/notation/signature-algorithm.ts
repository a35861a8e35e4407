/**
 * Checking an X.509-style signature (certificates, CRLs, OCSP responses, the
 * CMS signature of an RFC 3161 token) with Node's crypto, synchronously, on
 * the algorithms Go's crypto/x509 accepts where notation verifies
 * (x509.go `signatureAlgorithmDetails`, `checkSignature`): RSA PKCS #1 v1.5
 * and RSASSA-PSS with SHA-256/384/512, ECDSA with SHA-256/384/512, Ed25519.
 * SHA-1 and MD5 signatures are refused, as Go refuses them
 * (`InsecureAlgorithmError`) and the Notary Project certificate requirements
 * forbid them (specifications `specs/signature-specification.md`, "Other
 * requirements"). RSA keys under 1024 bits are refused as crypto/rsa does.
 */
import { constants, type KeyObject, verify } from 'node:crypto';
import type * as asn1js from 'asn1js';
import { decodeAsn1, explicitOf, integerOf, isContextTag, itemsOf, oidOf } from './der.ts';

export const OID = {
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  ed25519: '1.3.101.112',
} as const;

export type HashName = 'sha256' | 'sha384' | 'sha512';

/** The SHA-2 digests notation accepts (tspclient-go internal/oid/hash.go `ToHash`). */
export const SHA2_BY_OID: Readonly<Record<string, HashName>> = {
  [OID.sha256]: 'sha256',
  [OID.sha384]: 'sha384',
  [OID.sha512]: 'sha512',
};

const HASH_BYTES: Readonly<Record<HashName, number>> = { sha256: 32, sha384: 48, sha512: 64 };

/** Algorithms Go knows but refuses as insecure, named for the message. */
const INSECURE: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.2': 'MD2 with RSA',
  '1.2.840.113549.1.1.4': 'MD5 with RSA',
  '1.2.840.113549.1.1.5': 'SHA-1 with RSA',
  '1.3.14.3.2.29': 'SHA-1 with RSA',
  '1.2.840.10040.4.3': 'DSA with SHA-1',
  '1.2.840.10045.4.1': 'ECDSA with SHA-1',
};

/** An AlgorithmIdentifier: its OID and its parameters, when present. */
export interface AlgorithmId {
  readonly oid: string;
  /** The parameters' DER; undefined when absent. */
  readonly params?: Uint8Array;
}

/**
 * An AlgorithmIdentifier (RFC 5280 §4.1.1.2: `SEQUENCE { algorithm OBJECT
 * IDENTIFIER, parameters ANY OPTIONAL }`) as asn1js decoded it; throws
 * DerError when it is not one.
 */
export function algorithmIdOf(node: asn1js.AsnType | undefined, what: string): AlgorithmId {
  const [algorithm, params] = itemsOf(node, what, { min: 1, max: 2 });
  const oid = oidOf(algorithm, `${what}: algorithm`);
  return params === undefined ? { oid } : { oid, params: new Uint8Array(params.toBER(false)) };
}

export type SignatureScheme =
  | { readonly kind: 'rsa'; readonly hash: HashName }
  | { readonly kind: 'rsa-pss'; readonly hash: HashName }
  | { readonly kind: 'ecdsa'; readonly hash: HashName }
  | { readonly kind: 'ed25519' };

/** Go's `getSignatureAlgorithmFromAI`: the scheme, or why there is none. */
function schemeOf(algorithm: AlgorithmId): SignatureScheme | string {
  switch (algorithm.oid) {
    case OID.sha256WithRsa:
      return { kind: 'rsa', hash: 'sha256' };
    case OID.sha384WithRsa:
      return { kind: 'rsa', hash: 'sha384' };
    case OID.sha512WithRsa:
      return { kind: 'rsa', hash: 'sha512' };
    case OID.ecdsaWithSha256:
      return { kind: 'ecdsa', hash: 'sha256' };
    case OID.ecdsaWithSha384:
      return { kind: 'ecdsa', hash: 'sha384' };
    case OID.ecdsaWithSha512:
      return { kind: 'ecdsa', hash: 'sha512' };
    case OID.ed25519:
      return algorithm.params === undefined
        ? { kind: 'ed25519' }
        : 'Ed25519 signature algorithm with parameters';
    case OID.rsassaPss:
      return pssScheme(algorithm.params);
  }
  const insecure = INSECURE[algorithm.oid];
  return insecure === undefined
    ? `unsupported signature algorithm ${algorithm.oid}`
    : `insecure signature algorithm ${insecure}`;
}

/**
 * RSASSA-PSS parameters as Go accepts them: the MGF1 hash equal to the
 * message hash, a salt as long as the hash, trailer field 1 (RFC 4055 §3.1;
 * x509.go "PSS is greatly overburdened with options").
 */
function pssScheme(params: Uint8Array | undefined): SignatureScheme | string {
  const refused =
    'RSASSA-PSS parameters other than SHA-2 with MGF1 of the same hash and a hash-length salt';
  if (params === undefined) return refused;
  try {
    // RSASSA-PSS-params (RFC 4055 §3.1): each field explicitly tagged, in order, each optional.
    const what = 'RSASSA-PSS parameters';
    const fields = itemsOf(decodeAsn1(params, what), what, { max: 4 });
    const field = (tag: number) => {
      const node = fields[0];
      if (!isContextTag(node, tag, true)) return undefined;
      fields.shift();
      return explicitOf(node, tag, `${what} [${tag}]`);
    };
    const hashField = field(0);
    const mgfField = field(1);
    const saltField = field(2);
    const trailerField = field(3);
    if (fields.length > 0 || hashField === undefined || mgfField === undefined) return refused;
    const hashOid = algorithmIdOf(hashField, `${what}: hashAlgorithm`).oid;
    const hash = SHA2_BY_OID[hashOid];
    const mgf = itemsOf(mgfField, `${what}: maskGenAlgorithm`, { min: 2, max: 2 });
    if (hash === undefined || oidOf(mgf[0], `${what}: maskGenAlgorithm`) !== OID.mgf1) {
      return refused;
    }
    if (algorithmIdOf(mgf[1], `${what}: MGF1 hash`).oid !== hashOid) return refused;
    // The salt length has no default Go accepts (20 is SHA-1's); the trailer field's is 1.
    const salt = saltField === undefined ? undefined : integerOf(saltField, what).toBigInt();
    const trailer = trailerField === undefined ? 1n : integerOf(trailerField, what).toBigInt();
    if (salt !== BigInt(HASH_BYTES[hash]) || trailer !== 1n) return refused;
    return { kind: 'rsa-pss', hash };
  } catch {
    return refused;
  }
}

/**
 * Why `signature` is not `key`'s signature over `data` with `algorithm`, or
 * undefined when it is. The key's type must be the algorithm's, as Go checks.
 */
export function signatureProblem(
  key: KeyObject | undefined,
  algorithm: AlgorithmId | SignatureScheme,
  data: Uint8Array,
  signature: Uint8Array,
): string | undefined {
  const scheme = 'kind' in algorithm ? algorithm : schemeOf(algorithm);
  if (typeof scheme === 'string') return scheme;
  if (key === undefined) return 'the signer has a public key of an unsupported type';
  const keyType = key.asymmetricKeyType;
  const wanted = scheme.kind === 'rsa-pss' ? 'rsa' : scheme.kind === 'ecdsa' ? 'ec' : scheme.kind;
  if (keyType !== wanted) {
    return `a ${keyType ?? 'unknown'} key cannot verify a ${scheme.kind} signature`;
  }
  if (keyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 1024) {
    return 'RSA keys shorter than 1024 bits are refused';
  }
  let valid: boolean;
  try {
    switch (scheme.kind) {
      case 'rsa':
        valid = verify(scheme.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
        break;
      case 'rsa-pss':
        valid = verify(
          scheme.hash,
          data,
          {
            key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: HASH_BYTES[scheme.hash],
          },
          signature,
        );
        break;
      case 'ecdsa':
        valid = verify(scheme.hash, data, key, signature);
        break;
      case 'ed25519':
        valid = verify(null, data, key, signature);
        break;
    }
  } catch {
    valid = false;
  }
  return valid ? undefined : 'the signature does not verify';
}

/**
 * The scheme of a CMS SignerInfo, from its digest and signature algorithm
 * OIDs as tspclient-go maps them (internal/oid/algorithm.go
 * `ToSignatureAlgorithm`): `rsaEncryption` and `RSASSA-PSS` take the hash
 * from the digest algorithm (PSS verified with a hash-length salt, as Go
 * does, whatever the parameters say); the other OIDs name their own hash.
 */
export function signerInfoScheme(
  digestOid: string,
  signatureOid: string,
): SignatureScheme | string {
  const hash = SHA2_BY_OID[digestOid];
  if (signatureOid === OID.rsaEncryption || signatureOid === OID.rsassaPss) {
    if (hash === undefined) return `unsupported digest algorithm ${digestOid}`;
    return { kind: signatureOid === OID.rsaEncryption ? 'rsa' : 'rsa-pss', hash };
  }
  const scheme = schemeOf({ oid: signatureOid });
  return typeof scheme !== 'string' && scheme.kind === 'ed25519'
    ? `unsupported signature algorithm ${signatureOid}`
    : scheme;
}
