import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { readPredicateFile } from './predicate-file.ts';

let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vouch-predicate-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe('readPredicateFile', () => {
  it('reads one JSON object', async () => {
    const path = await file('ok.json', '{"buildType":"x","n":[1,2]}');
    assert.deepEqual({ ...(await readPredicateFile(path)) }, { buildType: 'x', n: [1, 2] });
  });

  it('reads a file of exactly maxBytes, and refuses one byte more as PREDICATE_TOO_LARGE', async () => {
    const body = (size: number) => `{"p":"${'x'.repeat(size - 8)}"}`;
    assert.equal(Buffer.byteLength(body(100)), 100);
    await readPredicateFile(await file('at-cap.json', body(100)), 100);
    await assert.rejects(
      readPredicateFile(await file('over-cap.json', body(101)), 100),
      expectError('invalid', 'PREDICATE_TOO_LARGE', 'larger than 100 bytes'),
    );
    // Past one read chunk (64 KiB): the cap holds across chunks too.
    await assert.rejects(
      readPredicateFile(await file('big.json', body(200_000)), 100_000),
      expectError('invalid', 'PREDICATE_TOO_LARGE'),
    );
  });

  it('a missing file, a directory and a path that cannot be opened are PREDICATE_UNREADABLE', async () => {
    await assert.rejects(
      readPredicateFile(join(dir, 'missing.json')),
      expectError('invalid', 'PREDICATE_UNREADABLE', 'missing.json'),
    );
    await assert.rejects(
      readPredicateFile(dir),
      expectError('invalid', 'PREDICATE_UNREADABLE', 'directory'),
    );
    // Unreadable whatever the user (file modes do not stop root): a link loop, a file as a directory.
    await symlink(join(dir, 'loop-b'), join(dir, 'loop-a'));
    await symlink(join(dir, 'loop-a'), join(dir, 'loop-b'));
    const notADirectory = join(await file('plain.json', '{}'), 'inside.json');
    for (const path of [join(dir, 'loop-a'), notADirectory]) {
      await assert.rejects(
        readPredicateFile(path),
        expectError('invalid', 'PREDICATE_UNREADABLE', path),
      );
    }
  });

  it('refuses what is not one JSON object as PREDICATE_INVALID', async () => {
    for (const [name, content] of [
      ['array.json', '[1]'],
      ['trailing.json', '{} {}'],
      ['duplicate.json', '{"a":1,"a":2}'],
      ['empty.json', ''],
      ['latin1.json', Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d])],
    ] as const) {
      await assert.rejects(
        readPredicateFile(await file(name, content)),
        expectError('invalid', 'PREDICATE_INVALID'),
        name,
      );
    }
  });
});
