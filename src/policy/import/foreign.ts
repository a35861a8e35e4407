/**
 * Reading a foreign policy (a ClusterImagePolicy, a Kyverno policy) as
 * strictly as an ImagePolicy: the project's YAML reader (source.ts: unique
 * keys, no aliases or merge keys followed, nesting capped), every field
 * known, each problem with its path and line. A construct that has no exact
 * ImagePolicy equivalent is *refused*, never dropped or approximated:
 * `refuse` records it like any other problem, and `finish` throws them all
 * at once, as POLICY_IMPORT_REFUSED when any was a refusal and
 * POLICY_IMPORT_INVALID when the input was only malformed.
 */
import { type Field, PolicyError, type PolicyIssue, SourceReader } from '../source.ts';

/** Foreign policies are a few kilobytes; larger input is refused before it is parsed. */
export const MAX_IMPORT_BYTES = 1024 * 1024;

/** The ImagePolicy loader's verdict on a value, or the reason to refuse it. */
export const NO_EQUIVALENT = 'no exact ImagePolicy equivalent';

export class ForeignReader {
  readonly source: string;
  readonly documents: readonly SourceReader[];
  readonly #issues: PolicyIssue[];
  #refused = false;

  constructor(text: string, source: string) {
    this.source = source;
    if (Buffer.byteLength(text, 'utf8') > MAX_IMPORT_BYTES) {
      throw new PolicyError('POLICY_IMPORT_INVALID', source, [
        { path: '', line: 0, column: 0, message: `larger than ${MAX_IMPORT_BYTES} bytes` },
      ]);
    }
    const { readers, issues } = SourceReader.all(text, source);
    this.documents = readers;
    this.#issues = issues;
    this.#throwIfProblems();
    if (this.documents.length === 0) {
      throw new PolicyError('POLICY_IMPORT_INVALID', source, [
        { path: '', line: 0, column: 0, message: 'holds no document' },
      ]);
    }
  }

  /** Records that `field` has no exact equivalent, and why. */
  refuse(field: Field, why: string): undefined {
    this.#refused = true;
    return field.problem(`${NO_EQUIVALENT}: ${why}`);
  }

  /** Throws every problem recorded, if any. */
  finish(): void {
    this.#throwIfProblems();
  }

  #throwIfProblems(): void {
    if (this.#issues.length === 0) return;
    throw new PolicyError(
      this.#refused ? 'POLICY_IMPORT_REFUSED' : 'POLICY_IMPORT_INVALID',
      this.source,
      this.#issues,
    );
  }
}

/**
 * An unanchored Go regexp (`regexp.MatchString`, what cosign and Kyverno
 * call) as the anchored one ImagePolicy takes: any text before and after,
 * newlines included, which is what a search for `re` anywhere accepts.
 * `^` and `$` inside `re` keep their meaning (start and end of the text).
 */
export function unanchored(re: string): string {
  return `(?s:.*)(?:${re})(?s:.*)`;
}

/**
 * A Kyverno wildcard (`ext/wildcard`: `*` any characters, `?` any one) as an
 * anchored RE2 regexp matching the same strings.
 */
export function wildcardRegexp(pattern: string): string {
  let re = '';
  for (const char of pattern) {
    if (char === '*') re += '(?s:.*)';
    else if (char === '?') re += '(?s:.)';
    else re += /[\\^$.|?*+()[\]{}]/.test(char) ? `\\${char}` : char;
  }
  return re;
}
