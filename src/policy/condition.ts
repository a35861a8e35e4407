/**
 * Attestation conditions in CEL (https://cel.dev), evaluated with
 * @bufbuild/cel: parsed and planned once when the policy loads, run against
 * each verified in-toto statement. The variables are
 *
 * - `statement`: the whole statement (`_type`, `subject`, `predicateType`, `predicate`);
 * - `predicate`: `statement.predicate`;
 * - `predicateType`: `statement.predicateType`;
 * - `subject`: `statement.subject`.
 *
 * An expression that does not parse, or names any other variable, is refused
 * at load: a typo must not surface as a denial in production. At run time a
 * condition holds only when it evaluates to `true`; an error (a missing
 * field, a type mismatch) or any other value does not, and says why.
 */
import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { invalid, messageOf } from '../core/errors.ts';

export const CONDITION_VARIABLES = ['statement', 'predicate', 'predicateType', 'subject'] as const;

export interface Condition {
  /** The expression as written. */
  readonly expression: string;
  /** Whether the statement satisfies it, or why not. */
  readonly test: (statement: Readonly<Record<string, unknown>>) => ConditionResult;
}

export type ConditionResult =
  { readonly holds: true } | { readonly holds: false; readonly reason: string };

const ENV = celEnv();

/** Compiles a condition. Throws `invalid` INVALID_CONDITION when it does not parse or names an unknown variable. */
export function compileCondition(expression: string): Condition {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(expression);
  } catch (error) {
    throw invalid('INVALID_CONDITION', `the CEL expression does not parse: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const unknown = freeVariables(parsed.expr).filter(
    (name) => !(CONDITION_VARIABLES as readonly string[]).includes(name),
  );
  if (unknown.length > 0) {
    throw invalid(
      'INVALID_CONDITION',
      `the CEL expression names ${unknown.map((name) => JSON.stringify(name)).join(', ')}; the variables are ${CONDITION_VARIABLES.join(', ')}`,
    );
  }
  const run = plan(ENV, parsed);
  return {
    expression,
    test(input) {
      let result: unknown;
      try {
        // Plain JSON values: the evaluator reads object prototypes, and statements
        // parsed by vouch's strict JSON reader have none.
        const statement = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
        result = run({
          statement,
          predicate: statement['predicate'] ?? null,
          predicateType: statement['predicateType'] ?? null,
          subject: statement['subject'] ?? null,
        } as never);
      } catch (error) {
        return { holds: false, reason: `the condition failed: ${messageOf(error)}` };
      }
      if (result === true) return { holds: true };
      if (isCelError(result)) {
        return { holds: false, reason: `the condition failed: ${messageOf(result)}` };
      }
      return {
        holds: false,
        reason:
          result === false
            ? 'the condition is false'
            : `the condition evaluated to ${typeof result}, not a boolean`,
      };
    },
  };
}

// The parts of @bufbuild/cel's Expr this walk reads (cel/expr/syntax.proto).
interface ExprNode {
  readonly exprKind:
    | { readonly case: 'identExpr'; readonly value: { readonly name: string } }
    | { readonly case: 'selectExpr'; readonly value: { readonly operand?: ExprNode } }
    | {
        readonly case: 'callExpr';
        readonly value: { readonly target?: ExprNode; readonly args: readonly ExprNode[] };
      }
    | { readonly case: 'listExpr'; readonly value: { readonly elements: readonly ExprNode[] } }
    | {
        readonly case: 'structExpr';
        readonly value: {
          readonly entries: readonly {
            readonly keyKind: { readonly case: string | undefined; readonly value?: unknown };
            readonly value?: ExprNode;
          }[];
        };
      }
    | {
        readonly case: 'comprehensionExpr';
        readonly value: {
          readonly iterVar: string;
          readonly iterVar2?: string;
          readonly accuVar: string;
          readonly iterRange?: ExprNode;
          readonly accuInit?: ExprNode;
          readonly loopCondition?: ExprNode;
          readonly loopStep?: ExprNode;
          readonly result?: ExprNode;
        };
      }
    | { readonly case: 'constExpr' | undefined; readonly value?: unknown };
}

/** The identifiers an expression reads that no macro (`exists`, `map`, ...) binds. */
function freeVariables(root: unknown): string[] {
  const free = new Set<string>();
  const walk = (node: ExprNode | undefined, bound: ReadonlySet<string>): void => {
    if (node === undefined) return;
    const kind = node.exprKind;
    switch (kind.case) {
      case 'identExpr':
        if (!bound.has(kind.value.name)) free.add(kind.value.name);
        return;
      case 'selectExpr':
        walk(kind.value.operand, bound);
        return;
      case 'callExpr':
        walk(kind.value.target, bound);
        for (const arg of kind.value.args) walk(arg, bound);
        return;
      case 'listExpr':
        for (const element of kind.value.elements) walk(element, bound);
        return;
      case 'structExpr':
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === 'mapKey') walk(entry.keyKind.value as ExprNode, bound);
          walk(entry.value, bound);
        }
        return;
      case 'comprehensionExpr': {
        const c = kind.value;
        walk(c.iterRange, bound);
        walk(c.accuInit, bound);
        const inner = new Set(bound);
        inner.add(c.iterVar);
        if (c.iterVar2 !== undefined && c.iterVar2 !== '') inner.add(c.iterVar2);
        inner.add(c.accuVar);
        walk(c.loopCondition, inner);
        walk(c.loopStep, inner);
        const withAccu = new Set(bound);
        withAccu.add(c.accuVar);
        walk(c.result, withAccu);
        return;
      }
      default:
        return;
    }
  };
  walk(root as ExprNode, new Set());
  return [...free];
}
