import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { hasCode, isVouchError } from '../core/errors.ts';
import {
  createDigester,
  digestAlgorithm,
  digestHex,
  digestOf,
  isDigest,
  parseDigest,
} from './digest.ts';

const SHA256_EMPTY = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SHA512_EMPTY =
  'sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';

const INVALID = [
  '',
  'sha256',
  'sha256:',
  `sha256:${'a'.repeat(63)}`,
  `sha256:${'a'.repeat(65)}`,
  `sha256:${'A'.repeat(64)}`,
  `SHA256:${'a'.repeat(64)}`,
  `sha256:${'g'.repeat(64)}`,
  `sha256:${'a'.repeat(128)}`,
  `sha512:${'a'.repeat(64)}`,
  `sha384:${'a'.repeat(96)}`,
  `md5:${'a'.repeat(32)}`,
  `blake3:${'a'.repeat(64)}`,
  ` sha256:${'a'.repeat(64)}`,
  `sha256:${'a'.repeat(64)}\n`,
  `sha256:${'a'.repeat(64)} `,
  `sha256+b64u:${'a'.repeat(64)}`,
  `sha256:${'a'.repeat(64)}:extra`,
];

describe('digests', () => {
  test('digestOf hashes exact bytes, sha256 by default', () => {
    assert.equal(digestOf(new Uint8Array(0)), SHA256_EMPTY);
    assert.equal(digestOf(new Uint8Array(0), 'sha512'), SHA512_EMPTY);
    const text = Buffer.from('{"a":1}');
    assert.equal(digestOf(text), `sha256:${createHash('sha256').update(text).digest('hex')}`);
    assert.notEqual(digestOf(Buffer.from('{"a":1}')), digestOf(Buffer.from('{"a": 1}')));
  });

  test('parseDigest accepts sha256 and sha512 in canonical form', () => {
    assert.equal(parseDigest(SHA256_EMPTY), SHA256_EMPTY);
    assert.equal(parseDigest(SHA512_EMPTY), SHA512_EMPTY);
    assert.ok(isDigest(SHA256_EMPTY));
    assert.ok(isDigest(SHA512_EMPTY));
  });

  for (const input of INVALID) {
    test(`refuses ${JSON.stringify(input.length > 40 ? `${input.slice(0, 37)}...` : input)}`, () => {
      assert.equal(isDigest(input), false);
      assert.throws(
        () => parseDigest(input),
        (error: unknown) => hasCode(error, 'INVALID_DIGEST') && error.category === 'invalid',
      );
    });
  }

  test('a very long input is truncated in the message', () => {
    assert.throws(
      () => parseDigest(`sha256:${'z'.repeat(10_000)}`),
      (error: unknown) => isVouchError(error) && error.message.length < 200,
    );
  });

  test('algorithm and hex', () => {
    const digest = parseDigest(SHA512_EMPTY);
    assert.equal(digestAlgorithm(digest), 'sha512');
    assert.equal(digestHex(digest), SHA512_EMPTY.slice('sha512:'.length));
  });

  test('an incremental digester equals the one-shot digest, however the bytes are cut', () => {
    const data = Buffer.from('the quick brown fox jumps over the lazy dog'.repeat(100));
    for (const algorithm of ['sha256', 'sha512'] as const) {
      for (const size of [1, 7, 64, data.byteLength]) {
        const digester = createDigester(algorithm);
        for (let i = 0; i < data.byteLength; i += size) digester.update(data.subarray(i, i + size));
        assert.equal(digester.digest(), digestOf(data, algorithm));
      }
    }
  });
});
