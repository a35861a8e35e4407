/**
 * Reading a YAML (or JSON, which YAML 1.2 contains) document field by field
 * while keeping where each value was written, so every problem with a policy
 * (or an evidence file) names its path and line: `rules[2].images[0]
 * (line 14, column 9): ...`. Problems are collected, not thrown one at a
 * time, so an author sees all of them at once; `PolicyError` carries them.
 *
 * Aliases and merge keys are refused: a policy is read by people during a
 * review, and `*anchor` or `<<:` make what a rule says depend on text
 * elsewhere.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node } from 'yaml';
import { VouchError } from '../core/errors.ts';
import type { Document } from 'yaml';
import { parseAllYamlDocuments, parseYamlDocument } from '../core/yaml-documents.ts';

/** One problem, where it was written (1-based line and column; 0 when unknown). */
export interface PolicyIssue {
  /** The field path: `rules[0].authorities[1]`; empty for the document itself. */
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/**
 * An unusable policy or evidence document: `invalid`, code POLICY_INVALID
 * (or EVIDENCE_INVALID), with every problem found. The message lists them.
 */
export class PolicyError extends VouchError {
  readonly issues: readonly PolicyIssue[];

  constructor(code: PolicyIssueCode, source: string, issues: readonly PolicyIssue[]) {
    super('invalid', code, `${source}: ${issues.map(formatIssue).join('; ')}`);
    this.name = 'PolicyError';
    this.issues = issues;
  }
}

export function formatIssue(issue: PolicyIssue): string {
  const where = issue.line === 0 ? '' : ` (line ${issue.line}, column ${issue.column})`;
  return `${issue.path === '' ? 'document' : issue.path}${where}: ${issue.message}`;
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

/** A value in the document and where it is; `node` is undefined for a missing field. */
export class Field {
  readonly path: string;
  readonly node: Node | undefined;
  readonly #reader: SourceReader;
  /** A required field that is absent: already reported, so its readers say nothing more. */
  readonly #missing: boolean;

  constructor(reader: SourceReader, path: string, node: Node | undefined, missing = false) {
    this.#reader = reader;
    this.path = path;
    this.node = node;
    this.#missing = missing;
  }

  get position(): Position {
    return this.#reader.positionOf(this.node);
  }

  /** Records a problem with this field. */
  problem(message: string): undefined {
    if (!this.#missing) this.#reader.problem(this.path, this.node, message);
    return undefined;
  }

  /** The fields of a mapping, refusing any name not in `allowed`; undefined (and a problem) otherwise. */
  object(allowed: readonly string[]): FieldMap | undefined {
    const node = this.node;
    if (!isMap(node)) return this.problem(`must be a mapping, not ${describe(node)}`);
    const fields = new Map<string, Field>();
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      if (!isScalar(key) || typeof key.value !== 'string') {
        this.#reader.problem(this.path, key ?? node, 'field names must be strings');
        continue;
      }
      const name = key.value;
      const path = this.child(name);
      if (!allowed.includes(name)) {
        this.#reader.problem(
          path,
          key,
          name === '<<'
            ? 'merge keys are not allowed: write the fields out'
            : `unknown field${allowed.length === 0 ? '' : `; expected one of ${allowed.join(', ')}`}`,
        );
        continue;
      }
      fields.set(name, new Field(this.#reader, path, (pair.value as Node | null) ?? undefined));
    }
    return new FieldMap(this.#reader, this, fields);
  }

  /** The entries of a mapping with names the caller checks, in document order. */
  entries(): NamedField[] | undefined {
    const node = this.node;
    if (!isMap(node)) return this.problem(`must be a mapping, not ${describe(node)}`);
    const result: NamedField[] = [];
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      if (!isScalar(key) || typeof key.value !== 'string') {
        this.#reader.problem(this.path, key ?? node, 'names must be strings');
        continue;
      }
      result.push(
        new NamedField(
          this.#reader,
          this.child(key.value),
          (pair.value as Node | null) ?? undefined,
          key.value,
          key,
        ),
      );
    }
    return result;
  }

  /** The items of a sequence; undefined (and a problem) otherwise. */
  list(options: { readonly minItems?: number } = {}): Field[] | undefined {
    const node = this.node;
    if (!isSeq(node)) return this.problem(`must be a list, not ${describe(node)}`);
    const min = options.minItems ?? 0;
    if (node.items.length < min) {
      return this.problem(`must have at least ${min} item${min === 1 ? '' : 's'}`);
    }
    return node.items.map(
      (item, index) =>
        new Field(this.#reader, `${this.path}[${index}]`, (item as Node | null) ?? undefined),
    );
  }

  string(options: { readonly nonEmpty?: boolean } = { nonEmpty: true }): string | undefined {
    const value = this.scalar();
    if (typeof value !== 'string')
      return this.problem(`must be a string, not ${describe(this.node)}`);
    if ((options.nonEmpty ?? true) && value === '') return this.problem('must not be empty');
    return value;
  }

  boolean(): boolean | undefined {
    const value = this.scalar();
    if (typeof value !== 'boolean')
      return this.problem(`must be true or false, not ${describe(this.node)}`);
    return value;
  }

  integer(min: number, max: number): number | undefined {
    const value = this.scalar();
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return this.problem(`must be an integer from ${min} to ${max}, not ${describe(this.node)}`);
    }
    return value;
  }

  oneOf<const T extends string>(values: readonly T[]): T | undefined {
    const value = this.scalar();
    if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
      return this.problem(`must be one of ${values.join(', ')}, not ${describe(this.node)}`);
    }
    return value as T;
  }

  /** The plain JavaScript value of this node (for data such as in-toto statements). */
  json(): unknown {
    if (this.node === undefined) return undefined;
    if (containsAlias(this.node)) return this.problem('aliases are not allowed');
    return this.node.toJSON();
  }

  child(name: string): string {
    const part = /^[A-Za-z_][\w-]*$/.test(name) ? name : JSON.stringify(name);
    return this.path === '' ? part : `${this.path}.${part}`;
  }

  private scalar(): unknown {
    if (isAlias(this.node)) {
      this.problem('aliases are not allowed');
      return undefined;
    }
    return isScalar(this.node) ? this.node.value : this.node;
  }
}

/** A mapping entry read with `entries()`: its name and the key's node. */
export class NamedField extends Field {
  readonly name: string;
  readonly keyNode: Node;

  constructor(reader: SourceReader, path: string, node: Node | undefined, name: string, key: Node) {
    super(reader, path, node);
    this.name = name;
    this.keyNode = key;
  }
}

/** The fields of one mapping, by name. */
export class FieldMap {
  readonly #reader: SourceReader;
  readonly #parent: Field;
  readonly #fields: ReadonlyMap<string, Field>;

  constructor(reader: SourceReader, parent: Field, fields: ReadonlyMap<string, Field>) {
    this.#reader = reader;
    this.#parent = parent;
    this.#fields = fields;
  }

  has(name: string): boolean {
    return this.#fields.has(name);
  }

  /** The field, or undefined when absent. */
  optional(name: string): Field | undefined {
    return this.#fields.get(name);
  }

  /** The field; a problem when absent (and a Field with no node, whose readers return undefined quietly). */
  required(name: string): Field {
    const field = this.#fields.get(name);
    if (field !== undefined) return field;
    this.#parent.problem(`missing required field ${JSON.stringify(name)}`);
    return new Field(this.#reader, this.#parent.child(name), undefined, true);
  }

  /** Exactly one of `names` must be present; returns its name. */
  exactlyOne(names: readonly string[]): string | undefined {
    const present = names.filter((name) => this.#fields.has(name));
    if (present.length === 1) return present[0];
    this.#parent.problem(
      present.length === 0
        ? `needs one of ${names.join(', ')}`
        : `give only one of ${present.join(', ')}`,
    );
    return undefined;
  }
}

/** The codes a PolicyError carries. */
export type PolicyIssueCode =
  | 'POLICY_INVALID'
  | 'POLICY_UNREADABLE'
  | 'EVIDENCE_INVALID'
  | 'POLICY_IMPORT_INVALID'
  | 'POLICY_IMPORT_REFUSED';

/** Reads one YAML or JSON document; collects problems with their positions. */
export class SourceReader {
  readonly source: string;
  readonly issues: PolicyIssue[];
  readonly #lines: LineCounter;
  readonly root: Field;

  /**
   * Every non-empty document of a YAML stream (`---` separated), each read as
   * strictly as one policy; the readers share one list of problems, with
   * lines counted from the start of `text`.
   */
  static all(
    text: string,
    source: string,
  ): { readonly readers: SourceReader[]; readonly issues: PolicyIssue[] } {
    const lines = new LineCounter();
    const issues: PolicyIssue[] = [];
    const documents = parseAllYamlDocuments(text, {
      lineCounter: lines,
      uniqueKeys: true,
      strict: true,
    });
    // Empty documents (a trailing `---`) hold nothing to read; their errors are kept in `issues`.
    const readers = documents.flatMap((document) => {
      const reader = new SourceReader(document, source, lines, issues);
      return document.contents === null ? [] : [reader];
    });
    return { readers, issues };
  }

  constructor(text: string, source: string);
  constructor(document: Document.Parsed, source: string, lines: LineCounter, issues: PolicyIssue[]);
  constructor(
    input: string | Document.Parsed,
    source: string,
    lines = new LineCounter(),
    issues: PolicyIssue[] = [],
  ) {
    this.source = source;
    this.#lines = lines;
    this.issues = issues;
    const document =
      typeof input === 'string'
        ? parseYamlDocument(input, { lineCounter: this.#lines, uniqueKeys: true, strict: true })
        : input;
    for (const error of [...document.errors, ...document.warnings]) {
      const [start] = error.pos;
      const { line, col } = this.#lines.linePos(start);
      this.issues.push({ path: '', line, column: col, message: firstLine(error.message) });
    }
    this.root = new Field(this, '', (document.contents as Node | null) ?? undefined);
    if (typeof input === 'string' && this.issues.length === 0 && document.contents === null) {
      this.issues.push({ path: '', line: 0, column: 0, message: 'the document is empty' });
    }
  }

  positionOf(node: Node | undefined): Position {
    const start = node?.range?.[0];
    if (start === undefined) return { line: 0, column: 0 };
    const { line, col } = this.#lines.linePos(start);
    return { line, column: col };
  }

  problem(path: string, node: Node | undefined, message: string): void {
    this.issues.push({ path, ...this.positionOf(node), message });
  }

  /** Throws a PolicyError with every problem found, if any. */
  throwIfProblems(code: PolicyIssueCode): void {
    if (this.issues.length > 0) throw new PolicyError(code, this.source, this.issues);
  }
}

function containsAlias(node: Node): boolean {
  if (isAlias(node)) return true;
  if (isMap(node)) {
    return node.items.some(
      (pair) =>
        containsAlias(pair.key as Node) ||
        (pair.value !== null && containsAlias(pair.value as Node)),
    );
  }
  if (isSeq(node)) return node.items.some((item) => containsAlias(item as Node));
  return false;
}

/** What a node is, for messages: `a list`, `the number 3`, `nothing`. */
export function describe(node: Node | undefined): string {
  if (node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isAlias(node)) return 'an alias';
  if (isScalar(node)) {
    const value: unknown = node.value;
    if (value === null) return 'null';
    if (typeof value === 'string') return `the string ${JSON.stringify(truncate(value))}`;
    if (typeof value === 'number' || typeof value === 'boolean')
      return `${typeof value} ${String(value)}`;
    return typeof value;
  }
  return 'an unexpected node';
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
