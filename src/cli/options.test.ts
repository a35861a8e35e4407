import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { deadlineSignal, durationFlag } from './options.ts';

describe('durationFlag', () => {
  test("Go's duration units, summed, and a bare number as seconds", () => {
    assert.equal(durationFlag('deadline', '500ms'), 500);
    assert.equal(durationFlag('deadline', '90s'), 90_000);
    assert.equal(durationFlag('deadline', '5m'), 300_000);
    assert.equal(durationFlag('deadline', '1h30m'), 5_400_000);
    assert.equal(durationFlag('deadline', '1.5h'), 5_400_000);
    assert.equal(durationFlag('deadline', '2m0.5s'), 120_500);
    assert.equal(durationFlag('deadline', '120'), 120_000);
    assert.equal(durationFlag('deadline', '0.25'), 250);
    assert.equal(durationFlag('deadline', '24h'), 86_400_000);
  });

  for (const bad of ['', '0', '0s', '-1s', '2 s', 's', 'ms5', '5d', '1e3s', '.5s', '24h1ms']) {
    test(`${JSON.stringify(bad)} is a usage error naming the flag`, () => {
      assert.throws(
        () => durationFlag('deadline', bad),
        expectError('invalid', 'USAGE', '--deadline'),
      );
    });
  }
});

describe('deadlineSignal', () => {
  test('fires after the duration with DEADLINE_EXCEEDED, naming the flag and its value', async () => {
    const signal = deadlineSignal('50ms');
    assert.equal(signal.aborted, false);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    expectError('unavailable', 'DEADLINE_EXCEEDED', 'deadline of 50ms')(signal.reason);
  });
});
