/**
 * Notary v1 keys and signatures (docs/formats.md "Not TUF 1.0 on the wire",
 * "Key IDs and key files"; notary tuf/data/keys.go, tuf/signed/verifiers.go):
 *
 * - key types `ecdsa`, `rsa` (public bytes: DER SubjectPublicKeyInfo),
 *   `ed25519` (32 raw bytes), `ecdsa-x509`, `rsa-x509` (PEM text of a
 *   certificate, or of a leaf followed by intermediates);
 * - the key ID is sha256 of the canonical JSON of
 *   `{"keytype":T,"keyval":{"private":null,"public":base64}}` (tuf/data/keys.go
 *   `TUFKey.ID`); an x509 key's *canonical* ID is that of the plain key in its
 *   certificate (tuf/utils/x509.go `CanonicalKeyID`), which is how docker and
 *   notary name signers and key files;
 * - signature methods (tuf/signed/verifiers.go): `ecdsa` is a fixed-width
 *   r||s over SHA-256, `eddsa` is Ed25519, `rsapss` is RSA-PSS with SHA-256
 *   and a 32-byte salt, `rsapkcs1v15` is PKCS #1 v1.5 with SHA-256; RSA keys
 *   have at least 2048 bits.
 */
import {
  constants,
  createHash,
  createPublicKey,
  type KeyObject,
  verify,
  X509Certificate,
} from 'node:crypto';
import { denied, hasCode } from '../../core/errors.ts';
import { decodePemBlocks } from '../../keys/pem.ts';
import { encodeStdBase64 } from '../../core/base64.ts';
import { notaryCanonicalJson } from './canonical-json.ts';

export const NOTARY_KEY_TYPES = ['ecdsa', 'ecdsa-x509', 'rsa', 'rsa-x509', 'ed25519'] as const;
export type NotaryKeyType = (typeof NOTARY_KEY_TYPES)[number];

export interface NotaryKey {
  /** The TUF key ID, as root.json and signatures name the key. */
  readonly id: string;
  readonly type: NotaryKeyType;
  readonly publicBytes: Uint8Array;
  readonly publicKey: KeyObject;
  /** The leaf certificate of an x509 key. */
  readonly certificate?: X509Certificate;
}

/** tuf/data/keys.go `TUFKey.ID`: the literal `"private":null` is part of what is hashed. */
export function notaryKeyId(type: string, publicBytes: Uint8Array): string {
  const json = notaryCanonicalJson({
    keytype: type,
    keyval: { private: null, public: encodeStdBase64(publicBytes) },
  });
  return createHash('sha256').update(json).digest('hex');
}

/**
 * tuf/utils/x509.go `CanonicalKeyID`: for an x509 key, the ID of the plain
 * `ecdsa`/`rsa` key of its certificate; for any other key, its own ID.
 */
export function canonicalKeyId(key: NotaryKey): string {
  if (key.certificate === undefined) return key.id;
  const spki = key.publicKey.export({ format: 'der', type: 'spki' });
  return notaryKeyId(key.type === 'ecdsa-x509' ? 'ecdsa' : 'rsa', spki);
}

/** The ID of a public key given as a PEM certificate or SPKI key: what pinning compares. */
export function canonicalIdOfPublicKey(publicKey: KeyObject): string | undefined {
  const kind = publicKey.asymmetricKeyType;
  if (kind === 'ed25519') {
    const jwk = publicKey.export({ format: 'jwk' });
    return notaryKeyId('ed25519', Buffer.from(jwk.x ?? '', 'base64url'));
  }
  if (kind !== 'ec' && kind !== 'rsa') return undefined;
  return notaryKeyId(
    kind === 'ec' ? 'ecdsa' : 'rsa',
    publicKey.export({ format: 'der', type: 'spki' }),
  );
}

/** Builds a key from root.json or a delegation; throws NOTARY_METADATA_INVALID naming `where`. */
export function notaryKey(type: NotaryKeyType, publicBytes: Uint8Array, where: string): NotaryKey {
  const id = notaryKeyId(type, publicBytes);
  const fail = (problem: string, cause?: unknown) =>
    denied('NOTARY_METADATA_INVALID', `${where}: ${type} key ${id}: ${problem}`, { cause });
  try {
    switch (type) {
      case 'ed25519': {
        if (publicBytes.length !== 32) throw fail(`holds ${publicBytes.length} bytes, not 32`);
        const publicKey = createPublicKey({
          key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicBytes).toString('base64url') },
          format: 'jwk',
        });
        return { id, type, publicBytes, publicKey };
      }
      case 'ecdsa':
      case 'rsa': {
        const publicKey = createPublicKey({
          key: Buffer.from(publicBytes),
          format: 'der',
          type: 'spki',
        });
        checkAlgorithm(type, publicKey, fail);
        return { id, type, publicBytes, publicKey };
      }
      case 'ecdsa-x509':
      case 'rsa-x509': {
        const certificates = decodePemBlocks(publicBytes).filter(
          (block) => block.type === 'CERTIFICATE',
        );
        const first = certificates[0];
        if (first === undefined) throw fail('holds no PEM certificate');
        const certificate = new X509Certificate(first.bytes);
        checkAlgorithm(type, certificate.publicKey, fail);
        return { id, type, publicBytes, publicKey: certificate.publicKey, certificate };
      }
    }
  } catch (error) {
    if (hasCode(error, 'NOTARY_METADATA_INVALID')) throw error;
    throw fail(
      `not a valid key (${error instanceof Error ? error.message : String(error)})`,
      error,
    );
  }
}

function checkAlgorithm(type: NotaryKeyType, key: KeyObject, fail: (problem: string) => Error) {
  const expected = type.startsWith('ecdsa') ? 'ec' : 'rsa';
  if (key.asymmetricKeyType !== expected) {
    throw fail(`holds an ${key.asymmetricKeyType ?? 'unknown'} key`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  // const.go MinRSABitSize
  if (expected === 'rsa' && (bits === undefined || bits < 2048)) {
    throw fail(`RSA keys need at least 2048 bits, this one has ${bits ?? 'unknown'}`);
  }
}

const EC_OCTETS: Readonly<Record<string, number>> = {
  prime256v1: 32,
  secp384r1: 48,
  secp521r1: 66,
};

/** Signature methods each key type can verify (tuf/signed/verifiers.go). */
const METHODS: Readonly<Record<string, readonly NotaryKeyType[]>> = {
  ecdsa: ['ecdsa', 'ecdsa-x509'],
  eddsa: ['ed25519'],
  rsapss: ['rsa', 'rsa-x509'],
  rsapkcs1v15: ['rsa', 'rsa-x509'],
};

/** Whether `signature` by `key` with `method` verifies over `message`. */
export function verifyNotarySignature(
  key: NotaryKey,
  method: string,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!(METHODS[method] ?? []).includes(key.type)) return false;
  try {
    switch (method) {
      case 'ecdsa': {
        const curve = key.publicKey.asymmetricKeyDetails?.namedCurve ?? '';
        const octets = EC_OCTETS[curve];
        // verifiers.go ECDSAVerifier: the signature is exactly r||s, each the curve's size.
        if (octets === undefined || signature.length !== 2 * octets) return false;
        return verify(
          'sha256',
          message,
          { key: key.publicKey, dsaEncoding: 'ieee-p1363' },
          signature,
        );
      }
      case 'eddsa':
        return verify(null, message, key.publicKey, signature);
      case 'rsapss':
        return verify(
          'sha256',
          message,
          { key: key.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
          signature,
        );
      case 'rsapkcs1v15':
        return verify(
          'sha256',
          message,
          { key: key.publicKey, padding: constants.RSA_PKCS1_PADDING },
          signature,
        );
    }
  } catch {
    return false;
  }
  return false;
}

const SHA1_SIGNATURES = new Set([
  '1.2.840.113549.1.1.5', // sha1WithRSAEncryption
  '1.2.840.10045.4.1', // ecdsa-with-SHA1
  '1.2.840.10040.4.3', // dsa-with-sha1
]);
const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertificateCheck {
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** Notary skips expiry for the certificates of a root being replaced (trustpinning/certs.go). */
  readonly checkExpiry: boolean;
}

/**
 * Why a root key cannot vouch for `gun`, or undefined when it can
 * (trustpinning/certs.go `validRootLeafCerts`, tuf/utils/x509.go
 * `ValidateCertificate`): an x509 key whose leaf is not a CA, whose common
 * name is the GUN (or a `prefix*` wildcard covering it), that is within its
 * validity (its start may be up to a day ahead), not signed with SHA-1.
 */
export function rootKeyProblem(
  key: NotaryKey,
  gun: string,
  check: CertificateCheck,
): string | undefined {
  const certificate = key.certificate;
  if (certificate === undefined) return `a ${key.type} key, not an x509 certificate`;
  if (certificate.ca) return 'its certificate is a CA certificate, not a leaf';
  const names = certificate.toLegacyObject().subject?.CN;
  const commonName = Array.isArray(names) ? names.join(',') : names;
  if (commonName === undefined || !commonNameCovers(commonName, gun)) {
    return `its certificate is for ${JSON.stringify(commonName ?? '')}, not ${JSON.stringify(gun)}`;
  }
  if (SHA1_SIGNATURES.has(certificate.signatureAlgorithmOid)) {
    return 'its certificate is signed with SHA-1';
  }
  const notBefore = certificate.validFromDate.getTime();
  const notAfter = certificate.validToDate.getTime();
  if (notBefore > notAfter) return 'its certificate ends before it starts';
  if (check.checkExpiry && (check.now + DAY_MS < notBefore || check.now > notAfter)) {
    return `its certificate is valid only from ${certificate.validFromDate.toISOString()} to ${certificate.validToDate.toISOString()}`;
  }
  return undefined;
}

function commonNameCovers(commonName: string, gun: string): boolean {
  if (commonName.endsWith('*')) return gun.startsWith(commonName.slice(0, -1));
  return commonName === gun;
}
