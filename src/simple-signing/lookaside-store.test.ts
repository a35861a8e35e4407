import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { isVouchError } from '../core/errors.ts';
import { lookasideRepositoryUrl } from '../formats/simple-signing/lookaside-layout.ts';
import { parseDigest } from '../oci/digest.ts';
import { readLookasideSignatures, writeLookasideSignature } from './lookaside-store.ts';

const HEX = 'ab'.repeat(32);
const DIGEST = parseDigest(`sha256:${HEX}`);
const bytes = (text: string) => new TextEncoder().encode(text);

function code(expected: string, category: string) {
  return (error: unknown): boolean => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, expected, error.message);
    assert.equal(error.category, category);
    return true;
  };
}

describe('file:// lookaside store', () => {
  let dir: string;
  let n = 0;
  /** A fresh store: its repository URL and the directory signatures of DIGEST go in. */
  const store = () => {
    const top = join(dir, `store-${n++}`);
    const url = lookasideRepositoryUrl(pathToFileURL(top).href, 'library/busybox', 'test');
    return { url, sigDir: join(top, 'library', `busybox@sha256=${HEX}`) };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-lookaside-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads signature-1.. until the first missing, in order', async () => {
    const { url, sigDir } = store();
    await mkdir(sigDir, { recursive: true });
    await writeFile(join(sigDir, 'signature-1'), 'one');
    await writeFile(join(sigDir, 'signature-2'), 'two');
    await writeFile(join(sigDir, 'signature-4'), 'after a gap: never read');
    const found = await readLookasideSignatures(url, DIGEST);
    assert.deepEqual(
      found.map((s) => [s.index, Buffer.from(s.blob).toString()]),
      [
        [1, 'one'],
        [2, 'two'],
      ],
    );
    assert.equal(found[0]?.url.href, `${url.href}@sha256=${HEX}/signature-1`);
  });

  test('no directory at all is no signatures', async () => {
    assert.deepEqual(await readLookasideSignatures(store().url, DIGEST), []);
  });

  test('writes append at the first free N, never replacing, with directories created', async () => {
    const { url, sigDir } = store();
    const first = await writeLookasideSignature(url, DIGEST, bytes('a'));
    const second = await writeLookasideSignature(url, DIGEST, bytes('b'));
    assert.deepEqual([first.index, second.index], [1, 2]);
    assert.equal(first.path, join(sigDir, 'signature-1'));
    assert.equal(await readFile(join(sigDir, 'signature-1'), 'utf8'), 'a');
    assert.equal((await stat(first.path)).mode & 0o777, 0o644);
    // A hole left by someone else is filled; nothing else is touched.
    await rm(join(sigDir, 'signature-1'));
    assert.equal((await writeLookasideSignature(url, DIGEST, bytes('c'))).index, 1);
    assert.deepEqual(
      (await readLookasideSignatures(url, DIGEST)).map((s) => Buffer.from(s.blob).toString()),
      ['c', 'b'],
    );
    assert.deepEqual((await readdir(sigDir)).sort(), ['signature-1', 'signature-2']);
  });

  test('concurrent writers each get their own N: no signature is lost', async () => {
    const { url } = store();
    const blobs = Array.from({ length: 24 }, (_, i) => bytes(`signature ${i}`));
    const written = await Promise.all(
      blobs.map((blob) => writeLookasideSignature(url, DIGEST, blob)),
    );
    assert.deepEqual(
      written.map((w) => w.index).sort((a, b) => a - b),
      Array.from({ length: 24 }, (_, i) => i + 1),
    );
    const read = (await readLookasideSignatures(url, DIGEST)).map((s) =>
      Buffer.from(s.blob).toString(),
    );
    assert.deepEqual(read.sort(), blobs.map((b) => Buffer.from(b).toString()).sort());
  });

  test('a full store refuses another signature rather than write one no reader reads', async () => {
    const { url } = store();
    for (let i = 0; i < 2; i++)
      await writeLookasideSignature(url, DIGEST, bytes(`${i}`), { maxSignatures: 3 });
    await assert.rejects(
      writeLookasideSignature(url, DIGEST, bytes('x'), { maxSignatures: 3 }),
      code('LOOKASIDE_TOO_MANY_SIGNATURES', 'invalid'),
    );
  });

  test('reading refuses 128 signatures or more, as containers/image gives up after reading 128', async () => {
    const { url, sigDir } = store();
    await mkdir(sigDir, { recursive: true });
    for (let i = 1; i <= 128; i++) await writeFile(join(sigDir, `signature-${i}`), 's');
    await assert.rejects(
      readLookasideSignatures(url, DIGEST),
      code('LOOKASIDE_TOO_MANY_SIGNATURES', 'denied'),
    );
    await rm(join(sigDir, 'signature-128'));
    assert.equal((await readLookasideSignatures(url, DIGEST)).length, 127);
  });

  test('an oversized signature, or too many bytes together, is refused', async () => {
    const { url, sigDir } = store();
    await mkdir(sigDir, { recursive: true });
    await writeFile(join(sigDir, 'signature-1'), Buffer.alloc(100));
    await writeFile(join(sigDir, 'signature-2'), Buffer.alloc(100));
    await assert.rejects(
      readLookasideSignatures(url, DIGEST, { maxSignatureBytes: 99 }),
      code('LOOKASIDE_SIGNATURE_TOO_LARGE', 'denied'),
    );
    await assert.rejects(
      readLookasideSignatures(url, DIGEST, { maxTotalBytes: 150 }),
      (error: unknown) =>
        code('LOOKASIDE_SIGNATURE_TOO_LARGE', 'denied')(error) && /together/.test(String(error)),
    );
  });

  test('a FIFO or a directory where a signature should be is an error, not a hang or the end', async () => {
    const { url, sigDir } = store();
    await mkdir(join(sigDir, 'signature-2'), { recursive: true });
    await writeFile(join(sigDir, 'signature-1'), 's');
    await assert.rejects(
      readLookasideSignatures(url, DIGEST),
      code('LOOKASIDE_UNAVAILABLE', 'unavailable'),
    );
    const other = store();
    await mkdir(other.sigDir, { recursive: true });
    execFileSync('mkfifo', [join(other.sigDir, 'signature-1')]);
    await assert.rejects(
      readLookasideSignatures(other.url, DIGEST),
      code('LOOKASIDE_UNAVAILABLE', 'unavailable'),
    );
  });

  test('symbolic links are followed, as os.ReadFile follows them', async () => {
    const { url, sigDir } = store();
    await mkdir(sigDir, { recursive: true });
    await writeFile(join(dir, 'elsewhere'), 'linked');
    await symlink(join(dir, 'elsewhere'), join(sigDir, 'signature-1'));
    const [found] = await readLookasideSignatures(url, DIGEST);
    assert.equal(Buffer.from(found?.blob ?? []).toString(), 'linked');
  });

  test('writing to an https lookaside is refused: containers/image asks for lookaside-staging', async () => {
    const url = lookasideRepositoryUrl('https://lookaside.example.com/sigs', 'r', 'cfg');
    await assert.rejects(
      writeLookasideSignature(url, DIGEST, bytes('x')),
      (error: unknown) =>
        code('LOOKASIDE_READ_ONLY', 'invalid')(error) && /lookaside-staging/.test(String(error)),
    );
  });

  test('a stopped read says so', async () => {
    const { url } = store();
    await assert.rejects(
      readLookasideSignatures(url, DIGEST, { signal: AbortSignal.abort(new Error('stop')) }),
      code('ABORTED', 'unavailable'),
    );
  });
});
