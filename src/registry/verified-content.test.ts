import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { digestOf } from '../oci/digest.ts';
import { collect, verifyContent } from './verified-content.ts';

async function* from(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

const bytes = (text: string) => Buffer.from(text);
const CHUNKS = [bytes('alpha-'), bytes('beta-'), bytes('gamma')];
const WHOLE = Buffer.concat(CHUNKS);
const GOOD = { digest: digestOf(WHOLE), size: WHOLE.byteLength };

/** Reads the stream, recording each chunk as a consumer writing to disk would. */
async function consume(
  source: AsyncIterable<Uint8Array>,
): Promise<{ seen: Uint8Array[]; error?: unknown }> {
  const seen: Uint8Array[] = [];
  try {
    for await (const chunk of source) seen.push(chunk);
    return { seen };
  } catch (error) {
    return { seen, error };
  }
}

describe('verifyContent', () => {
  test('passes matching content through, chunk for chunk', async () => {
    const { seen, error } = await consume(verifyContent(from(CHUNKS), GOOD, 'test'));
    assert.equal(error, undefined);
    assert.deepEqual(
      seen.map((c) => Buffer.from(c).toString()),
      ['alpha-', 'beta-', 'gamma'],
    );
  });

  test('the last chunk is withheld until size and digest are verified', async () => {
    const events: string[] = [];
    async function* source(): AsyncGenerator<Uint8Array> {
      for (const chunk of CHUNKS) {
        events.push(`source ${Buffer.from(chunk).toString()}`);
        yield chunk;
      }
      events.push('source end');
    }
    for await (const chunk of verifyContent(source(), GOOD, 'test')) {
      events.push(`consumer ${Buffer.from(chunk).toString()}`);
    }
    assert.deepEqual(events, [
      'source alpha-',
      'source beta-',
      'consumer alpha-',
      'source gamma',
      'consumer beta-',
      'source end',
      'consumer gamma',
    ]);
  });

  test('wrong content: DIGEST_MISMATCH, and the consumer never gets the last chunk', async () => {
    const other = [bytes('alpha-'), bytes('beta-'), bytes('GAMMA')];
    const { seen, error } = await consume(verifyContent(from(other), GOOD, 'reg/app'));
    expectError('denied', 'DIGEST_MISMATCH', 'reg/app')(error);
    assert.equal(seen.length, 2);
    assert.ok(seen.reduce((n, c) => n + c.byteLength, 0) < WHOLE.byteLength);
  });

  test('a single wrong chunk: the consumer sees nothing at all', async () => {
    const { seen, error } = await consume(
      verifyContent(from([bytes('xxxxxxxxxxxxxxxx')]), GOOD, 'test'),
    );
    expectError('denied', 'DIGEST_MISMATCH')(error);
    assert.deepEqual(seen, []);
  });

  test('more bytes than the descriptor: BLOB_TOO_LARGE as soon as the size is passed', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        pulled += 1;
        yield bytes('0123456789');
      }
    }
    const { error } = await consume(
      verifyContent(endless(), { digest: GOOD.digest, size: 25 }, 'test'),
    );
    expectError('denied', 'BLOB_TOO_LARGE', '25 bytes')(error);
    assert.equal(pulled, 3, 'stopped at the first chunk past the size');
  });

  test('fewer bytes than the descriptor: BLOB_SIZE_MISMATCH', async () => {
    const { seen, error } = await consume(verifyContent(from(CHUNKS.slice(0, 2)), GOOD, 'test'));
    expectError('denied', 'BLOB_SIZE_MISMATCH', `says ${WHOLE.byteLength}`)(error);
    assert.equal(seen.length, 1);
  });

  test('an empty blob verifies, and an empty stream for a non-empty blob does not', async () => {
    const empty = { digest: digestOf(new Uint8Array(0)), size: 0 };
    assert.deepEqual((await consume(verifyContent(from([]), empty, 'test'))).seen, []);
    const { error } = await consume(verifyContent(from([]), GOOD, 'test'));
    expectError('denied', 'BLOB_SIZE_MISMATCH')(error);
  });

  test('sha512 descriptors are checked with sha512', async () => {
    const sha512 = { digest: digestOf(WHOLE, 'sha512'), size: WHOLE.byteLength };
    assert.equal((await consume(verifyContent(from(CHUNKS), sha512, 'test'))).error, undefined);
    const wrong = { digest: digestOf(bytes('other'), 'sha512'), size: WHOLE.byteLength };
    expectError(
      'denied',
      'DIGEST_MISMATCH',
    )((await consume(verifyContent(from(CHUNKS), wrong, 'test'))).error);
  });

  test('a failing source fails the stream with its own error', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield bytes('alpha-');
      throw new Error('disk on fire');
    }
    const { seen, error } = await consume(verifyContent(broken(), GOOD, 'test'));
    assert.deepEqual(seen, []);
    assert.equal((error as Error).message, 'disk on fire');
  });

  test('a consumer that stops early closes the source', async () => {
    let closed = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        yield* from(CHUNKS);
      } finally {
        closed = true;
      }
    }
    for await (const _chunk of verifyContent(source(), GOOD, 'test')) break;
    assert.equal(closed, true);
  });
});

describe('collect', () => {
  test('joins the chunks', async () => {
    const whole = await collect(from(CHUNKS), 100, () => new Error('too large'));
    assert.deepEqual(Buffer.from(whole), WHOLE);
  });

  test('exactly the limit is fine; one byte more is refused without reading further', async () => {
    assert.equal(
      (await collect(from(CHUNKS), WHOLE.byteLength, () => new Error('x'))).byteLength,
      WHOLE.byteLength,
    );
    let pulled = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for (const chunk of CHUNKS) {
        pulled += 1;
        yield chunk;
      }
    }
    await assert.rejects(
      collect(counted(), 10, () => new Error('too large')),
      /too large/,
    );
    assert.equal(pulled, 2);
  });
});
