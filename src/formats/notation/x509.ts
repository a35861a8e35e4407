/**
 * X.509 certificates as Notary Project verification reads them: the fields
 * and extensions Go's crypto/x509 gives notation (`Certificate.KeyUsage`,
 * `ExtKeyUsage`, `BasicConstraintsValid`/`IsCA`/`MaxPathLen`, `OCSPServer`,
 * `CRLDistributionPoints`, `UnhandledCriticalExtensions`), parsed with pkijs,
 * and `checkSignatureFrom`, Go's `Certificate.CheckSignatureFrom`.
 */
import { Buffer } from 'node:buffer';
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { denied, messageOf } from '../../core/errors.ts';
import { bytesOf, decodeAsn1, decodeWith, DerError, sameBytes, validTime } from './der.ts';
import { type AlgorithmId, algorithmIdOf, signatureProblem } from './signature-algorithm.ts';

const EXTENSION = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  freshestCrl: '2.5.29.46',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
} as const;

export const EKU = {
  any: '2.5.29.37.0',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

/** Go's x509.KeyUsage bits: bit n is RFC 5280's KeyUsage bit n. */
export const KEY_USAGE = {
  digitalSignature: 1 << 0,
  contentCommitment: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const;

/**
 * Extensions whose criticality Go's parser handles (x509/parser.go
 * `processExtensions`); a critical one outside this set is an
 * "unhandled critical extension" that `Certificate.Verify` refuses. Name
 * constraints and the policy extensions are left out: vouch does not
 * enforce them, so a chain that depends on them is refused, not accepted.
 */
const HANDLED_EXTENSIONS = new Set<string>([
  EXTENSION.subjectKeyIdentifier,
  EXTENSION.keyUsage,
  EXTENSION.subjectAltName,
  EXTENSION.basicConstraints,
  EXTENSION.crlDistributionPoints,
  EXTENSION.certificatePolicies,
  EXTENSION.authorityKeyIdentifier,
  EXTENSION.extKeyUsage,
  EXTENSION.authorityInfoAccess,
]);

const OCSP_ACCESS_METHOD = '1.3.6.1.5.5.7.48.1';
/** GeneralName uniformResourceIdentifier [6]. */
const GENERAL_NAME_URI = 6;

export interface BasicConstraints {
  readonly critical: boolean;
  readonly ca: boolean;
  /** pathLenConstraint; undefined when absent. */
  readonly pathLen?: number;
}

export interface KeyUsage {
  readonly critical: boolean;
  /** KEY_USAGE bits. */
  readonly bits: number;
}

export interface ExtendedKeyUsage {
  readonly critical: boolean;
  /** The key purposes, in certificate order. */
  readonly purposes: readonly string[];
}

export interface NotationCertificate {
  readonly der: Uint8Array;
  /** 1, 2 or 3. */
  readonly version: number;
  readonly serialNumber: bigint;
  /** The subject as Go's `pkix.Name.String` writes it, for messages: `CN=…,O=…,C=…`. */
  readonly subject: string;
  /** The issuer, written the same way (`notation inspect`'s "issued by"). */
  readonly issuer: string;
  readonly rawSubject: Uint8Array;
  readonly rawIssuer: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The SubjectPublicKeyInfo, DER. */
  readonly spki: Uint8Array;
  /** The subjectPublicKey BIT STRING's bytes (what an OCSP CertID's issuerKeyHash hashes). */
  readonly subjectPublicKey: Uint8Array;
  /** Undefined when Node cannot read the key. */
  readonly publicKey: KeyObject | undefined;
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: AlgorithmId;
  readonly signature: Uint8Array;
  readonly basicConstraints?: BasicConstraints;
  readonly keyUsage?: KeyUsage;
  readonly extKeyUsage?: ExtendedKeyUsage;
  /** OCSP responder URLs from the Authority Information Access extension. */
  readonly ocspServers: readonly string[];
  /** CRL URLs from the CRL Distribution Points extension. */
  readonly crlDistributionPoints: readonly string[];
  /** Whether the certificate names delta CRLs (Freshest CRL). */
  readonly hasFreshestCrl: boolean;
  /** OIDs of critical extensions Go would not handle. */
  readonly unhandledCriticalExtensions: readonly string[];
}

/**
 * Certificates already parsed, by their DER bytes (successes only; the
 * oldest goes first when full). Verifying many images signed with one chain
 * parses the same few certificates for each image, twice (the revocation
 * plan, then the evaluation), and parsing with pkijs costs more than every
 * other check of a signature (docs/benchmarks.md, notation); what parsing
 * gives depends on the bytes alone (`what` only names them in errors).
 */
const parsedCertificates = new Map<string, NotationCertificate>();
const MAX_CACHED_CERTIFICATES = 256;
/** Larger ones (no real certificate is) are parsed each time, so the cache stays small. */
const MAX_CACHED_DER_BYTES = 16 * 1024;

/**
 * Reads one DER certificate; throws `denied` CERT_INVALID when it is not
 * one, as Go's `x509.ParseCertificate` would fail (malformed extensions,
 * duplicate extensions, trailing bytes).
 */
export function parseCertificate(der: Uint8Array, what = 'certificate'): NotationCertificate {
  const key =
    der.byteLength <= MAX_CACHED_DER_BYTES
      ? Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1')
      : undefined;
  const cached = key === undefined ? undefined : parsedCertificates.get(key);
  if (cached !== undefined) return cached;
  try {
    const certificate = readCertificate(bytesOf(der), what);
    if (key !== undefined) {
      if (parsedCertificates.size >= MAX_CACHED_CERTIFICATES) {
        parsedCertificates.delete(parsedCertificates.keys().next().value as string);
      }
      parsedCertificates.set(key, certificate);
    }
    return certificate;
  } catch (error) {
    // Whatever pkijs or asn1js throw on hostile bytes is "not a certificate".
    const reason =
      error instanceof DerError ? error.message : `${what} is malformed: ${messageOf(error)}`;
    throw denied('CERT_INVALID', reason, { cause: error });
  }
}

function readCertificate(der: Uint8Array, what: string): NotationCertificate {
  const cert = decodeWith(pkijs.Certificate, der, what);
  const version = cert.version + 1;
  if (version < 1 || version > 3) throw new DerError(`${what} has version ${version}`);
  let basicConstraints: BasicConstraints | undefined;
  let keyUsage: KeyUsage | undefined;
  let extKeyUsage: ExtendedKeyUsage | undefined;
  let ocspServers: string[] = [];
  let crlDistributionPoints: string[] = [];
  let hasFreshestCrl = false;
  const unhandled: string[] = [];
  const seen = new Set<string>();
  for (const extension of cert.extensions ?? []) {
    const id = extension.extnID;
    if (seen.has(id)) throw new DerError(`${what} has the extension ${id} twice`);
    seen.add(id);
    const value = bytesOf(extension.extnValue.valueBlock.valueHexView);
    const label = `${what}: extension ${id}`;
    switch (id) {
      case EXTENSION.basicConstraints: {
        const parsed = decodeWith(pkijs.BasicConstraints, value, label);
        const pathLen = parsed.pathLenConstraint;
        basicConstraints = {
          critical: extension.critical,
          ca: parsed.cA,
          ...(pathLen === undefined ? {} : { pathLen: pathLenOf(pathLen, label) }),
        };
        break;
      }
      case EXTENSION.keyUsage:
        keyUsage = { critical: extension.critical, bits: keyUsageBits(value, label) };
        break;
      case EXTENSION.extKeyUsage:
        extKeyUsage = {
          critical: extension.critical,
          purposes: decodeWith(pkijs.ExtKeyUsage, value, label).keyPurposes,
        };
        break;
      case EXTENSION.authorityInfoAccess:
        ocspServers = decodeWith(pkijs.InfoAccess, value, label)
          .accessDescriptions.filter(
            (d) =>
              d.accessMethod === OCSP_ACCESS_METHOD && d.accessLocation.type === GENERAL_NAME_URI,
          )
          .map((d) => String(d.accessLocation.value));
        break;
      case EXTENSION.crlDistributionPoints:
        crlDistributionPoints = distributionPointUrls(value, label);
        break;
      case EXTENSION.freshestCrl:
        hasFreshestCrl = true;
        break;
    }
    if (extension.critical && !HANDLED_EXTENSIONS.has(id)) unhandled.push(id);
  }
  const spkiInfo = cert.subjectPublicKeyInfo;
  const spki = new Uint8Array(spkiInfo.toSchema().toBER(false));
  return {
    der,
    version,
    serialNumber: cert.serialNumber.toBigInt(),
    subject: distinguishedName(cert.subject),
    issuer: distinguishedName(cert.issuer),
    rawSubject: bytesOf(cert.subject.valueBeforeDecode),
    rawIssuer: bytesOf(cert.issuer.valueBeforeDecode),
    notBefore: validTime(cert.notBefore.value, `${what}: notBefore`),
    notAfter: validTime(cert.notAfter.value, `${what}: notAfter`),
    spki,
    subjectPublicKey: bytesOf(spkiInfo.subjectPublicKey.valueBlock.valueHexView),
    publicKey: publicKeyOf(spki),
    tbs: bytesOf(cert.tbsView),
    signatureAlgorithm: algorithmIdOf(cert.signatureAlgorithm),
    signature: bytesOf(cert.signatureValue.valueBlock.valueHexView),
    ...(basicConstraints === undefined ? {} : { basicConstraints }),
    ...(keyUsage === undefined ? {} : { keyUsage }),
    ...(extKeyUsage === undefined ? {} : { extKeyUsage }),
    ocspServers,
    crlDistributionPoints,
    hasFreshestCrl,
    unhandledCriticalExtensions: unhandled,
  };
}

function pathLenOf(value: number | asn1js.Integer, label: string): number {
  const n = typeof value === 'number' ? value : Number(value.toBigInt());
  if (!Number.isSafeInteger(n) || n < 0) throw new DerError(`${label}: pathLenConstraint ${n}`);
  return n;
}

/** KeyUsage ::= BIT STRING, bit 0 first (Go reads bits 0..8). */
function keyUsageBits(value: Uint8Array, label: string): number {
  const bitString = decodeAsn1(value, label);
  if (!(bitString instanceof asn1js.BitString)) throw new DerError(`${label} is not a BIT STRING`);
  const bytes = bitString.valueBlock.valueHexView;
  let bits = 0;
  for (let i = 0; i < 9; i++) {
    const byte = bytes[i >> 3] ?? 0;
    if ((byte >> (7 - (i & 7))) & 1) bits |= 1 << i;
  }
  return bits;
}

/**
 * The URIs of each distribution point's full name, as Go's parser takes
 * them (x509/parser.go, CRL distribution points): a full name's general
 * names are read up to the first one that is not a URI.
 */
export function distributionPointUrls(value: Uint8Array, label: string): string[] {
  const urls: string[] = [];
  for (const point of decodeWith(pkijs.CRLDistributionPoints, value, label).distributionPoints) {
    const name = point.distributionPoint;
    if (!Array.isArray(name)) continue;
    for (const general of name) {
      if (general.type !== GENERAL_NAME_URI) break;
      urls.push(String(general.value));
    }
  }
  return urls;
}

function publicKeyOf(spki: Uint8Array): KeyObject | undefined {
  try {
    return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

/** Go's named Name fields, in `ToRDNSequence` order, with their short names. */
const NAME_FIELDS: readonly (readonly [string, string])[] = [
  ['2.5.4.6', 'C'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.7', 'L'],
  ['2.5.4.9', 'STREET'],
  ['2.5.4.17', 'POSTALCODE'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.3', 'CN'],
  ['2.5.4.5', 'SERIALNUMBER'],
];
/** CN and SERIALNUMBER are single fields in Go: the last value wins. */
const SINGLE_VALUED = new Set(['2.5.4.3', '2.5.4.5']);

/**
 * A name as Go's `pkix.Name.String` writes it, for messages naming a
 * certificate as notation's do: other attributes first (as `OID=#` and the
 * hex of their DER), then the named fields in `ToRDNSequence` order (one
 * CN, the last), the whole reversed as RFC 2253 writes names, values
 * escaped as `RDNSequence.String` escapes them.
 */
function distinguishedName(name: pkijs.RelativeDistinguishedNames): string {
  const values = name.typesAndValues.map((attribute) => {
    const text = (attribute.value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
    return { type: attribute.type, value: attribute.value as asn1js.AsnType, text };
  });
  const known = new Map(NAME_FIELDS);
  const parts: string[] = values
    .filter((v) => !known.has(v.type))
    .map((v) => `${v.type}=#${Buffer.from(v.value.toBER(false)).toString('hex')}`);
  for (const [oid, short] of NAME_FIELDS) {
    const texts = values
      .filter((v) => v.type === oid && typeof v.text === 'string')
      .map((v) => v.text as string);
    for (const text of SINGLE_VALUED.has(oid) ? texts.slice(-1) : texts) {
      parts.push(`${short}=${escapeValue(text)}`);
    }
  }
  return parts.reverse().join(',');
}

function escapeValue(value: string): string {
  const chars = [...value];
  return chars
    .map((c, i) => {
      const escape =
        ',+"\\<>;'.includes(c) ||
        (c === ' ' && (i === 0 || i === chars.length - 1)) ||
        (c === '#' && i === 0);
      return escape ? `\\${c}` : c;
    })
    .join('');
}

/**
 * Why `parent` did not sign `child`, or undefined when it did: Go's
 * `CheckSignatureFrom`, which also refuses a parent that may not sign
 * certificates (a v3 certificate without basic constraints or not a CA, or
 * key usage without keyCertSign).
 */
export function checkSignatureFrom(
  child: NotationCertificate,
  parent: NotationCertificate,
): string | undefined {
  const constraints = parent.basicConstraints;
  if ((parent.version === 3 && constraints === undefined) || (constraints && !constraints.ca)) {
    return `"${parent.subject}" is not a CA certificate, so it cannot sign certificates`;
  }
  const usage = parent.keyUsage?.bits ?? 0;
  if (usage !== 0 && (usage & KEY_USAGE.keyCertSign) === 0) {
    return `"${parent.subject}" has no keyCertSign key usage, so it cannot sign certificates`;
  }
  return signatureProblem(parent.publicKey, child.signatureAlgorithm, child.tbs, child.signature);
}

/** Go's `isIssuedBy`: `parent` signed `child` and is named as its issuer. */
export function issuedByProblem(
  child: NotationCertificate,
  parent: NotationCertificate,
): string | undefined {
  const problem = checkSignatureFrom(child, parent);
  if (problem !== undefined) return problem;
  return sameBytes(parent.rawSubject, child.rawIssuer)
    ? undefined
    : `its issuer name is not the subject of "${parent.subject}"`;
}

/** Same certificate, byte for byte (Go's `Certificate.Equal`). */
export function sameCertificate(a: NotationCertificate, b: NotationCertificate): boolean {
  return sameBytes(a.der, b.der);
}

/** A certificate's bounds at `time`, inclusive as Go compares them. */
export function validAt(cert: NotationCertificate, time: Date): boolean {
  return time.getTime() >= cert.notBefore.getTime() && time.getTime() <= cert.notAfter.getTime();
}
