/**
 * Whether two ImagePolicy image globs could both match one repository. The
 * tools imported from apply *every* policy that matches an image (all must
 * pass), where an ImagePolicy applies the first matching rule only; the two
 * agree only when no image matches two of the imported rules, which the
 * converters check with this before they write one rule per policy.
 *
 * The answer may be "yes" for globs that never meet, never "no" for globs
 * that do: `**` is taken as any characters, `/` included (it really matches
 * whole segments only), so the check can only refuse too much. It runs the
 * two globs side by side as automata (one state per position in each glob),
 * so it takes at most len(a)·len(b) steps.
 */

type Token = { readonly kind: 'char'; readonly char: string } | { readonly kind: 'star' | 'any' };

function tokens(glob: string): Token[] {
  const result: Token[] = [];
  for (let i = 0; i < glob.length; i++) {
    if (glob[i] === '*') {
      const double = glob[i + 1] === '*';
      result.push({ kind: double ? 'any' : 'star' });
      if (double) i++;
    } else {
      result.push({ kind: 'char', char: glob[i] as string });
    }
  }
  return result;
}

/** Whether some character matches both tokens (`star` is any but `/`, `any` is any). */
function meet(a: Token, b: Token): boolean {
  if (a.kind === 'char' && b.kind === 'char') return a.char === b.char;
  if (a.kind === 'char') return b.kind === 'any' || a.char !== '/';
  if (b.kind === 'char') return a.kind === 'any' || b.char !== '/';
  return true;
}

/** Whether some name could match both globs (see above: may say yes too often, never no wrongly). */
export function globsMayOverlap(a: string, b: string): boolean {
  const x = tokens(a);
  const y = tokens(b);
  const width = y.length + 1;
  const seen = new Uint8Array((x.length + 1) * width);
  const pending: [number, number][] = [[0, 0]];
  const visit = (i: number, j: number) => {
    if (seen[i * width + j] === 0) {
      seen[i * width + j] = 1;
      pending.push([i, j]);
    }
  };
  seen[0] = 1;
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [i, j] = next;
    if (i === x.length && j === y.length) return true;
    const s = x[i];
    const t = y[j];
    // A star may match nothing: move past it on its own.
    if (s !== undefined && s.kind !== 'char') visit(i + 1, j);
    if (t !== undefined && t.kind !== 'char') visit(i, j + 1);
    if (s !== undefined && t !== undefined && meet(s, t)) {
      // One character consumed by both: a star stays where it is, a character moves on.
      visit(s.kind === 'char' ? i + 1 : i, t.kind === 'char' ? j + 1 : j);
    }
  }
  return false;
}
