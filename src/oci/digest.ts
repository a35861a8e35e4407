/**
 * Content digests (OCI image-spec, descriptor.md "Digests"). vouch accepts
 * only the two registered algorithms, sha256 and sha512, with their exact
 * lowercase hex encodings; anything else is refused rather than guessed at.
 */
import { createHash, type Hash } from 'node:crypto';
import { invalid } from '../core/errors.ts';

/** A validated `algorithm:hex` digest. Only `parseDigest` and `digestOf` make one. */
export type Digest = string & { readonly __brand: 'Digest' };

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };
const DIGEST_PATTERN = /^(sha256|sha512):([a-f0-9]+)$/;

export function parseDigest(input: string): Digest {
  const match = DIGEST_PATTERN.exec(input);
  if (!match) {
    throw invalid(
      'INVALID_DIGEST',
      `invalid digest "${truncate(input)}": expected sha256:<64 hex> or sha512:<128 hex>`,
    );
  }
  const algorithm = match[1] as DigestAlgorithm;
  const hex = match[2] as string;
  if (hex.length !== HEX_LENGTH[algorithm]) {
    throw invalid(
      'INVALID_DIGEST',
      `invalid digest "${truncate(input)}": ${algorithm} needs ${HEX_LENGTH[algorithm]} hex characters, found ${hex.length}`,
    );
  }
  return input as Digest;
}

export function isDigest(input: string): input is Digest {
  const match = DIGEST_PATTERN.exec(input);
  return match !== null && match[2]?.length === HEX_LENGTH[match[1] as DigestAlgorithm];
}

export function digestAlgorithm(digest: Digest): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(':')) as DigestAlgorithm;
}

export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
}

/** Incremental digest for streamed content. */
export interface Digester {
  update(chunk: Uint8Array): void;
  digest(): Digest;
}

export function createDigester(algorithm: DigestAlgorithm): Digester {
  const hash: Hash = createHash(algorithm);
  return {
    update: (chunk) => {
      hash.update(chunk);
    },
    digest: () => `${algorithm}:${hash.digest('hex')}` as Digest,
  };
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
