/**
 * What every converter of `vouch policy import` returns: the ImagePolicy
 * document, its YAML text, and the proof that it loads. The text is parsed
 * and compiled again with the project's own loader (`parsePolicy`,
 * `compilePolicy`) before it is handed back, so an import never produces a
 * policy `vouch policy check` or the webhook would refuse.
 */
import { stringify } from 'yaml';
import { compilePolicy } from '../compile.ts';
import { parsePolicy } from '../parse.ts';
import type { CompiledPolicy, PolicyDocument } from '../types.ts';

export interface ImportResult {
  readonly document: PolicyDocument;
  /** The document as YAML, with a comment naming where it came from. */
  readonly text: string;
  /** The document compiled by the loader (the round-trip check). */
  readonly compiled: CompiledPolicy;
  /** What the converter did that a reader should know (no weakening is ever among them). */
  readonly notes: readonly string[];
}

/** A name ImagePolicy accepts (parse.ts NAME). */
const NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

/**
 * A rule or authority name made from a foreign one: lower case, other
 * characters as `-`, at most 63 characters, unique among `taken` (a `-2`,
 * `-3` ... suffix). Names only label rules in messages; they decide nothing.
 */
export function uniqueName(wanted: string, taken: Set<string>): string {
  let base = wanted
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 56)
    .replace(/[^a-z0-9]+$/, '');
  if (base === '') base = 'imported';
  let name = base;
  for (let n = 2; taken.has(name) || !NAME.test(name); n++) name = `${base}-${n}`;
  taken.add(name);
  return name;
}

/**
 * The document as YAML, parsed and compiled again. `files` holds the bytes
 * of every file the document names, by the path written in it. Throws the
 * loader's PolicyError (`invalid` POLICY_INVALID) if the converter built
 * something the loader refuses.
 */
export function finishImport(
  document: PolicyDocument,
  source: string,
  header: string,
  notes: readonly string[] = [],
  files: ReadonlyMap<string, Uint8Array> = new Map(),
): ImportResult {
  const comment = header
    .split('\n')
    .map((line) => `# ${line}`.trimEnd())
    .join('\n');
  const text = `${comment}\n${stringify(document, { lineWidth: 0 })}`;
  const compiled = compilePolicy(parsePolicy(text, `the policy imported from ${source}`), files);
  return { document, text, compiled, notes };
}
