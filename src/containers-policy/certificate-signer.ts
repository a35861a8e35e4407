/**
 * The signing key of a `sigstoreSigned` signature trusted through a
 * certificate rather than a configured key, as containers/image finds it
 * (signature/policy_eval_sigstore.go `isSignatureAccepted`):
 *
 * - `fulcio` (signature/fulcio_cert.go `verifyRekorFulcio`): the Rekor SET
 *   of the `dev.sigstore.cosign/bundle` annotation verifies with a Rekor key
 *   and its hashedrekord entry binds this signature, payload and the very
 *   certificate of the `dev.sigstore.cosign/certificate` annotation
 *   (signature/internal/rekor_set.go `VerifyRekorSET`); the certificate
 *   chains to a Fulcio CA through the `dev.sigstore.cosign/chain`
 *   annotation, every certificate valid at the SET's integrated time, for
 *   code signing; the OIDC issuer extension (Fulcio OID 1.3.6.1.4.1.57264.1.1
 *   as raw bytes, .1.8 as a DER UTF8String; both present must agree) equals
 *   `oidcIssuer`; `subjectEmail` is among the email SANs. No SCT is
 *   required: upstream requires none.
 * - `pki` (signature/pki_cert.go `verifyPKI`): the certificate carries the
 *   required email SAN and/or matches the hostname (Go's `VerifyHostname`),
 *   and chains to a root through the configured and the annotation's
 *   intermediates, valid now, for code signing.
 *
 * As upstream, the chain annotation's last certificate (the root cosign
 * appends) is not used as an intermediate. Chains are built by
 * formats/notation/chain-building.ts, which is Go's `Certificate.Verify`.
 * Pure and synchronous.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { isVouchError, messageOf } from '../core/errors.ts';
import { decodeStdBase64 } from '../core/base64.ts';
import { parseRekorBundle, parseRekorEntry } from '../formats/rekor.ts';
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
} from '../formats/signature-manifest.ts';
import { buildChain } from '../formats/notation/chain-building.ts';
import { EKU, type NotationCertificate, parseCertificate } from '../formats/notation/x509.ts';
import { decodePemBlocks } from '../keys/pem.ts';
import { verifySignedEntryTimestamp } from '../sigstore/rekor.ts';
import type { TransparencyLog } from '../sigstore/trusted-root.ts';
import type { SignatureEvidence } from '../verify/evidence.ts';

const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
/** GeneralName tags: rfc822Name [1], dNSName [2], iPAddress [7]. */
const GENERAL_NAME = { email: 1, dns: 2, ip: 7 } as const;

export interface FulcioRoot {
  readonly cas: readonly NotationCertificate[];
  readonly oidcIssuer: string;
  readonly subjectEmail: string;
  readonly rekor: readonly TransparencyLog[];
}

export interface PkiRoot {
  readonly roots: readonly NotationCertificate[];
  readonly intermediates: readonly NotationCertificate[];
  /** Empty when not required. */
  readonly subjectEmail: string;
  /** Empty when not required. */
  readonly subjectHostname: string;
}

export type CertificateSigner =
  | { readonly publicKey: KeyObject; readonly description: string }
  | { readonly code: string; readonly message: string };

/** Certificates of PEM text, in order, skipping other block types (Go's AppendCertsFromPEM). */
export function certificatesOfPem(pem: Uint8Array | string, what: string): NotationCertificate[] {
  return decodePemBlocks(pem, { source: what })
    .filter((block) => block.type === 'CERTIFICATE')
    .map((block, index) => parseCertificate(block.bytes, `${what} certificate ${index + 1}`));
}

/** The Fulcio-certified key of `signature`, or why there is none. */
export function fulcioSigner(signature: SignatureEvidence, root: FulcioRoot): CertificateSigner {
  const certificatePem = signature.annotations[CERTIFICATE_ANNOTATION];
  if (certificatePem === undefined) return missing(CERTIFICATE_ANNOTATION);
  const set = signature.annotations[BUNDLE_ANNOTATION];
  if (set === undefined) return missing(BUNDLE_ANNOTATION);
  const integrated = verifiedSetTime(set, signature, certificatePem, root.rekor);
  if (typeof integrated !== 'number') return integrated;
  return guarded(() => {
    const leaf = leafOf(certificatePem);
    const time = new Date(integrated * 1000);
    const chained = buildChain({
      leaf,
      intermediates: annotationIntermediates(signature),
      roots: root.cas,
      time,
      usage: EKU.codeSigning,
    });
    if ('problem' in chained) {
      return reject('CERT_CHAIN_INVALID', `verifying leaf certificate failed: ${chained.problem}`);
    }
    const issuer = oidcIssuerOf(leaf.der);
    if (typeof issuer !== 'string') return issuer;
    if (issuer !== root.oidcIssuer) {
      return reject(
        'CERT_ISSUER_MISMATCH',
        `Unexpected Fulcio OIDC issuer ${JSON.stringify(issuer)}`,
      );
    }
    const emails = subjectAltNames(leaf.der).emails;
    if (!emails.includes(root.subjectEmail)) {
      return reject(
        'CERT_IDENTITY_MISMATCH',
        `Required email ${root.subjectEmail} not found (got ${JSON.stringify(emails)})`,
      );
    }
    return signer(leaf, `Fulcio certificate for ${root.subjectEmail} (issuer ${issuer})`);
  });
}

/** The PKI-certified key of `signature`, or why there is none. */
export function pkiSigner(
  signature: SignatureEvidence,
  root: PkiRoot,
  now: Date,
): CertificateSigner {
  const certificatePem = signature.annotations[CERTIFICATE_ANNOTATION];
  if (certificatePem === undefined) return missing(CERTIFICATE_ANNOTATION);
  return guarded(() => {
    const leaf = leafOf(certificatePem);
    const names = subjectAltNames(leaf.der);
    if (root.subjectEmail !== '' && !names.emails.includes(root.subjectEmail)) {
      return reject(
        'CERT_IDENTITY_MISMATCH',
        `Required email ${JSON.stringify(root.subjectEmail)} not found (got ${JSON.stringify(names.emails)})`,
      );
    }
    if (root.subjectHostname !== '' && !hostnameMatches(names, root.subjectHostname)) {
      return reject(
        'CERT_IDENTITY_MISMATCH',
        `Unexpected subject hostname: the certificate is not valid for ${JSON.stringify(root.subjectHostname)} (DNS names ${JSON.stringify(names.dns)})`,
      );
    }
    const chained = buildChain({
      leaf,
      intermediates: [...root.intermediates, ...annotationIntermediates(signature)],
      roots: root.roots,
      time: now,
      usage: EKU.codeSigning,
    });
    if ('problem' in chained) {
      return reject('CERT_CHAIN_INVALID', `verifying leaf certificate failed: ${chained.problem}`);
    }
    const who = [root.subjectEmail, root.subjectHostname].filter((s) => s !== '').join(', ');
    return signer(leaf, `PKI certificate for ${who}`);
  });
}

/**
 * signature/internal/rekor_set.go `VerifyRekorSET`: the SET verifies, the
 * entry is hashedrekord 0.0.1 over SHA-256, and it binds this signature,
 * this certificate (PEM payload compared, as upstream) and this payload.
 * Returns the integrated time in seconds.
 */
function verifiedSetTime(
  annotation: string,
  signature: SignatureEvidence,
  certificatePem: string,
  logs: readonly TransparencyLog[],
): number | CertificateSigner {
  return guarded(() => {
    const bundle = parseRekorBundle(annotation);
    const verified = verifySignedEntryTimestamp(bundle, logs);
    if ('code' in verified) return reject(verified.code, verified.message);
    const entry = parseRekorEntry(decodeStdBase64(bundle.payload.body) as Uint8Array);
    if ('unsupported' in entry || entry.hashAlgorithm !== 'sha256') {
      return reject(
        'TLOG_ENTRY_UNSUPPORTED',
        'the Rekor entry is not a hashedrekord 0.0.1 over sha256',
      );
    }
    if (Buffer.compare(Buffer.from(entry.signature), Buffer.from(signature.signature)) !== 0) {
      return reject(
        'TLOG_BINDING_MISMATCH',
        'signature in the Rekor entry does not match the signature',
      );
    }
    const logged = singlePem(entry.publicKey, 'publicKey.content of the Rekor entry');
    const ours = singlePem(certificatePem, 'the certificate annotation');
    if (typeof logged !== 'object' || typeof ours !== 'object') {
      return reject('TLOG_BINDING_MISMATCH', typeof logged === 'string' ? logged : String(ours));
    }
    if (Buffer.compare(Buffer.from(logged.bytes), Buffer.from(ours.bytes)) !== 0) {
      return reject(
        'TLOG_BINDING_MISMATCH',
        "publicKey.content in the Rekor entry does not match the signature's certificate",
      );
    }
    const hash = createHash('sha256').update(signature.payload).digest('hex');
    if (entry.hashValue.toLowerCase() !== hash) {
      return reject('TLOG_BINDING_MISMATCH', 'the Rekor entry is for another payload');
    }
    return verified.integratedTime;
  });
}

class Rejection extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

function reject(code: string, message: string): never {
  throw new Rejection(code, message);
}

function missing(annotation: string): CertificateSigner {
  return { code: 'SIGNATURE_INVALID', message: `missing ${annotation} annotation` };
}

/** Runs `check`; a rejection or a `denied` parse error becomes the reason. */
function guarded<T>(check: () => T): T | CertificateSigner {
  try {
    return check();
  } catch (error) {
    if (error instanceof Rejection) return { code: error.code, message: error.message };
    if (isVouchError(error) && error.category !== 'unavailable') {
      return { code: error.code, message: messageOf(error) };
    }
    throw error;
  }
}

function signer(leaf: NotationCertificate, description: string): CertificateSigner {
  if (leaf.publicKey === undefined) {
    return reject('CERT_INVALID', "the certificate's public key cannot be used");
  }
  return { publicKey: leaf.publicKey, description };
}

/** The annotation's single PEM block, or why it is not one. */
function singlePem(text: string | Uint8Array, what: string): { bytes: Uint8Array } | string {
  let blocks;
  try {
    blocks = decodePemBlocks(text);
  } catch {
    return `${what} is not in PEM format`;
  }
  const [block] = blocks;
  if (block === undefined) return `${what} is not in PEM format`;
  if (blocks.length > 1) return `${what} contains trailing data`;
  return { bytes: block.bytes };
}

/** cryptoutils.UnmarshalCertificatesFromPEM of the certificate annotation: exactly one. */
function leafOf(pem: string): NotationCertificate {
  const certificates = certificatesOfPem(pem, 'the certificate annotation');
  if (certificates.length === 0) {
    reject('CERT_INVALID', 'no certificate found in signature certificate data');
  }
  if (certificates.length > 1) {
    reject(
      'CERT_INVALID',
      'unexpected multiple certificates present in signature certificate data',
    );
  }
  return certificates[0] as NotationCertificate;
}

/** The chain annotation but its last certificate (the root), as upstream uses it. */
function annotationIntermediates(signature: SignatureEvidence): NotationCertificate[] {
  const chain = signature.annotations[CHAIN_ANNOTATION];
  if (chain === undefined || chain === '') return [];
  return certificatesOfPem(chain, 'the chain annotation').slice(0, -1);
}

/** fulcio_cert.go `fulcioIssuerInCertificate`. */
function oidcIssuerOf(der: Uint8Array): string {
  let v1: string | undefined;
  let v2: string | undefined;
  for (const extension of decodeCertificate(der).extensions ?? []) {
    const value = new Uint8Array(extension.extnValue.valueBlock.valueHexView);
    if (extension.extnID === OID_ISSUER_V1) {
      v1 = Buffer.from(value).toString('latin1');
    } else if (extension.extnID === OID_ISSUER_V2) {
      const parsed = asn1js.fromBER(value);
      if (parsed.offset !== value.byteLength || !(parsed.result instanceof asn1js.Utf8String)) {
        reject('CERT_INVALID', 'invalid ASN.1 in OIDC issuer v2 extension');
      }
      v2 = (parsed.result as asn1js.Utf8String).getValue();
    }
  }
  if (v1 !== undefined && v2 !== undefined && v1 !== v2) {
    reject(
      'CERT_INVALID',
      `inconsistent OIDC issuer extension values: v1 ${JSON.stringify(v1)}, v2 ${JSON.stringify(v2)}`,
    );
  }
  const issuer = v1 ?? v2;
  if (issuer === undefined)
    reject('CERT_INVALID', 'Fulcio certificate is missing the issuer extension');
  return issuer as string;
}

interface SubjectAltNames {
  readonly emails: readonly string[];
  readonly dns: readonly string[];
  /** iPAddress values, as bytes. */
  readonly ips: readonly Uint8Array[];
}

function subjectAltNames(der: Uint8Array): SubjectAltNames {
  const emails: string[] = [];
  const dns: string[] = [];
  const ips: Uint8Array[] = [];
  const extension = decodeCertificate(der).extensions?.find(
    (candidate) => candidate.extnID === OID_SUBJECT_ALT_NAME,
  );
  if (extension === undefined) return { emails, dns, ips };
  const parsed = asn1js.fromBER(new Uint8Array(extension.extnValue.valueBlock.valueHexView));
  const names = new pkijs.AltName({ schema: parsed.result });
  for (const name of names.altNames) {
    if (name.type === GENERAL_NAME.email) emails.push(String(name.value));
    else if (name.type === GENERAL_NAME.dns) dns.push(String(name.value));
    else if (name.type === GENERAL_NAME.ip) {
      ips.push(new Uint8Array((name.value as asn1js.OctetString).valueBlock.valueHexView));
    }
  }
  return { emails, dns, ips };
}

function decodeCertificate(der: Uint8Array): pkijs.Certificate {
  // parseCertificate already read these bytes as a certificate.
  return pkijs.Certificate.fromBER(der);
}

/** Go's `Certificate.VerifyHostname` (crypto/x509/verify.go). */
export function hostnameMatches(names: SubjectAltNames, host: string): boolean {
  const bare =
    host.length >= 3 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) !== 0) {
    const wanted = ipBytes(bare);
    return names.ips.some((ip) => sameIp(ip, wanted));
  }
  const candidate = host.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const validCandidate = validHostname(candidate, false);
  return names.dns.some((pattern) =>
    validCandidate && validHostname(pattern, true)
      ? matchHostnames(pattern, candidate)
      : matchExactly(pattern, candidate),
  );
}

function validHostname(host: string, isPattern: boolean): boolean {
  const name = isPattern ? host : host.replace(/\.$/, '');
  if (name.length === 0 || name === '*') return false;
  return name.split('.').every((part, i) => {
    if (part === '') return false;
    if (isPattern && i === 0 && part === '*') return true;
    return [...part].every((c, j) => /[a-zA-Z0-9_]/.test(c) || (c === '-' && j !== 0));
  });
}

function matchExactly(pattern: string, host: string): boolean {
  if (host === '' || host === '.' || pattern === '') return false;
  return pattern.replace(/[A-Z]/g, (c) => c.toLowerCase()) === host;
}

function matchHostnames(pattern: string, host: string): boolean {
  const patternParts = pattern.replace(/[A-Z]/g, (c) => c.toLowerCase()).split('.');
  const hostParts = host.replace(/\.$/, '').split('.');
  if (patternParts.length !== hostParts.length) return false;
  return patternParts.every((part, i) => (i === 0 && part === '*') || part === hostParts[i]);
}

function ipBytes(text: string): Uint8Array {
  if (isIP(text) === 4) return new Uint8Array(text.split('.').map(Number));
  const [head = '', tail = ''] = text.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = groups(tail);
  const v4 = t.at(-1)?.includes('.')
    ? (t.pop() as string)
    : h.at(-1)?.includes('.')
      ? (h.pop() as string)
      : undefined;
  const v4Groups =
    v4 === undefined
      ? []
      : [0, 2].map((k) => {
          const b = v4.split('.').map(Number);
          return (((b[k] as number) << 8) | (b[k + 1] as number)).toString(16);
        });
  const fill = text.includes('::') ? 8 - h.length - t.length - v4Groups.length : 0;
  const all = [...h, ...Array<string>(fill).fill('0'), ...t, ...v4Groups];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const n = Number.parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}

/** Go's net.IP.Equal: an IPv4 address equals its IPv4-in-IPv6 form. */
function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  const norm = (ip: Uint8Array) =>
    ip.length === 4
      ? Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255]), ip])
      : Buffer.from(ip);
  return norm(a).equals(norm(b));
}
