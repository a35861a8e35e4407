import type { KeyObject } from 'node:crypto';
import { readKeyFile } from '../keys/files.ts';
import { parsePublicKeyPem } from '../keys/pem.ts';

/** The trusted public keys in the PEM files given with --key. */
export async function readPublicKeys(paths: readonly string[]): Promise<KeyObject[]> {
  const keys: KeyObject[] = [];
  for (const path of paths) {
    keys.push(parsePublicKeyPem(await readKeyFile(path, '--key'), { source: path }));
  }
  return keys;
}
