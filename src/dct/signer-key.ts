/**
 * `docker trust key generate`: a new ECDSA P-256 signer key (notary's
 * default, docker/cli cli/command/trust/key_generate.go), its private half
 * stored encrypted in the key store and its public half written as the PEM
 * `docker trust signer add` takes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { invalid } from '../core/errors.ts';
import { encodeNotaryPublicKey } from '../formats/notary/key-file.ts';
import { writeFileSafely } from '../keys/files.ts';
import type { NotaryKeyStore } from './key-store.ts';
import { checkSignerName } from './signers.ts';

export interface GeneratedSignerKey {
  readonly name: string;
  readonly keyId: string;
  readonly publicKey: string;
}

/** Generates signer `name`'s key; refuses when `publicKeyPath` exists, before any key work. */
export async function generateSignerKey(
  name: string,
  keyStore: NotaryKeyStore,
  publicKeyPath: string,
): Promise<GeneratedSignerKey> {
  checkSignerName(name);
  if (
    await stat(publicKeyPath).then(
      () => true,
      () => false,
    )
  ) {
    throw invalid('KEY_FILE_EXISTS', `${publicKeyPath} already exists`);
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // The private key first (it needs the passphrase), as docker does: no stray NAME.pub.
  const keyId = await keyStore.add(privateKey, { role: name });
  await writeFileSafely(publicKeyPath, encodeNotaryPublicKey(publicKey, name), { mode: 0o644 });
  return { name, keyId, publicKey: publicKeyPath };
}
