/**
 * OpenPGP for GPG simple signing, with openpgp.js and never a `gpg` binary:
 * keyrings, verification of a signature blob, and signing.
 *
 * A simple-signing signature is a binary OpenPGP *signed message* (RFC 4880
 * §11.3): usually a compressed data packet holding a one-pass signature, the
 * literal data (the payload) and the signature, as `gpg --sign` (gpgme, which
 * containers/image signs with: signature/mechanism_gpgme.go) writes it.
 * Verification follows containers/image's mechanisms
 * (https://github.com/containers/image/blob/main/signature/mechanism_gpgme.go
 * and mechanism_openpgp.go, held to signature/mechanism_test.go):
 *
 * - Only a signed message: literal-only messages, encrypted messages, keys,
 *   detached signatures and anything else are refused. Armored input is
 *   refused too: containers/image writes binary (`SetArmor(false)`) and its
 *   openpgp mechanism reads only binary, and a cleartext-signed message is
 *   always armored.
 * - Exactly one signature, as the gpgme mechanism requires, and a binary
 *   document signature (type 0x00), which gpgme writes with text mode off.
 * - The signature must verify with a key of the keyring, its primary key or a
 *   signing subkey; the key reported is the primary key's fingerprint in
 *   uppercase hex (containers/image's key identity, which policy.json
 *   `signedBy` accepts).
 * - Key state is judged as gpg judges it for gpgme, the mechanism podman,
 *   skopeo and CRI-O are built with: a key or subkey that is revoked, or has
 *   expired, *now* makes gpg report REVKEYSIG / EXPKEYSIG, which gpgme turns
 *   into a signature status error that the mechanism refuses. (The
 *   x/crypto/openpgp fallback skips revoked keys but ignores expiry; gpg is
 *   the stricter and the common one.) The key must also have been valid when
 *   the signature was made (openpgp.js checks that), and a signature past its
 *   own expiry time is refused (mechanism_test.go: expired.signature).
 * - Version 3 signature packets verify too (mechanism_test.go runs every
 *   fixture in a `-v3` variant); openpgp.js reads only v4 and later, so v3
 *   RSA signatures are checked here with node:crypto (RFC 4880 §5.2.2, §5.2.4).
 * - Deliberately stricter than gpg, as openpgp.js is by default: DSA and
 *   ElGamal keys, RSA keys under 2047 bits, and message signatures over MD5,
 *   RIPEMD-160 or SHA-1 are refused.
 *
 * Hostile input is bounded: the blob and the keyring are capped in bytes,
 * the keyring in keys, decompressed data in bytes, nested compression is
 * refused, and keys are found by key ID, so no signature costs more than one
 * bounded decompression and a fixed number of public-key operations, however
 * large the keyring.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { inflateRawSync, inflateSync } from 'node:zlib';
import * as openpgp from 'openpgp';
import { denied, invalid, isVouchError, messageOf, type VouchError } from '../../core/errors.ts';

/** containers/image's cap on a signature (internal/iolimits MaxSignatureBodySize, 4 MiB). */
export const DEFAULT_MAX_SIGNATURE_BYTES = 4 * 1024 * 1024;
/** Keyring files beyond this are refused before parsing. */
export const DEFAULT_MAX_KEYRING_BYTES = 32 * 1024 * 1024;
/** Keys (primary keys) a keyring may hold. */
export const DEFAULT_MAX_KEYRING_KEYS = 10_000;

export interface KeyringLimits {
  readonly maxBytes?: number;
  readonly maxKeys?: number;
}

/**
 * Public keys to verify with, indexed by the key ID of every primary key and
 * subkey so a signature finds its key without a scan of the keyring.
 */
export class GpgKeyring {
  /** Primary fingerprints, uppercase hex, in the order the keys were read. */
  readonly fingerprints: readonly string[];
  readonly #byKeyId: ReadonlyMap<string, readonly openpgp.PublicKey[]>;

  private constructor(keys: readonly openpgp.PublicKey[]) {
    this.fingerprints = keys.map(fingerprintOf);
    const byKeyId = new Map<string, openpgp.PublicKey[]>();
    for (const key of keys) {
      for (const id of key.getKeyIDs()) {
        const hex = id.toHex();
        const list = byKeyId.get(hex);
        if (list === undefined) byKeyId.set(hex, [key]);
        else if (!list.includes(key)) list.push(key);
      }
    }
    this.#byKeyId = byKeyId;
  }

  get size(): number {
    return this.fingerprints.length;
  }

  /** The keys with a primary key or subkey of this 64-bit key ID (lowercase hex). */
  keysWithId(keyId: string): readonly openpgp.PublicKey[] {
    return this.#byKeyId.get(keyId) ?? [];
  }

  /** @internal Built by loadKeyring only. */
  static of(keys: readonly openpgp.PublicKey[]): GpgKeyring {
    return new GpgKeyring(keys);
  }
}

/**
 * Reads public keys from keyring files (`signedBy` keyPath(s)/keyData,
 * `--gpg-key`): binary (pubring.gpg, `gpg --export`) or armored, one or more
 * armor blocks, public or secret keys (only their public part is kept), any
 * number of keys up to `maxKeys`. A key that appears twice (the same
 * fingerprint) is merged into one, as gpg's import merges it, so a
 * revocation in either copy counts. An empty input gives an empty keyring.
 * Throws VouchError `invalid` GPG_KEYRING_INVALID naming `where`.
 */
export async function loadKeyring(
  blobs: readonly Uint8Array[],
  where = 'keyring',
  limits: KeyringLimits = {},
): Promise<GpgKeyring> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_KEYRING_BYTES;
  const maxKeys = limits.maxKeys ?? DEFAULT_MAX_KEYRING_KEYS;
  const fail = (problem: string, cause?: unknown) =>
    invalid('GPG_KEYRING_INVALID', `cannot read the OpenPGP keys in ${where}: ${problem}`, {
      cause,
    });
  const total = blobs.reduce((sum, blob) => sum + blob.byteLength, 0);
  if (total > maxBytes) throw fail(`${total} bytes is more than the ${maxBytes} accepted`);

  // The bytes of a key's copies are written out only once a second copy appears.
  const byFingerprint = new Map<string, { key: openpgp.PublicKey; copies?: Uint8Array[] }>();
  let count = 0;
  for (const blob of blobs) {
    for (const key of await readKeyBlob(blob, fail)) {
      // Every copy counts: merging one costs signature checks.
      if (++count > maxKeys) throw fail(`more than ${maxKeys} keys`);
      const publicKey = key.isPrivate() ? key.toPublic() : key;
      const fingerprint = fingerprintOf(publicKey);
      const seen = byFingerprint.get(fingerprint);
      if (seen === undefined) {
        byFingerprint.set(fingerprint, { key: publicKey });
        continue;
      }
      const copies = (seen.copies ??= [seen.key.write()]);
      const bytes = publicKey.write();
      if (copies.some((copy) => Buffer.from(copy).equals(bytes))) continue;
      try {
        seen.key = await seen.key.update(publicKey);
        copies.push(bytes);
      } catch (error) {
        throw fail(`key ${fingerprint} appears twice and its copies do not merge`, error);
      }
    }
  }
  return GpgKeyring.of([...byFingerprint.values()].map((entry) => entry.key));
}

const ARMOR_BLOCK =
  /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

async function readKeyBlob(
  blob: Uint8Array,
  fail: (problem: string, cause?: unknown) => VouchError,
): Promise<openpgp.Key[]> {
  if (blob.byteLength === 0) return [];
  try {
    if (isArmored(blob)) {
      const text = new TextDecoder().decode(blob);
      const blocks = text.match(ARMOR_BLOCK) ?? [];
      if (blocks.length === 0) throw fail('no PGP PUBLIC or PRIVATE KEY BLOCK in the armored text');
      const keys: openpgp.Key[] = [];
      for (const block of blocks) keys.push(...(await openpgp.readKeys({ armoredKeys: block })));
      return keys;
    }
    return await openpgp.readKeys({ binaryKeys: blob });
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw fail(messageOf(error), error);
  }
}

function isArmored(bytes: Uint8Array): boolean {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 256)).trimStart();
  return head.startsWith('-----BEGIN PGP ');
}

/** What a signature blob says once verified. */
export interface VerifiedMessage {
  /** The signed literal data: the payload. */
  readonly payload: Uint8Array;
  /** The primary key's fingerprint, uppercase hex (containers/image's key identity). */
  readonly fingerprint: string;
  /** The fingerprint of the key that signed, uppercase hex: the primary key or a subkey. */
  readonly signingKeyFingerprint: string;
  /** When the signature says it was made. */
  readonly created: Date;
}

export interface VerifyMessageOptions {
  /** The time key and signature validity are judged at; now unless given. */
  readonly now?: Date;
  readonly maxBytes?: number;
}

const SIGNATURE_INVALID = 'GPG_SIGNATURE_INVALID';

type Bad = (problem: string, cause?: unknown) => VouchError;

/**
 * Verifies a simple-signing signature blob with `keyring` and returns the
 * payload and the key that signed (see the module comment for the rules).
 * Throws VouchError `denied`: GPG_SIGNATURE_INVALID (not a signed message,
 * corrupt, does not verify), GPG_KEY_UNKNOWN (no key of the keyring has the
 * signer's key ID), GPG_KEY_REVOKED, GPG_KEY_EXPIRED, GPG_KEY_UNUSABLE (the
 * key cannot sign, or is of a refused algorithm or size),
 * GPG_SIGNATURE_EXPIRED.
 */
export async function verifySignedMessage(
  blob: Uint8Array,
  keyring: GpgKeyring,
  options: VerifyMessageOptions = {},
): Promise<VerifiedMessage> {
  const now = options.now ?? new Date();
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_SIGNATURE_BYTES;
  const bad: Bad = (problem, cause) =>
    denied(SIGNATURE_INVALID, `not a valid OpenPGP signature: ${problem}`, { cause });
  if (blob.byteLength > maxBytes) {
    throw bad(`${blob.byteLength} bytes is more than the ${maxBytes} accepted`);
  }
  if (isArmored(blob)) {
    throw bad('ASCII-armored (simple signing signatures are binary OpenPGP messages)');
  }
  const { payload, signature } = signedMessage(blob, maxBytes, bad);
  const version = signature[0];
  if (version === 4 || version === 6) return verifyV4(signature, payload, keyring, now, bad);
  if (version === 3 || version === 2) {
    return verifyV3(parseV3Signature(signature, bad), payload, keyring, now, bad);
  }
  throw bad(`signature packet version ${String(version)} is not supported`);
}

interface SignedMessage {
  /** The literal data's content. */
  readonly payload: Uint8Array;
  /** The signature packet's body. */
  readonly signature: Uint8Array;
}

/** OpenPGP packet tags (RFC 4880 §4.3). */
const TAG = {
  signature: 2,
  onePassSignature: 4,
  compressedData: 8,
  marker: 10,
  literalData: 11,
} as const;
const ENCRYPTED_TAGS: ReadonlySet<number> = new Set([1, 3, 9, 18, 20]);

/**
 * The message's packets, checked for the shape of a signed message (RFC 4880
 * §11.3): optionally one compressed data packet (ZIP or ZLIB; BZip2, which
 * gpg writes only when told to, is refused) holding, or else directly, at
 * most one one-pass signature, exactly one literal data packet and exactly
 * one signature (the gpgme mechanism accepts exactly one). Marker packets
 * are skipped as RFC 4880 §5.8 asks; nested compression and every other
 * packet are refused. The packets are framed here rather than by openpgp.js,
 * whose reader leaves the packets after the literal data to a lazy stream
 * and drops v3 signatures.
 */
function signedMessage(blob: Uint8Array, maxBytes: number, bad: Bad): SignedMessage {
  let packets = readPackets(blob, bad);
  const first = packets[0];
  if (first?.tag === TAG.compressedData) {
    if (packets.length !== 1) throw bad('a compressed data packet beside other packets');
    packets = readPackets(decompress(first.body, maxBytes, bad), bad);
  }
  let payload: Uint8Array | undefined;
  let literals = 0;
  let onePass = 0;
  const signatures: Uint8Array[] = [];
  for (const { tag, body } of packets) {
    if (tag === TAG.signature) {
      signatures.push(body);
    } else if (tag === TAG.literalData) {
      literals++;
      payload = literalContent(body, bad);
    } else if (tag === TAG.onePassSignature) {
      onePass++;
    } else if (ENCRYPTED_TAGS.has(tag)) {
      throw bad('an encrypted message, not a signed one');
    } else if (tag === TAG.compressedData) {
      throw bad('nested compressed data');
    } else if (tag !== TAG.marker) {
      throw bad(`unexpected packet (tag ${tag}) in a signed message`);
    }
  }
  if (literals !== 1 || payload === undefined) {
    throw bad(literals === 0 ? 'no literal data' : `${literals} literal data packets`);
  }
  if (signatures.length === 0) throw bad('literal data that is not signed');
  if (signatures.length !== 1) {
    throw bad(
      `${signatures.length} signatures (exactly one is accepted, as containers/image does)`,
    );
  }
  if (onePass > 1) throw bad(`${onePass} one-pass signature packets`);
  return { payload, signature: signatures[0] as Uint8Array };
}

interface Packet {
  readonly tag: number;
  readonly body: Uint8Array;
}

/** Frames packets (RFC 4880 §4.2: old and new formats, partial body lengths). */
function readPackets(bytes: Uint8Array, bad: Bad): Packet[] {
  const packets: Packet[] = [];
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.byteLength) throw bad('truncated packet');
  };
  const u32 = (i: number) =>
    (bytes[i] as number) * 0x1000000 +
    (((bytes[i + 1] as number) << 16) | ((bytes[i + 2] as number) << 8) | (bytes[i + 3] as number));
  if (bytes.byteLength === 0) throw bad('empty');
  while (at < bytes.byteLength) {
    const ctb = bytes[at++] as number;
    if ((ctb & 0x80) === 0) throw bad('not an OpenPGP packet');
    if ((ctb & 0x40) === 0) {
      // Old format: length type in the low two bits.
      const tag = (ctb >> 2) & 0x0f;
      const lengthType = ctb & 3;
      let length: number;
      if (lengthType === 3) {
        length = bytes.byteLength - at; // indeterminate: to the end
      } else {
        const size = [1, 2, 4][lengthType] as number;
        need(size);
        length =
          size === 1
            ? (bytes[at] as number)
            : size === 2
              ? ((bytes[at] as number) << 8) | (bytes[at + 1] as number)
              : u32(at);
        at += size;
      }
      need(length);
      packets.push({ tag, body: bytes.subarray(at, at + length) });
      at += length;
      continue;
    }
    const tag = ctb & 0x3f;
    const parts: Uint8Array[] = [];
    for (;;) {
      need(1);
      const o = bytes[at++] as number;
      let length: number;
      let partial = false;
      if (o < 192) {
        length = o;
      } else if (o < 224) {
        need(1);
        length = ((o - 192) << 8) + (bytes[at++] as number) + 192;
      } else if (o === 255) {
        need(4);
        length = u32(at);
        at += 4;
      } else {
        length = 1 << (o & 0x1f);
        partial = true;
      }
      need(length);
      parts.push(bytes.subarray(at, at + length));
      at += length;
      if (!partial) break;
    }
    packets.push({ tag, body: parts.length === 1 ? (parts[0] as Uint8Array) : concat(parts) });
  }
  return packets;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A compressed data packet's content (RFC 4880 §5.6), at most `maxBytes` of it. */
function decompress(body: Uint8Array, maxBytes: number, bad: Bad): Uint8Array {
  const algorithm = body[0];
  const data = body.subarray(1);
  try {
    switch (algorithm) {
      case 0:
        return data;
      case 1:
        return new Uint8Array(inflateRawSync(data, { maxOutputLength: maxBytes }));
      case 2:
        return new Uint8Array(inflateSync(data, { maxOutputLength: maxBytes }));
      default:
        throw bad(`compression algorithm ${String(algorithm)} is not supported`);
    }
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw bad(
      `compressed data does not decompress within ${maxBytes} bytes: ${messageOf(error)}`,
      error,
    );
  }
}

/** A literal data packet's content (RFC 4880 §5.9): after format, file name and date. */
function literalContent(body: Uint8Array, bad: Bad): Uint8Array {
  const nameLength = body[1];
  if (nameLength === undefined || body.byteLength < 2 + nameLength + 4) {
    throw bad('malformed literal data packet');
  }
  return body.subarray(2 + nameLength + 4);
}

async function verifyV4(
  body: Uint8Array,
  payload: Uint8Array,
  keyring: GpgKeyring,
  now: Date,
  bad: Bad,
): Promise<VerifiedMessage> {
  let signature: openpgp.Signature;
  try {
    // A new-format header (tag 2, five-octet length) around the body, for openpgp.js.
    const header = new Uint8Array([0xc2, 0xff, 0, 0, 0, 0]);
    new DataView(header.buffer).setUint32(2, body.byteLength);
    signature = await openpgp.readSignature({
      binarySignature: concat([header, body]),
      config: { ignoreUnsupportedPackets: false },
    });
  } catch (error) {
    throw bad(messageOf(error), error);
  }
  const packet = signature.packets[0];
  if (packet === undefined || signature.packets.length !== 1) throw bad('unreadable signature');
  // Binary documents only: gpgme signs with text mode off, and a text
  // signature (0x01) would hash line endings canonicalized.
  if (packet.signatureType !== openpgp.enums.signature.binary) {
    throw bad(
      `signature type 0x${(packet.signatureType ?? 0).toString(16)} is not a binary document signature`,
    );
  }
  const created = packet.created;
  if (created === null) throw bad('no creation time');
  const keyId = packet.issuerKeyID;
  let failure: unknown;
  for (const key of usableKeys(keyring, keyId.toHex())) {
    const signingKey = await keyStateNow(key, keyId, now);
    if (packet.isExpired(now)) {
      throw denied(
        'GPG_SIGNATURE_EXPIRED',
        `the OpenPGP signature by ${fingerprintOf(key)} expired at ${String(packet.getExpirationTime())}`,
      );
    }
    try {
      const result = await openpgp.verify({
        message: await openpgp.createMessage({ binary: payload }),
        signature,
        verificationKeys: [key],
        date: now,
        format: 'binary',
      });
      const [only] = result.signatures;
      if (only === undefined || result.signatures.length !== 1) throw new Error('no result');
      await only.verified;
      return verified(payload, key, signingKey, created);
    } catch (error) {
      failure = error;
    }
  }
  throw bad(
    `it does not verify with key ${keyId.toHex().toUpperCase()}: ${messageOf(failure)}`,
    failure,
  );
}

/** The keys of the keyring for this key ID; GPG_KEY_UNKNOWN when none. */
function usableKeys(keyring: GpgKeyring, keyIdHex: string): readonly openpgp.PublicKey[] {
  const keys = keyring.keysWithId(keyIdHex);
  if (keys.length === 0) {
    throw denied(
      'GPG_KEY_UNKNOWN',
      `the OpenPGP signature is by key ID ${keyIdHex.toUpperCase()}, which is not in the keyring`,
    );
  }
  return keys;
}

/**
 * The key or subkey of `keyId` as gpg would use it now: not revoked, not
 * expired, able to sign, of an accepted algorithm. openpgp.js says which
 * check failed only in its message, so the code is chosen from it.
 */
async function keyStateNow(
  key: openpgp.PublicKey,
  keyId: openpgp.KeyID,
  now: Date,
): Promise<openpgp.PublicKey | openpgp.Subkey> {
  try {
    return await key.getSigningKey(keyId, now);
  } catch (error) {
    const text = messageOf(error);
    const which = `key ${fingerprintOf(key)} (signing key ID ${keyId.toHex().toUpperCase()})`;
    if (/revoked/i.test(text)) {
      throw denied('GPG_KEY_REVOKED', `${which} is revoked: ${text}`, { cause: error });
    }
    if (/expired/i.test(text)) {
      throw denied('GPG_KEY_EXPIRED', `${which} has expired: ${text}`, { cause: error });
    }
    throw denied('GPG_KEY_UNUSABLE', `${which} cannot be used to verify: ${text}`, {
      cause: error,
    });
  }
}

function verified(
  payload: Uint8Array,
  key: openpgp.PublicKey,
  signingKey: openpgp.PublicKey | openpgp.Subkey,
  created: Date,
): VerifiedMessage {
  return {
    payload,
    fingerprint: fingerprintOf(key),
    signingKeyFingerprint: signingKey.getFingerprint().toUpperCase(),
    created,
  };
}

interface V3Signature {
  readonly signatureType: number;
  readonly created: Date;
  /** The hashed trailer: signature type and creation time (RFC 4880 §5.2.4). */
  readonly trailer: Uint8Array;
  readonly keyIdHex: string;
  readonly hash: string;
  readonly rsaSignature: Uint8Array;
}

/** OpenPGP hash algorithm IDs (RFC 4880 §9.4) accepted in v3 signatures, as node:crypto names them. */
const V3_HASHES: Readonly<Record<number, string>> = {
  8: 'sha256',
  9: 'sha384',
  10: 'sha512',
  11: 'sha224',
};

/** A version 3 signature packet body (RFC 4880 §5.2.2); only RSA (1, 3) signatures are accepted. */
function parseV3Signature(body: Uint8Array, bad: (problem: string) => VouchError): V3Signature {
  if (body[0] !== 3 && body[0] !== 2) {
    throw bad(`signature packet version ${body[0] ?? 'missing'} is not supported`);
  }
  if (body.byteLength < 19 || body[1] !== 5) throw bad('malformed version 3 signature packet');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const signatureType = body[2] as number;
  const keyIdHex = Buffer.from(body.subarray(7, 15)).toString('hex');
  const algorithm = body[15] as number;
  const hashId = body[16] as number;
  if (algorithm !== 1 && algorithm !== 3) {
    throw bad(`version 3 signature with public-key algorithm ${algorithm} (only RSA is accepted)`);
  }
  const hash = V3_HASHES[hashId];
  if (hash === undefined) throw bad(`version 3 signature with refused hash algorithm ${hashId}`);
  const bits = view.getUint16(19);
  const length = Math.ceil(bits / 8);
  if (body.byteLength !== 21 + length || length === 0) {
    throw bad('malformed version 3 signature packet (signature MPI length)');
  }
  return {
    signatureType,
    created: new Date(view.getUint32(3) * 1000),
    trailer: body.subarray(2, 7),
    keyIdHex,
    hash,
    rsaSignature: body.subarray(21),
  };
}

async function verifyV3(
  signature: V3Signature,
  payload: Uint8Array,
  keyring: GpgKeyring,
  now: Date,
  bad: (problem: string, cause?: unknown) => VouchError,
): Promise<VerifiedMessage> {
  // Binary documents only: a text signature (0x01) hashes canonicalized line endings, which gpgme never writes here.
  if (signature.signatureType !== openpgp.enums.signature.binary) {
    throw bad(`version 3 signature of type 0x${signature.signatureType.toString(16)}`);
  }
  let failure = 'no key verified it';
  for (const key of usableKeys(keyring, signature.keyIdHex)) {
    // openpgp.js does not export KeyID; the key's own instance stands for the ID.
    const keyId = key.getKeyIDs().find((id) => id.toHex() === signature.keyIdHex);
    if (keyId === undefined) continue;
    const signingKey = await keyStateNow(key, keyId, now);
    try {
      // openpgp.js checks the key at the signature's time for v4 signatures; the same here.
      await key.getSigningKey(keyId, signature.created);
    } catch (error) {
      failure = `the key was not valid when the signature was made: ${messageOf(error)}`;
      continue;
    }
    if (signature.created.getTime() > now.getTime()) {
      failure = 'the signature was made in the future';
      continue;
    }
    const publicKey = rsaPublicKey(signingKey);
    if (publicKey === undefined) {
      failure = 'the signing key is not an RSA key';
      continue;
    }
    const hashed = Buffer.concat([payload, signature.trailer]);
    const modulusBytes = Math.ceil((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    if (signature.rsaSignature.byteLength > modulusBytes) {
      failure = 'the RSA signature is longer than the modulus';
      continue;
    }
    const padded = Buffer.alloc(modulusBytes);
    padded.set(signature.rsaSignature, modulusBytes - signature.rsaSignature.byteLength);
    if (cryptoVerify(signature.hash, hashed, publicKey, padded)) {
      return verified(payload, key, signingKey, signature.created);
    }
    failure = `it does not verify with key ${signature.keyIdHex.toUpperCase()}`;
  }
  throw bad(failure);
}

function rsaPublicKey(key: openpgp.PublicKey | openpgp.Subkey): KeyObject | undefined {
  if (!key.getAlgorithmInfo().algorithm.startsWith('rsa')) return undefined;
  const params = key.keyPacket.publicParams as { n?: unknown; e?: unknown };
  if (!(params.n instanceof Uint8Array) || !(params.e instanceof Uint8Array)) return undefined;
  return createPublicKey({
    key: {
      kty: 'RSA',
      n: Buffer.from(params.n).toString('base64url'),
      e: Buffer.from(params.e).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** A secret key ready to sign, with the fingerprint its signatures will report. */
export interface GpgSigningKey {
  readonly fingerprint: string;
  readonly privateKey: openpgp.PrivateKey;
}

export interface ReadSigningKeyOptions {
  /** The passphrase of an encrypted key; omitted for a key without one. */
  readonly passphrase?: string;
  /** Which key, when the file holds several: a primary fingerprint (any case). */
  readonly fingerprint?: string;
}

/**
 * Reads a secret key (binary or armored, `gpg --export-secret-keys`) for
 * signing. Throws VouchError `invalid`: GPG_SIGNING_KEY_INVALID (no secret
 * key, several and none chosen, unusable), GPG_PASSPHRASE_REQUIRED (the key
 * is encrypted and no passphrase was given), GPG_PASSPHRASE_WRONG.
 */
export async function readSigningKey(
  bytes: Uint8Array,
  where: string,
  options: ReadSigningKeyOptions = {},
): Promise<GpgSigningKey> {
  const fail = (problem: string, cause?: unknown) =>
    invalid('GPG_SIGNING_KEY_INVALID', `cannot sign with ${where}: ${problem}`, { cause });
  if (bytes.byteLength > DEFAULT_MAX_KEYRING_BYTES) throw fail('the file is too large');
  let keys: openpgp.PrivateKey[];
  try {
    keys = isArmored(bytes)
      ? await openpgp.readPrivateKeys({ armoredKeys: new TextDecoder().decode(bytes) })
      : await openpgp.readPrivateKeys({ binaryKeys: bytes });
  } catch (error) {
    throw fail(`no OpenPGP secret key: ${messageOf(error)}`, error);
  }
  const wanted = options.fingerprint?.toUpperCase();
  const chosen = wanted === undefined ? keys : keys.filter((key) => fingerprintOf(key) === wanted);
  if (chosen.length !== 1) {
    throw fail(
      chosen.length === 0
        ? `no secret key${wanted === undefined ? '' : ` with fingerprint ${wanted}`}`
        : `${chosen.length} secret keys (${chosen.map(fingerprintOf).join(', ')}); name one by fingerprint`,
    );
  }
  let privateKey = chosen[0] as openpgp.PrivateKey;
  if (!privateKey.isDecrypted()) {
    if (options.passphrase === undefined) {
      throw invalid('GPG_PASSPHRASE_REQUIRED', `${where} is protected by a passphrase`);
    }
    try {
      privateKey = await openpgp.decryptKey({ privateKey, passphrase: options.passphrase });
    } catch (error) {
      throw invalid('GPG_PASSPHRASE_WRONG', `cannot decrypt ${where}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }
  try {
    await privateKey.getSigningKey(undefined, new Date());
  } catch (error) {
    throw fail(messageOf(error), error);
  }
  return { fingerprint: fingerprintOf(privateKey), privateKey };
}

/**
 * A binary signed message of `payload` (one-pass signature, literal data,
 * signature; binary document signature) made with `key` at `now`, which gpg,
 * skopeo and containers/image verify.
 */
export async function signMessage(
  payload: Uint8Array,
  key: GpgSigningKey,
  now: Date = new Date(),
): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: payload, date: now });
  return openpgp.sign({ message, signingKeys: key.privateKey, format: 'binary', date: now });
}

function fingerprintOf(key: openpgp.Key): string {
  return key.getFingerprint().toUpperCase();
}
