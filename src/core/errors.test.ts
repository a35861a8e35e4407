import assert from 'node:assert/strict';
import { test } from 'node:test';
import { denied, hasCode, invalid, isVouchError, VouchError } from './errors.ts';

test('a code is raised only with a category declared for it (checked by tsc)', () => {
  const usage = invalid('USAGE', 'bad flag');
  assert.equal(usage.category, 'invalid');
  assert.equal(usage.code, 'USAGE');
  // @ts-expect-error USAGE is declared `invalid` only
  assert.equal(denied('USAGE', 'x').category, 'denied');
  // @ts-expect-error no layer declares this code
  assert.equal(invalid('NO_SUCH_CODE', 'x').code, 'NO_SUCH_CODE');
});

test('hasCode: a VouchError with one of the codes, nothing else', () => {
  const usage = invalid('USAGE', 'bad flag');
  assert.equal(hasCode(usage, 'USAGE'), true);
  assert.equal(hasCode(new Error('USAGE'), 'USAGE'), false);
  assert.equal(hasCode({ code: 'USAGE' }, 'USAGE'), false);
  assert.equal(hasCode(undefined, 'USAGE'), false);
  assert.ok(isVouchError(usage) && usage instanceof VouchError);
});
