/**
 * The certificates of one trust store file, read and checked as notation
 * does when it loads a named store (notation-go
 * `verifier/truststore/truststore.go` `GetCertificates`):
 *
 * - the file is PEM when it holds a PEM block, and then every block is one
 *   certificate whatever its label says; otherwise it is one or more DER
 *   certificates back to back (notation-core-go `x509/cert.go`
 *   `parseCertificates`); a file without any certificate is refused;
 * - every certificate must be a CA (basicConstraints `cA`) or carry a valid
 *   signature by its own key (`ValidateCertificates`): a self-signed signing
 *   certificate may sit in a `ca` store, an end-entity certificate issued by
 *   someone else may not;
 * - in a `tsa` store every certificate must be a root CA (`isRootCACertificate`):
 *   its signature verifies under its own key as Go's `CheckSignatureFrom`
 *   checks a parent (a version 3 certificate needs basicConstraints with
 *   `cA`, a keyUsage needs keyCertSign, SHA-1 is refused) and its issuer is
 *   byte for byte its subject.
 *
 * Go's x509 parser is strict DER; here each certificate must parse both with
 * der.ts's strict DER reader and with Node's (OpenSSL), and the
 * checks Go's parser makes that matter here are made too (version, inner and
 * outer signature algorithms equal, no duplicate extensions). Go refuses MD5
 * signatures always and SHA-1 ones where it checks a parent; algorithms Go
 * cannot verify (DSA, RSA-PSS over SHA-1) never verify here either.
 *
 * https://github.com/notaryproject/notation-go/blob/main/verifier/truststore/truststore.go
 * https://github.com/notaryproject/notation-core-go/blob/main/x509/cert.go
 */
import { X509Certificate } from 'node:crypto';
import { hasCode, invalid, messageOf, type VouchError } from '../../core/errors.ts';
import { decodePemBlocks } from '../../keys/pem.ts';
import { derInteger, DerReader, type Tlv } from './der.ts';
import type { TrustStoreType } from './trust-policy.ts';

export interface TrustedCertificate {
  /** The certificate as DER. */
  readonly der: Uint8Array;
  readonly certificate: X509Certificate;
}

/** Certificates in one file; a CA bundle holds a few hundred. */
export const MAX_CERTIFICATES_PER_FILE = 1000;

/**
 * The certificates of a trust store file of type `type`, checked as above.
 * `source` names the file in messages. Throws `invalid`
 * NOTATION_TRUST_STORE_INVALID.
 */
export function parseTrustStoreCertificates(
  type: TrustStoreType,
  bytes: Uint8Array,
  source: string,
): TrustedCertificate[] {
  const fail = (message: string, cause?: unknown): VouchError =>
    invalid(
      'NOTATION_TRUST_STORE_INVALID',
      `${source}: ${message}`,
      cause === undefined ? undefined : { cause },
    );
  const ders = splitCertificates(bytes, fail);
  if (ders.length === 0) throw fail('holds no certificate');
  return ders.map((der, index) => {
    const which = ders.length === 1 ? 'the certificate' : `certificate ${index + 1}`;
    let certificate: X509Certificate;
    let facts: Facts;
    try {
      facts = factsOf(der);
      certificate = new X509Certificate(der);
    } catch (error) {
      throw fail(`${which} is not a valid X.509 certificate: ${messageOf(error)}`, error);
    }
    const subject = JSON.stringify(certificate.subject.replaceAll('\n', ', '));
    if (!facts.isCA && !selfSigned(facts, certificate, { allowSHA1: true })) {
      throw fail(
        `certificate with subject ${subject} is not a CA certificate or self-signed signing certificate`,
      );
    }
    if (type === 'tsa') {
      const reason = notRootCA(facts, certificate);
      if (reason !== undefined) {
        throw fail(`certificate with subject ${subject} is not a root CA certificate: ${reason}`);
      }
    }
    return Object.freeze({ der, certificate });
  });
}

/** PEM blocks, else back-to-back DER: the DER of each certificate. */
function splitCertificates(bytes: Uint8Array, fail: (message: string) => VouchError): Uint8Array[] {
  let blocks;
  try {
    blocks = decodePemBlocks(bytes);
  } catch (error) {
    if (hasCode(error, 'MALFORMED_PEM')) throw fail(error.message);
    throw error;
  }
  const ders = blocks.length > 0 ? blocks.map((block) => block.bytes) : splitDer(bytes, fail);
  if (ders.length > MAX_CERTIFICATES_PER_FILE) {
    throw fail(`holds more than ${MAX_CERTIFICATES_PER_FILE} certificates`);
  }
  return ders;
}

/** Go's `x509.ParseCertificates`: DER SEQUENCEs back to back, nothing else. */
function splitDer(bytes: Uint8Array, fail: (message: string) => VouchError): Uint8Array[] {
  const ders: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length && ders.length <= MAX_CERTIFICATES_PER_FILE) {
    const length = sequenceLength(bytes, offset);
    if (length === undefined) {
      throw fail(
        `is neither PEM nor DER: no DER certificate at byte ${offset} (expected a SEQUENCE with a definite length)`,
      );
    }
    ders.push(bytes.slice(offset, offset + length));
    offset += length;
  }
  return ders;
}

/** The whole length of the DER SEQUENCE at `offset`, or undefined. */
function sequenceLength(bytes: Uint8Array, offset: number): number | undefined {
  if (bytes[offset] !== 0x30) return undefined;
  const first = bytes[offset + 1];
  if (first === undefined) return undefined;
  let header = 2;
  let length = first;
  if (first >= 0x80) {
    const count = first & 0x7f;
    // Indefinite (0), more than 4 bytes, or a leading zero is not DER.
    if (count === 0 || count > 4 || bytes[offset + 2] === 0) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) {
      const byte = bytes[offset + 2 + i];
      if (byte === undefined) return undefined;
      length = length * 256 + byte;
    }
    if (length < 0x80) return undefined;
    header += count;
  }
  const total = header + length;
  return offset + total <= bytes.length ? total : undefined;
}

interface Facts {
  readonly version: number;
  /** basicConstraints present with `cA` true (Go's `IsCA`). */
  readonly isCA: boolean;
  /** basicConstraints present (Go's `BasicConstraintsValid`). */
  readonly hasBasicConstraints: boolean;
  /** keyUsage with any of its nine bits set (Go's `KeyUsage != 0`). */
  readonly hasKeyUsage: boolean;
  readonly keyCertSign: boolean;
  readonly signatureAlgorithm: string;
  /** The hash of RSA-PSS parameters, for PSS signatures. */
  readonly pssHash?: string;
  /** Raw issuer and subject are the same bytes. */
  readonly selfIssued: boolean;
}

const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_RSA_PSS = '1.2.840.113549.1.1.10';
const KEY_CERT_SIGN = 5;
const SEQUENCE = 0x30;
const BOOLEAN = 0x01;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OBJECT_IDENTIFIER = 0x06;

/** The values a constructed DER value holds, each read strictly. */
function children(tlv: Tlv, what: string): Tlv[] {
  const reader = new DerReader(tlv.value, what);
  const out: Tlv[] = [];
  while (!reader.done) out.push(reader.read());
  return out;
}

/** A context-specific tag [n], constructed or not. */
const isContext = (tlv: Tlv | undefined, n: number) =>
  tlv !== undefined && (tlv.tag & 0xc0) === 0x80 && (tlv.tag & 0x1f) === n;

/** An OBJECT IDENTIFIER's dotted form. */
function oidOf(tlv: Tlv | undefined): string {
  if (tlv?.tag !== OBJECT_IDENTIFIER || tlv.value.byteLength === 0) {
    throw new Error('an OBJECT IDENTIFIER is missing');
  }
  const arcs: bigint[] = [];
  let arc = 0n;
  for (const [i, byte] of tlv.value.entries()) {
    if (arc === 0n && byte === 0x80) throw new Error('an OBJECT IDENTIFIER is not minimal');
    arc = (arc << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0)
        arcs.push(arc < 80n ? arc / 40n : 2n, arc < 80n ? arc % 40n : arc - 80n);
      else arcs.push(arc);
      arc = 0n;
    } else if (i === tlv.value.byteLength - 1) {
      throw new Error('an OBJECT IDENTIFIER is cut short');
    }
  }
  return arcs.join('.');
}

/** A BIT STRING's bits, first first. */
function bitsOf(tlv: Tlv): number[] {
  const [unused, ...bytes] = tlv.value;
  if (tlv.tag !== BIT_STRING || unused === undefined || unused > 7) {
    throw new Error('a malformed BIT STRING');
  }
  const bits = bytes.flatMap((byte) => [7, 6, 5, 4, 3, 2, 1, 0].map((i) => (byte >> i) & 1));
  return bits.slice(0, bits.length - (bytes.length === 0 ? 0 : unused));
}

/** What the checks need, read as Go's parser reads it; throws on malformed DER. */
function factsOf(der: Uint8Array): Facts {
  const reader = new DerReader(der, 'the certificate');
  const root = reader.read(SEQUENCE);
  reader.end();
  const [tbsTlv, outerAlgorithm, signature, ...more] = children(root, 'the certificate');
  if (
    more.length > 0 ||
    tbsTlv?.tag !== SEQUENCE ||
    !outerAlgorithm ||
    signature?.tag !== BIT_STRING
  ) {
    throw new Error('not a Certificate SEQUENCE');
  }
  const tbs = children(tbsTlv, 'the TBSCertificate');
  let index = 0;
  let version = 1;
  const first = tbs[0];
  if (isContext(first, 0)) {
    const [number] = children(first as Tlv, 'the version');
    const value = number?.tag === INTEGER ? derInteger(number.value, 'the version') : undefined;
    if (value === undefined || value < 0n || value > 2n) throw new Error('invalid version');
    version = Number(value) + 1;
    index = 1;
  }
  const innerAlgorithm = tbs[index + 1];
  const issuer = tbs[index + 2];
  const subject = tbs[index + 4];
  if (!innerAlgorithm || !issuer || !subject || tbs.length < index + 6) {
    throw new Error('incomplete TBSCertificate');
  }
  if (!sameElement(innerAlgorithm, outerAlgorithm)) {
    throw new Error("inner and outer signature algorithm identifiers don't match");
  }
  const extensions = new Map<string, Tlv>();
  for (const optional of tbs.slice(index + 6)) {
    if (!isContext(optional, 3)) continue;
    if (version !== 3) throw new Error(`a version ${version} certificate has extensions`);
    const [list] = children(optional, 'the extensions');
    for (const extension of list === undefined ? [] : children(list, 'the extensions')) {
      const fields = children(extension, 'an extension');
      const oid = oidOf(fields[0]);
      if (extensions.has(oid)) throw new Error(`duplicate extension ${oid}`);
      extensions.set(oid, fields[fields.length - 1] as Tlv);
    }
  }
  const basicConstraints = extensionValue(extensions, OID_BASIC_CONSTRAINTS);
  if (basicConstraints !== undefined && basicConstraints.tag !== SEQUENCE) {
    throw new Error('malformed basicConstraints');
  }
  const cA =
    basicConstraints === undefined ? undefined : children(basicConstraints, 'basicConstraints')[0];
  const keyUsageValue = extensionValue(extensions, OID_KEY_USAGE);
  const keyUsage = keyUsageValue === undefined ? [] : bitsOf(keyUsageValue).slice(0, 9);
  const signatureAlgorithm = oidOf(children(outerAlgorithm, 'the signature algorithm')[0]);
  return {
    version,
    hasBasicConstraints: basicConstraints !== undefined,
    isCA: cA?.tag === BOOLEAN && booleanOf(cA),
    hasKeyUsage: keyUsage.includes(1),
    keyCertSign: keyUsage[KEY_CERT_SIGN] === 1,
    signatureAlgorithm,
    ...(signatureAlgorithm === OID_RSA_PSS ? { pssHash: pssHashOf(outerAlgorithm) } : {}),
    selfIssued: sameElement(issuer, subject),
  };
}

/** DER's BOOLEAN: one byte, 0x00 or 0xff (Go's asn1 parseBool). */
function booleanOf(tlv: Tlv): boolean {
  const [byte, ...rest] = tlv.value;
  if (rest.length > 0 || (byte !== 0x00 && byte !== 0xff)) throw new Error('a malformed BOOLEAN');
  return byte === 0xff;
}

/**
 * The one DER element an extension's OCTET STRING holds; when it holds
 * anything else the extension is malformed, which Go's parser refuses.
 */
function extensionValue(extensions: ReadonlyMap<string, Tlv>, oid: string): Tlv | undefined {
  const octets = extensions.get(oid);
  if (octets === undefined) return undefined;
  try {
    if (octets.tag !== OCTET_STRING) throw new Error();
    const reader = new DerReader(octets.value, oid);
    const value = reader.read();
    reader.end();
    return value;
  } catch {
    throw new Error(`malformed extension ${oid}`);
  }
}

/** The hash OID in RSASSA-PSS-params' `[0] hashAlgorithm` (SHA-1 when absent). */
function pssHashOf(algorithm: Tlv): string {
  const params = children(algorithm, 'the signature algorithm')[1];
  if (params?.tag !== SEQUENCE) return OID_SHA1;
  const hash = children(params, 'the RSASSA-PSS parameters').find((field) => isContext(field, 0));
  if (hash === undefined) return OID_SHA1;
  const [identifier] = children(hash, 'the PSS hash algorithm');
  if (identifier === undefined) return OID_SHA1;
  return oidOf(children(identifier, 'the PSS hash algorithm')[0]);
}

function sameElement(a: Tlv, b: Tlv): boolean {
  return a.tag === b.tag && Buffer.compare(a.value, b.value) === 0;
}

const OID_SHA1 = '1.3.14.3.2.26';
// The signature algorithms Go's crypto/x509 verifies (x509.go
// signatureAlgorithmDetails minus MD2/MD5, which it refuses as insecure, and
// DSA, which it cannot verify); the SHA-1 ones only where SHA-1 is allowed.
const SHA1_SIGNATURES = new Set([
  '1.2.840.113549.1.1.5', // sha1WithRSAEncryption
  '1.3.14.3.2.29', // sha1WithRSA (OIW)
  '1.2.840.10045.4.1', // ecdsa-with-SHA1
]);
const SIGNATURES = new Set([
  '1.2.840.113549.1.1.11', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12', // sha384WithRSAEncryption
  '1.2.840.113549.1.1.13', // sha512WithRSAEncryption
  '1.2.840.10045.4.3.2', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3', // ecdsa-with-SHA384
  '1.2.840.10045.4.3.4', // ecdsa-with-SHA512
  '1.3.101.112', // Ed25519
]);
const PSS_HASHES = new Set([
  '2.16.840.1.101.3.4.2.1', // SHA-256
  '2.16.840.1.101.3.4.2.2', // SHA-384
  '2.16.840.1.101.3.4.2.3', // SHA-512
]);

/** Whether the certificate's signature verifies under its own key, with an algorithm Go verifies. */
function selfSigned(
  facts: Facts,
  certificate: X509Certificate,
  options: { readonly allowSHA1: boolean },
): boolean {
  const algorithm = facts.signatureAlgorithm;
  const supported =
    SIGNATURES.has(algorithm) ||
    (options.allowSHA1 && SHA1_SIGNATURES.has(algorithm)) ||
    (algorithm === OID_RSA_PSS && PSS_HASHES.has(facts.pssHash ?? ''));
  if (!supported) return false;
  try {
    return certificate.verify(certificate.publicKey);
  } catch {
    return false;
  }
}

/** Why a certificate is not a root CA (truststore.go `isRootCACertificate`), or undefined. */
function notRootCA(facts: Facts, certificate: X509Certificate): string | undefined {
  // crypto/x509 CheckSignatureFrom's checks of the parent (here, itself).
  if (
    (facts.version === 3 && !facts.hasBasicConstraints) ||
    (facts.hasBasicConstraints && !facts.isCA)
  ) {
    return 'x509: invalid signature: parent certificate cannot sign this kind of certificate';
  }
  if (facts.hasKeyUsage && !facts.keyCertSign) {
    return 'x509: invalid signature: parent certificate cannot sign this kind of certificate';
  }
  if (!selfSigned(facts, certificate, { allowSHA1: false })) {
    return 'its signature does not verify under its own key with an algorithm notation accepts';
  }
  if (!facts.selfIssued) {
    return `issuer (${certificate.issuer.replaceAll('\n', ', ')}) and subject (${certificate.subject.replaceAll('\n', ', ')}) are not the same`;
  }
  return undefined;
}
