/**
 * The in-toto statement a condition sees, as CEL values, converted once and
 * within caps.
 *
 * A statement comes from a registry: its payload is capped in bytes (16 MiB,
 * formats/cosign-attestation.ts, formats/sigstore-bundle.ts) and in nesting
 * (64, core/strict-json.ts) where it is read, but an evidence file or a
 * library caller can hand over anything, and 16 MiB of JSON holds millions
 * of values. So the conversion caps them again: nesting, and the number of
 * values, which bounds the one pass that converts the statement and every
 * walk an evaluation can make over it.
 *
 * @bufbuild/cel converts plain objects lazily and again on every access (an
 * object becomes a new Map of all its entries each time a field of it is
 * read), which makes a field read cost as much as the object is wide.
 * Converted once, every read is a lookup. The result is kept per statement
 * object: the webhook decides the same cached evidence on every request.
 */
import { type CelMap, type CelValue, celMap } from '@bufbuild/cel';
import { listOf } from './cel-budget.ts';

/** Nesting allowed, as core/strict-json.ts allows when it reads a payload. */
export const STATEMENT_MAX_DEPTH = 64;
/** Values (objects, arrays, scalars) allowed in one statement. */
export const STATEMENT_MAX_VALUES = 200_000;

export type StatementInput = { readonly statement: CelMap } | { readonly problem: string };

const converted = new WeakMap<object, StatementInput>();

/** `statement` as a CEL map, or why it cannot be one. */
export function statementInput(statement: Readonly<Record<string, unknown>>): StatementInput {
  let input = converted.get(statement);
  if (input === undefined) {
    input = convert(statement);
    converted.set(statement, input);
  }
  return input;
}

class TooLarge extends Error {}

function convert(statement: Readonly<Record<string, unknown>>): StatementInput {
  let values = 0;
  const value = (v: unknown, depth: number): CelValue => {
    if (++values > STATEMENT_MAX_VALUES) {
      throw new TooLarge(`it has more than ${STATEMENT_MAX_VALUES.toLocaleString('en')} values`);
    }
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    // JSON numbers are doubles, as @bufbuild/cel takes a JavaScript number.
    if (typeof v === 'number') return v;
    if (typeof v !== 'object') throw new TooLarge(`it holds a ${typeof v}, not JSON`);
    if (depth >= STATEMENT_MAX_DEPTH) {
      throw new TooLarge(`it is nested deeper than ${STATEMENT_MAX_DEPTH}`);
    }
    if (Array.isArray(v)) return listOf(v.map((element: unknown) => value(element, depth + 1)));
    const entries = new Map<string, CelValue>();
    for (const [key, field] of Object.entries(v)) {
      // As JSON.stringify writes it: a field set to undefined is absent.
      if (field !== undefined) entries.set(key, value(field, depth + 1));
    }
    return celMap(entries);
  };
  try {
    return { statement: value(statement, 0) as CelMap };
  } catch (error) {
    if (error instanceof TooLarge)
      return { problem: `the statement is too large: ${error.message}` };
    throw error;
  }
}
