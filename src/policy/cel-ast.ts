/**
 * The parsed form of a CEL expression (cel/expr/syntax.proto, as
 * @bufbuild/cel's `parse` returns it) and the walks over it that conditions
 * need at load: the variables it reads, how deep its loops nest, whether it
 * builds protobuf messages, how many nodes it has.
 *
 * The CEL parser expands every macro (`all`, `exists`, `exists_one`, `map`,
 * `filter`) into a comprehension: a loop over `iterRange` that evaluates
 * `loopCondition` and `loopStep` once per element
 * (https://github.com/google/cel-spec/blob/master/doc/langdef.md#macros).
 * Only those two parts run per element; the range, the initial accumulator
 * and the result run once.
 */
import type { parse } from '@bufbuild/cel';

export type Expr = NonNullable<ReturnType<typeof parse>['expr']>;
type Kind = Expr['exprKind'];
export type CallExpr = Extract<Kind, { case: 'callExpr' }>['value'];
export type Comprehension = Extract<Kind, { case: 'comprehensionExpr' }>['value'];

/** The name the parser gives every macro's accumulator; `@` keeps it out of reach of expressions. */
export const ACCUMULATOR = '@result';

/** The direct sub-expressions of `node`, in evaluation order. */
export function children(node: Expr): Expr[] {
  const kind = node.exprKind;
  switch (kind.case) {
    case 'selectExpr':
      return kind.value.operand === undefined ? [] : [kind.value.operand];
    case 'callExpr':
      return [...(kind.value.target === undefined ? [] : [kind.value.target]), ...kind.value.args];
    case 'listExpr':
      return [...kind.value.elements];
    case 'structExpr':
      return kind.value.entries.flatMap((entry) => [
        ...(entry.keyKind.case === 'mapKey' ? [entry.keyKind.value] : []),
        ...(entry.value === undefined ? [] : [entry.value]),
      ]);
    case 'comprehensionExpr': {
      const c = kind.value;
      return [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].filter(
        (e): e is Expr => e !== undefined,
      );
    }
    default:
      return [];
  }
}

/** How many nodes the tree has. */
export function nodeCount(root: Expr): number {
  let count = 0;
  const stack = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    count++;
    stack.push(...children(node));
  }
  return count;
}

/** The identifiers an expression reads that no macro binds. */
export function freeVariables(root: Expr): string[] {
  const free = new Set<string>();
  const walk = (node: Expr | undefined, bound: ReadonlySet<string>): void => {
    if (node === undefined) return;
    const kind = node.exprKind;
    if (kind.case === 'identExpr') {
      if (!bound.has(kind.value.name)) free.add(kind.value.name);
      return;
    }
    if (kind.case !== 'comprehensionExpr') {
      for (const child of children(node)) walk(child, bound);
      return;
    }
    const c = kind.value;
    walk(c.iterRange, bound);
    walk(c.accuInit, bound);
    const inner = new Set([...bound, c.iterVar, c.accuVar]);
    if (c.iterVar2 !== '') inner.add(c.iterVar2);
    walk(c.loopCondition, inner);
    walk(c.loopStep, inner);
    walk(c.result, new Set([...bound, c.accuVar]));
  };
  walk(root, new Set());
  return [...free];
}

/**
 * How deep loops nest: 1 for a loop, 2 for a loop in the per-element part of
 * another, and so on. A loop in another's range or result runs once, so it
 * does not count as nested (cel-go's ValidateComprehensionNestingLimit counts
 * every enclosing comprehension; this counts only those that multiply).
 */
export function loopNesting(root: Expr): number {
  const depth = (node: Expr | undefined): number => {
    if (node === undefined) return 0;
    const kind = node.exprKind;
    if (kind.case !== 'comprehensionExpr') {
      return Math.max(0, ...children(node).map(depth));
    }
    const c = kind.value;
    return Math.max(
      depth(c.iterRange),
      depth(c.accuInit),
      depth(c.result),
      1 + Math.max(depth(c.loopCondition), depth(c.loopStep)),
    );
  };
  return depth(root);
}

/** The protobuf message types the expression builds (`google.protobuf.Value{...}`). */
export function messagesBuilt(root: Expr): string[] {
  const names: string[] = [];
  const stack = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const kind = node.exprKind;
    if (kind.case === 'structExpr' && kind.value.messageName !== '') {
      names.push(kind.value.messageName);
    }
    stack.push(...children(node));
  }
  return names;
}

/**
 * The pattern of each `matches` call: the string when it is a literal,
 * undefined when it is computed.
 */
export function matchPatterns(root: Expr): (string | undefined)[] {
  const found: (string | undefined)[] = [];
  const stack = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const kind = node.exprKind;
    if (kind.case === 'callExpr' && kind.value.function === 'matches') {
      const pattern = kind.value.args.at(-1)?.exprKind;
      found.push(
        pattern?.case === 'constExpr' && pattern.value.constantKind.case === 'stringValue'
          ? pattern.value.constantKind.value
          : undefined,
      );
    }
    stack.push(...children(node));
  }
  return found;
}
