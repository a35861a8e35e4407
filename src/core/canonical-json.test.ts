import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseStrictJsonText } from './strict-json.ts';
import { canonicalJson, canonicalJsonBytes, type CanonicalJsonValue } from './canonical-json.ts';

const canonical = (text: string) => canonicalJson(parseStrictJsonText(text) as CanonicalJsonValue);

describe('canonicalJson (RFC 8785)', () => {
  test('RFC 8785 §3.2.2 example: literals, numbers and string escapes', () => {
    const input =
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
      '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}';
    assert.equal(
      canonical(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test('RFC 8785 §3.2.3 example: members sorted by UTF-16 code units, recursively', () => {
    const input =
      '{"\\u20ac":1,"\\r":2,"\\ufb33":3,"1":4,"\\ud83d\\ude00":5,"\\u0080":6,"\\u00f6":7,"z":{"b":1,"a":[{"d":1,"c":2}]}}';
    assert.equal(
      canonical(input),
      '{"\\r":2,"1":4,"z":{"a":[{"c":2,"d":1}],"b":1},"\u0080":6,"\u00f6":7,' +
        '"\u20ac":1,"\ud83d\ude00":5,"\ufb33":3}',
    );
  });

  test('a Rekor SET payload: keys sorted, integers as written', () => {
    const bytes = canonicalJsonBytes({
      logIndex: 11608800,
      logID: 'c0d2',
      integratedTime: 1674251859,
      body: 'eyJ9',
    });
    assert.equal(
      new TextDecoder().decode(bytes),
      '{"body":"eyJ9","integratedTime":1674251859,"logID":"c0d2","logIndex":11608800}',
    );
  });

  test('-0 is 0; non-finite numbers and lone surrogates are refused', () => {
    assert.equal(canonicalJson([-0, 1e21, 1e-7]), '[0,1e+21,1e-7]');
    assert.throws(() => canonicalJson(Number.NaN), TypeError);
    assert.throws(() => canonicalJson({ a: Number.POSITIVE_INFINITY }), TypeError);
    assert.throws(() => canonicalJson('\ud800'), TypeError);
    assert.throws(() => canonicalJson({ '\udc00x': 1 }), TypeError);
    assert.equal(canonicalJson('\ud83d\ude00'), '"😀"');
  });
});
