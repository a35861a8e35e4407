/**
 * A budget for CEL evaluations: every evaluation counts what it does, in
 * cost units, and stops once it has spent its limit. @bufbuild/cel 0.6.1 has
 * no cost tracking, no interruption and no limits, so they are added
 * through its public API:
 *
 * - the standard functions that take strings, bytes, lists or maps are
 *   replaced by wrappers (`celEnv({ funcs })`) that charge what the call
 *   will do before doing it;
 * - the parsed expression is instrumented before it is planned
 *   (`instrument`): each loop (the comprehension a macro expands to)
 *   charges its per-element part once per element, through an identifier
 *   whose getter charges, and its range once; an index that may scan a map
 *   charges that scan. Every name added starts with `@`, which no
 *   expression can write.
 *
 * Units follow cel-go's runtime cost (interpreter/runtimecost.go,
 * common/cost.go at https://github.com/google/cel-go): one per node
 * evaluated, strings at a tenth of a unit per character
 * (StringTraversalCostFactor), `matches` as text × pattern/4
 * (RegexStringLengthCostFactor), `in` a list as its size. Where
 * @bufbuild/cel does more work than cel-go, the charge follows it, so that
 * a unit stays within a bounded time (docs/design.md has the measurements):
 * walking or copying a list costs a unit per element (its lists are read
 * through generators); list and map equality and `in` a list walk nested
 * values; a number looked up in a map scans its keys; a time zone name
 * builds an `Intl.DateTimeFormat`.
 *
 * Memory follows from the same count: a list, string or byte string is
 * built only after its size has been charged. `list + list` copies into one
 * flat list (@bufbuild/cel's lazy concatenation nests one level per `+`, and
 * reading it costs its depth, so map() over n elements was quadratic and
 * overflowed the stack past a few thousand); the accumulator of map() and
 * filter(), which no expression can see, is appended to in place, so those
 * macros are linear. `size()` of a string counts code points without
 * spreading the string into an array, and `matches` compiles each pattern
 * once (patterns are literals, checked when the policy loads).
 *
 * When the budget runs out, the charge throws. From a loop's getter, that
 * ends the evaluation at once; from a function, @bufbuild/cel turns it into
 * an error value, and the next loop element's charge ends it. Whatever value
 * it ends with (`||` may absorb an error), the meter says the budget was
 * exceeded, and that is the outcome.
 */
import {
  type CelFunc,
  type CelList,
  type CelType,
  type CelValue,
  celEnv,
  celFunc,
  celList,
  celMethod,
  CelScalar,
  isCelError,
  isCelList,
  isCelMap,
  plan,
} from '@bufbuild/cel';
import { RE2JS } from '@bufbuild/re2';
import { ACCUMULATOR, type CallExpr, children, type Expr, nodeCount } from './cel-ast.ts';

/** cel-go's StringTraversalCostFactor: a unit per ten characters. */
export const STRING_FACTOR = 0.1;
/** cel-go's RegexStringLengthCostFactor: a pattern costs a quarter of its length per character matched. */
export const REGEX_FACTOR = 0.25;
/** Walking or copying one list element or map entry. */
export const ELEMENT_COST = 1;
/** Parsing a timestamp or duration from a string. */
export const TIME_PARSE_COST = 50;
/** Matching a compiled pattern, besides its length times the text's. */
export const REGEX_MATCH_COST = 20;
/**
 * The work of a loop per element besides its nodes: binding the element,
 * reading it from the range, the charge itself. It also covers what a
 * failing element costs beyond its nodes (an error value built for each).
 */
export const LOOP_ELEMENT_COST = 5;
/** A time accessor given a time zone name: @bufbuild/cel builds an `Intl.DateTimeFormat` on every call. */
export const TIME_ZONE_COST = 5000;

/** Counts cost units; throws once more than `limit` are spent. */
export class CostMeter {
  readonly limit: number;
  #spent = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get spent(): number {
    return this.#spent;
  }

  get exceeded(): boolean {
    return this.#spent > this.limit;
  }

  /** What is left. */
  get remaining(): number {
    return Math.max(0, this.limit - this.#spent);
  }

  charge(units: number): void {
    this.#spent += units;
    if (this.#spent > this.limit) throw new Error(`cost budget of ${this.limit} units exceeded`);
  }
}

/**
 * The meter of the evaluation in progress. Evaluations are synchronous and
 * never nest, so one slot is enough; the functions below charge it.
 */
let active: CostMeter | undefined;

function charge(units: number): void {
  if (active === undefined) throw new Error('a metered CEL function ran outside an evaluation');
  active.charge(units);
}

export const textCost = (length: number) => Math.ceil(length * STRING_FACTOR);

/**
 * What the cost of a call depends on, for a value (at run time) or for an
 * estimate of one (at load, where sizes are assumed): its kind, its length
 * as a string or byte string, its size as a list or map, and the size of
 * everything nested in it.
 */
export interface Shape {
  readonly kind: 'list' | 'map' | 'text' | 'other' | 'unknown';
  /** Characters or bytes of a text. */
  readonly length: number;
  /** Elements of a list or entries of a map. */
  readonly elements: number;
  /** Every value nested in it, texts counted by length; computed on demand. */
  nested(): number;
}

export const OTHER: Shape = { kind: 'other', length: 0, elements: 0, nested: () => 1 };

/** What a standard call costs beyond its own node, by function name. */
export function callCost(name: string, target: Shape | undefined, args: readonly Shape[]): number {
  const [a = OTHER, b = OTHER] = args;
  const self = target ?? a;
  const other = target === undefined ? b : a;
  switch (name) {
    case '_==_':
    case '_!=_':
      // @bufbuild/cel compares sizes first and walks the elements only when they agree.
      if ((a.kind === 'list' && b.kind === 'list') || (a.kind === 'map' && b.kind === 'map')) {
        return a.elements === b.elements ? a.nested() : 0;
      }
      return textCost(Math.min(a.length, b.length));
    case '@in':
      if (b.kind === 'list' || b.kind === 'unknown') return b.nested();
      // A key that is not a string makes @bufbuild/cel's map lookup scan every key
      // (estimates take an unknown key to be a string, as JSON's are).
      return b.kind === 'map' && a.kind !== 'text' && a.kind !== 'unknown'
        ? b.elements * ELEMENT_COST
        : 0;
    case '_+_':
      if (a.kind === 'list' || b.kind === 'list') return (a.elements + b.elements) * ELEMENT_COST;
      return textCost(a.length + b.length);
    case '_<_':
    case '_<=_':
    case '_>_':
    case '_>=_':
      return textCost(Math.min(a.length, b.length));
    case 'contains':
      return textCost(self.length) * Math.max(1, textCost(other.length));
    case 'matches':
      return REGEX_MATCH_COST + textCost(1 + self.length) * Math.ceil(other.length * REGEX_FACTOR);
    case 'int':
    case 'uint':
      // BigInt parsing is superlinear in the digits.
      return a.kind === 'text' ? textCost(a.length) + Math.ceil(a.length ** 2 / 1e6) : 0;
    case 'timestamp':
    case 'duration':
      return a.kind === 'text' || a.kind === 'unknown' ? TIME_PARSE_COST + textCost(a.length) : 0;
    default:
      if (name.startsWith('get') && target !== undefined && args.length === 1) {
        return a.kind === 'text' || a.kind === 'unknown' ? TIME_ZONE_COST : 0;
      }
      // size, startsWith, endsWith, conversions: linear in their texts.
      return textCost((target?.length ?? 0) + args.reduce((n, v) => n + v.length, 0));
  }
}

/** The shape of a value at run time. */
function shapeOf(value: CelValue): Shape {
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const length = value.length;
    return { kind: 'text', length, elements: 0, nested: () => 1 + textCost(length) };
  }
  if (isCelList(value) || isCelMap(value)) {
    return {
      kind: isCelList(value) ? 'list' : 'map',
      length: 0,
      elements: value.size,
      nested: () => nestedSize(value, active?.remaining ?? 0),
    };
  }
  return OTHER;
}

const lengthOf = (v: unknown) =>
  typeof v === 'string' ? v.length : v instanceof Uint8Array ? v.length : 0;

/**
 * The values in `value`, texts counted by length, up to `limit`: a walk as
 * long as the one an equality or `in` would make, and no longer.
 */
function nestedSize(value: CelValue, limit: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && size <= limit) {
    const v = stack.pop();
    size += ELEMENT_COST + textCost(lengthOf(v));
    if (isCelList(v)) {
      for (const element of v) stack.push(element);
    } else if (isCelMap(v)) {
      for (const [key, element] of v) stack.push(key, element);
    }
  }
  return size;
}

/** The backing array of every list built here (and by cel-input.ts), for flat copies. */
const arrays = new WeakMap<CelList, unknown[]>();
/** The lists map() and filter() are still filling (their accumulators), and their arrays. */
const filling = new WeakMap<CelList, unknown[]>();

/** A list over `array`, remembered so later copies can read it directly. */
export function listOf(array: unknown[]): CelList {
  const list = celList(array as never);
  arrays.set(list, array);
  return list;
}

function elementsOf(list: CelList): unknown[] {
  const known = arrays.get(list);
  if (known !== undefined) return known;
  // A list literal: read by index, which is cheaper than its iterator.
  const elements: unknown[] = [];
  for (let i = 0; i < list.size; i++) elements.push(list.get(i));
  return elements;
}

/** Compiled patterns, by pattern; literals only (condition.ts), so their number is the policy's. */
const patterns = new Map<string, RE2JS>();
const MAX_PATTERNS = 1000;

/** `pattern` compiled by RE2 (as @bufbuild/cel compiles it); throws if it does not compile. */
export function compilePattern(pattern: string): RE2JS {
  let compiled = patterns.get(pattern);
  if (compiled === undefined) {
    compiled = RE2JS.compile(pattern);
    // Policies come and go over a webhook's life; forget old patterns rather than grow.
    if (patterns.size >= MAX_PATTERNS) patterns.clear();
    patterns.set(pattern, compiled);
  }
  return compiled;
}

/** Code points, as `[...s].length` counts them, without building the array. */
function codePoints(s: string): number {
  let count = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/** Types whose values have a size: a call taking one may cost more than its node. */
const sized = (t: CelType | undefined) =>
  t !== undefined &&
  (t.kind === 'list' || t.kind === 'map' || ['string', 'bytes', 'dyn'].includes(t.name));

/**
 * A standard function that charges its cost first. Functions of scalars
 * only (`int + int`, `double < double`) cost their node alone and are left
 * as they are. Three are also done differently (see the top): `list +
 * list`, `size()` of a string and `matches`.
 */
function metered(func: CelFunc): CelFunc {
  if (!sized(func.target) && !func.arguments.some(sized)) return func;
  const method = func.target !== undefined;
  const types = [...(method ? [func.target] : []), ...func.arguments].map((t) => t?.name);
  const instead =
    func.name === '_+_' && func.arguments.every((t) => t.kind === 'list')
      ? (l: CelList, r: CelList) => listOf([...elementsOf(l), ...elementsOf(r)])
      : func.name === 'size' && types[0] === 'string'
        ? (s: string) => BigInt(codePoints(s))
        : func.name === 'matches' && types.every((t) => t === 'string')
          ? (s: string, pattern: string) => compilePattern(pattern).test(s)
          : undefined;
  function impl(this: CelValue, ...args: CelValue[]): CelValue {
    const target = method ? this : undefined;
    charge(
      callCost(func.name, target === undefined ? undefined : shapeOf(target), args.map(shapeOf)),
    );
    if (instead !== undefined) {
      return (instead as (...values: CelValue[]) => CelValue)(
        ...(target === undefined ? args : [target, ...args]),
      );
    }
    const result = func.call(0, target, args);
    // The signature is the wrapped one's, so it always applies.
    if (result === undefined) throw new Error(`no overload of ${func.name} applies`);
    if (isCelError(result)) throw result;
    return result;
  }
  return method
    ? celMethod(func.name, func.target, func.arguments, func.result, impl as never)
    : celFunc(func.name, func.arguments, func.result, impl as never);
}

export const RANGE = '@vouch_range';
export const APPEND = '@vouch_append';
export const LOOKUP = '@vouch_lookup';
/** Prefix of a loop's per-element charge, `@vouch_tick_<units>` (see `instrument`). */
export const TICK = '@vouch_tick_';
const { DYN } = CelScalar;

const HOOKS = [
  // Before a loop: @bufbuild/cel copies the range into an array.
  celFunc(RANGE, [DYN], DYN, (range: CelValue) => {
    if (isCelList(range) || isCelMap(range)) charge(range.size * ELEMENT_COST);
    return range;
  }),
  // `@result + [x]` in map() and filter(): push onto the list being built.
  celFunc(APPEND, [DYN, DYN], DYN, (accumulator: CelValue, tail: CelValue) => {
    if (!isCelList(accumulator) || !isCelList(tail)) {
      throw new Error('map() and filter() build lists');
    }
    charge(tail.size * ELEMENT_COST);
    const array = filling.get(accumulator);
    if (array !== undefined) {
      for (let i = 0; i < tail.size; i++) array.push(tail.get(i));
      return accumulator;
    }
    const started = [...elementsOf(accumulator), ...elementsOf(tail)];
    const list = listOf(started);
    filling.set(list, started);
    return list;
  }),
  // `m[k]` with a key that is not a string: the lookup scans the map's keys.
  celFunc(LOOKUP, [DYN, DYN], DYN, (container: CelValue, key: CelValue) => {
    if (isCelMap(container) && typeof key !== 'string') charge(container.size * ELEMENT_COST);
    return key;
  }),
];

const ENV = celEnv({ funcs: [...[...celEnv().funcs].map(metered), ...HOOKS] });

let nextId = -1n;
/** A node for `kind`; ids only label errors, and negative ones never collide with the parser's. */
function node(kind: Expr['exprKind']): Expr {
  return { $typeName: 'cel.expr.Expr', id: nextId--, exprKind: kind } as Expr;
}

function call(name: string, args: Expr[]): Expr {
  return node({
    case: 'callExpr',
    value: { $typeName: 'cel.expr.Expr.Call', function: name, args } as CallExpr,
  });
}

const isAccumulator = (e: Expr | undefined) =>
  e?.exprKind.case === 'identExpr' && e.exprKind.value.name === ACCUMULATOR;
const isStringConstant = (e: Expr) =>
  e.exprKind.case === 'constExpr' && e.exprKind.value.constantKind.case === 'stringValue';

/**
 * `expr` with the charges added (a new tree; the parsed one is left as it
 * was):
 *
 * - a loop's condition `c` becomes `@vouch_tick_<n> && c`, `n` the nodes
 *   of its per-element part: a getter on the bindings that charges `n`
 *   before each element, and whose throw ends the evaluation at once;
 * - its range `r` becomes `@vouch_range(r)`;
 * - `@result + [x]`, which only map() and filter() write, `@vouch_append`;
 * - `m[k]` whose key is not a string literal, `m[@vouch_lookup(m, k)]`.
 */
export function instrument(expr: Expr): Expr {
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'comprehensionExpr': {
      const c = kind.value;
      const step = instrument(c.loopStep as Expr);
      const condition = instrument(c.loopCondition as Expr);
      // The tick and `&&` themselves, the condition and the step, and the loop's own work.
      const units = 2 + nodeCount(condition) + nodeCount(step) + LOOP_ELEMENT_COST;
      const tick = node({
        case: 'identExpr',
        value: { $typeName: 'cel.expr.Expr.Ident', name: `${TICK}${units}` },
      } as Expr['exprKind']);
      return {
        ...expr,
        exprKind: {
          case: 'comprehensionExpr',
          value: {
            ...c,
            iterRange: call(RANGE, [instrument(c.iterRange as Expr)]),
            accuInit: instrument(c.accuInit as Expr),
            loopCondition: call('_&&_', [tick, condition]),
            loopStep: step,
            result: instrument(c.result as Expr),
          },
        },
      };
    }
    case 'callExpr': {
      const c = kind.value;
      const args = c.args.map(instrument);
      // The parser writes map() and filter() steps as `@result + [x]`; nothing else can.
      if (
        c.function === '_+_' &&
        isAccumulator(c.args[0]) &&
        c.args[1]?.exprKind.case === 'listExpr'
      ) {
        return call(APPEND, args);
      }
      const [container, key] = args;
      if (
        (c.function === '_[_]' || c.function === '_[?_]') &&
        container !== undefined &&
        key !== undefined &&
        !isStringConstant(key)
      ) {
        args[1] = call(LOOKUP, [container, key]);
      }
      const value = { ...c, args };
      if (c.target !== undefined) value.target = instrument(c.target);
      return { ...expr, exprKind: { case: 'callExpr', value } };
    }
    case 'selectExpr': {
      const operand = kind.value.operand;
      if (operand === undefined) return expr;
      return {
        ...expr,
        exprKind: { case: 'selectExpr', value: { ...kind.value, operand: instrument(operand) } },
      };
    }
    case 'listExpr':
      return {
        ...expr,
        exprKind: {
          case: 'listExpr',
          value: { ...kind.value, elements: kind.value.elements.map(instrument) },
        },
      };
    case 'structExpr':
      return {
        ...expr,
        exprKind: {
          case: 'structExpr',
          value: {
            ...kind.value,
            entries: kind.value.entries.map((entry) => ({
              ...entry,
              keyKind:
                entry.keyKind.case === 'mapKey'
                  ? { case: 'mapKey' as const, value: instrument(entry.keyKind.value) }
                  : entry.keyKind,
              ...(entry.value === undefined ? {} : { value: instrument(entry.value) }),
            })),
          },
        },
      };
    default:
      return expr;
  }
}

/** The per-element charges `instrument` put in `expr`, by identifier. */
function ticks(expr: Expr): Map<string, number> {
  const found = new Map<string, number>();
  const stack = [expr];
  for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
    const kind = e.exprKind;
    if (kind.case === 'identExpr' && kind.value.name.startsWith(TICK)) {
      found.set(kind.value.name, Number(kind.value.name.slice(TICK.length)));
    }
    stack.push(...children(e));
  }
  return found;
}

export interface MeteredProgram {
  readonly run: (bindings: object) => unknown;
  /** What an evaluation is charged before any loop: every node, once. */
  readonly baseCost: number;
  /** The bindings' prototype: the getter of each loop's tick. */
  readonly ticks: object;
}

/** Plans an instrumented expression. */
export function planMetered(instrumented: Expr): MeteredProgram {
  const prototype = Object.create(null) as object;
  for (const [name, units] of ticks(instrumented)) {
    Object.defineProperty(prototype, name, {
      get() {
        charge(units);
        return true;
      },
    });
  }
  return {
    run: plan(ENV, instrumented) as unknown as MeteredProgram['run'],
    baseCost: nodeCount(instrumented),
    ticks: prototype,
  };
}

/**
 * Evaluates `program` with `variables`, charging `meter`; throws only when
 * the budget is spent before it starts. Errors are CEL values here,
 * reported by their message alone; without a stack trace one costs a tenth
 * as much, so the trace limit is 0 for the (synchronous) evaluation.
 */
export function runMetered(
  program: MeteredProgram,
  variables: Readonly<Record<string, CelValue>>,
  meter: CostMeter,
): unknown {
  const traces = Error.stackTraceLimit;
  active = meter;
  Error.stackTraceLimit = 0;
  try {
    meter.charge(program.baseCost);
    return program.run(Object.assign(Object.create(program.ticks) as object, variables));
  } finally {
    active = undefined;
    Error.stackTraceLimit = traces;
  }
}
