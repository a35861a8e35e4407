import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, type X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as pkijs from 'pkijs';
import { expectError } from '../../../test/helpers/assertions.ts';
import { createTestTsa, type TestTsa } from '../../../test/helpers/tsa.ts';
import {
  checkTimestampResponse,
  parseTimestampRoot,
  timestampRequest,
} from './timestamp-authority.ts';

const refused = (fragment: string) =>
  expectError('denied', 'NOTATION_TSA_RESPONSE_INVALID', fragment);

describe('the timestamp authority exchange (notation sign --timestamp-url)', () => {
  let tsa: TestTsa;
  let root: X509Certificate;
  let other: X509Certificate;
  const signature = randomBytes(256);

  before(async () => {
    tsa = await createTestTsa();
    root = parseTimestampRoot(readFileSync(tsa.rootFile), tsa.rootFile);
    other = parseTimestampRoot(readFileSync(tsa.otherRootFile), tsa.otherRootFile);
  });
  after(async () => {
    await tsa?.remove();
  });

  test('asks for the hash of the signature with the algorithm’s hash, the certificate, and a nonce', () => {
    for (const [algorithm, hash] of [
      ['PS256', 'sha256'],
      ['ES384', 'sha384'],
      ['PS512', 'sha512'],
    ] as const) {
      const request = timestampRequest(signature, algorithm);
      assert.equal(request.hash, hash);
      assert.deepEqual(
        request.imprint,
        new Uint8Array(createHash(hash).update(signature).digest()),
      );
      const parsed = pkijs.TimeStampReq.fromBER(request.der);
      assert.equal(parsed.version, 1);
      assert.equal(parsed.certReq, true);
      assert.equal(parsed.nonce?.toBigInt(), request.nonce);
      assert.ok(request.nonce > 0n && request.nonce < 2n ** 159n);
      assert.deepEqual(
        new Uint8Array(parsed.messageImprint.hashedMessage.valueBlock.valueHexView),
        new Uint8Array(request.imprint),
      );
    }
    assert.notEqual(
      timestampRequest(signature, 'ES256').nonce,
      timestampRequest(signature, 'ES256').nonce,
    );
  });

  test('takes openssl’s answer and returns its token, which stamps the signature', async () => {
    const request = timestampRequest(signature, 'PS256');
    const response = await tsa.reply(request.der);
    const { token, genTime } = checkTimestampResponse(response, request, [root], new Date());
    assert.ok(Math.abs(genTime.getTime() - Date.now()) < 60_000);
    // The token is the TimeStampToken openssl put in the answer, byte for byte.
    const responseFile = join(tsa.dir, 'response.tsr');
    const tokenFile = join(tsa.dir, 'token.der');
    writeFileSync(responseFile, response);
    execFileSync(
      'openssl',
      ['ts', '-reply', '-in', responseFile, '-token_out', '-out', tokenFile],
      {
        stdio: 'ignore',
      },
    );
    assert.deepEqual(token, new Uint8Array(readFileSync(tokenFile)));
  });

  test('refuses an answer over other bytes, to another nonce, from another root', async () => {
    const request = timestampRequest(signature, 'PS256');
    assert.throws(
      () => checkTimestampResponse(new Uint8Array(0), request, [root], new Date()),
      refused('not valid ASN.1'),
    );
    const overOther = await tsa.replyOverOtherBytes();
    assert.throws(
      () => checkTimestampResponse(overOther, request, [root], new Date()),
      refused('stamps other bytes than this signature'),
    );
    const again = timestampRequest(signature, 'PS256');
    const answer = await tsa.reply(again.der);
    assert.throws(
      () =>
        checkTimestampResponse(answer, { ...again, nonce: again.nonce + 1n }, [root], new Date()),
      refused('nonce'),
    );
    assert.throws(
      () => checkTimestampResponse(answer, again, [other], new Date()),
      refused('does not chain to the timestamp root certificate given'),
    );
    assert.throws(
      () => checkTimestampResponse(answer, again, [root], new Date(Date.now() + 10 * 86_400_000)),
      refused('is not valid now'),
    );
    assert.throws(
      () => checkTimestampResponse(new Uint8Array([...answer, 0]), again, [root], new Date()),
      refused('bytes after it'),
    );
  });

  test('takes an RSA TSA’s answer as well', async () => {
    const rsa = await createTestTsa({ key: 'rsa' });
    try {
      const request = timestampRequest(signature, 'ES384');
      const rsaRoot = parseTimestampRoot(readFileSync(rsa.rootFile), rsa.rootFile);
      const answer = await rsa.reply(request.der);
      assert.ok(
        checkTimestampResponse(answer, request, [rsaRoot], new Date()).token.byteLength > 0,
      );
      assert.throws(
        () => checkTimestampResponse(answer, request, [root], new Date()),
        refused('does not chain'),
      );
    } finally {
      await rsa.remove();
    }
  });

  test('refuses an answer that does not grant the request', async () => {
    const sha512Only = await createTestTsa({ digests: 'sha512' });
    try {
      const request = timestampRequest(signature, 'ES256');
      const answer = await sha512Only.reply(request.der);
      assert.throws(
        () => checkTimestampResponse(answer, request, [root], new Date()),
        refused('did not grant the request (status 2'),
      );
    } finally {
      await sha512Only.remove();
    }
  });

  test('the root is one self-signed certificate, PEM or DER', () => {
    const pem = readFileSync(tsa.rootFile);
    assert.equal(
      parseTimestampRoot(new Uint8Array(root.raw), 'root.der').fingerprint256,
      root.fingerprint256,
    );
    const rootError = (fragment: string) =>
      expectError('invalid', 'NOTATION_TSA_ROOT_INVALID', fragment);
    assert.throws(
      () => parseTimestampRoot(Buffer.concat([pem, readFileSync(tsa.otherRootFile)]), 'two.pem'),
      rootError('more than one certificate'),
    );
    assert.throws(
      () => parseTimestampRoot(readFileSync(join(tsa.dir, 'tsa.pem')), 'tsa.pem'),
      rootError('not a root certificate'),
    );
    assert.throws(() => parseTimestampRoot(randomBytes(40), 'junk'), rootError('not an X.509'));
  });
});
