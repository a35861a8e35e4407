import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { cp, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasCode } from '../core/errors.ts';
import { canonicalIdOfPublicKey } from '../formats/notary/keys.ts';
import { NotaryKeyStore, type PassphraseRequest } from './key-store.ts';

describe('NotaryKeyStore', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-dct-keys-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const asked: PassphraseRequest[] = [];
  const passphrase = async (request: PassphraseRequest) => {
    asked.push(request);
    return 'correct horse';
  };

  it('stores a key encrypted, 0600 in a 0700 private/ directory, named by its canonical ID', async () => {
    const store = new NotaryKeyStore({ dirs: [join(dir, 'vouch')], passphrase });
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = await store.add(privateKey, { role: 'targets', gun: 'example.com/app' });
    assert.equal(id, canonicalIdOfPublicKey(publicKey));
    const file = join(dir, 'vouch', 'private', `${id}.key`);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'vouch', 'private'))).mode & 0o777, 0o700);
    assert.deepEqual(await store.list(), [
      { id, role: 'targets', gun: 'example.com/app', path: file },
    ]);
    assert.deepEqual(asked.at(-1), { role: 'targets', keyId: id, source: file, creating: true });

    // A fresh store (no cache) decrypts the file with the passphrase and gets the same key.
    const reader = new NotaryKeyStore({ dirs: [join(dir, 'vouch')], passphrase });
    const loaded = await reader.privateKey(id);
    assert.ok(loaded !== undefined);
    assert.equal(canonicalIdOfPublicKey(createPublicKey(loaded)), id);
    assert.equal(asked.at(-1)?.creating, false);
    assert.deepEqual(await reader.holds([id, 'f'.repeat(64)]), [id]);
  });

  it("reads keys from every directory (docker's too), writes only to the first", async () => {
    const docker = join(dir, 'docker');
    const seed = new NotaryKeyStore({ dirs: [docker], passphrase });
    const id = await seed.add(generateKeyPairSync('ed25519').privateKey, { role: 'root' });
    const store = new NotaryKeyStore({ dirs: [join(dir, 'empty-vouch'), docker], passphrase });
    assert.deepEqual(
      (await store.list()).map((key) => [key.id, key.role]),
      [[id, 'root']],
    );
    assert.ok((await store.privateKey(id)) !== undefined);
    assert.equal(await store.privateKey('0'.repeat(64)), undefined);
  });

  it("refuses a key file filed under another key's ID", async () => {
    const moved = join(dir, 'moved');
    const store = new NotaryKeyStore({ dirs: [moved], passphrase });
    const id = await store.add(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, {
      role: 'targets',
    });
    const other = 'e'.repeat(64);
    await cp(join(moved, 'private', `${id}.key`), join(dir, 'copy.key'));
    await rename(join(dir, 'copy.key'), join(moved, 'private', `${other}.key`));
    const reader = new NotaryKeyStore({ dirs: [moved], passphrase });
    await assert.rejects(reader.privateKey(other), (e: unknown) =>
      hasCode(e, 'NOTARY_KEY_INVALID'),
    );
  });
});
