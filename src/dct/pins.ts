/**
 * Pinned root keys (`--notary-root-key`, `pinned-root-keys.pem`): PEM
 * certificates or public keys, compared by notary's canonical key ID (the ID
 * of the plain key, tuf/utils/x509.go `CanonicalKeyID`), so a pin matches a
 * root key whether it was given as its certificate or as the key alone.
 * Docker and notary write `role:`/`gun:` PEM headers into their key files;
 * those are dropped before decoding.
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import { invalid } from '../core/errors.ts';
import { canonicalIdOfPublicKey } from '../formats/notary/keys.ts';
import { decodePemBlocks } from '../keys/pem.ts';

export function pinnedKeyIds(pem: Uint8Array, source: string): string[] {
  const text = Buffer.from(pem)
    .toString('utf8')
    .split(/\r?\n/)
    .filter((line) => !/^(?:role|gun|path): /.test(line))
    .join('\n');
  const ids = decodePemBlocks(text, { source }).map((block) => {
    let id: string | undefined;
    try {
      if (block.type === 'CERTIFICATE')
        id = canonicalIdOfPublicKey(new X509Certificate(block.bytes).publicKey);
      else if (block.type === 'PUBLIC KEY') {
        id = canonicalIdOfPublicKey(
          createPublicKey({ key: Buffer.from(block.bytes), format: 'der', type: 'spki' }),
        );
      }
    } catch (error) {
      throw invalid('NOTARY_ROOT_KEY_INVALID', `${source}: not a valid ${block.type}`, {
        cause: error,
      });
    }
    if (id === undefined) {
      throw invalid(
        'NOTARY_ROOT_KEY_INVALID',
        `${source}: a ${block.type} block is not a pinnable ECDSA, RSA or Ed25519 key`,
      );
    }
    return id;
  });
  if (ids.length === 0) {
    throw invalid('NOTARY_ROOT_KEY_INVALID', `${source} holds no PEM certificate or public key`);
  }
  return ids;
}
