import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { header, retryAfterMs } from './http.ts';

const NOW = Date.parse('2015-10-21T07:28:00Z');

describe('retryAfterMs', () => {
  test('delta-seconds', () => {
    assert.equal(retryAfterMs('0', NOW), 0);
    assert.equal(retryAfterMs('1', NOW), 1000);
    assert.equal(retryAfterMs('120', NOW), 120_000);
    assert.equal(retryAfterMs(' 3600 ', NOW), 3_600_000);
  });

  test('an absent header is undefined', () => {
    assert.equal(retryAfterMs(undefined, NOW), undefined);
  });

  test('a repeated header takes the first value', () => {
    assert.equal(retryAfterMs(['5', '600'], NOW), 5000);
  });

  test('IMF-fixdate in the future', () => {
    assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:30 GMT', NOW), 30_000);
  });

  test('the obsolete RFC 850 and asctime date forms', () => {
    assert.equal(retryAfterMs('Wednesday, 21-Oct-15 07:29:00 GMT', NOW), 60_000);
    assert.equal(retryAfterMs('Wed Oct 21 07:28:10 2015', NOW), 10_000);
    assert.equal(retryAfterMs('Wed Oct  1 07:28:00 2015', NOW), 0);
  });

  test('asctime is GMT whatever the local time zone', () => {
    // Date.parse would read a zone-less date as local time; the header means GMT.
    assert.equal(retryAfterMs('Wed Oct 21 08:28:00 2015', NOW), 3_600_000);
  });

  test('a date in the past means retry now, never a negative wait', () => {
    assert.equal(retryAfterMs('Tue, 20 Oct 2015 07:28:00 GMT', NOW), 0);
  });

  // Neither delta-seconds nor an HTTP-date (RFC 9110 §10.2.3): the caller falls
  // back to its own backoff. V8's lenient Date.parse reads several of these as
  // dates (`1.5` is 2001-01-05, `foo 2099` is in 2099), which would turn junk
  // into "retry at once" or "wait for decades".
  for (const garbage of [
    '',
    'soon',
    '-5',
    '1.5',
    '1e3',
    '0x10',
    '3600s',
    'foo 12',
    'foo 2099',
    'Sat 2020',
    'Wed, 21 Oct 2015 07:28:30',
    'tomorrow 5',
  ]) {
    test(`garbage ${JSON.stringify(garbage)} is undefined`, () => {
      assert.equal(retryAfterMs(garbage, NOW), undefined);
    });
  }

  test('uses the real clock when none is given', () => {
    const future = new Date(Date.now() + 60_000).toUTCString();
    const wait = retryAfterMs(future);
    assert.ok(wait !== undefined && wait > 55_000 && wait <= 60_000, String(wait));
  });
});

describe('header', () => {
  test('a single value, the first of repeated values, or undefined', () => {
    const headers = { a: 'one', b: ['first', 'second'] };
    assert.equal(header(headers, 'a'), 'one');
    assert.equal(header(headers, 'b'), 'first');
    assert.equal(header(headers, 'c'), undefined);
  });
});
