import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { Digest } from '../oci/digest.ts';
import type { CliIO } from './io.ts';
import { copyProgress, formatBytes } from './progress.ts';

function io(isTTY: boolean): { io: CliIO; written: () => string } {
  const stderr = Object.assign(new PassThrough(), { isTTY, columns: 80 });
  let text = '';
  stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return {
    io: { env: {}, stdin: new PassThrough(), stdout: new PassThrough(), stderr },
    written: () => text,
  };
}

const blob = {
  mediaType: 'application/octet-stream',
  digest: `sha256:${'a'.repeat(64)}` as Digest,
  size: 2048,
};

test('copyProgress draws one rewritten line on a terminal and clears it at the end', () => {
  const terminal = io(true);
  const progress = copyProgress(terminal.io, 'copying app');
  progress.onEvent({ type: 'blob-start', descriptor: blob });
  progress.onEvent({ type: 'blob-done', descriptor: blob, outcome: 'copied' });
  progress.onEvent({ type: 'manifest', descriptor: blob });
  progress.finish();
  const text = terminal.written();
  const clear = '\r\u001b[K';
  assert.ok(
    text.includes(`${clear}copying app: blobs 1/1, 2.0 KiB of 2.0 KiB, manifests 1`),
    JSON.stringify(text),
  );
  assert.ok(text.endsWith(clear), 'the line is cleared when the copy ends');
  assert.ok(!text.includes('\n'), 'progress never scrolls the terminal');
});

test('copyProgress writes nothing when stderr is not a terminal', () => {
  const pipe = io(false);
  const progress = copyProgress(pipe.io, 'copying app');
  progress.onEvent({ type: 'blob-start', descriptor: blob });
  progress.onEvent({ type: 'blob-done', descriptor: blob, outcome: 'copied' });
  progress.finish();
  assert.equal(pipe.written(), '');
});

test('formatBytes uses binary units', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(5 * 1024 * 1024 * 1024), '5.0 GiB');
});
