/**
 * The self-signed certificate a notary root key is published as
 * (docs/formats.md "Not TUF 1.0 on the wire"; notary tuf/utils/x509.go `NewCertificate`,
 * cryptoservice/certificate.go `GenerateCertificate`): subject and issuer
 * CN = the GUN, valid for ten years from now, key usage digitalSignature +
 * keyEncipherment, extended key usage codeSigning, basic constraints with
 * CA false (notary-server refuses a CA certificate as a root: trustpinning/
 * certs.go `validRootLeafCerts`), signed ECDSA with SHA-256. Node reads
 * certificates but cannot make them, so the DER is built here.
 */
import { type KeyObject, randomBytes, sign } from 'node:crypto';
import { integer, oid, seq, tlv } from './key-file.ts';

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;
/** notary.Year * 10 (const.go `NotaryRootExpiry`). */
export const ROOT_CERTIFICATE_VALIDITY_MS = 10 * YEAR_MS;

export interface RootCertificateOptions {
  readonly gun: string;
  /** Milliseconds since the epoch: the start of validity. */
  readonly now: number;
  readonly validityMs?: number;
}

/** A PEM `CERTIFICATE` for an ECDSA P-256 root key, in Go's PEM layout. */
export function createRootCertificate(
  privateKey: KeyObject,
  publicKey: KeyObject,
  options: RootCertificateOptions,
): string {
  const algorithm = seq(oid('1.2.840.10045.4.3.2')); // ecdsa-with-SHA256
  const name = seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(options.gun, 'utf8')))));
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f; // positive
  const extensions = seq(
    // keyUsage, critical: digitalSignature | keyEncipherment
    seq(
      oid('2.5.29.15'),
      tlv(0x01, Buffer.from([0xff])),
      tlv(0x04, tlv(0x03, Buffer.from([0x05, 0xa0]))),
    ),
    // extKeyUsage: codeSigning
    seq(oid('2.5.29.37'), tlv(0x04, seq(oid('1.3.6.1.5.5.7.3.3')))),
    // basicConstraints, critical: CA false (the empty sequence)
    seq(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, seq())),
  );
  const tbs = seq(
    tlv(0xa0, integer(2)),
    integer(serial),
    algorithm,
    name,
    seq(
      time(options.now),
      time(options.now + (options.validityMs ?? ROOT_CERTIFICATE_VALIDITY_MS)),
    ),
    name,
    publicKey.export({ format: 'der', type: 'spki' }),
    tlv(0xa3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey); // DER, as X.509 wants
  const der = seq(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 §4.1.2.5), whole seconds. */
function time(ms: number): Buffer {
  const date = new Date(Math.floor(ms / 1000) * 1000);
  const digits = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const year = date.getUTCFullYear();
  return year < 2050
    ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${digits}Z`));
}
