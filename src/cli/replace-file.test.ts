import assert from 'node:assert/strict';
import {
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { replaceFile } from './replace-file.ts';

describe('replaceFile', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-replace-file-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes through a chain of links to the file, which keeps its mode; the links stay', async () => {
    await mkdir(join(dir, 'a'));
    await writeFile(join(dir, 'a', 'file.yaml'), 'old\n', { mode: 0o604 });
    await symlink(join('a', 'file.yaml'), join(dir, 'one'));
    await symlink('one', join(dir, 'two'));
    await replaceFile(join(dir, 'two'), 'new\n', { expected: 'old\n' });
    assert.equal(await readFile(join(dir, 'a', 'file.yaml'), 'utf8'), 'new\n');
    assert.equal((await stat(join(dir, 'a', 'file.yaml'))).mode & 0o777, 0o604);
    assert.ok((await lstat(join(dir, 'one'))).isSymbolicLink());
    assert.ok((await lstat(join(dir, 'two'))).isSymbolicLink());
    assert.deepEqual((await readdir(join(dir, 'a'))).sort(), ['file.yaml'], 'no temporary file');
  });

  it('creates the file a dangling link names', async () => {
    await mkdir(join(dir, 'b'));
    await symlink(join('b', 'new.json'), join(dir, 'dangling'));
    await replaceFile(join(dir, 'dangling'), '{}\n');
    assert.equal(await readFile(join(dir, 'b', 'new.json'), 'utf8'), '{}\n');
    assert.ok((await lstat(join(dir, 'dangling'))).isSymbolicLink());
  });

  it('keeps the owner (given away as root, where the process may set it)', async () => {
    const file = join(dir, 'owned');
    await writeFile(file, 'x');
    if (process.getuid?.() === 0) await chown(file, 4321, 4322);
    const owner = await stat(file);
    await replaceFile(file, 'y');
    const info = await stat(file);
    assert.deepEqual([info.uid, info.gid], [owner.uid, owner.gid]);
  });

  it('refuses a file that changed since it was read, and leaves it', async () => {
    const file = join(dir, 'changed');
    await writeFile(file, 'someone else wrote this');
    await assert.rejects(replaceFile(file, 'mine', { expected: 'what I read' }), {
      code: 'FILE_CHANGED',
      category: 'invalid',
    });
    assert.equal(await readFile(file, 'utf8'), 'someone else wrote this');
  });

  it('fails as invalid FILE_UNWRITABLE and leaves no temporary file behind', async () => {
    await mkdir(join(dir, 'c', 'not-a-file'), { recursive: true });
    await assert.rejects(replaceFile(join(dir, 'c', 'not-a-file'), 'x'), {
      code: 'FILE_UNWRITABLE',
      category: 'invalid',
    });
    assert.deepEqual(await readdir(join(dir, 'c')), ['not-a-file']);
  });
});
