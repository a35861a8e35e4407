// The layers of docs/design.md as a lint rule: a module under src/<layer>/
// imports only from its own layer and from layers below it, so the map in
// the design stays true as the code grows. Relative specifiers are resolved
// against the importing file; imports of npm packages and node: are not
// this rule's business.
import { dirname, relative, resolve, sep } from 'node:path';

/**
 * Rank of each layer: a layer may import from layers of lower rank. Layers of
 * equal rank are siblings and may not import each other (verify and sign,
 * registry and formats, oci and keys).
 */
export const LAYER_RANKS = {
  core: 0,
  oci: 1,
  keys: 1,
  registry: 2,
  formats: 2,
  sigstore: 3,
  sign: 4,
  verify: 4,
  notation: 4,
  'simple-signing': 4,
  dct: 5,
  'containers-policy': 5,
  policy: 6,
  admission: 7,
  cli: 8,
};

/** `src/<layer>/...` → layer; undefined outside src/<layer>/ (src/index.ts, tests, scripts). */
export function layerOf(file, srcDir) {
  const path = relative(srcDir, file);
  if (path.startsWith('..')) return undefined;
  const [first, ...rest] = path.split(sep);
  return rest.length > 0 ? first : undefined;
}

function check(context, node, specifier, srcDir) {
  if (typeof specifier !== 'string' || !specifier.startsWith('.')) return;
  const from = layerOf(context.filename, srcDir);
  if (from === undefined) return;
  const to = layerOf(resolve(dirname(context.filename), specifier), srcDir);
  if (to === undefined || to === from) return;
  const fromRank = LAYER_RANKS[from];
  const toRank = LAYER_RANKS[to];
  if (fromRank === undefined || toRank === undefined) {
    context.report({
      node,
      messageId: 'unknown',
      data: { layer: fromRank === undefined ? from : to },
    });
  } else if (toRank >= fromRank) {
    context.report({ node, messageId: 'upward', data: { from, to } });
  }
}

export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports point down the layers of docs/design.md' },
    schema: [
      { type: 'object', properties: { srcDir: { type: 'string' } }, additionalProperties: false },
    ],
    messages: {
      upward:
        'src/{{from}}/ may not import from src/{{to}}/: layers import only downward (docs/design.md, eslint/layers.js)',
      unknown:
        'src/{{layer}}/ is not a layer of eslint/layers.js: give it a rank there and in docs/design.md',
    },
  },
  create(context) {
    const srcDir = resolve(context.cwd, context.options[0]?.srcDir ?? 'src');
    const source = (node) => check(context, node, node.source?.value, srcDir);
    return {
      ImportDeclaration: source,
      ExportNamedDeclaration: source,
      ExportAllDeclaration: source,
      ImportExpression: source,
    };
  },
};

export default { rules: { layers: layersRule } };
