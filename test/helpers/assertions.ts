/**
 * Assertions on the errors the library throws: a VouchError with a given
 * `code` and `category` (and, where asked, a fragment of its message).
 */
import assert from 'node:assert/strict';
import { isVouchError, type VouchError } from '../../src/core/errors.ts';

/** Asserts `error` is a VouchError of `code` (and `category` and `text`, if given); returns it. */
function assertVouchError(
  error: unknown,
  code: string,
  category?: string,
  text?: string,
): VouchError {
  assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  if (category !== undefined) assert.equal(error.category, category, error.message);
  if (text !== undefined) assert.ok(error.message.includes(text), error.message);
  return error;
}

/**
 * A predicate for `assert.rejects` / `assert.throws`: the error must be a
 * VouchError of this category and code, whose message contains `text` if given.
 */
export function expectError(
  category: string,
  code: string,
  text?: string,
): (error: unknown) => boolean {
  return (error: unknown): boolean => {
    assertVouchError(error, code, category, text);
    return true;
  };
}

/** Asserts `promise` rejects with a VouchError of `code` (and `category`, if given); returns it. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  category?: string,
): Promise<VouchError> {
  let caught: VouchError | undefined;
  await assert.rejects(promise, (error: unknown) => {
    caught = assertVouchError(error, code, category);
    return true;
  });
  assert.ok(caught !== undefined);
  return caught;
}

/** What `promise` rejects with; fails the test if it resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

/** Resolves with `promise`, or rejects after `ms` (a bound on what a test may wait for). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
