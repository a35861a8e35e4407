import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { JsonDepthError, MAX_JSON_DEPTH, parseJson, tooDeepAt } from './json.ts';

/** The nesting depth of a parsed value: a scalar is 0, `[]` is 1. */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (typeof value === 'object' && value !== null) {
    return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  }
  return 0;
}

describe('parseJson', () => {
  test('parses as JSON.parse does within the cap', () => {
    assert.equal(MAX_JSON_DEPTH, 64);
    assert.deepEqual(parseJson('{"a":[1,{"b":null}],"c":"x"}'), { a: [1, { b: null }], c: 'x' });
    assert.deepEqual(
      parseJson(`${'['.repeat(64)}${']'.repeat(64)}`, 64),
      JSON.parse(`${'['.repeat(64)}${']'.repeat(64)}`),
    );
    assert.throws(() => parseJson('{"a":'), SyntaxError);
  });

  test('refuses the first bracket past the cap, with its offset', () => {
    assert.throws(
      () => parseJson(`{"a":${'['.repeat(64)}`),
      (error) =>
        error instanceof JsonDepthError &&
        error instanceof SyntaxError &&
        error.offset === 68 &&
        error.message === 'nesting deeper than 64 at offset 68',
    );
    assert.throws(() => parseJson('[[[1]]]', 2), /nesting deeper than 2 at offset 2/);
  });

  test('a 4 MiB nest is refused without being read past the cap', () => {
    // Followed by text that is not JSON: had it been parsed, the error would be a JSON one.
    const text = `${'['.repeat(4 * 1024 * 1024)}not json`;
    assert.equal(tooDeepAt(text, 64), 64);
    assert.throws(() => parseJson(text), JsonDepthError);
  });

  test('brackets in strings, escaped quotes and backslashes do not count', () => {
    const text = JSON.stringify({ a: '[[[{{{', b: '\\"[[[', c: ['\\', '"{'] });
    assert.equal(tooDeepAt(text, 2), -1);
    assert.equal(tooDeepAt(text, 1), text.indexOf('"c":[') + 4);
  });

  test('the scan measures exactly the depth of valid JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), (value) => {
        const text = JSON.stringify(value);
        const depth = depthOf(JSON.parse(text));
        assert.equal(tooDeepAt(text, depth), -1);
        if (depth > 0) assert.notEqual(tooDeepAt(text, depth - 1), -1);
        assert.deepEqual(parseJson(text, depth), JSON.parse(text));
      }),
    );
  });
});
