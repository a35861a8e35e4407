import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isVouchError } from '../core/errors.ts';
import { keyPairPaths, readKeyFile, writeFileSafely, writeKeyPair } from './files.ts';
import { MAX_PEM_LENGTH } from './pem.ts';

const code = (expected: string) => (error: unknown) =>
  isVouchError(error) && error.code === expected && error.category === 'invalid';

describe('key files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-key-files-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('writes P.key 0600 and P.pub exclusively, then refuses to overwrite', async () => {
    const paths = keyPairPaths(join(dir, 'a'));
    await writeKeyPair(paths, { privateKey: 'secret', publicKey: 'public' });
    assert.equal((await stat(paths.privateKey)).mode & 0o777, 0o600);
    assert.equal(await readFile(paths.publicKey, 'utf8'), 'public');
    await assert.rejects(
      writeKeyPair(paths, { privateKey: 'other', publicKey: 'other' }),
      code('KEY_FILE_EXISTS'),
    );
    assert.equal(await readFile(paths.privateKey, 'utf8'), 'secret');
    await writeKeyPair(paths, { privateKey: 'new', publicKey: 'new' }, { force: true });
    assert.equal(await readFile(paths.privateKey, 'utf8'), 'new');
    assert.equal((await stat(paths.privateKey)).mode & 0o777, 0o600);
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.startsWith('.')),
      [],
    );
  });

  test('never follows a symbolic link planted at the target', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'untouched');
    const paths = keyPairPaths(join(dir, 'b'));
    await symlink(victim, paths.privateKey);
    await assert.rejects(
      writeKeyPair(paths, { privateKey: 'x', publicKey: 'y' }),
      code('KEY_FILE_EXISTS'),
    );
    await writeKeyPair(paths, { privateKey: 'x', publicKey: 'y' }, { force: true });
    assert.equal(await readFile(victim, 'utf8'), 'untouched');
    assert.equal(await readFile(paths.privateKey, 'utf8'), 'x');
  });

  test('a missing directory or an empty prefix is refused', async () => {
    await assert.rejects(
      writeKeyPair(keyPairPaths(join(dir, 'nope', 'k')), { privateKey: 'x', publicKey: 'y' }),
      code('DIRECTORY_NOT_FOUND'),
    );
    assert.throws(() => keyPairPaths(''), code('INVALID_KEY_PREFIX'));
    assert.throws(() => keyPairPaths(`${dir}/`), code('INVALID_KEY_PREFIX'));
  });

  test('writeFileSafely replaces atomically only when asked', async () => {
    const path = join(dir, 'file.pub');
    await writeFileSafely(path, 'one', { mode: 0o644 });
    await assert.rejects(writeFileSafely(path, 'two', { mode: 0o644 }), code('KEY_FILE_EXISTS'));
    await writeFileSafely(path, 'two', { mode: 0o644, replace: true });
    assert.equal(await readFile(path, 'utf8'), 'two');
  });

  test('readKeyFile caps the size and names the file', async () => {
    const big = join(dir, 'big');
    await writeFile(big, Buffer.alloc(MAX_PEM_LENGTH + 1, 0x41));
    await assert.rejects(readKeyFile(big), code('KEY_FILE_TOO_LARGE'));
    const exact = join(dir, 'exact');
    await writeFile(exact, Buffer.alloc(MAX_PEM_LENGTH, 0x41));
    assert.equal((await readKeyFile(exact)).byteLength, MAX_PEM_LENGTH);
    await assert.rejects(
      readKeyFile(join(dir, 'missing'), '--key'),
      (error) => code('KEY_FILE_UNREADABLE')(error) && String(error).includes('--key'),
    );
    await assert.rejects(readKeyFile(dir), code('KEY_FILE_UNREADABLE'));
  });
});
