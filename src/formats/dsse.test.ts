import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import {
  encodeEnvelope,
  IN_TOTO_PAYLOAD_TYPE,
  MAX_ENVELOPE_SIGNATURES,
  parseEnvelope,
  preAuthEncoding,
} from './dsse.ts';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');

describe('preAuthEncoding', () => {
  test('matches the DSSE spec test vector (protocol.md)', () => {
    const pae = preAuthEncoding('http://example.com/HelloWorld', bytes('hello world'));
    assert.equal(text(pae), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  test('lengths are byte lengths in decimal; an empty body is allowed', () => {
    assert.equal(text(preAuthEncoding('t', new Uint8Array())), 'DSSEv1 1 t 0 ');
    // "é" is two bytes in UTF-8, the type is encoded as UTF-8.
    assert.equal(text(preAuthEncoding('é', bytes('ü'))), 'DSSEv1 2 é 2 ü');
    const body = new Uint8Array(1234).fill(0x41);
    assert.ok(
      text(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, body)).startsWith(
        'DSSEv1 28 application/vnd.in-toto+json 1234 AAAA',
      ),
    );
  });

  test('the body is copied byte for byte, including bytes that are not UTF-8', () => {
    const body = new Uint8Array([0xff, 0x00, 0x20, 0x0a]);
    const pae = preAuthEncoding('x', body);
    assert.deepEqual([...pae.subarray(pae.byteLength - 4)], [0xff, 0x00, 0x20, 0x0a]);
  });
});

describe('encodeEnvelope', () => {
  test('writes cosign 3 bytes: payload, payloadType, signatures[{sig}] with keyid omitted when empty', () => {
    const envelope = encodeEnvelope({
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      payload: bytes('{"a":1}'),
      signatures: [{ sig: new Uint8Array([1, 2, 3]), keyid: '' }],
    });
    assert.equal(
      text(envelope),
      `{"payload":"${b64('{"a":1}')}","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AQID"}]}`,
    );
  });

  test('writes a keyid after sig when there is one, and round-trips', () => {
    const original = {
      payloadType: 'text/plain',
      payload: bytes('x'),
      signatures: [
        { sig: new Uint8Array([9]), keyid: 'k1' },
        { sig: new Uint8Array([8]), keyid: '' },
      ],
    };
    const envelope = encodeEnvelope(original);
    assert.equal(
      text(envelope),
      '{"payload":"eA==","payloadType":"text/plain","signatures":[{"sig":"CQ==","keyid":"k1"},{"sig":"CA=="}]}',
    );
    assert.deepEqual(parseEnvelope(envelope), original);
  });
});

describe('parseEnvelope', () => {
  const valid = {
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: b64('{}'),
    signatures: [{ keyid: '', sig: b64('sig') }],
  };
  const parse = (value: unknown) => parseEnvelope(bytes(JSON.stringify(value)));
  const invalid = (fragment: string) => expectError('denied', 'ENVELOPE_INVALID', fragment);

  test('reads cosign 2 envelopes (payloadType first, keyid "") and cosign 3 ones alike', () => {
    const envelope = parse(valid);
    assert.equal(envelope.payloadType, IN_TOTO_PAYLOAD_TYPE);
    assert.equal(text(envelope.payload), '{}');
    assert.deepEqual(envelope.signatures, [{ keyid: '', sig: bytes('sig') }]);
    assert.deepEqual(parse({ ...valid, signatures: [{ sig: b64('sig') }] }).signatures, [
      { keyid: '', sig: bytes('sig') },
    ]);
  });

  test('accepts URL-safe base64 and line breaks, as go-securesystemslib does', () => {
    const raw = new Uint8Array([0xfb, 0xff, 0xfe]); // "+//+" standard, "-__-" URL-safe
    const envelope = parse({ ...valid, payload: '-__-', signatures: [{ sig: '+//+\n' }] });
    assert.deepEqual([...envelope.payload], [...raw]);
    assert.deepEqual([...(envelope.signatures[0]?.sig ?? [])], [...raw]);
  });

  test('refuses base64 Go would refuse (missing padding, foreign characters)', () => {
    assert.throws(() => parse({ ...valid, payload: 'e30' }), invalid('payload is not base64'));
    assert.throws(() => parse({ ...valid, payload: 'e3*=' }), invalid('payload is not base64'));
    assert.throws(
      () => parse({ ...valid, signatures: [{ sig: 'a' }] }),
      invalid('signatures[0].sig is not base64'),
    );
  });

  test('refuses duplicate keys, so no two readers see two payloads', () => {
    const doubled = `{"payloadType":"${IN_TOTO_PAYLOAD_TYPE}","payload":"${b64('{}')}","payload":"${b64('[]')}","signatures":[{"sig":"AQ=="}]}`;
    assert.throws(() => parseEnvelope(bytes(doubled)), invalid('duplicate key "payload"'));
  });

  test('refuses case variants of known keys, which Go decoders read as the field', () => {
    assert.throws(
      () => parse({ ...valid, PayloadType: 'text/plain' }),
      invalid('case variant of "payloadType"'),
    );
    assert.throws(
      () => parse({ ...valid, signatures: [{ sig: b64('s'), KeyID: 'x' }] }),
      invalid('case variant of "keyid"'),
    );
    // The Kelvin sign folds to k in Go.
    assert.throws(
      () => parse({ ...valid, signatures: [{ sig: b64('s'), '\u212Aeyid': 'x' }] }),
      invalid('case variant'),
    );
  });

  test('ignores unknown keys, as the DSSE spec requires (they are not signed either way)', () => {
    assert.equal(parse({ ...valid, extension: { any: 1 } }).payloadType, IN_TOTO_PAYLOAD_TYPE);
  });

  test('refuses wrong types and missing fields', () => {
    assert.throws(() => parse([valid]), invalid('the envelope must be an object'));
    assert.throws(
      () => parse({ ...valid, payloadType: 1 }),
      invalid('payloadType must be a string'),
    );
    assert.throws(() => parse({ ...valid, payload: null }), invalid('payload must be a string'));
    assert.throws(
      () => parse({ ...valid, signatures: {} }),
      invalid('signatures must be an array'),
    );
    assert.throws(() => parse({ ...valid, signatures: [] }), invalid('signatures is empty'));
    assert.throws(
      () => parse({ ...valid, signatures: ['x'] }),
      invalid('signatures[0] must be an object'),
    );
    assert.throws(
      () => parse({ ...valid, signatures: [{ sig: b64('s'), keyid: null }] }),
      invalid('signatures[0].keyid must be a string'),
    );
    const { payloadType: _dropped, ...missing } = valid;
    assert.throws(() => parse(missing), invalid('missing "payloadType"'));
    assert.throws(() => parseEnvelope(bytes('{"payload":')), invalid('unexpected end of input'));
  });

  test(`refuses more than ${MAX_ENVELOPE_SIGNATURES} signatures`, () => {
    const many = Array.from({ length: MAX_ENVELOPE_SIGNATURES + 1 }, () => ({ sig: b64('s') }));
    assert.throws(() => parse({ ...valid, signatures: many }), invalid('17 signatures'));
  });
});
