import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parseContainersSignature } from './containers-signature.ts';
import { BUNDLE_ANNOTATION, SIGNATURE_ANNOTATION } from './cosign-signature.ts';
import { decodeStdBase64 } from '../core/base64.ts';
import { parseRekorBundle, parseRekorEntry } from './rekor.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures/containers-image');
const skip = existsSync(FIXTURES)
  ? false
  : `containers/image fixtures not found at ${FIXTURES} (they live outside the repository)`;

describe('Rekor bundle annotation', { skip }, () => {
  const signature = () =>
    parseContainersSignature(
      readFileSync(resolve(FIXTURES, 'dir-img-cosign-key-rekor-valid/signature-1')),
    );

  test('the key-rekor fixture: payload fields, and a hashedrekord of this signature and key', () => {
    const { annotations, payload } = signature();
    const bundle = parseRekorBundle(annotations[BUNDLE_ANNOTATION] as string);
    assert.equal(bundle.payload.integratedTime, 1674251859);
    assert.equal(bundle.payload.logIndex, 11608800);
    assert.equal(
      bundle.payload.logID,
      'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d',
    );
    assert.ok(bundle.signedEntryTimestamp.byteLength > 64);
    const entry = parseRekorEntry(decodeStdBase64(bundle.payload.body) as Uint8Array);
    assert.ok(!('unsupported' in entry));
    assert.equal(entry.hashAlgorithm, 'sha256');
    assert.equal(entry.hashValue, createHash('sha256').update(payload).digest('hex'));
    assert.deepEqual(
      Buffer.from(entry.signature),
      Buffer.from(annotations[SIGNATURE_ANNOTATION] as string, 'base64'),
    );
    assert.equal(
      Buffer.from(entry.publicKey).toString(),
      readFileSync(resolve(FIXTURES, 'cosign2.pub'), 'utf8'),
    );
  });

  test('other entry kinds are reported, not parsed', () => {
    const body = new TextEncoder().encode('{"apiVersion":"0.0.1","kind":"dsse","spec":{}}');
    assert.deepEqual(parseRekorEntry(body), {
      kind: 'dsse',
      apiVersion: '0.0.1',
      unsupported: true,
    });
  });
});
