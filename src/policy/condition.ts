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
 *
 * Conditions are bounded, as Kubernetes bounds its CEL
 * (https://kubernetes.io/docs/reference/using-api/cel/#resource-constraints):
 *
 * - at load: at most `CONDITION_MAX_LENGTH` characters, loops nested at most
 *   `MAX_LOOP_NESTING` deep, no protobuf messages built, `matches` patterns
 *   literal (and valid), and an estimated cost (cel-estimate.ts) within
 *   `EVALUATION_COST_LIMIT`;
 * - at run time: each evaluation stops once it has spent
 *   `EVALUATION_COST_LIMIT` cost units (cel-budget.ts), and so do all the
 *   evaluations of one image decision together once they have spent the
 *   `ConditionBudget` the caller gives them. A condition stopped so does not
 *   hold: CONDITION_BUDGET_EXCEEDED;
 * - its input: the statement, converted once within caps on nesting and
 *   values (cel-input.ts); a statement over them fails the condition with
 *   STATEMENT_TOO_LARGE.
 */
import { isCelError, parse } from '@bufbuild/cel';
import { invalid, messageOf } from '../core/errors.ts';
import { type Expr, freeVariables, loopNesting, matchPatterns, messagesBuilt } from './cel-ast.ts';
import { CostMeter, compilePattern, instrument, planMetered, runMetered } from './cel-budget.ts';
import {
  ASSUMED_ELEMENTS,
  ASSUMED_LENGTH,
  ASSUMED_PART_ELEMENTS,
  estimateCost,
} from './cel-estimate.ts';
import { statementInput } from './cel-input.ts';

export const CONDITION_VARIABLES = ['statement', 'predicate', 'predicateType', 'subject'] as const;

/** The longest expression a condition may be (cel-go's parser allows 100,000 code points). */
export const CONDITION_MAX_LENGTH = 4096;
/** Loops within loops (cel-go's ValidateComprehensionNestingLimit): two, as `subject.all(s, s.digest.exists(...))`. */
export const MAX_LOOP_NESTING = 2;
/**
 * Cost units one evaluation may spend, and the most its estimate may be:
 * about 15 ms at most on a 2-vCPU VM, 35 ms the first time in a process
 * (docs/design.md, "Limits on conditions", has the measurements).
 */
export const EVALUATION_COST_LIMIT = 50_000;
/** Cost units all the condition evaluations of one image decision may spend together. */
export const DECISION_COST_BUDGET = 75_000;

/** What is left for the conditions of one decision; each evaluation takes its share from it. */
export interface ConditionBudget {
  remaining: number;
}

export function conditionBudget(units = DECISION_COST_BUDGET): ConditionBudget {
  return { remaining: units };
}

export interface Condition {
  /** The expression as written. */
  readonly expression: string;
  /** Whether the statement satisfies it, or why not; draws on `budget` when given. */
  readonly test: (
    statement: Readonly<Record<string, unknown>>,
    budget?: ConditionBudget,
  ) => ConditionResult;
}

export type ConditionResult =
  | { readonly holds: true }
  | {
      readonly holds: false;
      readonly reason: string;
      /** Set when a limit stopped it: CONDITION_BUDGET_EXCEEDED or STATEMENT_TOO_LARGE. */
      readonly code?: string;
    };

/**
 * Compiles a condition. Throws `invalid` INVALID_CONDITION when it does not
 * parse, names an unknown variable, or is over a limit.
 */
export function compileCondition(expression: string): Condition {
  if (expression.length > CONDITION_MAX_LENGTH) {
    throw invalid(
      'INVALID_CONDITION',
      `the CEL expression is ${expression.length} characters long; at most ${CONDITION_MAX_LENGTH} are allowed`,
    );
  }
  let expr: Expr;
  try {
    expr = parse(expression).expr as Expr;
  } catch (error) {
    throw invalid('INVALID_CONDITION', `the CEL expression does not parse: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const unknown = freeVariables(expr).filter(
    (name) => !(CONDITION_VARIABLES as readonly string[]).includes(name),
  );
  if (unknown.length > 0) {
    throw invalid(
      'INVALID_CONDITION',
      `the CEL expression names ${unknown.map((name) => JSON.stringify(name)).join(', ')}; the variables are ${CONDITION_VARIABLES.join(', ')}`,
    );
  }
  const messages = messagesBuilt(expr);
  if (messages.length > 0) {
    throw invalid(
      'INVALID_CONDITION',
      `the CEL expression builds a ${messages[0]} message; conditions read the statement's JSON and build no messages`,
    );
  }
  for (const pattern of matchPatterns(expr)) {
    // The attestation must not choose the regular expression it is matched
    // with; and a literal is compiled (and checked) once, here.
    if (pattern === undefined) {
      throw invalid(
        'INVALID_CONDITION',
        'the CEL expression calls matches() with a computed pattern; the pattern must be a string literal',
      );
    }
    try {
      compilePattern(pattern);
    } catch (error) {
      throw invalid(
        'INVALID_CONDITION',
        `the CEL expression's pattern ${JSON.stringify(pattern)} does not compile: ${messageOf(error)}`,
      );
    }
  }
  const nesting = loopNesting(expr);
  if (nesting > MAX_LOOP_NESTING) {
    throw invalid(
      'INVALID_CONDITION',
      `the CEL expression nests loops (all, exists, exists_one, map, filter) ${nesting} deep; at most ${MAX_LOOP_NESTING} are allowed, as each level multiplies the cost by the length of what it loops over`,
    );
  }
  const instrumented = instrument(expr);
  const estimate = estimateCost(instrumented);
  if (estimate > EVALUATION_COST_LIMIT) {
    throw invalid(
      'INVALID_CONDITION',
      `the CEL expression's estimated cost ${format(estimate)} is over the limit of ${format(EVALUATION_COST_LIMIT)} per evaluation (estimated for lists and maps of ${ASSUMED_ELEMENTS} elements, ${ASSUMED_PART_ELEMENTS} in an element of a list looped over, and strings of ${ASSUMED_LENGTH} characters)`,
    );
  }
  const program = planMetered(instrumented);
  return {
    expression,
    test(input, budget) {
      const converted = statementInput(input);
      if ('problem' in converted) {
        return { holds: false, code: 'STATEMENT_TOO_LARGE', reason: converted.problem };
      }
      const { statement } = converted;
      const limit = Math.min(EVALUATION_COST_LIMIT, budget?.remaining ?? Infinity);
      const meter = new CostMeter(limit);
      let result: unknown;
      try {
        result = runMetered(
          program,
          {
            statement,
            predicate: statement.get('predicate') ?? null,
            predicateType: statement.get('predicateType') ?? null,
            subject: statement.get('subject') ?? null,
          },
          meter,
        );
      } catch (error) {
        if (!meter.exceeded) {
          return { holds: false, reason: `the condition failed: ${messageOf(error)}` };
        }
      } finally {
        if (budget !== undefined) budget.remaining = Math.max(0, budget.remaining - meter.spent);
      }
      if (meter.exceeded) {
        return {
          holds: false,
          code: 'CONDITION_BUDGET_EXCEEDED',
          reason:
            limit < EVALUATION_COST_LIMIT
              ? 'the conditions evaluated for this decision spent the budget they share'
              : `the evaluation was stopped at its budget of ${format(limit)} cost units`,
        };
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

const format = (n: number) => n.toLocaleString('en');
