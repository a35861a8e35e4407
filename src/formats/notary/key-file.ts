/**
 * Private and public key files as notary and docker write them
 * (docs/formats.md "Key IDs and key files"; notary tuf/utils/x509.go
 * `ConvertPrivateKeyToPKCS8`, tuf/utils/pkcs8.go; docker/cli
 * cli/command/trust/key_generate.go):
 *
 * - a private key is PEM `ENCRYPTED PRIVATE KEY` with the headers `role:` and
 *   (for a repository's own keys) `gun:`; the body is PKCS #8 encrypted with
 *   PBES2, PBKDF2-HMAC-SHA1 over 2048 iterations with an 8-byte salt, and
 *   AES-256-CBC. Node writes PBKDF2-HMAC-SHA256, which notary cannot read, so
 *   the EncryptedPrivateKeyInfo is built here; the PRF is left out (its
 *   default is HMAC-SHA1, RFC 8018 A.2), as notary writes it.
 * - Node refuses PEM headers ("not proc type"), so they are read here and
 *   dropped before Node decrypts.
 * - a public key written by `docker trust key generate` is `PUBLIC KEY` with
 *   a `role:` header.
 */
import {
  createCipheriv,
  createPrivateKey,
  type KeyObject,
  pbkdf2Sync,
  randomBytes,
} from 'node:crypto';
import { invalid } from '../../core/errors.ts';

export const ENCRYPTED_KEY_PEM_TYPE = 'ENCRYPTED PRIVATE KEY';
const PBKDF2_ITERATIONS = 2048;
const SALT_BYTES = 8;

export interface KeyFileHeaders {
  /** `root`, `targets`, `snapshot`, or a delegation's short name (`releases`, `alice`). */
  readonly role: string;
  readonly gun?: string;
}

export interface NotaryKeyFile {
  readonly type: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The PEM block with its headers removed: what Node can parse. */
  readonly pem: string;
}

/** Writes `privateKey` as notary does, encrypted with `passphrase`. */
export function encodeNotaryPrivateKey(
  privateKey: KeyObject,
  headers: KeyFileHeaders,
  passphrase: string,
): string {
  const plaintext = privateKey.export({ format: 'der', type: 'pkcs8' });
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(passphrase, salt, PBKDF2_ITERATIONS, 32, 'sha1');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const der = seq(
    seq(
      oid(OID_PBES2),
      seq(
        seq(oid(OID_PBKDF2), seq(tlv(0x04, salt), integer(PBKDF2_ITERATIONS))),
        seq(oid(OID_AES256_CBC), tlv(0x04, iv)),
      ),
    ),
    tlv(0x04, encrypted),
  );
  const pemHeaders: Record<string, string> = { role: headers.role };
  if (headers.gun !== undefined) pemHeaders.gun = headers.gun;
  return encodePemWithHeaders(ENCRYPTED_KEY_PEM_TYPE, pemHeaders, der);
}

/** `docker trust key generate`'s NAME.pub: SPKI with a `role:` header. */
export function encodeNotaryPublicKey(publicKey: KeyObject, role: string): string {
  return encodePemWithHeaders(
    'PUBLIC KEY',
    { role },
    publicKey.export({ format: 'der', type: 'spki' }),
  );
}

/** Go's `pem.Encode`: headers sorted by name, a blank line, then 64-column base64. */
function encodePemWithHeaders(
  type: string,
  headers: Readonly<Record<string, string>>,
  der: Uint8Array,
): string {
  const names = Object.keys(headers).sort();
  const head = names.map((name) => `${name}: ${headers[name]}\n`).join('');
  const body = (
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? []
  ).join('\n');
  return `-----BEGIN ${type}-----\n${head}${names.length > 0 ? '\n' : ''}${body}\n-----END ${type}-----\n`;
}

/** The first PEM block of a key file, with its headers apart. */
export function readNotaryKeyFile(text: string, source: string): NotaryKeyFile {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((line) => /^-----BEGIN [A-Z0-9 ]+-----$/.test(line));
  const type = start < 0 ? undefined : lines[start]?.slice(11, -5);
  const end = lines.findIndex((line, index) => index > start && line === `-----END ${type}-----`);
  if (type === undefined || end < 0) {
    throw invalid('MALFORMED_PEM', `${source} holds no PEM block`);
  }
  const headers: Record<string, string> = {};
  let index = start + 1;
  for (; index < end; index++) {
    const match = /^([A-Za-z0-9-]+): ?(.*)$/.exec(lines[index] ?? '');
    if (match === null) break;
    headers[match[1] as string] = match[2] as string;
  }
  if (lines[index] === '') index++;
  const pem = [
    `-----BEGIN ${type}-----`,
    ...lines.slice(index, end),
    `-----END ${type}-----`,
    '',
  ].join('\n');
  return { type, headers, pem };
}

/**
 * The private key of a notary or docker key file: encrypted (decrypted with
 * `passphrase()`, asked only then) or plain PKCS #8 / SEC1. A wrong
 * passphrase is `invalid` WRONG_PASSWORD.
 */
export async function decodeNotaryPrivateKey(
  file: NotaryKeyFile,
  source: string,
  passphrase: () => Promise<string>,
): Promise<KeyObject> {
  if (file.type === ENCRYPTED_KEY_PEM_TYPE) {
    const secret = await passphrase();
    try {
      return createPrivateKey({ key: file.pem, format: 'pem', passphrase: secret });
    } catch (error) {
      throw invalid(
        'WRONG_PASSWORD',
        `cannot decrypt ${source}: wrong passphrase, or a key notary encrypted in a form Node cannot read`,
        { cause: error },
      );
    }
  }
  if (file.type === 'PRIVATE KEY' || file.type === 'EC PRIVATE KEY') {
    try {
      return createPrivateKey({ key: file.pem, format: 'pem' });
    } catch (error) {
      throw invalid('MALFORMED_PEM', `${source} is not a valid ${file.type}`, { cause: error });
    }
  }
  throw invalid('NOT_A_PRIVATE_KEY', `${source} holds a ${file.type}, not a private key`);
}

// ---------------------------------------------------------------------------
// DER, just enough for an EncryptedPrivateKeyInfo (RFC 5958, RFC 8018).

const OID_PBES2 = '1.2.840.113549.1.5.13';
const OID_PBKDF2 = '1.2.840.113549.1.5.12';
const OID_AES256_CBC = '2.16.840.1.101.3.4.1.42';

export function tlv(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  const length: number[] = [];
  if (n < 0x80) length.push(n);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>>= 8) bytes.unshift(v & 0xff);
    length.push(0x80 | bytes.length, ...bytes);
  }
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}

export const seq = (...items: Uint8Array[]): Buffer => tlv(0x30, Buffer.concat(items));

/** A non-negative INTEGER from a number or big-endian bytes (a leading zero added when the top bit is set). */
export function integer(value: number | Uint8Array): Buffer {
  let bytes: number[];
  if (typeof value === 'number') {
    bytes = [];
    for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
    if (bytes.length === 0) bytes = [0];
  } else {
    bytes = [...value];
    while (bytes.length > 1 && bytes[0] === 0 && ((bytes[1] ?? 0) & 0x80) === 0) bytes.shift();
  }
  if (((bytes[0] ?? 0) & 0x80) !== 0) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

export function oid(text: string): Buffer {
  const [first = 0, second = 0, ...rest] = text.split('.').map(Number);
  const out = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}
