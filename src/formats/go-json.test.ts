import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareUtf8 } from './go-json.ts';

const encoder = new TextEncoder();
const bytewise = (a: string, b: string) => Buffer.compare(encoder.encode(a), encoder.encode(b));

describe('compareUtf8', () => {
  it('orders as the UTF-8 bytes do, astral and lone surrogates included', () => {
    const unit = fc.constantFrom(
      'a',
      'b',
      '\u00e9',
      '\ue000',
      '\uffff',
      '\ud83d',
      '\ude00',
      '\ud83d\ude00',
    );
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.array(unit, { maxLength: 6 }).map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(text, text, (a, b) => {
        assert.equal(Math.sign(compareUtf8(a, b)), bytewise(a, b));
      }),
      { numRuns: 5000 },
    );
  });

  it('puts an astral character after U+FFFF, unlike the UTF-16 order', () => {
    assert.ok(compareUtf8('\ud83d\ude00', '\uffff') > 0);
    assert.ok('\ud83d\ude00' < '\uffff');
    assert.ok(compareUtf8('ab', 'abc') < 0);
    assert.equal(compareUtf8('same', 'same'), 0);
  });
});
