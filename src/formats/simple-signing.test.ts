import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isVouchError } from '../core/errors.ts';
import { parseReference } from '../oci/reference.ts';
import {
  buildSimpleSigningPayload,
  COSIGN_SIGNATURE_TYPE,
  cosignDockerReference,
  parseSimpleSigningPayload,
  type SimpleSigningPayload,
  unmatchedAnnotations,
} from './simple-signing.ts';

const DIGEST = 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00';
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

function rejected(fragment: string) {
  return (error: unknown): boolean => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, 'SIMPLE_SIGNING_INVALID', error.message);
    assert.equal(error.category, 'denied');
    assert.ok(error.message.includes(fragment), `"${fragment}" not in: ${error.message}`);
    return true;
  };
}

function invalidInput(error: unknown): boolean {
  assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
  assert.equal(error.category, 'invalid', error.message);
  return true;
}

describe('buildSimpleSigningPayload', () => {
  test('writes the bytes cosign writes, with "optional":null when there are no annotations', () => {
    // containers/image signature/fixtures/dir-img-cosign-valid/signature-1 (made by cosign).
    const expected =
      '{"critical":{"identity":{"docker-reference":"192.168.64.2:5000/cosign-signed-single-sample"},' +
      `"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},` +
      '"optional":null}';
    const input = {
      dockerReference: '192.168.64.2:5000/cosign-signed-single-sample',
      dockerManifestDigest: DIGEST,
    };
    assert.equal(text(buildSimpleSigningPayload(input)), expected);
    assert.equal(text(buildSimpleSigningPayload({ ...input, annotations: {} })), expected);
  });

  test('sorts annotations byte-wise and escapes as Go does', () => {
    const payload = buildSimpleSigningPayload({
      dockerReference: 'example.com/a&b',
      dockerManifestDigest: DIGEST,
      annotations: {
        zeta: 'last',
        '10': 'integer-like keys sort as strings',
        '\u{1F600}': 'astral after U+FFFD in UTF-8 order',
        '\uFFFD': 'replacement character',
        html: '<script>&</script>',
        control: 'tab\there, nul\u0000, bell\u0007, bs\b, ff\f, del\u007f',
        separators: 'line\u2028para\u2029',
        quote: '"\\/',
        accent: 'é',
      },
    });
    const expected =
      '{"critical":{"identity":{"docker-reference":"example.com/a\\u0026b"},' +
      `"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},` +
      '"optional":{' +
      '"10":"integer-like keys sort as strings",' +
      '"accent":"é",' +
      '"control":"tab\\there, nul\\u0000, bell\\u0007, bs\\b, ff\\f, del\u007f",' +
      '"html":"\\u003cscript\\u003e\\u0026\\u003c/script\\u003e",' +
      '"quote":"\\"\\\\/",' +
      '"separators":"line\\u2028para\\u2029",' +
      '"zeta":"last",' +
      '"\uFFFD":"replacement character",' +
      '"\u{1F600}":"astral after U+FFFD in UTF-8 order"' +
      '}}';
    assert.equal(text(payload), expected);
    // And it is what it says: plain JSON readers see the same values.
    const parsed = parseSimpleSigningPayload(payload);
    assert.equal(parsed.dockerReference, 'example.com/a&b');
    assert.equal(parsed.optional?.html, '<script>&</script>');
  });

  test('refuses input it cannot write faithfully', () => {
    const ok = { dockerReference: 'example.com/app', dockerManifestDigest: DIGEST };
    assert.throws(() => buildSimpleSigningPayload({ ...ok, dockerReference: '' }), invalidInput);
    assert.throws(
      () => buildSimpleSigningPayload({ ...ok, dockerManifestDigest: 'sha256:abc' }),
      invalidInput,
    );
    assert.throws(
      () => buildSimpleSigningPayload({ ...ok, annotations: { key: 'lone \uD800 surrogate' } }),
      invalidInput,
    );
    assert.throws(
      () => buildSimpleSigningPayload({ ...ok, annotations: { n: 1 as unknown as string } }),
      invalidInput,
    );
  });
});

describe('cosignDockerReference', () => {
  test("is go-containerregistry's Repository.Name(): no tag, Docker Hub as index.docker.io", () => {
    assert.equal(
      cosignDockerReference(parseReference('ubuntu:22.04')),
      'index.docker.io/library/ubuntu',
    );
    assert.equal(
      cosignDockerReference(parseReference('docker.io/user/app')),
      'index.docker.io/user/app',
    );
    assert.equal(
      cosignDockerReference(parseReference(`ghcr.io/org/app:v1@${DIGEST}`)),
      'ghcr.io/org/app',
    );
    assert.equal(cosignDockerReference(parseReference('127.0.0.1:5000/app')), '127.0.0.1:5000/app');
  });
});

describe('parseSimpleSigningPayload', () => {
  type Doc = Record<string, unknown> & {
    critical: Record<string, unknown> & {
      image: Record<string, unknown>;
      identity: Record<string, unknown>;
    };
    optional: Record<string, unknown> | null;
  };
  // containers/image's NewUntrustedSigstorePayload shape (sigstore_payload_test.go).
  const valid = (): Doc => ({
    critical: {
      identity: { 'docker-reference': 'reference#@!' },
      image: { 'docker-manifest-digest': DIGEST },
      type: COSIGN_SIGNATURE_TYPE,
    },
    optional: { creator: 'CREATOR', timestamp: 1484683104 },
  });
  const encode = (doc: unknown) => bytes(JSON.stringify(doc));

  test('reads a containers/image payload, keeping creator and timestamp', () => {
    const parsed = parseSimpleSigningPayload(encode(valid()));
    assert.deepEqual(
      { ...parsed, optional: { ...parsed.optional } },
      {
        dockerReference: 'reference#@!',
        dockerManifestDigest: DIGEST,
        type: COSIGN_SIGNATURE_TYPE,
        optional: { creator: 'CREATOR', timestamp: 1484683104 },
        creator: 'CREATOR',
        timestamp: 1484683104,
      },
    );
  });

  test('reads a cosign payload with "optional":null', () => {
    const doc = { ...valid(), optional: null };
    const parsed = parseSimpleSigningPayload(encode(doc));
    assert.equal(parsed.optional, null);
    assert.equal(parsed.creator, undefined);
    assert.equal(parsed.timestamp, undefined);
  });

  test('accepts what containers/image accepts in optional', () => {
    for (const optional of [
      {},
      { unexpected: 1 },
      { creator: 'x' },
      { anything: { nested: [1, null] } },
    ]) {
      const parsed = parseSimpleSigningPayload(encode({ ...valid(), optional }));
      assert.equal(parsed.dockerManifestDigest, DIGEST);
    }
    // containers/image takes any string as the reference at this stage; so does cosign.
    const doc = valid();
    doc.critical.identity['docker-reference'] = '';
    assert.equal(parseSimpleSigningPayload(encode(doc)).dockerReference, '');
  });

  // Every corruption containers/image's TestUntrustedSigstorePayloadUnmarshalJSON refuses,
  // plus the ambiguities vouch refuses on top.
  const breaks: [string, (v: Doc) => void, string][] = [
    ['critical missing', (v) => delete (v as Partial<Doc>).critical, 'missing "critical"'],
    ['optional missing', (v) => delete (v as Partial<Doc>).optional, 'missing "optional"'],
    ['extra top-level key', (v) => (v.unexpected = 1), 'unknown key "unexpected"'],
    [
      'critical not an object',
      (v) => ((v as Record<string, unknown>).critical = 1),
      'critical must be an object',
    ],
    [
      'optional not an object',
      (v) => ((v as Record<string, unknown>).optional = 1),
      'optional must be an object',
    ],
    [
      'optional an array',
      (v) => ((v as Record<string, unknown>).optional = []),
      'optional must be an object',
    ],
    ['type missing', (v) => delete v.critical.type, 'missing "type"'],
    [
      'image missing',
      (v) => delete (v.critical as Partial<Doc['critical']>).image,
      'missing "image"',
    ],
    [
      'identity missing',
      (v) => delete (v.critical as Partial<Doc['critical']>).identity,
      'missing "identity"',
    ],
    [
      'extra critical key',
      (v) => (v.critical.unexpected = 1),
      'critical has unknown key "unexpected"',
    ],
    ['type not a string', (v) => (v.critical.type = 1), 'critical.type must be a string'],
    ['type null', (v) => (v.critical.type = null), 'critical.type must be a string, found null'],
    [
      'other type',
      (v) => (v.critical.type = 'atomic container signature'),
      'critical.type must be',
    ],
    [
      'image not an object',
      (v) => ((v.critical as Record<string, unknown>).image = 1),
      'critical.image must be an object',
    ],
    [
      'digest missing',
      (v) => delete v.critical.image['docker-manifest-digest'],
      'missing "docker-manifest-digest"',
    ],
    ['extra image key', (v) => (v.critical.image.unexpected = 1), 'critical.image has unknown key'],
    [
      'digest not a string',
      (v) => (v.critical.image['docker-manifest-digest'] = 1),
      'must be a string',
    ],
    [
      'digest path traversal',
      (v) => (v.critical.image['docker-manifest-digest'] = 'sha256:../..'),
      'must be a sha256 or sha512 digest',
    ],
    [
      'digest upper-case hex',
      (v) => (v.critical.image['docker-manifest-digest'] = DIGEST.toUpperCase()),
      'must be a sha256 or sha512',
    ],
    [
      'identity not an object',
      (v) => ((v.critical as Record<string, unknown>).identity = 1),
      'critical.identity must be an object',
    ],
    [
      'reference missing',
      (v) => delete v.critical.identity['docker-reference'],
      'missing "docker-reference"',
    ],
    [
      'extra identity key',
      (v) => (v.critical.identity.unexpected = 1),
      'critical.identity has unknown key',
    ],
    [
      'reference not a string',
      (v) => (v.critical.identity['docker-reference'] = 1),
      'docker-reference must be a string',
    ],
    [
      'reference null',
      (v) => (v.critical.identity['docker-reference'] = null),
      'docker-reference must be a string, found null',
    ],
    [
      'creator not a string',
      (v) => ((v.optional as Record<string, unknown>).creator = 1),
      'optional.creator must be a string',
    ],
    [
      'timestamp a string',
      (v) => ((v.optional as Record<string, unknown>).timestamp = 'unexpected'),
      'optional.timestamp must be an integer',
    ],
    [
      'timestamp fractional',
      (v) => ((v.optional as Record<string, unknown>).timestamp = 0.5),
      'optional.timestamp must be an integer',
    ],
    [
      'case-variant key',
      (v) => {
        v.critical.image = { 'Docker-Manifest-Digest': DIGEST };
      },
      'a case variant of "docker-manifest-digest"',
    ],
    [
      'case-variant top-level key',
      (v) => {
        v.Critical = v.critical;
        delete (v as Partial<Doc>).critical;
      },
      'a case variant of "critical"',
    ],
    [
      'Kelvin sign folds to k in Go',
      (v) => {
        v.critical.identity = { 'doc\u212Aer-reference': 'x' };
      },
      'a case variant of "docker-reference"',
    ],
  ];
  for (const [name, breakIt, reason] of breaks) {
    test(`refuses: ${name}`, () => {
      const doc = valid();
      breakIt(doc);
      assert.throws(() => parseSimpleSigningPayload(encode(doc), 'layer 3'), rejected(reason));
      assert.throws(() => parseSimpleSigningPayload(encode(doc), 'layer 3'), rejected('layer 3'));
    });
  }

  const good = JSON.stringify(valid());
  const rawBreaks: [string, string, string][] = [
    ['not JSON', '&', 'unexpected character'],
    ['not an object', '1', 'the payload must be an object'],
    ['empty', '', 'unexpected end of input'],
    ['trailing data', `${good} {}`, 'unexpected data after the JSON value'],
    ['trailing comma', good.replace(/}$/, ',}'), 'expected a string key'],
    ['byte order mark', `\uFEFF${good}`, 'unexpected character'],
    [
      'duplicate digest: JSON.parse and Go keep the last, containers/image refuses',
      good.replace(
        `"docker-manifest-digest":"${DIGEST}"`,
        `"docker-manifest-digest":"${DIGEST}","docker-manifest-digest":"sha256:${'0'.repeat(64)}"`,
      ),
      'duplicate key "docker-manifest-digest"',
    ],
    [
      'duplicate critical',
      good.replace(/}$/, `,"critical":${JSON.stringify(valid().critical)}}`),
      'duplicate key "critical"',
    ],
    [
      'duplicate key inside optional',
      good.replace('"creator":"CREATOR"', '"creator":"CREATOR","creator":"OTHER"'),
      'duplicate key "creator"',
    ],
    [
      'escaped lone surrogate (Go would read U+FFFD)',
      good.replace('reference#@!', 'ref\\ud800'),
      'escaped lone surrogate',
    ],
    [
      'number overflowing float64 in optional (Go fails to decode it)',
      good.replace('"creator"', '"big":1e400,"creator"'),
      'out of range',
    ],
    [
      'deep nesting',
      good.replace('"CREATOR"', `${'['.repeat(100)}${']'.repeat(100)}`),
      'nesting deeper',
    ],
    ['raw control character', good.replace('reference#@!', 'ref\u0001'), 'raw control character'],
  ];
  for (const [name, raw, reason] of rawBreaks) {
    test(`refuses: ${name}`, () => {
      assert.throws(() => parseSimpleSigningPayload(bytes(raw)), rejected(reason));
    });
  }

  test('refuses invalid UTF-8, which Go would silently replace', () => {
    const raw = bytes(good.replace('reference#@!', 'ref_X'));
    raw[raw.indexOf('_'.charCodeAt(0))] = 0xff;
    assert.throws(() => parseSimpleSigningPayload(raw), rejected('not valid UTF-8'));
  });

  test('treats __proto__ as an ordinary optional key', () => {
    const raw = good.replace('"creator"', '"__proto__":{"polluted":true},"creator"');
    const parsed = parseSimpleSigningPayload(bytes(raw));
    assert.deepEqual({ ...(parsed.optional?.['__proto__'] as object) }, { polluted: true });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('unmatchedAnnotations', () => {
  const payload: SimpleSigningPayload = parseSimpleSigningPayload(
    buildSimpleSigningPayload({
      dockerReference: 'example.com/app',
      dockerManifestDigest: DIGEST,
      annotations: { env: 'prod', team: 'a' },
    }),
  );

  test('empty when every required annotation is signed with that value', () => {
    assert.deepEqual(unmatchedAnnotations(payload, {}), []);
    assert.deepEqual(unmatchedAnnotations(payload, { env: 'prod' }), []);
  });

  test('names what is missing or different', () => {
    assert.deepEqual(unmatchedAnnotations(payload, { env: 'dev', owner: 'x' }), [
      { key: 'env', expected: 'dev', found: 'prod' },
      { key: 'owner', expected: 'x', found: undefined },
    ]);
  });

  test('compares types as cosign does: a signed number is not the string', () => {
    const withNumber = parseSimpleSigningPayload(
      bytes(
        `{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"${COSIGN_SIGNATURE_TYPE}"},"optional":{"n":1}}`,
      ),
    );
    assert.deepEqual(unmatchedAnnotations(withNumber, { n: '1' }), [
      { key: 'n', expected: '1', found: 1 },
    ]);
    const none = parseSimpleSigningPayload(
      buildSimpleSigningPayload({ dockerReference: 'r', dockerManifestDigest: DIGEST }),
    );
    assert.deepEqual(unmatchedAnnotations(none, { env: 'prod' }), [
      { key: 'env', expected: 'prod', found: undefined },
    ]);
  });
});
