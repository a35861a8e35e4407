import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeProtojsonBase64, decodeStdBase64 } from './base64.ts';

describe('decodeProtojsonBase64: bytes as protojson (Go) reads them', () => {
  // Each case is what google.golang.org/protobuf encoding/protojson
  // unmarshalBytes does: the URL alphabet when "-" or "_" occurs, unpadded
  // when the length is not a multiple of 4, `\r` and `\n` skipped.
  const accepted: ReadonlyArray<readonly [string, string]> = [
    ['', ''],
    ['AAAA', '000000'],
    ['AQI=', '0102'],
    ['AQ==', '01'],
    ['AQ', '01'],
    ['AQI', '0102'],
    ['+/+/', 'fbffbf'],
    ['-_-_', 'fbffbf'],
    ['-_8=', 'fbff'],
    ['-_8', 'fbff'],
    ['AQ\nID', '010203'],
    ['AQID\r\n', '010203'],
    // Go's decoder is not in strict mode: non-zero bits after the last byte are dropped.
    ['AR==', '01'],
  ];
  for (const [text, hex] of accepted) {
    test(`accepts ${JSON.stringify(text)}`, () => {
      const bytes = decodeProtojsonBase64(text);
      assert.ok(bytes !== undefined);
      assert.equal(Buffer.from(bytes).toString('hex'), hex);
      // @sigstore/bundle decodes with Node's Buffer: it must read the same bytes.
      assert.equal(Buffer.from(text, 'base64').toString('hex'), hex);
    });
  }

  const refused = [
    'INVALID!!!BASE64!!!ENCODING====',
    'A',
    'AAAAA',
    'AQ=',
    'AQ=I',
    'AQ==AQ==',
    'AAAA====',
    '+_AA',
    '-/AA',
    'AQ== ',
    ' AQID',
    'AQ\tI',
    'AQ.=',
    // Padding is only read when the length is a multiple of 4, counting line breaks.
    'AQ==\n',
    'AQI=\r\n',
  ];
  for (const text of refused) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.equal(decodeProtojsonBase64(text), undefined);
    });
  }

  test("is more lenient than Go's StdEncoding only where protojson is", () => {
    assert.equal(decodeStdBase64('AQ'), undefined);
    assert.equal(decodeStdBase64('-_8='), undefined);
    assert.ok(decodeProtojsonBase64('AQ') !== undefined);
  });
});

describe('the padded grammar', () => {
  // Go's StdEncoding / URLEncoding with padding, as a regular expression of
  // quads: every string of a small alphabet up to 8 long is judged the same.
  const quads = {
    std: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
    url: /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/,
  };
  function* strings(alphabet: string, length: number): Generator<string> {
    if (length === 0) {
      yield '';
      return;
    }
    for (const rest of strings(alphabet, length - 1)) {
      for (const char of alphabet) yield rest + char;
    }
  }

  test('decodeStdBase64 and decodeProtojsonBase64 accept exactly the quads of their alphabet', () => {
    let checked = 0;
    for (let length = 0; length <= 8; length++) {
      for (const text of strings('A+/=_!', length)) {
        assert.equal(decodeStdBase64(text) !== undefined, quads.std.test(text), text);
        if (length % 4 === 0) {
          const url = /[-_]/.test(text);
          assert.equal(
            decodeProtojsonBase64(text) !== undefined,
            (url ? quads.url : quads.std).test(text),
            text,
          );
        }
        checked += 1;
      }
    }
    assert.ok(checked > 1_000_000);
  });
});
