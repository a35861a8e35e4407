import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isVouchError } from '../../core/errors.ts';
import { expectError, rejectsWith } from '../../../test/helpers/assertions.ts';
import { certificateFor, signRequest, TARGET, testKey } from '../../../test/helpers/notation.ts';
import { buildJws, parseJwsEnvelope } from './jws.ts';
import { verifyNotationSignature } from './signature.ts';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);
const b64u = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const fromB64u = (s: string) =>
  JSON.parse(Buffer.from(s, 'base64url').toString()) as Record<string, unknown>;

type EnvelopeJson = Record<string, unknown> & {
  payload: string;
  protected: string;
  header: Record<string, unknown>;
  signature: string;
};

const SIGNED = await buildJws(signRequest('p256'));
const envelope = (): EnvelopeJson => JSON.parse(text(SIGNED)) as EnvelopeJson;
const serialize = (d: unknown) => bytes(JSON.stringify(d));

function withEnvelope(mutate: (d: EnvelopeJson) => void): Uint8Array {
  const d = envelope();
  mutate(d);
  return serialize(d);
}

function withProtected(mutate: (h: Record<string, unknown>) => void): Uint8Array {
  return withEnvelope((d) => {
    const header = fromB64u(d.protected);
    mutate(header);
    d.protected = b64u(header);
  });
}

const withPayload = (payload: unknown) => withEnvelope((d) => void (d.payload = b64u(payload)));

const invalid = (fragment?: string) => expectError('denied', 'NOTATION_ENVELOPE_INVALID', fragment);

describe('buildJws', () => {
  test('writes what notation-core-go writes: field order, sorted protected header and payload, UTC times to the second', () => {
    const d = envelope();
    assert.deepEqual(Object.keys(d), ['payload', 'protected', 'header', 'signature']);
    assert.equal(
      Buffer.from(d.protected, 'base64url').toString(),
      '{"alg":"ES256","crit":["io.cncf.notary.signingScheme"],"cty":"application/vnd.cncf.notary.payload.v1+json",' +
        '"io.cncf.notary.signingScheme":"notary.x509","io.cncf.notary.signingTime":"2025-02-17T08:17:09Z"}',
    );
    assert.equal(
      Buffer.from(d.payload, 'base64url').toString(),
      `{"targetArtifact":{"digest":"${TARGET.digest}","mediaType":"${TARGET.mediaType}","size":517}}`,
    );
    assert.deepEqual(Object.keys(d.header), ['x5c', 'io.cncf.notary.signingAgent']);
    assert.deepEqual(d.header.x5c, [Buffer.from(testKey('p256').certificate).toString('base64')]);
  });

  test('round-trips: the envelope parses, verifies and says what was asked', () => {
    const parsed = parseJwsEnvelope(SIGNED);
    verifyNotationSignature(parsed);
    assert.equal(parsed.format, 'jws');
    assert.equal(parsed.mediaType, 'application/jose+json');
    assert.equal(parsed.signatureAlgorithm, 'ES256');
    assert.equal(parsed.signingScheme, 'notary.x509');
    assert.equal(parsed.signingTime.toISOString(), '2025-02-17T08:17:09.000Z');
    assert.equal(parsed.expiry, undefined);
    assert.deepEqual(parsed.targetArtifact, TARGET);
    assert.equal(parsed.signingAgent, 'vouch-test/1.0');
    assert.equal(parsed.timestampToken, undefined);
    assert.deepEqual(parsed.extendedAttributes, []);
    assert.equal(parsed.signature.byteLength, 64);
    const d = envelope();
    assert.equal(text(parsed.signedBytes), `${d.protected}.${d.payload}`);
  });

  test('an expiry is marked critical after the signing scheme; annotations are signed, sorted', async () => {
    const signed = await buildJws(
      signRequest('p256', {
        expiry: new Date('2025-03-01T00:00:00.999Z'),
        targetArtifact: { ...TARGET, annotations: { z: '1', a: '<&>' } },
      }),
    );
    const d = JSON.parse(text(signed)) as EnvelopeJson;
    const header = fromB64u(d.protected);
    assert.deepEqual(header.crit, ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry']);
    assert.equal(header['io.cncf.notary.expiry'], '2025-03-01T00:00:00Z');
    assert.equal(
      Buffer.from(d.payload, 'base64url').toString(),
      `{"targetArtifact":{"annotations":{"a":"\\u003c\\u0026\\u003e","z":"1"},"digest":"${TARGET.digest}",` +
        `"mediaType":"${TARGET.mediaType}","size":517}}`,
    );
    const parsed = parseJwsEnvelope(signed);
    verifyNotationSignature(parsed);
    assert.deepEqual(parsed.targetArtifact.annotations, { a: '<&>', z: '1' });
    assert.equal(parsed.expiry?.toISOString(), '2025-03-01T00:00:00.000Z');
  });

  test('signs only the mediaType, digest, size and annotations of a fuller descriptor, as notation-go does', async () => {
    const descriptor = {
      ...TARGET,
      urls: ['https://example.com/x'],
      artifactType: 'application/vnd.example',
    };
    const signed = await buildJws(signRequest('p256', { targetArtifact: descriptor }));
    assert.deepEqual(parseJwsEnvelope(signed).targetArtifact, TARGET);
  });

  test('a timestamp countersigns the signature bytes and goes first in the header', async () => {
    let stamped: Uint8Array | undefined;
    const signed = await buildJws(
      signRequest('rsa-2048', {
        timestamp: async (signature) => {
          stamped = signature;
          return new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]);
        },
      }),
    );
    const d = JSON.parse(text(signed)) as EnvelopeJson;
    assert.deepEqual(Object.keys(d.header), [
      'io.cncf.notary.timestampSignature',
      'x5c',
      'io.cncf.notary.signingAgent',
    ]);
    assert.equal(d.header['io.cncf.notary.timestampSignature'], 'MAMCAQE=');
    const parsed = parseJwsEnvelope(signed);
    assert.deepEqual(stamped, parsed.signature);
    assert.deepEqual(parsed.timestampToken, new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]));
  });

  test('refuses a signer whose key is not the leaf certificate’s, before any timestamp', async () => {
    let asked = false;
    const error = await rejectsWith(
      buildJws(
        signRequest('p256', {
          certificateChain: [certificateFor(testKey('p384').publicKey)],
          timestamp: async () => {
            asked = true;
            return new Uint8Array([1]);
          },
        }),
      ),
      'INVALID_NOTATION_INPUT',
      'invalid',
    );
    assert.match(error.message, /do not match/);
    assert.equal(asked, false);
  });

  test('refuses requests notation refuses', async () => {
    const cases = [
      signRequest('p256', { certificateChain: [] }),
      signRequest('p256', { certificateChain: [new Uint8Array([0x30, 0x00])] }),
      signRequest('p256', { expiry: new Date('2025-02-17T08:17:09.900Z') }),
      signRequest('p256', { signingTime: new Date(Number.NaN) }),
      signRequest('p256', { targetArtifact: { ...TARGET, digest: 'sha256:ABC' } }),
      signRequest('p256', { targetArtifact: { ...TARGET, size: -1 } }),
      signRequest('p256', { targetArtifact: { ...TARGET, mediaType: 'not a media type' } }),
    ];
    for (const request of cases)
      await rejectsWith(buildJws(request), 'INVALID_NOTATION_INPUT', 'invalid');
  });
});

describe('parseJwsEnvelope refuses', () => {
  const cases: [string, Uint8Array, string][] = [
    ['empty input', new Uint8Array(), 'empty'],
    ['truncated input', SIGNED.subarray(0, SIGNED.byteLength - 10), 'strict JSON'],
    ['not JSON', bytes('malformed signature'), 'strict JSON'],
    ['a byte order mark', bytes(`\uFEFF${text(SIGNED)}`), 'strict JSON'],
    [
      'a duplicate top-level key',
      bytes(text(SIGNED).replace('{"payload":', '{"payload":"x","payload":')),
      'duplicate',
    ],
    ['an extra top-level field', withEnvelope((d) => void (d.signatures = [])), 'unknown key'],
    [
      'a case variant of a field',
      bytes(text(SIGNED).replace('"payload":', '"Payload":')),
      'case variant',
    ],
    [
      'a missing signature',
      withEnvelope((d) => void delete (d as Partial<EnvelopeJson>).signature),
      'signature',
    ],
    ['an empty signature', withEnvelope((d) => void (d.signature = '')), 'signature is empty'],
    ['padded base64url', withEnvelope((d) => void (d.signature += '=')), 'base64url'],
    [
      'standard base64 characters',
      withEnvelope((d) => void (d.payload = d.payload.replace(/[-_]/g, '+') + '+')),
      'base64url',
    ],
    [
      'a non-canonical base64url spelling',
      withEnvelope((d) => void (d.signature = d.signature.slice(0, -1) + 'B')),
      'base64url',
    ],
    [
      'an unknown unprotected header',
      withEnvelope((d) => void (d.header.kid = 'x')),
      'unknown key',
    ],
    ['a missing x5c', withEnvelope((d) => void delete d.header.x5c), 'x5c'],
    ['an empty x5c', withEnvelope((d) => void (d.header.x5c = [])), 'chain is empty'],
    [
      'an x5c entry that is not base64',
      withEnvelope((d) => void (d.header.x5c = ['***'])),
      'standard base64',
    ],
    [
      'an x5c entry that is not a certificate',
      withEnvelope((d) => void (d.header.x5c = ['MAMCAQE='])),
      'not an X.509',
    ],
    [
      'an x5c entry in PEM',
      withEnvelope((d) => {
        const der = (d.header.x5c as string[])[0] ?? '';
        d.header.x5c = [
          Buffer.from(`-----BEGIN CERTIFICATE-----\n${der}\n-----END CERTIFICATE-----\n`).toString(
            'base64',
          ),
        ];
      }),
      'certificate 0',
    ],
    [
      'an x5c entry with bytes after the certificate',
      withEnvelope((d) => {
        const der = Buffer.from((d.header.x5c as string[])[0] ?? '', 'base64');
        d.header.x5c = [Buffer.concat([der, Buffer.from([0])]).toString('base64')];
      }),
      'certificate 0',
    ],
    [
      'a signing agent that is not a string',
      withEnvelope((d) => void (d.header['io.cncf.notary.signingAgent'] = 1)),
      'must be a string',
    ],
    [
      'a timestamp that is not base64',
      withEnvelope((d) => void (d.header['io.cncf.notary.timestampSignature'] = '%%')),
      'timestamp',
    ],
    [
      'a protected header that is not JSON',
      withEnvelope((d) => void (d.protected = b64u('{'))),
      'strict JSON',
    ],
    [
      'a protected header that is an array',
      withEnvelope((d) => void (d.protected = b64u([]))),
      'must be an object',
    ],
    [
      'a duplicate protected header',
      withEnvelope(
        (d) =>
          void (d.protected = b64u(
            Buffer.from(d.protected, 'base64url')
              .toString()
              .replace('{"alg":"ES256",', '{"alg":"ES256","alg":"PS256",'),
          )),
      ),
      'duplicate',
    ],
    ['a case variant of alg', withProtected((h) => void (h.ALG = 'PS256')), 'case variant'],
    ['alg none', withProtected((h) => void (h.alg = 'none')), 'alg'],
    ['alg HS256', withProtected((h) => void (h.alg = 'HS256')), 'alg'],
    ['alg RS256', withProtected((h) => void (h.alg = 'RS256')), 'alg'],
    ['a missing alg', withProtected((h) => void delete h.alg), 'alg'],
    [
      'another content type',
      withProtected((h) => void (h.cty = 'application/json')),
      'content type',
    ],
    ['a missing crit', withProtected((h) => void delete h.crit), 'crit'],
    ['an empty crit', withProtected((h) => void (h.crit = [])), 'crit is missing or empty'],
    [
      'a crit without the signing scheme',
      withProtected((h) => {
        h.crit = ['x'];
        h.x = 1;
      }),
      'does not list',
    ],
    [
      'an unknown critical header',
      withProtected(
        (h) =>
          void (h.crit = ['io.cncf.notary.signingScheme', 'io.cncf.notary.verificationPlugin']),
      ),
      'not a critical header present',
    ],
    [
      'a registered header marked critical',
      withProtected((h) => void (h.crit = ['io.cncf.notary.signingScheme', 'alg'])),
      '"alg"',
    ],
    [
      'the signing time marked critical',
      withProtected(
        (h) => void (h.crit = ['io.cncf.notary.signingScheme', 'io.cncf.notary.signingTime']),
      ),
      'signingTime',
    ],
    [
      'a header listed twice in crit',
      withProtected(
        (h) => void (h.crit = ['io.cncf.notary.signingScheme', 'io.cncf.notary.signingScheme']),
      ),
      'twice',
    ],
    [
      'a crit entry that is not a string',
      withProtected((h) => void (h.crit = ['io.cncf.notary.signingScheme', 2])),
      'crit[1]',
    ],
    [
      'an expiry not marked critical',
      withProtected((h) => void (h['io.cncf.notary.expiry'] = '2030-01-01T00:00:00Z')),
      'io.cncf.notary.expiry',
    ],
    [
      'an expiry before the signing time',
      withProtected((h) => {
        h['io.cncf.notary.expiry'] = '2025-02-17T08:17:08Z';
        h.crit = ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'];
      }),
      'not after',
    ],
    [
      'an expiry equal to the signing time',
      withProtected((h) => {
        h['io.cncf.notary.expiry'] = '2025-02-17T09:17:09+01:00';
        h.crit = ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'];
      }),
      'not after',
    ],
    [
      'an unknown signing scheme',
      withProtected((h) => void (h['io.cncf.notary.signingScheme'] = 'notary.default.x509')),
      'signing scheme',
    ],
    [
      'a missing signing time',
      withProtected((h) => void delete h['io.cncf.notary.signingTime']),
      'signingTime is missing',
    ],
    [
      'the zero signing time',
      withProtected((h) => void (h['io.cncf.notary.signingTime'] = '0001-01-01T00:00:00Z')),
      'zero time',
    ],
    [
      'an authentic signing time under notary.x509',
      withProtected(
        (h) => void (h['io.cncf.notary.authenticSigningTime'] = '2025-02-17T08:17:09Z'),
      ),
      'must not be present',
    ],
    [
      'signingAuthority without an authentic signing time',
      withProtected(
        (h) => void (h['io.cncf.notary.signingScheme'] = 'notary.x509.signingAuthority'),
      ),
      'must not be present',
    ],
    [
      'a signing time that is not RFC 3339',
      withProtected((h) => void (h['io.cncf.notary.signingTime'] = '2025-02-17 08:17:09Z')),
      'RFC 3339',
    ],
    [
      'a signing time on a day that does not exist',
      withProtected((h) => void (h['io.cncf.notary.signingTime'] = '2025-02-30T08:17:09Z')),
      'RFC 3339',
    ],
    [
      'a signing time that is a number',
      withProtected((h) => void (h['io.cncf.notary.signingTime'] = 1739780229)),
      'must be a string',
    ],
    [
      'a null signing time',
      withProtected((h) => void (h['io.cncf.notary.signingTime'] = null)),
      'must be a string',
    ],
    [
      'an extended attribute nested too deep',
      withProtected((h) => void (h.deep = JSON.parse('['.repeat(40) + ']'.repeat(40)))),
      'nesting',
    ],
    [
      'an envelope nested too deep',
      withEnvelope((d) => void (d.header.x5c = JSON.parse('['.repeat(10) + ']'.repeat(10)))),
      'nesting',
    ],
    [
      'a payload that is not JSON',
      withEnvelope((d) => void (d.payload = b64u('hello'))),
      'payload',
    ],
    [
      'a payload with a duplicate key',
      withEnvelope(
        (d) =>
          void (d.payload = b64u(
            `{"targetArtifact":${JSON.stringify(TARGET)},"targetArtifact":{}}`,
          )),
      ),
      'duplicate',
    ],
    [
      'a payload with another field',
      withPayload({ targetArtifact: TARGET, extra: 1 }),
      'unknown key',
    ],
    ['a payload without targetArtifact', withPayload({}), 'targetArtifact'],
    [
      'a payload with a negative size',
      withPayload({ targetArtifact: { ...TARGET, size: -1 } }),
      'size',
    ],
    [
      'a payload with a fractional size',
      withPayload({ targetArtifact: { ...TARGET, size: 1.5 } }),
      'size',
    ],
    [
      'a payload with a size as a string',
      withPayload({ targetArtifact: { ...TARGET, size: '517' } }),
      'size',
    ],
    [
      'a payload with an uppercase digest',
      withPayload({ targetArtifact: { ...TARGET, digest: TARGET.digest.toUpperCase() } }),
      'digest',
    ],
    [
      'a payload with an md5 digest',
      withPayload({
        targetArtifact: { ...TARGET, digest: 'md5:d41d8cd98f00b204e9800998ecf8427e' },
      }),
      'digest',
    ],
    [
      'a payload with a platform',
      withPayload({ targetArtifact: { ...TARGET, platform: { os: 'linux' } } }),
      'unknown key',
    ],
    [
      'a payload with a case variant',
      withPayload({ targetArtifact: { ...TARGET, Digest: TARGET.digest } }),
      'case variant',
    ],
    [
      'a payload annotation that is not a string',
      withPayload({ targetArtifact: { ...TARGET, annotations: { a: 1 } } }),
      'annotations',
    ],
  ];
  for (const [name, input, fragment] of cases) {
    test(name, () => {
      assert.throws(() => parseJwsEnvelope(input), invalid(fragment));
    });
  }

  test('an envelope over the size cap, before reading it', () => {
    assert.throws(
      () => parseJwsEnvelope(SIGNED, { maxBytes: 100 }),
      invalid('more than the 100 allowed'),
    );
    assert.throws(
      () => parseJwsEnvelope(new Uint8Array(33 * 1024 * 1024)),
      invalid('more than the 33554432 allowed'),
    );
  });
});

describe('parseJwsEnvelope accepts', () => {
  test('offsets in times, as notation writes local times', () => {
    const parsed = parseJwsEnvelope(
      withProtected((h) => void (h['io.cncf.notary.signingTime'] = '2025-02-17T16:17:09+08:00')),
    );
    assert.equal(parsed.signingTime.toISOString(), '2025-02-17T08:17:09.000Z');
  });

  test('signingAuthority with a critical authentic signing time', () => {
    const parsed = parseJwsEnvelope(
      withProtected((h) => {
        h['io.cncf.notary.signingScheme'] = 'notary.x509.signingAuthority';
        h['io.cncf.notary.authenticSigningTime'] = h['io.cncf.notary.signingTime'];
        delete h['io.cncf.notary.signingTime'];
        h.crit = ['io.cncf.notary.signingScheme', 'io.cncf.notary.authenticSigningTime'];
      }),
    );
    assert.equal(parsed.signingScheme, 'notary.x509.signingAuthority');
    assert.equal(parsed.signingTime.toISOString(), '2025-02-17T08:17:09.000Z');
  });

  test('extended attributes, critical when crit lists them', () => {
    const parsed = parseJwsEnvelope(
      withProtected((h) => {
        h['io.cncf.notary.verificationPlugin'] = 'plugin-name';
        h['com.example.note'] = { nested: [1, 'two'] };
        h.crit = ['io.cncf.notary.signingScheme', 'io.cncf.notary.verificationPlugin'];
      }),
    );
    assert.deepEqual(
      parsed.extendedAttributes.map((a) => [a.key, a.critical]),
      [
        ['io.cncf.notary.verificationPlugin', true],
        ['com.example.note', false],
      ],
    );
  });

  test('a payload with an artifactType and a blob digest of sha384', () => {
    const target = {
      ...TARGET,
      digest: `sha384:${'a'.repeat(96)}`,
      artifactType: 'application/vnd.example',
    };
    assert.deepEqual(
      parseJwsEnvelope(withPayload({ targetArtifact: target })).targetArtifact,
      target,
    );
  });
});

describe('the signature covers what it must', () => {
  test('a changed payload, protected header or signature no longer verifies', () => {
    const changed = [
      withPayload({ targetArtifact: { ...TARGET, size: 518 } }),
      withProtected((h) => void (h['io.cncf.notary.signingTime'] = '2025-02-17T08:17:10Z')),
      withEnvelope((d) => {
        const signature = Buffer.from(d.signature, 'base64url');
        signature[5] = (signature[5] ?? 0) ^ 1;
        d.signature = signature.toString('base64url');
      }),
    ];
    for (const input of changed) {
      assert.throws(
        () => verifyNotationSignature(parseJwsEnvelope(input)),
        expectError('denied', 'NOTATION_SIGNATURE_INVALID', 'does not match'),
      );
    }
  });

  test('the unsigned signing agent may change; the signature still verifies', () => {
    const parsed = parseJwsEnvelope(
      withEnvelope((d) => void (d.header['io.cncf.notary.signingAgent'] = 'other')),
    );
    verifyNotationSignature(parsed);
    assert.equal(parsed.signingAgent, 'other');
  });

  test('fuzzed envelopes are refused with NOTATION_ENVELOPE_INVALID or, if they parse and verify, sign the same content', () => {
    const original = parseJwsEnvelope(SIGNED);
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.nat(SIGNED.byteLength - 1),
            fc.integer({ min: 0, max: 255 }),
            fc.constantFrom('set', 'insert', 'delete'),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        (edits) => {
          const mutated = [...SIGNED];
          for (const [at, value, kind] of edits) {
            const i = Math.min(at, mutated.length - 1);
            if (kind === 'set') mutated[i] = value;
            else if (kind === 'insert') mutated.splice(i, 0, value);
            else mutated.splice(i, 1);
          }
          let parsed;
          try {
            parsed = parseJwsEnvelope(Uint8Array.from(mutated));
          } catch (error) {
            assert.ok(
              isVouchError(error) && error.code === 'NOTATION_ENVELOPE_INVALID',
              String(error),
            );
            return;
          }
          try {
            verifyNotationSignature(parsed);
          } catch (error) {
            assert.ok(
              isVouchError(error) && error.code === 'NOTATION_SIGNATURE_INVALID',
              String(error),
            );
            return;
          }
          assert.deepEqual(parsed.targetArtifact, original.targetArtifact);
          assert.deepEqual(parsed.signingTime, original.signingTime);
          assert.deepEqual(parsed.signedBytes, original.signedBytes);
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('any JSON as the protected header or payload is refused or parsed, never a crash', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.boolean(), (value, asHeader) => {
        const input = withEnvelope((d) => {
          if (asHeader) d.protected = b64u(value);
          else d.payload = b64u(value);
        });
        try {
          parseJwsEnvelope(input);
        } catch (error) {
          assert.ok(
            isVouchError(error) && error.code === 'NOTATION_ENVELOPE_INVALID',
            String(error),
          );
        }
      }),
      { numRuns: 500 },
    );
  });
});
