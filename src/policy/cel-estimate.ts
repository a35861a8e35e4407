/**
 * What an instrumented condition (cel-budget.ts) would cost to evaluate,
 * estimated when the policy loads with the cost model the budget charges at
 * run time, walked as cel-go's `checker.Cost` walks it (checker/cost.go at
 * https://github.com/google/cel-go): a loop costs its range's size times its
 * per-element part.
 *
 * cel-go and Kubernetes take sizes from types: a CRD's `maxItems` and
 * `maxLength`, or else the most a 3 MiB request could hold
 * (k8s.io/apiserver/pkg/apis/cel/config.go, MaxRequestSizeBytes). A
 * statement has no schema and may hold millions of values, which would make
 * every loop too costly; so sizes are assumed instead: lists and maps the
 * condition reads hold `ASSUMED_ELEMENTS`, strings `ASSUMED_LENGTH`
 * characters, and a list inside an element of a list being looped over (a
 * subject's digests, a package's references) `ASSUMED_PART_ELEMENTS`, since
 * together they are part of the outer list. Literals count as written, and
 * what a loop builds is as long as its range. The estimate refuses at load
 * what would exceed the budget even on such a statement: loops within loops
 * over the whole statement, costly calls in a loop. The runtime budget
 * bounds every evaluation, whatever the sizes.
 */
import { type Expr, children } from './cel-ast.ts';
import {
  APPEND,
  ELEMENT_COST,
  LOOKUP,
  LOOP_ELEMENT_COST,
  OTHER,
  RANGE,
  type Shape,
  callCost,
  textCost,
} from './cel-budget.ts';

/** The size assumed for a list or map a condition reads. */
export const ASSUMED_ELEMENTS = 100;
/** The size assumed for a list or map inside an element of a list being looped over. */
export const ASSUMED_PART_ELEMENTS = 10;
/** The length assumed for a string a condition reads. */
export const ASSUMED_LENGTH = 100;

const unknown = (elements: number): Shape => ({
  kind: 'unknown',
  length: ASSUMED_LENGTH,
  elements,
  nested: () => elements * (1 + textCost(ASSUMED_LENGTH)),
});
const UNKNOWN = unknown(ASSUMED_ELEMENTS);
const PART = unknown(ASSUMED_PART_ELEMENTS);

const text = (length: number): Shape => ({
  kind: 'text',
  length,
  elements: 0,
  nested: () => 1 + textCost(length),
});
const list = (elements: number, nested: number): Shape => ({
  kind: 'list',
  length: 0,
  elements,
  nested: () => 1 + nested,
});

interface Estimate {
  readonly cost: number;
  readonly shape: Shape;
}
const NOTHING: Estimate = { cost: 0, shape: OTHER };

/** The estimated cost of one evaluation of the instrumented `expr`. */
export function estimateCost(expr: Expr): number {
  return estimate(expr, new Set()).cost;
}

/** `loopVariables`: the iteration variables of the loops `expr` is in. */
function estimate(expr: Expr, loopVariables: ReadonlySet<string>): Estimate {
  const kind = expr.exprKind;
  const sub = (e: Expr | undefined, variables = loopVariables) =>
    e === undefined ? NOTHING : estimate(e, variables);
  switch (kind.case) {
    case 'constExpr': {
      const c = kind.value.constantKind;
      const shape =
        c.case === 'stringValue' || c.case === 'bytesValue' ? text(c.value.length) : OTHER;
      return { cost: 1, shape };
    }
    case 'listExpr': {
      const elements = kind.value.elements.map((e) => sub(e));
      return {
        cost: 1 + sum(elements.map((e) => e.cost)),
        shape: list(elements.length, sum(elements.map((e) => e.shape.nested()))),
      };
    }
    case 'structExpr': {
      const parts = children(expr).map((e) => sub(e));
      return {
        cost: 1 + sum(parts.map((e) => e.cost)),
        shape: {
          kind: 'map',
          length: 0,
          elements: kind.value.entries.length,
          nested: () => 1 + sum(parts.map((e) => e.shape.nested())),
        },
      };
    }
    case 'comprehensionExpr': {
      const c = kind.value;
      const range = sub(c.iterRange);
      const inside = new Set([...loopVariables, c.iterVar]);
      const condition = sub(c.loopCondition, inside);
      const step = sub(c.loopStep, inside);
      const n = range.shape.elements;
      const cost =
        1 +
        range.cost +
        sub(c.accuInit).cost +
        sub(c.result).cost +
        n * (condition.cost + step.cost + LOOP_ELEMENT_COST);
      // map() and filter() start from an empty list and build one as long as their range.
      const builds = c.accuInit?.exprKind.case === 'listExpr';
      return { cost, shape: builds ? list(n, n * step.shape.nested()) : OTHER };
    }
    case 'callExpr': {
      const c = kind.value;
      const target = c.target === undefined ? undefined : sub(c.target);
      const args = c.args.map((e) => sub(e));
      const cost = 1 + (target?.cost ?? 0) + sum(args.map((e) => e.cost));
      const [a = NOTHING, b = NOTHING] = args;
      switch (c.function) {
        case RANGE: {
          // A loop over part of an element of an enclosing loop's list.
          const shape =
            a.shape.kind === 'unknown' && loopVariables.has(root(c.args[0])) ? PART : a.shape;
          return { cost: cost + shape.elements * ELEMENT_COST, shape };
        }
        case APPEND:
          // What one step adds; the loop makes the whole list (above).
          return { cost: cost + b.shape.elements * ELEMENT_COST, shape: b.shape };
        case LOOKUP: {
          // Statements are JSON: a key read from one is taken to be a string, which scans nothing.
          const scans = b.shape.kind !== 'text' && b.shape.kind !== 'unknown';
          return { cost: cost + (scans ? a.shape.elements * ELEMENT_COST : 0), shape: b.shape };
        }
        case '_&&_':
        case '_||_':
        case '!_':
        case '@not_strictly_false':
          return { cost, shape: OTHER };
        default: {
          const shapes = args.map((e) => e.shape);
          return {
            cost: cost + callCost(c.function, target?.shape, shapes),
            shape: resultShape(c.function, shapes),
          };
        }
      }
    }
    default: {
      // Identifiers and field selections: whatever the statement holds.
      const cost = 1 + sum(children(expr).map((e) => sub(e).cost));
      return { cost, shape: UNKNOWN };
    }
  }
}

function resultShape(name: string, [a = OTHER, b = OTHER, c = OTHER]: readonly Shape[]): Shape {
  switch (name) {
    case '_+_':
      if (a.kind === 'list' || b.kind === 'list') {
        return list(a.elements + b.elements, a.nested() + b.nested());
      }
      return a.kind === 'text' || b.kind === 'text' ? text(a.length + b.length) : UNKNOWN;
    case '_?_:_':
      return b.elements >= c.elements ? b : c;
    default:
      return UNKNOWN;
  }
}

/** The variable a chain of selections and indexes starts from (`x` in `x.a[0].b`). */
function root(expr: Expr | undefined): string {
  const kind = expr?.exprKind;
  switch (kind?.case) {
    case 'identExpr':
      return kind.value.name;
    case 'selectExpr':
      return root(kind.value.operand);
    case 'callExpr':
      return kind.value.function === '_[_]' || kind.value.function === '_[?_]'
        ? root(kind.value.args[0])
        : '';
    default:
      return '';
  }
}

const sum = (values: readonly number[]) => values.reduce((n, v) => n + v, 0);
