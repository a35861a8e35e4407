import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLimiter } from './concurrency.ts';

test('createLimiter never runs more than the limit at once and runs every task', async () => {
  const run = createLimiter(3);
  let active = 0;
  let peak = 0;
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      run(async () => {
        active++;
        peak = Math.max(peak, active);
        await sleep(i % 4);
        active--;
        return i;
      }),
    ),
  );
  assert.equal(peak, 3);
  assert.deepEqual(
    results,
    Array.from({ length: 20 }, (_, i) => i),
  );
});

test('createLimiter releases its slot when a task fails', async () => {
  const run = createLimiter(1);
  await assert.rejects(
    run(async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await run(async () => 'next'), 'next');
});

test('createLimiter rejects a limit below one', () => {
  assert.throws(() => createLimiter(0), RangeError);
});
