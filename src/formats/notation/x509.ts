/**
 * X.509 certificates as Notary Project verification reads them: the fields
 * and extensions Go's crypto/x509 gives notation (`Certificate.KeyUsage`,
 * `ExtKeyUsage`, `BasicConstraintsValid`/`IsCA`/`MaxPathLen`, `OCSPServer`,
 * `CRLDistributionPoints`, `UnhandledCriticalExtensions`), read from the
 * values asn1js decodes (RFC 5280 §4.1, walked here rather than with pkijs:
 * loading pkijs costs a one-shot `vouch notation verify` more than all its
 * checks), and `checkSignatureFrom`, Go's `Certificate.CheckSignatureFrom`.
 */
import { Buffer } from 'node:buffer';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type * as asn1js from 'asn1js';
import { denied, messageOf } from '../../core/errors.ts';
import {
  bitStringOf,
  booleanOf,
  bytesOf,
  checkDerLengths,
  contentsOf,
  decodeAsn1,
  DerError,
  encodingOf,
  explicitOf,
  integerOf,
  isContextTag,
  isUniversal,
  itemsOf,
  octetsOf,
  oidOf,
  sameBytes,
  TAG,
  timeOf,
} from './der.ts';
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
 * plan, then the evaluation), and parsing (with pkijs then) cost more than
 * every other check of a signature (docs/benchmarks.md, notation); what parsing
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
    // Whatever asn1js throws on hostile bytes is "not a certificate" too.
    const reason =
      error instanceof DerError ? error.message : `${what} is malformed: ${messageOf(error)}`;
    throw denied('CERT_INVALID', reason, { cause: error });
  }
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
 * signatureValue BIT STRING } (RFC 5280 §4.1), and its TBSCertificate:
 * `[0]` version, serialNumber, signature, issuer, validity, subject,
 * subjectPublicKeyInfo, then the optional `[1]`/`[2]` unique IDs and `[3]`
 * extensions, in that order and nothing else.
 */
function readCertificate(der: Uint8Array, what: string): NotationCertificate {
  // asn1js reads BER: lengths and OIDs in longer forms than DER's, which it encodes back
  // in DER's (OIDs) or not (lengths). Such a certificate is no DER (Go refuses it), and its
  // raw fields (the SubjectPublicKeyInfo, the names) would not be the values read from them.
  const certificate = decodeAsn1(der, what);
  checkDerLengths(der, `${what} is not DER`);
  if (!sameBytes(new Uint8Array(certificate.toBER(false)), der)) {
    throw new DerError(`${what} is not DER`);
  }
  const [tbsNode, outerAlgorithm, signatureValue] = itemsOf(certificate, what, {
    min: 3,
    max: 3,
  });
  const tbs = itemsOf(tbsNode, `${what}: tbsCertificate`);
  let next = 0;
  const field = (name: string) => {
    const node = tbs[next++];
    if (node === undefined) throw new DerError(`${what}: tbsCertificate has no ${name}`);
    return node;
  };
  let version = 1;
  if (isContextTag(tbs[0], 0, true)) {
    const label = `${what}: version`;
    const value = integerOf(explicitOf(field('version'), 0, label), label).toBigInt();
    version = value >= 0n && value <= 2n ? Number(value) + 1 : 0;
  }
  if (version === 0) throw new DerError(`${what} has a version other than 1, 2 or 3`);
  const serialNumber = integerOf(field('serialNumber'), `${what}: serialNumber`).toBigInt();
  const innerAlgorithm = field('signature');
  algorithmIdOf(innerAlgorithm, `${what}: tbsCertificate signature`);
  // Go's parser refuses a certificate whose two algorithm identifiers differ
  // (crypto/x509/parser.go: "inner and outer signature algorithm identifiers don't match").
  if (!sameBytes(encodingOf(innerAlgorithm), encodingOf(outerAlgorithm as asn1js.AsnType))) {
    throw new DerError(`${what}: its signature algorithm differs from the tbsCertificate's`);
  }
  const issuerNode = field('issuer');
  const issuer = nameOf(issuerNode, `${what}: issuer`);
  const validity = itemsOf(field('validity'), `${what}: validity`, { min: 2, max: 2 });
  const subjectNode = field('subject');
  const subject = nameOf(subjectNode, `${what}: subject`);
  const spkiNode = field('subjectPublicKeyInfo');
  const [spkiAlgorithm, subjectPublicKey] = itemsOf(spkiNode, `${what}: subjectPublicKeyInfo`, {
    min: 2,
    max: 2,
  });
  algorithmIdOf(spkiAlgorithm, `${what}: subjectPublicKeyInfo algorithm`);
  if (isContextTag(tbs[next], 1, false)) next++; // issuerUniqueID
  if (isContextTag(tbs[next], 2, false)) next++; // subjectUniqueID
  const extensionsNode = isContextTag(tbs[next], 3, true) ? tbs[next++] : undefined;
  if (next !== tbs.length) throw new DerError(`${what}: tbsCertificate has unexpected values`);
  const extensions = readExtensions(
    extensionsNode && explicitOf(extensionsNode, 3, `${what}: extensions`),
    what,
  );
  const spki = encodingOf(spkiNode);
  return {
    der,
    version,
    serialNumber,
    subject: distinguishedName(subject),
    issuer: distinguishedName(issuer),
    rawSubject: encodingOf(subjectNode),
    rawIssuer: encodingOf(issuerNode),
    notBefore: timeOf(validity[0], `${what}: notBefore`),
    notAfter: timeOf(validity[1], `${what}: notAfter`),
    spki,
    subjectPublicKey: bitStringOf(subjectPublicKey, `${what}: subjectPublicKey`),
    publicKey: publicKeyOf(spki),
    tbs: encodingOf(tbsNode as asn1js.AsnType),
    signatureAlgorithm: algorithmIdOf(outerAlgorithm, `${what}: signatureAlgorithm`),
    signature: bitStringOf(signatureValue, `${what}: signatureValue`),
    ...extensions,
  };
}

type ExtensionFields = Pick<
  NotationCertificate,
  | 'basicConstraints'
  | 'keyUsage'
  | 'extKeyUsage'
  | 'ocspServers'
  | 'crlDistributionPoints'
  | 'hasFreshestCrl'
  | 'unhandledCriticalExtensions'
>;

/**
 * Extensions ::= SEQUENCE OF Extension; Extension ::= SEQUENCE { extnID,
 * critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280
 * §4.1.2.9: each extension at most once). Each value the certificate's
 * checks read is itself one whole ASN.1 value.
 */
function readExtensions(node: asn1js.AsnType | undefined, what: string): ExtensionFields {
  let basicConstraints: BasicConstraints | undefined;
  let keyUsage: KeyUsage | undefined;
  let extKeyUsage: ExtendedKeyUsage | undefined;
  let ocspServers: string[] = [];
  let crlDistributionPoints: string[] = [];
  let hasFreshestCrl = false;
  const unhandled: string[] = [];
  const seen = new Set<string>();
  for (const extension of node === undefined ? [] : itemsOf(node, `${what}: extensions`)) {
    const items = itemsOf(extension, `${what}: an extension`, { min: 2, max: 3 });
    const id = oidOf(items[0], `${what}: an extension's extnID`);
    const label = `${what}: extension ${id}`;
    const critical = items.length === 3 && booleanOf(items[1], `${label}: critical`);
    const value = octetsOf(items[items.length - 1], label);
    if (seen.has(id)) throw new DerError(`${what} has the extension ${id} twice`);
    seen.add(id);
    switch (id) {
      case EXTENSION.basicConstraints:
        basicConstraints = { critical, ...basicConstraintsOf(value, label) };
        break;
      case EXTENSION.keyUsage:
        keyUsage = { critical, bits: keyUsageBits(value, label) };
        break;
      case EXTENSION.extKeyUsage:
        extKeyUsage = {
          critical,
          purposes: itemsOf(decodeAsn1(value, label), label).map((purpose) =>
            oidOf(purpose, `${label}: a key purpose`),
          ),
        };
        break;
      case EXTENSION.authorityInfoAccess:
        ocspServers = ocspServersOf(value, label);
        break;
      case EXTENSION.crlDistributionPoints:
        crlDistributionPoints = distributionPointUrls(value, label);
        break;
      case EXTENSION.freshestCrl:
        hasFreshestCrl = true;
        break;
    }
    if (critical && !HANDLED_EXTENSIONS.has(id)) unhandled.push(id);
  }
  return {
    ...(basicConstraints === undefined ? {} : { basicConstraints }),
    ...(keyUsage === undefined ? {} : { keyUsage }),
    ...(extKeyUsage === undefined ? {} : { extKeyUsage }),
    ocspServers,
    crlDistributionPoints,
    hasFreshestCrl,
    unhandledCriticalExtensions: unhandled,
  };
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }. */
function basicConstraintsOf(value: Uint8Array, label: string): Omit<BasicConstraints, 'critical'> {
  const items = itemsOf(decodeAsn1(value, label), label, { max: 2 });
  const ca = isUniversal(items[0], TAG.boolean) && booleanOf(items.shift(), `${label}: cA`);
  if (items.length === 0) return { ca };
  const [pathLenNode, ...rest] = items;
  if (rest.length > 0) throw new DerError(`${label} has unexpected values`);
  const pathLen = integerOf(pathLenNode, `${label}: pathLenConstraint`).toBigInt();
  if (pathLen < 0n || pathLen > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DerError(`${label}: pathLenConstraint ${pathLen}`);
  }
  return { ca, pathLen: Number(pathLen) };
}

/** KeyUsage ::= BIT STRING, bit 0 first (Go reads bits 0..8). */
function keyUsageBits(value: Uint8Array, label: string): number {
  const bytes = bitStringOf(decodeAsn1(value, label), label);
  let bits = 0;
  for (let i = 0; i < 9; i++) {
    const byte = bytes[i >> 3] ?? 0;
    if ((byte >> (7 - (i & 7))) & 1) bits |= 1 << i;
  }
  return bits;
}

/**
 * AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription { accessMethod
 * OBJECT IDENTIFIER, accessLocation GeneralName } (RFC 5280 §4.2.2.1): the
 * URIs of the OCSP access method.
 */
function ocspServersOf(value: Uint8Array, label: string): string[] {
  const servers: string[] = [];
  for (const description of itemsOf(decodeAsn1(value, label), label)) {
    const [method, location] = itemsOf(description, `${label}: an access description`, {
      min: 2,
      max: 2,
    });
    const uri = generalNameUri(location, label);
    if (oidOf(method, `${label}: accessMethod`) === OCSP_ACCESS_METHOD && uri !== undefined) {
      servers.push(uri);
    }
  }
  return servers;
}

/**
 * The URIs of each distribution point's full name, as Go's parser takes
 * them (x509/parser.go, CRL distribution points): a full name's general
 * names are read up to the first one that is not a URI.
 *
 * CRLDistributionPoints ::= SEQUENCE OF DistributionPoint { [0]
 * distributionPoint (fullName [0] GeneralNames | nameRelativeToCRLIssuer
 * [1]) OPTIONAL, [1] reasons OPTIONAL, [2] cRLIssuer OPTIONAL } (RFC 5280
 * §4.2.1.13).
 */
export function distributionPointUrls(value: Uint8Array, label: string): string[] {
  const urls: string[] = [];
  for (const point of itemsOf(decodeAsn1(value, label), label)) {
    const fields = itemsOf(point, `${label}: a distribution point`, { max: 3 });
    let next = 0;
    const name = isContextTag(fields[next], 0, true) ? fields[next++] : undefined;
    if (isContextTag(fields[next], 1, false)) next++;
    if (isContextTag(fields[next], 2, true)) {
      for (const issuer of contentsOf(fields[next++] as asn1js.AsnType, `${label}: cRLIssuer`)) {
        generalNameUri(issuer, label);
      }
    }
    if (next !== fields.length) throw new DerError(`${label}: a distribution point is malformed`);
    if (name === undefined) continue;
    const choice = explicitOf(name, 0, `${label}: distributionPoint`);
    if (isContextTag(choice, 1, true)) {
      nameOf(choice, `${label}: nameRelativeToCRLIssuer`, true);
      continue;
    }
    if (!isContextTag(choice, 0, true))
      throw new DerError(`${label}: distributionPoint is malformed`);
    const names = contentsOf(choice, `${label}: fullName`).map((general) =>
      generalNameUri(general, label),
    );
    const firstOther = names.indexOf(undefined);
    urls.push(...((firstOther === -1 ? names : names.slice(0, firstOther)) as string[]));
  }
  return urls;
}

/** GeneralName: its forms in RFC 5280 §4.2.1.6 (tag and form checked), the URI of `[6]`. */
function generalNameUri(node: asn1js.AsnType | undefined, label: string): string | undefined {
  const tag = node?.idBlock.tagNumber ?? -1;
  // otherName [0], x400Address [3], directoryName [4] and ediPartyName [5] are constructed.
  const constructed = tag === 0 || tag === 3 || tag === 4 || tag === 5;
  if (tag < 0 || tag > 8 || !isContextTag(node, tag, constructed)) {
    throw new DerError(`${label}: a GeneralName is malformed`);
  }
  if (tag === 4) nameOf(explicitOf(node, 4, `${label}: directoryName`), `${label}: directoryName`);
  if (tag !== GENERAL_NAME_URI) return undefined;
  // IA5String, one character per byte.
  return Buffer.from((node as asn1js.Primitive).valueBlock.valueHexView).toString('latin1');
}

/** One AttributeTypeAndValue of a name. */
interface NameAttribute {
  readonly type: string;
  readonly value: asn1js.AsnType;
}

/**
 * Name ::= RDNSequence ::= SEQUENCE OF SET OF AttributeTypeAndValue {
 * type OBJECT IDENTIFIER, value ANY } (RFC 5280 §4.1.2.4), flattened in
 * order; `relative` reads one RelativeDistinguishedName (a SET's contents
 * under another tag).
 */
function nameOf(node: asn1js.AsnType | undefined, what: string, relative = false): NameAttribute[] {
  const sets = relative ? [node] : itemsOf(node, what);
  const attributes: NameAttribute[] = [];
  for (const set of sets) {
    const members = relative
      ? contentsOf(set as asn1js.AsnType, what)
      : itemsOf(set, `${what}: a relative name`, { tag: TAG.set });
    for (const member of members) {
      const [type, value] = itemsOf(member, `${what}: an attribute`, { min: 2, max: 2 });
      attributes.push({
        type: oidOf(type, `${what}: an attribute type`),
        value: value as asn1js.AsnType,
      });
    }
  }
  return attributes;
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
function distinguishedName(name: readonly NameAttribute[]): string {
  const values = name.map((attribute) => {
    const text = (attribute.value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
    return { ...attribute, text };
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
