import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchedLines } from './batched-lines.ts';

/** A stream that records each write separately. */
function recorder(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  return { stream, writes };
}

describe('BatchedLines', () => {
  it('holds lines until flushMs has passed, then writes them in one write, in order', async () => {
    const { stream, writes } = recorder();
    const lines = new BatchedLines(stream, { flushMs: 30, maxBytes: 1024 });
    lines.write('a\n');
    lines.write('b\n');
    lines.write('c\n');
    await sleep(5);
    assert.deepEqual(writes, [], 'nothing is written before flushMs');
    await sleep(60);
    assert.deepEqual(writes, ['a\nb\nc\n']);
    lines.write('d\n');
    await sleep(60);
    assert.deepEqual(writes, ['a\nb\nc\n', 'd\n'], 'a later line starts a new batch');
  });

  it('writes at once when maxBytes are waiting', () => {
    const { stream, writes } = recorder();
    const lines = new BatchedLines(stream, { flushMs: 60_000, maxBytes: 10 });
    lines.write('12345\n');
    assert.deepEqual(writes, []);
    lines.write('67890\n');
    assert.deepEqual(writes, ['12345\n67890\n']);
    lines.write('x\n');
    lines.flush();
    assert.deepEqual(writes, ['12345\n67890\n', 'x\n']);
  });

  it('flush writes nothing when nothing waits, and cancels the pending timer', async () => {
    const { stream, writes } = recorder();
    const lines = new BatchedLines(stream, { flushMs: 20, maxBytes: 1024 });
    lines.flush();
    lines.write('a\n');
    lines.flush();
    await sleep(50);
    assert.deepEqual(writes, ['a\n'], 'the timer found nothing left to write');
  });

  for (const [how, ending] of [
    ['process.exit', 'process.exit(3);'],
    ['an uncaught exception', "throw new Error('boom');"],
    ['the event loop running dry', 'process.exitCode = 3;'],
  ] as const) {
    it(`loses no line when the process ends by ${how} before the batch is due`, async () => {
      const script = `
        import { BatchedLines } from ${JSON.stringify(new URL('./batched-lines.ts', import.meta.url).href)};
        const lines = new BatchedLines(process.stdout, { flushMs: 60_000, maxBytes: 1 << 20 });
        lines.flushOnExit();
        for (let i = 0; i < 1000; i++) lines.write(JSON.stringify({ i }) + '\\n');
        ${ending}
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const code = await new Promise((resolve) => child.once('close', resolve));
      assert.equal(code, ending.startsWith('throw') ? 1 : 3);
      const received = out.split('\n').filter((line) => line !== '');
      assert.equal(received.length, 1000);
      assert.deepEqual(JSON.parse(received[999] as string), { i: 999 });
    });
  }
});
