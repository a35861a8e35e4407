/**
 * openpgp.ts with keys made here by openpgp.js: signing round trips, key
 * state (expired, revoked), passphrases, keyrings of thousands of keys, and
 * hostile signature blobs. The containers/image fixtures are in
 * fixtures.test.ts.
 */
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { describe, test } from 'node:test';
import * as openpgp from 'openpgp';
import { expectError } from '../../../test/helpers/assertions.ts';
import {
  type GpgSigningKey,
  loadKeyring,
  readSigningKey,
  signMessage,
  verifySignedMessage,
} from './openpgp.ts';

const payload = new TextEncoder().encode('{"critical":{}}');
const DAY = 24 * 3600 * 1000;

async function newKey(options: { date?: Date; keyExpirationTime?: number } = {}) {
  const { privateKey } = await openpgp.generateKey({
    userIDs: [{ name: 'vouch test', email: 'test@example.com' }],
    ...options,
    format: 'object',
  });
  const signing: GpgSigningKey = {
    fingerprint: privateKey.getFingerprint().toUpperCase(),
    privateKey,
  };
  return { privateKey, publicKey: privateKey.toPublic(), signing };
}

/** A packet with a new-format header and a five-octet length. */
function packet(tag: number, body: Uint8Array): Uint8Array {
  const header = Buffer.from([0xc0 | tag, 0xff, 0, 0, 0, 0]);
  header.writeUInt32BE(body.byteLength, 2);
  return new Uint8Array(Buffer.concat([header, body]));
}

describe('signMessage and verifySignedMessage', () => {
  test('a signature vouch makes verifies, reporting the primary fingerprint', async () => {
    const { publicKey, signing } = await newKey();
    const blob = await signMessage(payload, signing);
    const result = await verifySignedMessage(blob, await loadKeyring([publicKey.write()]));
    assert.deepEqual(result.payload, payload);
    assert.equal(result.fingerprint, signing.fingerprint);
    assert.match(result.fingerprint, /^[0-9A-F]{40}$/);
  });

  test('armored keyrings and several keys', async () => {
    const [a, b] = [await newKey(), await newKey()];
    const armored = new TextEncoder().encode(a.publicKey.armor() + '\n' + b.publicKey.armor());
    const ring = await loadKeyring([armored]);
    assert.deepEqual(ring.fingerprints, [a.signing.fingerprint, b.signing.fingerprint]);
    const result = await verifySignedMessage(await signMessage(payload, b.signing), ring);
    assert.equal(result.fingerprint, b.signing.fingerprint);
  });

  test('a signature by a key that has expired since is refused, as gpg reports EXPKEYSIG', async () => {
    const made = new Date(Date.now() - 10 * DAY);
    const { publicKey, signing } = await newKey({ date: made, keyExpirationTime: DAY / 1000 });
    const blob = await signMessage(payload, signing, new Date(made.getTime() + 1000));
    const ring = await loadKeyring([publicKey.write()]);
    // Valid while the key was: it is the key's state now that refuses it.
    const then = await verifySignedMessage(blob, ring, { now: new Date(made.getTime() + 2000) });
    assert.equal(then.fingerprint, signing.fingerprint);
    await assert.rejects(verifySignedMessage(blob, ring), expectError('denied', 'GPG_KEY_EXPIRED'));
  });

  test('a signature by a key revoked since is refused, as gpg reports REVKEYSIG', async () => {
    const made = new Date(Date.now() - 10 * DAY);
    const { privateKey, publicKey, signing } = await newKey({ date: made });
    const blob = await signMessage(payload, signing, new Date(made.getTime() + 1000));
    const { publicKey: revoked } = await openpgp.revokeKey({
      key: privateKey,
      date: new Date(made.getTime() + DAY),
      format: 'object',
    });
    assert.equal(
      (await verifySignedMessage(blob, await loadKeyring([publicKey.write()]))).fingerprint,
      signing.fingerprint,
    );
    await assert.rejects(
      verifySignedMessage(blob, await loadKeyring([revoked.write()])),
      expectError('denied', 'GPG_KEY_REVOKED'),
    );
    // The revocation in a second copy of the key counts: copies are merged.
    await assert.rejects(
      verifySignedMessage(blob, await loadKeyring([publicKey.write(), revoked.write()])),
      expectError('denied', 'GPG_KEY_REVOKED'),
    );
  });

  test('a changed payload does not verify', async () => {
    const { publicKey, signing } = await newKey();
    const blob = Buffer.from(await signMessage(payload, signing));
    const at = blob.indexOf(Buffer.from('critical'));
    assert.ok(at > 0);
    blob[at] = 'C'.charCodeAt(0);
    await assert.rejects(
      verifySignedMessage(new Uint8Array(blob), await loadKeyring([publicKey.write()])),
      expectError('denied', 'GPG_SIGNATURE_INVALID'),
    );
  });

  test('a signature by another key with the same fingerprint-less key ID is unknown', async () => {
    const { signing } = await newKey();
    const other = await newKey();
    await assert.rejects(
      verifySignedMessage(
        await signMessage(payload, signing),
        await loadKeyring([other.publicKey.write()]),
      ),
      expectError('denied', 'GPG_KEY_UNKNOWN'),
    );
  });
});

describe('readSigningKey', () => {
  test('reads an armored or binary secret key, with or without a passphrase', async () => {
    const plain = await newKey();
    const key = await readSigningKey(plain.privateKey.write(), 'key.gpg');
    assert.equal(key.fingerprint, plain.signing.fingerprint);
    const armored = await readSigningKey(
      new TextEncoder().encode(plain.privateKey.armor()),
      'key.asc',
    );
    assert.equal(armored.fingerprint, plain.signing.fingerprint);

    const locked = await openpgp.encryptKey({ privateKey: plain.privateKey, passphrase: 'secret' });
    await assert.rejects(
      readSigningKey(locked.write(), 'key.gpg'),
      expectError('invalid', 'GPG_PASSPHRASE_REQUIRED'),
    );
    await assert.rejects(
      readSigningKey(locked.write(), 'key.gpg', { passphrase: 'wrong' }),
      expectError('invalid', 'GPG_PASSPHRASE_WRONG'),
    );
    const unlocked = await readSigningKey(locked.write(), 'key.gpg', { passphrase: 'secret' });
    const blob = await signMessage(payload, unlocked);
    const result = await verifySignedMessage(blob, await loadKeyring([plain.publicKey.write()]));
    assert.equal(result.fingerprint, plain.signing.fingerprint);
  });

  test('refuses public keys, and several secret keys unless one is named', async () => {
    const [a, b] = [await newKey(), await newKey()];
    await assert.rejects(
      readSigningKey(a.publicKey.write(), 'pub.gpg'),
      expectError('invalid', 'GPG_SIGNING_KEY_INVALID'),
    );
    const both = new Uint8Array(Buffer.concat([a.privateKey.write(), b.privateKey.write()]));
    await assert.rejects(
      readSigningKey(both, 'two.gpg'),
      expectError('invalid', 'GPG_SIGNING_KEY_INVALID'),
    );
    const chosen = await readSigningKey(both, 'two.gpg', {
      fingerprint: b.signing.fingerprint.toLowerCase(),
    });
    assert.equal(chosen.fingerprint, b.signing.fingerprint);
  });
});

describe('keyrings of thousands of keys', () => {
  /** `count` distinct keys: `key`'s bytes with the primary key's creation time changed (new fingerprints; their self-signatures no longer hold). */
  function variantsOf(key: openpgp.PublicKey, count: number): Uint8Array {
    const bytes = Buffer.from(key.write());
    // openpgp.js writes the primary key packet first with a one-octet new-format length:
    // ctb, length, version 4, then the four-octet creation time.
    assert.equal(bytes[0], 0xc6);
    assert.equal(bytes[2], 4);
    const copies: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const copy = Buffer.from(bytes);
      copy.writeUInt32BE(1_000_000 + i, 3);
      copies.push(copy);
    }
    return new Uint8Array(Buffer.concat(copies));
  }

  test(
    '3,000 keys load (a hang guard; the time is not asserted) and a signature finds its key by key ID',
    { timeout: 120_000 },
    async () => {
      const { publicKey, signing } = await newKey();
      const ring = await loadKeyring([variantsOf(publicKey, 3000), publicKey.write()]);
      assert.equal(ring.size, 3001);
      // Indexed by key ID: the signature's key ID leads to this one key, not a scan of 3,001.
      assert.equal(ring.keysWithId(publicKey.getKeyID().toHex()).length, 1);
      const result = await verifySignedMessage(await signMessage(payload, signing), ring);
      assert.equal(result.fingerprint, signing.fingerprint);
    },
  );

  test('more keys than the cap, copies included, are refused', async () => {
    const { publicKey } = await newKey();
    await assert.rejects(
      loadKeyring([variantsOf(publicKey, 11)], 'big.gpg', { maxKeys: 10 }),
      expectError('invalid', 'GPG_KEYRING_INVALID', 'more than 10 keys'),
    );
    const copies = new Uint8Array(
      Buffer.concat(Array.from({ length: 11 }, () => publicKey.write())),
    );
    await assert.rejects(
      loadKeyring([copies], 'copies.gpg', { maxKeys: 10 }),
      expectError('invalid', 'GPG_KEYRING_INVALID', 'more than 10 keys'),
    );
    // Identical copies merge into one key without re-checking.
    assert.equal((await loadKeyring([copies])).size, 1);
  });

  test('keyrings over the byte cap are refused before parsing', async () => {
    await assert.rejects(
      loadKeyring([new Uint8Array(2048)], 'huge.gpg', { maxBytes: 1024 }),
      expectError('invalid', 'GPG_KEYRING_INVALID', 'more than the 1024'),
    );
  });
});

describe('hostile signature blobs', () => {
  const ring = async () => loadKeyring([(await newKey()).publicKey.write()]);

  test('garbage, truncation, armor and oversize are refused', async () => {
    const keys = await ring();
    const { signing, publicKey } = await newKey();
    const good = await signMessage(payload, signing);
    const own = await loadKeyring([publicKey.write()]);
    for (const [name, blob] of [
      ['garbage', new Uint8Array(Buffer.from('\x00\x01garbage'))],
      ['high bit garbage', new Uint8Array(1000).fill(0xff)],
      ['truncated', good.subarray(0, good.byteLength - 10)],
      ['armored', new TextEncoder().encode(openpgp.armor(openpgp.enums.armor.message, good))],
      ['a public key', publicKey.write()],
    ] as const) {
      await assert.rejects(
        verifySignedMessage(blob, own),
        expectError('denied', 'GPG_SIGNATURE_INVALID'),
        name,
      );
    }
    await assert.rejects(
      verifySignedMessage(new Uint8Array(5 * 1024 * 1024), keys),
      expectError('denied', 'GPG_SIGNATURE_INVALID', 'more than'),
    );
    await assert.rejects(
      verifySignedMessage(good, own, { maxBytes: 10 }),
      expectError('denied', 'GPG_SIGNATURE_INVALID', 'more than'),
    );
  });

  test('two signatures are refused, as the gpgme mechanism refuses them', async () => {
    const [a, b] = [await newKey(), await newKey()];
    const message = await openpgp.createMessage({ binary: payload });
    const blob = await openpgp.sign({
      message,
      signingKeys: [a.privateKey, b.privateKey],
      format: 'binary',
    });
    await assert.rejects(
      verifySignedMessage(blob, await loadKeyring([a.publicKey.write(), b.publicKey.write()])),
      expectError('denied', 'GPG_SIGNATURE_INVALID', '2 signatures'),
    );
  });

  test('nested compression is refused, however deep', { timeout: 60_000 }, async () => {
    const { signing, publicKey } = await newKey();
    const inner = await signMessage(payload, signing);
    // 100,000 uncompressed compressed-data packets, each holding the next: a 700 KB blob.
    const depth = 100_000;
    const blob = new Uint8Array(inner.byteLength + 7 * depth);
    const view = new DataView(blob.buffer);
    for (let level = 0; level < depth; level++) {
      const at = level * 7;
      blob.set([0xc8, 0xff], at);
      view.setUint32(at + 2, blob.byteLength - at - 6);
      blob[at + 6] = 0; // compression algorithm: uncompressed
    }
    blob.set(inner, 7 * depth);
    await assert.rejects(
      verifySignedMessage(blob, await loadKeyring([publicKey.write()]), { maxBytes: 1 << 30 }),
      expectError('denied', 'GPG_SIGNATURE_INVALID', 'nested compressed'),
    );
  });

  test('one level of compression verifies; a decompression bomb is cut at the cap', async () => {
    const { signing, publicKey } = await newKey();
    const keys = await loadKeyring([publicKey.write()]);
    const plain = await signMessage(payload, signing);
    const zipped = packet(
      8,
      new Uint8Array(Buffer.concat([Buffer.from([1]), deflateRawSync(plain)])),
    );
    assert.equal((await verifySignedMessage(zipped, keys)).fingerprint, signing.fingerprint);

    const bomb = packet(
      8,
      new Uint8Array(
        Buffer.concat([Buffer.from([1]), deflateRawSync(Buffer.alloc(64 * 1024 * 1024))]),
      ),
    );
    assert.ok(bomb.byteLength < 1024 * 1024);
    await assert.rejects(
      verifySignedMessage(bomb, keys),
      expectError('denied', 'GPG_SIGNATURE_INVALID', 'decompress'),
    );
  });

  test('a literal packet with no signature, and stray packets, are refused', async () => {
    const { signing, publicKey } = await newKey();
    const keys = await loadKeyring([publicKey.write()]);
    const good = await signMessage(payload, signing);
    const userId = packet(13, new TextEncoder().encode('someone'));
    await assert.rejects(
      verifySignedMessage(new Uint8Array(Buffer.concat([good, userId])), keys),
      expectError('denied', 'GPG_SIGNATURE_INVALID', 'unexpected packet'),
    );
    const literal = packet(
      11,
      new Uint8Array(Buffer.concat([Buffer.from([0x62, 0, 0, 0, 0, 0]), payload])),
    );
    await assert.rejects(
      verifySignedMessage(literal, keys),
      expectError('denied', 'GPG_SIGNATURE_INVALID', 'not signed'),
    );
  });
});
