import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode, encode, Tag } from 'cbor2';
import fc from 'fast-check';
import { isVouchError } from '../../core/errors.ts';
import { expectError, rejectsWith } from '../../../test/helpers/assertions.ts';
import { certificateFor, signRequest, TARGET, testKey } from '../../../test/helpers/notation.ts';
import { buildCose, parseCoseEnvelope } from './cose.ts';
import { verifyNotationSignature } from './signature.ts';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const cbor = (value: unknown) => encode(value, { cde: true });
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const AGENT = 'io.cncf.notary.signingAgent';

const SIGNED = await buildCose(signRequest('p256'));

type Parts = [Uint8Array, Map<unknown, unknown>, Uint8Array, Uint8Array];
const parts = (): Parts => (decode(SIGNED, { preferMap: true }) as Tag).contents as Parts;
const protectedMap = () =>
  decode(parts()[0], { preferMap: true, ignoreGlobalTags: true }) as Map<unknown, unknown>;

function message(changes: Partial<Record<0 | 1 | 2 | 3, unknown>>): Uint8Array {
  const contents: unknown[] = [...parts()];
  for (const [i, value] of Object.entries(changes)) contents[Number(i)] = value;
  return cbor(new Tag(18, contents));
}

function withProtected(mutate: (header: Map<unknown, unknown>) => void): Uint8Array {
  const header = protectedMap();
  mutate(header);
  return message({ 0: cbor(header) });
}

function withUnprotected(mutate: (header: Map<unknown, unknown>) => void): Uint8Array {
  const header = parts()[1];
  mutate(header);
  return message({ 1: header });
}

/** The message with raw CBOR bytes in the place of the unprotected header. */
function withRawUnprotected(raw: Uint8Array): Uint8Array {
  const [protectedBytes, , payload, signature] = parts();
  return concat(
    new Uint8Array([0xd2, 0x84]),
    cbor(protectedBytes),
    raw,
    cbor(payload),
    cbor(signature),
  );
}

const invalid = (fragment?: string) => expectError('denied', 'NOTATION_ENVELOPE_INVALID', fragment);

describe('buildCose', () => {
  test('writes COSE_Sign1_Tagged as go-cose does: sorted protected labels, tag 1 times, x5chain and agent unprotected', () => {
    assert.equal(hex(SIGNED.subarray(0, 2)), 'd284');
    const [protectedBytes, unprotected, payload, signature] = parts();
    // {1: -7, 2: [signingScheme], 3: cty, "...signingTime": 1(1739780229), "...signingScheme": "notary.x509"}
    assert.equal(
      hex(protectedBytes),
      'a5' +
        '0126' +
        '0281' +
        hex(cbor('io.cncf.notary.signingScheme')) +
        '03' +
        hex(cbor('application/vnd.cncf.notary.payload.v1+json')) +
        hex(cbor('io.cncf.notary.signingTime')) +
        'c11a67b2f085' +
        hex(cbor('io.cncf.notary.signingScheme')) +
        hex(cbor('notary.x509')),
    );
    assert.deepEqual([...unprotected.keys()], [33, AGENT]);
    assert.deepEqual(unprotected.get(33), [testKey('p256').certificate]);
    assert.equal(
      text(payload),
      `{"targetArtifact":{"mediaType":"${TARGET.mediaType}","digest":"${TARGET.digest}","size":517}}`,
    );
    assert.equal(signature.byteLength, 64);
  });

  test('round-trips: the envelope parses, verifies and says what was asked', () => {
    const parsed = parseCoseEnvelope(SIGNED);
    verifyNotationSignature(parsed);
    assert.equal(parsed.format, 'cose');
    assert.equal(parsed.mediaType, 'application/cose');
    assert.equal(parsed.signatureAlgorithm, 'ES256');
    assert.equal(parsed.signingTime.toISOString(), '2025-02-17T08:17:09.000Z');
    assert.deepEqual(parsed.targetArtifact, TARGET);
    assert.equal(parsed.signingAgent, 'vouch-test/1.0');
    assert.deepEqual(parsed.certificateChain, [testKey('p256').certificate]);
    assert.equal(
      hex(parsed.signedBytes),
      hex(cbor(['Signature1', parts()[0], new Uint8Array(), parts()[2]])),
    );
  });

  test('an expiry, annotations and a timestamp, with RSA-PSS', async () => {
    const signed = await buildCose(
      signRequest('rsa-3072', {
        expiry: new Date('2025-03-01T00:00:00Z'),
        targetArtifact: { ...TARGET, annotations: { z: '1', a: '2' } },
        timestamp: async () => new Uint8Array([0x30, 0x00]),
      }),
    );
    const parsed = parseCoseEnvelope(signed);
    verifyNotationSignature(parsed);
    assert.equal(parsed.signatureAlgorithm, 'PS384');
    assert.equal(parsed.expiry?.toISOString(), '2025-03-01T00:00:00.000Z');
    assert.deepEqual(parsed.timestampToken, new Uint8Array([0x30, 0x00]));
    assert.equal(
      text(parsed.payload),
      `{"targetArtifact":{"mediaType":"${TARGET.mediaType}","digest":"${TARGET.digest}","size":517,"annotations":{"a":"2","z":"1"}}}`,
    );
    const header = decode(((decode(signed) as Tag).contents as Parts)[0], {
      preferMap: true,
      ignoreGlobalTags: true,
    }) as Map<unknown, unknown>;
    assert.deepEqual(header.get(2), ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry']);
    assert.equal(header.get(1), -38);
  });

  test('refuses a signer whose key is not the leaf certificate’s', async () => {
    await rejectsWith(
      buildCose(
        signRequest('p256', { certificateChain: [certificateFor(testKey('p521').publicKey)] }),
      ),
      'INVALID_NOTATION_INPUT',
      'invalid',
    );
  });
});

describe('parseCoseEnvelope refuses', () => {
  const [protectedBytes, , payload, signature] = parts();
  const cert = testKey('p256').certificate;
  const cases: [string, Uint8Array, string][] = [
    ['empty input', new Uint8Array(), 'empty'],
    ['truncated input', SIGNED.subarray(0, SIGNED.byteLength - 3), 'strict CBOR'],
    ['a trailing byte', concat(SIGNED, new Uint8Array([0])), 'Extra data'],
    ['an untagged COSE_Sign1', SIGNED.subarray(1), 'tag 18'],
    ['a COSE_Sign (tag 98)', cbor(new Tag(98, [...parts()])), 'tag 18'],
    ['three elements', cbor(new Tag(18, parts().slice(0, 3))), 'array of 4'],
    [
      'an indefinite-length array',
      concat(new Uint8Array([0xd2, 0x9f]), SIGNED.subarray(2), new Uint8Array([0xff])),
      'Streaming',
    ],
    [
      'an indefinite-length byte string',
      concat(
        new Uint8Array([0xd2, 0x84, 0x5f]),
        cbor(protectedBytes),
        new Uint8Array([0xff]),
        cbor(parts()[1]),
        cbor(payload),
        cbor(signature),
      ),
      'Streaming',
    ],
    [
      'an overlong length',
      concat(
        new Uint8Array([0xd2, 0x84, 0x59, 0x00, protectedBytes.byteLength]),
        protectedBytes,
        cbor(parts()[1]),
        cbor(payload),
        cbor(signature),
      ),
      'long integer encoding',
    ],
    [
      'a duplicate unprotected label',
      withRawUnprotected(
        concat(
          new Uint8Array([0xa3]),
          cbor(33),
          cbor([cert]),
          cbor(AGENT),
          cbor('a'),
          cbor(AGENT),
          cbor('b'),
        ),
      ),
      'Duplicate key',
    ],
    [
      'a duplicate protected label',
      message({ 0: concat(new Uint8Array([0xa6]), protectedBytes.subarray(1), cbor(1), cbor(-7)) }),
      'Duplicate key',
    ],
    ['an empty protected header', message({ 0: new Uint8Array() }), 'non-empty map'],
    ['a protected header that is an array', message({ 0: cbor([1]) }), 'non-empty map'],
    ['a protected header that is not a byte string', message({ 0: protectedMap() }), 'byte string'],
    ['an unprotected header that is an array', message({ 1: [] }), 'must be a map'],
    ['a payload that is null', message({ 2: null }), 'payload must be a byte string'],
    ['an empty payload', message({ 2: new Uint8Array() }), 'payload is empty'],
    [
      'a payload that is not the notation payload',
      message({ 2: new TextEncoder().encode('{}') }),
      'targetArtifact',
    ],
    ['an empty signature', message({ 3: new Uint8Array() }), 'signature is empty'],
    ['a signature that is text', message({ 3: 'sig' }), 'signature must be a byte string'],
    ['alg as text', withProtected((h) => void h.set(1, 'ES256')), 'alg'],
    ['alg EdDSA', withProtected((h) => void h.set(1, -8)), 'alg'],
    ['a missing alg', withProtected((h) => void h.delete(1)), 'alg'],
    ['a missing crit', withProtected((h) => void h.delete(2)), 'crit (label 2) is missing'],
    [
      'a crit with a label number',
      withProtected((h) => void h.set(2, ['io.cncf.notary.signingScheme', 1])),
      'crit[1]',
    ],
    [
      'an unknown critical header',
      withProtected(
        (h) => void h.set(2, ['io.cncf.notary.signingScheme', 'io.cncf.notary.verificationPlugin']),
      ),
      'not a critical header present',
    ],
    [
      'a crit without the signing scheme',
      withProtected((h) => {
        h.set(2, ['x']);
        h.set('x', 1);
      }),
      'does not list',
    ],
    ['a content type as a number', withProtected((h) => void h.set(3, 50)), 'text string'],
    [
      'another content type',
      withProtected((h) => void h.set(3, 'application/json')),
      'content type',
    ],
    [
      'a kid in the protected header',
      withProtected((h) => void h.set(4, new Uint8Array([1]))),
      'label 4',
    ],
    ['x5chain in the protected header', withProtected((h) => void h.set(33, [cert])), 'label 33'],
    [
      'a signing time without tag 1',
      withProtected((h) => void h.set('io.cncf.notary.signingTime', 1739780229)),
      'tag 1',
    ],
    [
      'a signing time as tag 0',
      withProtected(
        (h) => void h.set('io.cncf.notary.signingTime', new Tag(0, '2025-02-17T08:17:09Z')),
      ),
      'tag 1',
    ],
    [
      'a signing time as a float',
      withProtected((h) => void h.set('io.cncf.notary.signingTime', new Tag(1, 1739780229.5))),
      'floating point',
    ],
    [
      'a signing time out of range',
      withProtected((h) => void h.set('io.cncf.notary.signingTime', new Tag(1, 2 ** 50))),
      'in range',
    ],
    [
      'a missing signing time',
      withProtected((h) => void h.delete('io.cncf.notary.signingTime')),
      'signingTime is missing',
    ],
    [
      'an expiry not marked critical',
      withProtected((h) => void h.set('io.cncf.notary.expiry', new Tag(1, 1839780229))),
      'does not list',
    ],
    [
      'a tag inside an extended attribute',
      withProtected((h) => void h.set('x', new Tag(24, cbor(1)))),
      'holds a CBOR tag',
    ],
    [
      'an extended attribute nested too deep',
      withProtected((h) => void h.set('x', JSON.parse('['.repeat(30) + ']'.repeat(30)))),
      'depth',
    ],
    ['undefined', withProtected((h) => void h.set('x', undefined)), 'undefined'],
    ['a missing x5chain', withUnprotected((h) => void h.delete(33)), 'x5chain'],
    ['an x5chain that is one byte string', withUnprotected((h) => void h.set(33, cert)), 'x5chain'],
    [
      'an x5chain entry that is text',
      withUnprotected((h) => void h.set(33, ['MII'])),
      'x5chain[0]',
    ],
    [
      'an x5chain entry that is not a certificate',
      withUnprotected((h) => void h.set(33, [new Uint8Array([0x30, 0])])),
      'not an X.509',
    ],
    ['an empty x5chain', withUnprotected((h) => void h.set(33, [])), 'chain is empty'],
    [
      'an unknown unprotected label',
      withUnprotected((h) => void h.set(4, new Uint8Array([1]))),
      'label 4',
    ],
    [
      'a tag in the unprotected header',
      withUnprotected((h) => void h.set(33, [new Tag(24, cert)])),
      'holds a CBOR tag',
    ],
    [
      'a signing agent as bytes',
      withUnprotected((h) => void h.set(AGENT, new Uint8Array([1]))),
      'text string',
    ],
    [
      'a timestamp as text',
      withUnprotected((h) => void h.set('io.cncf.notary.timestampSignature', 'MAA=')),
      'byte string',
    ],
    [
      'text that is not UTF-8',
      withRawUnprotected(
        concat(
          new Uint8Array([0xa2]),
          cbor(33),
          cbor([cert]),
          cbor(AGENT),
          new Uint8Array([0x62, 0xc3, 0x28]),
        ),
      ),
      'utf-8',
    ],
  ];
  for (const [name, input, fragment] of cases) {
    test(name, () => {
      assert.throws(() => parseCoseEnvelope(input), invalid(fragment));
    });
  }

  test('an envelope over the size cap, before reading it', () => {
    assert.throws(
      () => parseCoseEnvelope(SIGNED, { maxBytes: 64 }),
      invalid('more than the 64 allowed'),
    );
  });

  test('nesting far deeper than the cap, without exhausting the stack', () => {
    const deep = concat(
      new Uint8Array([0xd2, 0x84]),
      new Uint8Array(200_000).fill(0x81),
      new Uint8Array([0]),
    );
    assert.throws(() => parseCoseEnvelope(deep), invalid('depth'));
  });
});

describe('the signature covers what it must', () => {
  test('a changed protected header or payload no longer verifies', () => {
    const changed = [
      withProtected((h) => void h.set('io.cncf.notary.signingTime', new Tag(1, 1739780230))),
      message({
        2: new TextEncoder().encode(JSON.stringify({ targetArtifact: { ...TARGET, size: 1 } })),
      }),
    ];
    for (const input of changed) {
      assert.throws(
        () => verifyNotationSignature(parseCoseEnvelope(input)),
        expectError('denied', 'NOTATION_SIGNATURE_INVALID', 'does not match'),
      );
    }
  });

  test('fuzzed envelopes are refused with NOTATION_ENVELOPE_INVALID or, if they parse and verify, sign the same content', () => {
    const original = parseCoseEnvelope(SIGNED);
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
            parsed = parseCoseEnvelope(Uint8Array.from(mutated));
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
          assert.deepEqual(parsed.signedBytes, original.signedBytes);
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('random bytes after the COSE_Sign1 prefix are refused, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        try {
          parseCoseEnvelope(concat(new Uint8Array([0xd2, 0x84]), tail));
        } catch (error) {
          assert.ok(
            isVouchError(error) && error.code === 'NOTATION_ENVELOPE_INVALID',
            String(error),
          );
        }
      }),
      { numRuns: 2000 },
    );
  });
});
