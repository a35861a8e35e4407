/**
 * YAML parsing with a nesting cap, for every YAML file vouch reads (policies,
 * evidence files, deployment manifests, registries.d). The `yaml` library reads text in two
 * steps: its Parser builds a concrete syntax tree with a stack of its own (no
 * recursion, however deep the text), then its Composer turns that tree into
 * nodes by recursion, one level of calls per collection. On a document a few
 * thousand levels deep the Composer runs out of stack; the library catches
 * the RangeError and reports "Maximum call stack size exceeded" at a depth
 * that depends on how much stack the caller had left, and vouch's own readers
 * recurse over the nodes too. So the syntax tree is measured first, without
 * recursion, and a document nested deeper than the cap is never composed: it
 * gets one error at the collection that crosses the cap instead, reported
 * with its line like every other YAML error.
 *
 * The functions mirror the library's `parseDocument` and `parseAllDocuments`
 * (https://github.com/eemeli/yaml/blob/main/src/public-api.ts), without
 * pretty errors: callers format positions with their LineCounter.
 */
import {
  Composer,
  type CST,
  type Document,
  type DocumentOptions,
  type LineCounter,
  type ParseOptions,
  Parser,
  type SchemaOptions,
  YAMLParseError,
} from 'yaml';

/**
 * The deepest nesting of mappings and sequences read. Policies and
 * Kubernetes objects need a few dozen levels at most; an evidence file holds
 * in-toto statements (up to 128 levels, formats/in-toto.ts) six levels down,
 * which this leaves room for. The Composer overflows Node's default stack
 * past about a thousand levels, so 256 also keeps a wide margin below that.
 * (go-yaml caps at 10 000, but Go stacks grow.)
 */
export const MAX_YAML_DEPTH = 256;

export type YamlOptions = ParseOptions &
  DocumentOptions &
  SchemaOptions & { readonly lineCounter: LineCounter };

/** One document, as `parseDocument` reads it, nested at most MAX_YAML_DEPTH deep. */
export function parseYamlDocument(text: string, options: YamlOptions): Document.Parsed {
  const composer = new Composer(options);
  let document: Document.Parsed | undefined;
  for (const next of composer.compose(cappedTokens(text, options.lineCounter), true, text.length)) {
    if (document === undefined) {
      document = next;
    } else {
      document.errors.push(
        new YAMLParseError(
          [next.range[0], next.range[1]],
          'MULTIPLE_DOCS',
          'Source contains multiple documents',
        ),
      );
      break;
    }
  }
  // compose(…, true) ends with a document even for empty text.
  if (document === undefined) throw new Error('the YAML composer returned no document');
  return document;
}

/** Every document, as `parseAllDocuments` reads them, each nested at most MAX_YAML_DEPTH deep. */
export function parseAllYamlDocuments(text: string, options: YamlOptions): Document.Parsed[] {
  return Array.from(new Composer(options).compose(cappedTokens(text, options.lineCounter)));
}

/** The parser's tokens, with the contents of any document nested too deep replaced by an error. */
function* cappedTokens(text: string, lineCounter: LineCounter): Generator<CST.Token> {
  for (const token of new Parser(lineCounter.addNewLine).parse(text)) {
    if (token.type === 'document' && token.value !== undefined) {
      const offset = tooDeepAt(token.value);
      if (offset !== undefined) {
        // An error token is how the Parser itself marks what it cannot read;
        // the Composer reports it at its offset and composes nothing there.
        token.value = {
          type: 'error',
          offset,
          source: '',
          message: `nested deeper than ${MAX_YAML_DEPTH} levels`,
        };
      }
    }
    yield token;
  }
}

/** The offset of the first collection deeper than the cap, if any (depth first, with a stack of our own). */
function tooDeepAt(root: CST.Token): number | undefined {
  const pending: [CST.Token, number][] = [[root, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [token, depth] = next;
    if (
      token.type !== 'block-map' &&
      token.type !== 'block-seq' &&
      token.type !== 'flow-collection'
    ) {
      continue;
    }
    if (depth > MAX_YAML_DEPTH) return token.offset;
    // Pushed last item first, value before key, so the first one popped is the first written.
    for (const item of [...token.items].reverse()) {
      if (item.value !== undefined) pending.push([item.value, depth + 1]);
      if (item.key !== undefined && item.key !== null) pending.push([item.key, depth + 1]);
    }
  }
  return undefined;
}
