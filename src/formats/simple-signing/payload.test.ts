/**
 * The atomic container signature payload against containers/image's own
 * tests (signature/simple_test.go TestMarshalJSON, TestUnmarshalJSON).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectError } from '../../../test/helpers/assertions.ts';
import {
  ATOMIC_SIGNATURE_TYPE,
  buildAtomicSignaturePayload,
  parseAtomicSignaturePayload,
} from './payload.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

/** A valid payload as a mutable object, for the corruption cases. */
type Doc = Record<string, unknown>;
function valid(): Doc {
  return {
    critical: {
      identity: { 'docker-reference': 'reference#@!' },
      image: { 'docker-manifest-digest': DIGEST },
      type: ATOMIC_SIGNATURE_TYPE,
    },
    optional: { creator: 'CREATOR', timestamp: 1484683104 },
  };
}
const at = (doc: Doc, ...path: string[]) => path.reduce((object, key) => object[key] as Doc, doc);

describe('buildAtomicSignaturePayload', () => {
  test('writes what containers/image writes (simple_test.go TestMarshalJSON)', () => {
    assert.equal(
      text(
        buildAtomicSignaturePayload({
          dockerManifestDigest: DIGEST,
          dockerReference: 'reference#@!',
          creator: 'CREATOR',
          timestamp: 1484683104,
        }),
      ),
      `{"critical":{"identity":{"docker-reference":"reference#@!"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"atomic container signature"},"optional":{"creator":"CREATOR","timestamp":1484683104}}`,
    );
    assert.equal(
      text(
        buildAtomicSignaturePayload({
          dockerManifestDigest: DIGEST,
          dockerReference: 'reference#@!',
        }),
      ),
      `{"critical":{"identity":{"docker-reference":"reference#@!"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"atomic container signature"},"optional":{}}`,
    );
  });

  test("escapes as Go's encoding/json does", () => {
    const written = text(
      buildAtomicSignaturePayload({
        dockerManifestDigest: DIGEST,
        dockerReference: 'a<b>&c',
        creator: 'x\u2028',
      }),
    );
    assert.ok(written.includes('"a\\u003cb\\u003e\\u0026c"'), written);
    assert.ok(written.includes('"x\\u2028"'), written);
  });

  test('refuses empty values (simple_test.go TestMarshalJSON "Empty string values")', () => {
    assert.throws(
      () => buildAtomicSignaturePayload({ dockerManifestDigest: DIGEST, dockerReference: '' }),
      expectError('invalid', 'INVALID_SIGNATURE_INPUT'),
    );
    assert.throws(
      () => buildAtomicSignaturePayload({ dockerManifestDigest: '', dockerReference: 'r' }),
      expectError('invalid', 'INVALID_SIGNATURE_INPUT'),
    );
    assert.throws(
      () =>
        buildAtomicSignaturePayload({
          dockerManifestDigest: DIGEST,
          dockerReference: 'r',
          timestamp: 1.5,
        }),
      expectError('invalid', 'INVALID_SIGNATURE_INPUT'),
    );
  });

  test('reads back what it writes', () => {
    const payload = parseAtomicSignaturePayload(
      buildAtomicSignaturePayload({
        dockerManifestDigest: DIGEST,
        dockerReference: 'example.com/a:b',
        creator: 'vouch 0.1.0',
        timestamp: 1700000000,
      }),
    );
    assert.deepEqual(payload, {
      dockerManifestDigest: DIGEST,
      dockerReference: 'example.com/a:b',
      creator: 'vouch 0.1.0',
      timestamp: 1700000000,
    });
  });
});

describe('parseAtomicSignaturePayload (simple_test.go TestUnmarshalJSON)', () => {
  const parse = (doc: unknown) => parseAtomicSignaturePayload(bytes(JSON.stringify(doc)));

  test('accepts a valid payload and the optional fields missing', () => {
    assert.deepEqual(parse(valid()), {
      dockerManifestDigest: DIGEST,
      dockerReference: 'reference#@!',
      creator: 'CREATOR',
      timestamp: 1484683104,
    });
    const bare = valid();
    bare.optional = {};
    assert.deepEqual(parse(bare), {
      dockerManifestDigest: DIGEST,
      dockerReference: 'reference#@!',
    });
  });

  test('allows and ignores unknown members of optional', () => {
    const doc = valid();
    at(doc, 'optional').unexpected = 1;
    at(doc, 'optional').Creator = 1; // another key to containers/image, ignored
    assert.equal(parse(doc).creator, 'CREATOR');
  });

  test('accepts an integral timestamp written as a float, as Go reads a float64', () => {
    const payload = parseAtomicSignaturePayload(
      bytes(
        `{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"atomic container signature"},"optional":{"timestamp":1.5e9}}`,
      ),
    );
    assert.equal(payload.timestamp, 1.5e9);
  });

  const corruptions: [string, (doc: Doc) => void][] = [
    ['a top-level field missing (critical)', (v) => delete v.critical],
    ['a top-level field missing (optional)', (v) => delete v.optional],
    ['an extra top-level member', (v) => (v.unexpected = 1)],
    ['critical not an object', (v) => (v.critical = 1)],
    ['optional not an object', (v) => (v.optional = 1)],
    ['optional null', (v) => (v.optional = null)],
    ['critical.type missing', (v) => delete at(v, 'critical').type],
    ['critical.image missing', (v) => delete at(v, 'critical').image],
    ['critical.identity missing', (v) => delete at(v, 'critical').identity],
    ['an extra member of critical', (v) => (at(v, 'critical').unexpected = 1)],
    ['type not a string', (v) => (at(v, 'critical').type = 1)],
    ['type unexpected', (v) => (at(v, 'critical').type = 'unexpected')],
    ['cosign type', (v) => (at(v, 'critical').type = 'cosign container image signature')],
    ['image not an object', (v) => (at(v, 'critical').image = 1)],
    [
      'docker-manifest-digest missing',
      (v) => delete at(v, 'critical', 'image')['docker-manifest-digest'],
    ],
    ['an extra member of image', (v) => (at(v, 'critical', 'image').unexpected = 1)],
    [
      'docker-manifest-digest not a string',
      (v) => (at(v, 'critical', 'image')['docker-manifest-digest'] = 1),
    ],
    [
      'docker-manifest-digest invalid',
      (v) => (at(v, 'critical', 'image')['docker-manifest-digest'] = 'sha256:../..'),
    ],
    ['identity not an object', (v) => (at(v, 'critical').identity = 1)],
    ['docker-reference missing', (v) => delete at(v, 'critical', 'identity')['docker-reference']],
    ['an extra member of identity', (v) => (at(v, 'critical', 'identity').unexpected = 1)],
    [
      'docker-reference not a string',
      (v) => (at(v, 'critical', 'identity')['docker-reference'] = 1),
    ],
    ['docker-reference null', (v) => (at(v, 'critical', 'identity')['docker-reference'] = null)],
    ['creator not a string', (v) => (at(v, 'optional').creator = 1)],
    ['timestamp not a number', (v) => (at(v, 'optional').timestamp = 'unexpected')],
    ['timestamp fractional', (v) => (at(v, 'optional').timestamp = 0.5)],
    ['timestamp beyond int64', (v) => (at(v, 'optional').timestamp = 2 ** 64)],
    [
      'a case variant of docker-manifest-digest',
      (v) => {
        const image = at(v, 'critical', 'image');
        delete image['docker-manifest-digest'];
        image['Docker-Manifest-Digest'] = DIGEST;
      },
    ],
  ];
  for (const [name, corrupt] of corruptions) {
    test(`refuses ${name}`, () => {
      const doc = valid();
      corrupt(doc);
      assert.throws(() => parse(doc), expectError('denied', 'SIMPLE_SIGNING_INVALID'));
    });
  }

  test('refuses what is not JSON, not an object, and duplicate keys anywhere', () => {
    for (const input of [
      '&',
      '1',
      '',
      `{"critical":{"identity":{"docker-reference":"a","docker-reference":"b"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"atomic container signature"},"optional":{}}`,
      `{"critical":{"identity":{"docker-reference":"a"},"image":{"docker-manifest-digest":"${DIGEST}","docker-manifest-digest":"${DIGEST}"},"type":"atomic container signature"},"optional":{}}`,
      `{"critical":{"identity":{"docker-reference":"a"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"atomic container signature"},"optional":{"x":1,"x":2}}`,
      `{"optional":{},"critical":{"identity":{"docker-reference":"a"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"atomic container signature"},"optional":{}}`,
    ]) {
      assert.throws(
        () => parseAtomicSignaturePayload(bytes(input)),
        expectError('denied', 'SIMPLE_SIGNING_INVALID'),
        input,
      );
    }
  });

  test('refuses nesting past the depth cap in optional', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const input = `{"critical":{"identity":{"docker-reference":"a"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"atomic container signature"},"optional":{"x":${deep}}}`;
    assert.throws(
      () => parseAtomicSignaturePayload(bytes(input)),
      expectError('denied', 'SIMPLE_SIGNING_INVALID', 'nesting'),
    );
  });
});
