import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { expiryFlag } from './notation-sign.ts';
import { keyValueFlags } from './options.ts';

describe('vouch notation sign flags', () => {
  test('--expiry reads Go durations in whole seconds; 0 is none', () => {
    assert.equal(expiryFlag('24h'), 86_400);
    assert.equal(expiryFlag('1h30m'), 5_400);
    assert.equal(expiryFlag('1.5h'), 5_400);
    assert.equal(expiryFlag('8760h'), 31_536_000);
    assert.equal(expiryFlag('90s'), 90);
    assert.equal(expiryFlag('2000ms'), 2);
    assert.equal(expiryFlag('0'), undefined);
    const usage = (fragment: string) => expectError('invalid', 'USAGE', fragment);
    assert.throws(() => expiryFlag('1500ms'), usage('whole number of seconds'));
    assert.throws(() => expiryFlag('1d'), usage('takes a duration'));
    assert.throws(() => expiryFlag('-1h'), usage('takes a duration'));
    assert.throws(() => expiryFlag(''), usage('takes a duration'));
  });

  test('K=V flags: split at the first =, neither side empty, no key twice', () => {
    assert.deepEqual(keyValueFlags('user-metadata', ['a=b=c', 'd=e']), { a: 'b=c', d: 'e' });
    const usage = (fragment: string) => expectError('invalid', 'USAGE', fragment);
    assert.throws(() => keyValueFlags('user-metadata', ['a=']), usage('neither empty'));
    assert.throws(() => keyValueFlags('user-metadata', ['=b']), usage('neither empty'));
    assert.throws(() => keyValueFlags('user-metadata', ['ab']), usage('key=value'));
    assert.throws(() => keyValueFlags('user-metadata', ['a=1', 'a=2']), usage('more than once'));
  });
});
