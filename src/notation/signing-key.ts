/**
 * Where notation's signing key comes from: a key and certificate file pair
 * (`--key KEY.pem --cert CHAIN.pem`, or a `signingkeys.json` entry with
 * `keyPath`/`certPath`), read as notation-go `signer.NewGenericSignerFromFiles`
 * reads them with Go's `tls.LoadX509KeyPair`: an unencrypted PEM private key
 * (PKCS#8, SEC1 or PKCS#1), every `CERTIFICATE` block of the certificate
 * file, leaf first, and the leaf certifying the private key's public key.
 * And `{NOTATION_CONFIG}/signingkeys.json` itself, read as notation-go's
 * `config.LoadSigningKeys` does (a missing file holds no keys).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { invalid } from '../core/errors.ts';
import {
  MAX_SIGNING_KEYS_BYTES,
  parseSigningKeys,
  type SigningKeys,
} from '../formats/notation/signing-keys.ts';
import { parseCertificateDer } from '../formats/notation/envelope.ts';
import { readKeyFile } from '../keys/files.ts';
import { decodePemBlocks, parsePrivateKeyPem } from '../keys/pem.ts';
import type {} from './error-codes.ts';
import { readRegularFile } from './files.ts';

/** dir/path.go `PathSigningKeys`. */
export const SIGNING_KEYS_FILE = 'signingkeys.json';

export interface LoadedSigningKeys {
  readonly path: string;
  readonly keys: SigningKeys;
}

/** `{configDir}/signingkeys.json`; no keys when it does not exist. */
export async function loadSigningKeys(configDir: string): Promise<LoadedSigningKeys> {
  const path = join(configDir, SIGNING_KEYS_FILE);
  const bytes = await readRegularFile(path, MAX_SIGNING_KEYS_BYTES, (problem, cause) =>
    invalid(
      'NOTATION_SIGNING_KEYS_INVALID',
      `${path} ${problem}`,
      cause === undefined ? undefined : { cause },
    ),
  );
  return { path, keys: bytes === undefined ? { keys: [] } : parseSigningKeys(bytes, path) };
}

export interface LocalSigningKey {
  readonly privateKey: KeyObject;
  /** DER certificates, leaf first. */
  readonly certificateChain: readonly Uint8Array[];
}

/** The key pair of `keyPath` and `certPath` (module comment). */
export async function loadKeyPairFiles(
  keyPath: string,
  certPath: string,
): Promise<LocalSigningKey> {
  const [keyBytes, certBytes] = await Promise.all([
    readKeyFile(keyPath, 'the signing key'),
    readKeyFile(certPath, 'the certificate chain'),
  ]);
  const privateKey = parsePrivateKeyPem(keyBytes, { source: keyPath });
  const fail = (problem: string) =>
    invalid('NOTATION_KEY_CERT_MISMATCH', `${certPath}: ${problem}`);
  const certificateChain = decodePemBlocks(certBytes, { source: certPath })
    .filter((block) => block.type === 'CERTIFICATE')
    .map((block) => block.bytes);
  const [leafDer] = certificateChain;
  if (leafDer === undefined) throw fail('no PEM CERTIFICATE block found');
  const leaf = parseCertificateDer(leafDer, 'the first certificate', fail);
  const spki = (key: KeyObject) => key.export({ format: 'der', type: 'spki' });
  if (!spki(createPublicKey(privateKey)).equals(spki(leaf.publicKey))) {
    throw fail(`its first certificate is not for the private key in ${keyPath}`);
  }
  return { privateKey, certificateChain };
}
