/**
 * Plain (unencrypted) PEM keys, as `cosign import-key-pair` and
 * `cosign verify --key` accept them (sigstore/cosign `pkg/cosign/keys.go`
 * `ImportKeyPair`; sigstore/sigstore `cryptoutils.UnmarshalPEMToPublicKey`):
 *
 * - private keys: `PRIVATE KEY` (PKCS#8: RSA, ECDSA or Ed25519),
 *   `EC PRIVATE KEY` (SEC1), `RSA PRIVATE KEY` (PKCS#1);
 * - public keys: `PUBLIC KEY` (SPKI), `RSA PUBLIC KEY` (PKCS#1).
 *
 * Public keys are written as SPKI `PUBLIC KEY`, the form of `cosign.pub`.
 * Every key is checked against the supported algorithms (`algorithms.ts`).
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { invalid } from '../core/errors.ts';
import { keyAlgorithm, where } from './algorithms.ts';

export interface PemBlock {
  /** The label after `BEGIN`, e.g. `PUBLIC KEY`. */
  readonly type: string;
  readonly bytes: Uint8Array;
}

export interface PemSourceOptions {
  /** Where the text came from (a file name), for error messages. */
  readonly source?: string;
}

/** Key files are a few kilobytes; refuse to parse anything absurdly larger. */
export const MAX_PEM_LENGTH = 1024 * 1024;

export const PUBLIC_KEY_PEM_TYPE = 'PUBLIC KEY';

const BEGIN = /^-----BEGIN ([^-\r\n]+)-----[ \t]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Every PEM block in `input`, in order. Text between blocks is ignored, as Go's
 * `pem.Decode` does; a block with RFC 1421 headers (legacy OpenSSL encryption,
 * `Proc-Type: 4,ENCRYPTED`) is refused, as is a block without its END line or
 * with a body that is not canonical base64.
 */
export function decodePemBlocks(
  input: string | Uint8Array,
  options?: PemSourceOptions,
): PemBlock[] {
  const source = options?.source;
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  if (text.length > MAX_PEM_LENGTH) {
    throw invalid(
      'MALFORMED_PEM',
      `PEM input${where(source)} is ${text.length} bytes; at most ${MAX_PEM_LENGTH} are accepted for a key`,
    );
  }
  const lines = text.split(/\r?\n/);
  const blocks: PemBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const begin = BEGIN.exec(lines[index] ?? '');
    if (!begin) continue;
    const type = begin[1] as string;
    const end = `-----END ${type}-----`;
    const body: string[] = [];
    let closed = false;
    for (index++; index < lines.length; index++) {
      const line = (lines[index] ?? '').trim();
      if (line === end) {
        closed = true;
        break;
      }
      if (line.includes(':')) {
        throw invalid(
          'MALFORMED_PEM',
          `PEM block "${type}"${where(source)} has headers ("${line.slice(0, 60)}"); legacy encrypted PEM is not supported, convert the key to PKCS#8 first`,
        );
      }
      body.push(line);
    }
    if (!closed) {
      throw invalid('MALFORMED_PEM', `PEM block "${type}"${where(source)} has no "${end}" line`);
    }
    const base64 = body.join('');
    if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64.test(base64)) {
      throw invalid(
        'MALFORMED_PEM',
        `PEM block "${type}"${where(source)} does not hold valid base64 data`,
      );
    }
    blocks.push({ type, bytes: new Uint8Array(Buffer.from(base64, 'base64')) });
  }
  return blocks;
}

/** The first PEM block of `input`, or an `invalid` error when there is none. */
export function decodePem(input: string | Uint8Array, options?: PemSourceOptions): PemBlock {
  const block = decodePemBlocks(input, options)[0];
  if (!block) {
    throw invalid(
      'MALFORMED_PEM',
      `no PEM block found${where(options?.source)}: expected "-----BEGIN <TYPE>-----" … "-----END <TYPE>-----"`,
    );
  }
  return block;
}

/** PEM as Go's `pem.EncodeToMemory` writes it: 64-character lines, final newline. */
export function encodePem(type: string, bytes: Uint8Array): string {
  const base64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}-----END ${type}-----\n`;
}

const PRIVATE_KEY_TYPES: Readonly<Record<string, 'pkcs8' | 'sec1' | 'pkcs1'>> = {
  'PRIVATE KEY': 'pkcs8',
  'EC PRIVATE KEY': 'sec1',
  'RSA PRIVATE KEY': 'pkcs1',
};

const PUBLIC_KEY_TYPES: Readonly<Record<string, 'spki' | 'pkcs1'>> = {
  'PUBLIC KEY': 'spki',
  'RSA PUBLIC KEY': 'pkcs1',
};

const ENCRYPTED_COSIGN_TYPES = new Set([
  'ENCRYPTED SIGSTORE PRIVATE KEY',
  'ENCRYPTED COSIGN PRIVATE KEY',
]);

/**
 * A plain PEM private key: PKCS#8, SEC1 or PKCS#1. The first block is used,
 * skipping an `EC PARAMETERS` block (as `openssl ecparam -genkey` writes
 * before the key). Cosign's encrypted keys are refused here: they need a
 * password, see `decryptCosignKey` or `loadPrivateKey`.
 */
export function parsePrivateKeyPem(
  input: string | Uint8Array,
  options?: PemSourceOptions,
): KeyObject {
  const source = options?.source;
  const block = firstKeyBlock(input, options);
  const format = PRIVATE_KEY_TYPES[block.type];
  if (format === undefined) {
    throw invalid(
      'UNSUPPORTED_KEY_FORMAT',
      `${describeUnexpected(block.type, 'private')}${where(source)}`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(block.bytes), format: 'der', type: format });
  } catch (error) {
    throw invalid(
      'MALFORMED_KEY',
      `PEM block "${block.type}"${where(source)} is not a valid ${FORMAT_NAMES[format]} private key`,
      { cause: error },
    );
  }
  keyAlgorithm(key, source);
  return key;
}

/** A PEM public key: SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`. */
export function parsePublicKeyPem(
  input: string | Uint8Array,
  options?: PemSourceOptions,
): KeyObject {
  const source = options?.source;
  const block = decodePem(input, options);
  const format = PUBLIC_KEY_TYPES[block.type];
  if (format === undefined) {
    throw invalid(
      'UNSUPPORTED_KEY_FORMAT',
      `${describeUnexpected(block.type, 'public')}${where(source)}`,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(block.bytes), format: 'der', type: format });
  } catch (error) {
    throw invalid(
      'MALFORMED_KEY',
      `PEM block "${block.type}"${where(source)} is not a valid ${FORMAT_NAMES[format]} public key`,
      { cause: error },
    );
  }
  keyAlgorithm(key, source);
  return key;
}

/**
 * The SPKI `PUBLIC KEY` PEM of a key (the public half when given a private
 * key): the contents of a `cosign.pub` file.
 */
export function publicKeyToPem(key: KeyObject): string {
  keyAlgorithm(key);
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return encodePem(PUBLIC_KEY_PEM_TYPE, publicKey.export({ format: 'der', type: 'spki' }));
}

/**
 * The fingerprint of a key's public half: the lowercase hex SHA-256 of its
 * SPKI DER (the bytes inside the `cosign.pub` PEM).
 */
export function publicKeyFingerprint(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

/** A private key as an unencrypted PKCS#8 `PRIVATE KEY` PEM. */
export function privateKeyToPem(key: KeyObject): string {
  if (key.type !== 'private') {
    throw invalid('UNSUPPORTED_KEY', `expected a private key, found a ${key.type} key`);
  }
  keyAlgorithm(key);
  return encodePem('PRIVATE KEY', key.export({ format: 'der', type: 'pkcs8' }));
}

const FORMAT_NAMES = { pkcs8: 'PKCS#8', sec1: 'SEC1', pkcs1: 'PKCS#1', spki: 'SPKI' } as const;

function firstKeyBlock(input: string | Uint8Array, options?: PemSourceOptions): PemBlock {
  const blocks = decodePemBlocks(input, options);
  return blocks.find((block) => block.type !== 'EC PARAMETERS') ?? decodePem(input, options);
}

function describeUnexpected(type: string, wanted: 'private' | 'public'): string {
  const accepted =
    wanted === 'private'
      ? '"PRIVATE KEY", "EC PRIVATE KEY" or "RSA PRIVATE KEY"'
      : '"PUBLIC KEY" or "RSA PUBLIC KEY"';
  let hint = '';
  if (ENCRYPTED_COSIGN_TYPES.has(type)) {
    hint =
      wanted === 'private'
        ? ' (a cosign encrypted key needs its password)'
        : ' (this is a private key)';
  } else if (type === 'ENCRYPTED PRIVATE KEY') {
    hint =
      ' (encrypted PKCS#8 is not supported: decrypt it with `openssl pkcs8`, or import it as a cosign key)';
  } else if (type in PUBLIC_KEY_TYPES && wanted === 'private') {
    hint = ' (this is a public key)';
  } else if (type in PRIVATE_KEY_TYPES && wanted === 'public') {
    hint = ' (this is a private key)';
  } else if (type === 'CERTIFICATE' && wanted === 'public') {
    hint = ' (a certificate is not a public key file)';
  }
  return `unsupported PEM type "${type}": expected ${accepted}${hint}`;
}
