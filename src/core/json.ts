/**
 * `JSON.parse` with a cap on nesting depth, for JSON that comes from outside
 * (manifests, index.json, registry and token server answers, files). Depth is
 * what makes JSON cost far more memory than its size: V8 builds every level
 * before it can fail, so 16 MiB of `[[[[...` takes over a gigabyte and
 * seconds of CPU. The text is scanned first, one pass over its characters
 * and no allocation, and refused at the first bracket past the cap; only
 * then is it parsed. For valid JSON the scan is exact (brackets inside
 * strings do not count); anything else `JSON.parse` refuses anyway.
 *
 * Signed data goes through strict-json.ts instead, which caps depth
 * the same way and refuses duplicate keys as well.
 */

/**
 * The default cap. The formats vouch reads nest a handful of levels (an OCI
 * index: index → manifests → descriptor → platform → os.features is 5), so
 * 64 leaves room for any extension field while keeping the cost of a hostile
 * document linear in its size. Go's encoding/json stops at 10 000, for stack
 * safety rather than memory; strict-json.ts uses 64 too.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Too deep. A SyntaxError, as what `JSON.parse` throws, so callers handle
 * both alike; its message is vouch's own (no quoted input), safe to show.
 */
export class JsonDepthError extends SyntaxError {
  readonly offset: number;

  constructor(maxDepth: number, offset: number) {
    super(`nesting deeper than ${maxDepth} at offset ${offset}`);
    this.name = 'JsonDepthError';
    this.offset = offset;
  }
}

/** Parses `text` as `JSON.parse` does, after refusing nesting deeper than `maxDepth`. */
export function parseJson(text: string, maxDepth: number = MAX_JSON_DEPTH): unknown {
  const offset = tooDeepAt(text, maxDepth);
  if (offset !== -1) throw new JsonDepthError(maxDepth, offset);
  return JSON.parse(text);
}

/** The offset of the first `[` or `{` nested deeper than `maxDepth`, or -1. */
export function tooDeepAt(text: string, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return -1;
}
