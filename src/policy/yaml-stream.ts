/**
 * A multi-document YAML stream as the manifest tools read it: every
 * document (or an `invalid` error naming the file and line), and aliases
 * resolved as the YAML composer resolves them — to the closest node before
 * the alias that carries its anchor (YAML 1.2.2 §3.2.2.2,
 * https://yaml.org/spec/1.2.2/#3222-anchors-and-aliases).
 */
import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  visit,
} from 'yaml';
import { invalid } from '../core/errors.ts';
import { parseAllYamlDocuments } from '../core/yaml-documents.ts';

export interface YamlStream {
  readonly documents: readonly Document.Parsed[];
  readonly lines: LineCounter;
}

/** Every document of `text`; throws `invalid` MANIFEST_YAML_INVALID at the first error. */
export function parseStream(text: string, source: string): YamlStream {
  const lines = new LineCounter();
  // Depth-capped (yaml-documents.ts): the composer recurses per level.
  const documents = parseAllYamlDocuments(text, { lineCounter: lines, prettyErrors: false });
  for (const document of documents) {
    const error = document.errors[0];
    if (error !== undefined) {
      const { line, col } = lines.linePos(error.pos[0]);
      throw invalid(
        'MANIFEST_YAML_INVALID',
        `${source}:${line}:${col}: ${error.message.split('\n')[0]}`,
      );
    }
  }
  return { documents, lines };
}

/** A scalar, map or sequence: what a node stands for once aliases are followed. */
export type ValueNode = Exclude<Node, Alias>;

/**
 * For `document`: the node any node stands for — an alias's anchored node
 * (`undefined` when no anchor of its name precedes it), any other node
 * itself. The anchors are indexed once, in document order.
 */
export function aliasResolver(document: Document.Parsed): (node: unknown) => ValueNode | undefined {
  const targets = new Map<unknown, ValueNode | undefined>();
  const anchors = new Map<string, ValueNode>();
  visit(document, {
    Node(_key, node) {
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (node.anchor !== undefined) anchors.set(node.anchor, node as ValueNode);
    },
  });
  return (node) => {
    if (isAlias(node)) return targets.get(node);
    return isScalar(node) || isMap(node) || isSeq(node) ? node : undefined;
  };
}
