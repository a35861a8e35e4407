/**
 * The pkijs reading of a certificate that src/formats/notation/x509.ts did
 * before it walked asn1js values itself (kept as it was, for the
 * differential test): what pkijs gives for each NotationCertificate field,
 * or a throw where pkijs refused the bytes.
 */
import { Buffer } from 'node:buffer';
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  bytesOf,
  decodeAsn1,
  decodeWith,
  DerError,
  validTime,
} from '../../src/formats/notation/der.ts';
import type { AlgorithmId } from '../../src/formats/notation/signature-algorithm.ts';
import type {
  BasicConstraints,
  ExtendedKeyUsage,
  KeyUsage,
  NotationCertificate,
} from '../../src/formats/notation/x509.ts';

const EXTENSION = {
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  crlDistributionPoints: '2.5.29.31',
  extKeyUsage: '2.5.29.37',
  freshestCrl: '2.5.29.46',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
} as const;

const HANDLED_EXTENSIONS = new Set<string>([
  '2.5.29.14',
  '2.5.29.15',
  '2.5.29.17',
  '2.5.29.19',
  '2.5.29.31',
  '2.5.29.32',
  '2.5.29.35',
  '2.5.29.37',
  '1.3.6.1.5.5.7.1.1',
]);

const OCSP_ACCESS_METHOD = '1.3.6.1.5.5.7.48.1';
const GENERAL_NAME_URI = 6;

export function pkijsCertificate(der: Uint8Array, what = 'certificate'): NotationCertificate {
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

function algorithmIdOf(identifier: pkijs.AlgorithmIdentifier): AlgorithmId {
  const params: unknown = identifier.algorithmParams;
  if (params === undefined || params === null || typeof params !== 'object') {
    return { oid: identifier.algorithmId };
  }
  const encoded = (params as { toBER?: (sizeOnly?: boolean) => ArrayBuffer }).toBER?.(false);
  return encoded === undefined
    ? { oid: identifier.algorithmId }
    : { oid: identifier.algorithmId, params: new Uint8Array(encoded) };
}

function pathLenOf(value: number | asn1js.Integer, label: string): number {
  const n = typeof value === 'number' ? value : Number(value.toBigInt());
  if (!Number.isSafeInteger(n) || n < 0) throw new DerError(`${label}: pathLenConstraint ${n}`);
  return n;
}

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

function distributionPointUrls(value: Uint8Array, label: string): string[] {
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
const SINGLE_VALUED = new Set(['2.5.4.3', '2.5.4.5']);

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
