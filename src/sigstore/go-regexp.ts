/**
 * Regular expressions as Go reads them: RE2 syntax
 * (https://pkg.go.dev/regexp/syntax), matched in time linear in the input.
 * cosign, policy-controller and Kyverno compile certificate identity
 * patterns with Go's `regexp` package, so a pattern written for them means
 * the same here (`\-`, `\Q...\E`, `[[:alpha:]]`, `\pL`, `(?i)`), and what
 * RE2 refuses (backreferences, lookaround, possessive quantifiers) is
 * refused rather than run by a backtracking engine, whose worst case on a
 * pattern such as `(a+)+$` is exponential.
 *
 * The engine is @bufbuild/re2, Buf's TypeScript fork of re2js (a port of
 * RE2/J, with Go's parser and automata): the one @bufbuild/cel already
 * runs CEL's `matches()` with, so policies load no second engine. Only
 * modules behind a keyless identity or a policy import this one; `vouch
 * verify --key` never loads it (the CLI imports the identity matchers with
 * `import()`).
 */
import { RE2JS } from '@bufbuild/re2';

/**
 * Longest pattern accepted. Matching costs O(len(pattern)·len(value)), and
 * compiling a long pattern takes seconds; identity patterns are a line.
 */
export const MAX_REGEXP_LENGTH = 1024;

/** A compiled regular expression with Go's syntax and meaning. */
export interface GoRegexp {
  /**
   * Whether the expression matches all of `value`, as `^(?:source)$` does
   * in Go (where `$` without `(?m)` is the end of the text).
   */
  matchesWhole(value: string): boolean;
}

/** A pattern RE2 refuses; the message is the parser's, in Go's words. */
export class GoRegexpError extends Error {
  override name = 'GoRegexpError';
}

/**
 * Compiles `source`. Throws GoRegexpError when RE2 refuses it ("error
 * parsing regexp: invalid escape sequence: `\1`") or when it is longer than
 * MAX_REGEXP_LENGTH.
 */
export function compileGoRegexp(source: string): GoRegexp {
  if (source.length > MAX_REGEXP_LENGTH) {
    throw new GoRegexpError(`longer than ${MAX_REGEXP_LENGTH} characters`);
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source);
  } catch (error) {
    throw new GoRegexpError(error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
  return { matchesWhole: (value) => compiled.testExact(value) };
}
