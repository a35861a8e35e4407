/**
 * Pinning images in deployment files (`vouch policy check --fix`): each
 * image value found by `findImages` is replaced by a new reference and
 * nothing else changes — every other byte stays, and every document still
 * reads as the same tree apart from the image values.
 *
 * Each value is rewritten where its scalar is written, as a new scalar on
 * the same line: plain stays plain (double-quoted when the new value could
 * not be plain), single- and double-quoted stay quoted, and a block scalar
 * (`|`, `>-`, `|2+`, …: YAML 1.2.2 §8.1,
 * https://yaml.org/spec/1.2.2/#81-block-scalar-styles) becomes a plain or
 * double-quoted scalar on its header's line, keeping the header's comment
 * and the line break that ended it (CRLF stays CRLF).
 *
 * An anchored value is pinned only when every place it appears in the tree
 * (the anchor and each alias) is an image pinned to the same reference;
 * otherwise that pin is refused and the value left alone, so pinning never
 * changes a value that is not an image.
 *
 * Then the new text is read again and compared, document by document, with
 * the old one: the same tree except for the pinned values, which must read
 * as the new references. If not, nothing is returned: `invalid`
 * MANIFEST_PIN_UNSAFE. Corrupt output cannot be written silently.
 */
import { isDeepStrictEqual } from 'node:util';
import { type Document, isAlias, isMap, isScalar, isSeq, parse, type Scalar } from 'yaml';
import { invalid, messageOf } from '../core/errors.ts';
import type { ImageLocation } from './workloads.ts';
import { aliasResolver, parseStream, type ValueNode } from './yaml-stream.ts';

export interface ImagePin {
  /** Where the image is, as `findImages` found it in the same text. */
  readonly location: Pick<ImageLocation, 'image' | 'line' | 'range' | 'document' | 'path'>;
  /** The reference to write instead. */
  readonly image: string;
}

export interface PinResult {
  /** The text with every pin not refused applied. */
  readonly text: string;
  /** The pins left out, each with why. */
  readonly refused: readonly { readonly pin: ImagePin; readonly reason: string }[];
}

/**
 * Nodes visited (aliases followed) over both readings of one file. A few
 * lines of aliases can stand for billions of nodes (YAML 1.2.2 §3.2.2.2);
 * past this the file is not pinned.
 */
const MAX_NODES = 2_000_000;
/** Nesting, aliases followed, that the readings go into. */
const MAX_DEPTH = 1_000;

/**
 * `text` with the images at `pins` replaced (see above). `source` names the
 * file in messages. Throws `invalid` MANIFEST_YAML_INVALID when `text` does
 * not parse, MANIFEST_PIN_UNSAFE when the result would not read as `text`
 * with only those values changed (or is too large to check).
 */
export function pinImages(text: string, pins: readonly ImagePin[], source: string): PinResult {
  const { documents, lines } = parseStream(text, source);
  const lineOf = (offset: number) => lines.linePos(offset).line;
  const budget = budgetFor(source);
  const refused: { pin: ImagePin; reason: string }[] = [];
  const edits: { start: number; end: number; source: string }[] = [];
  const accepted: ImagePin[] = [];
  for (const pin of pins) {
    if (documents[pin.location.document] === undefined)
      refused.push({ pin, reason: 'the text holds no such image there' });
  }
  documents.forEach((document, index) => {
    // The pins of this document, by the scalar they rewrite.
    const byScalar = new Map<number, ImagePin[]>();
    for (const pin of pins) {
      if (pin.location.document !== index) continue;
      const group = byScalar.get(pin.location.range[0]);
      if (group === undefined) byScalar.set(pin.location.range[0], [pin]);
      else group.push(pin);
    }
    if (byScalar.size === 0) return;
    const places = placesOf(document, new Set(byScalar.keys()), budget);
    for (const [start, group] of byScalar) {
      const refuse = (reason: string) => {
        for (const pin of group) refused.push({ pin, reason });
      };
      const found = places.get(start);
      const first = group[0] as ImagePin;
      if (
        found === undefined ||
        found.node.range?.[1] !== first.location.range[1] ||
        group.some((pin) => pin.location.image !== found.node.value)
      ) {
        refuse('the text holds no such image there');
        continue;
      }
      const { node, uses } = found;
      const { image } = first;
      const what =
        node.anchor === undefined
          ? `the value at line ${lineOf(start)}`
          : `the anchor &${node.anchor} at line ${lineOf(start)}`;
      if (group.some((pin) => pin.image !== image)) {
        refuse(`${what} is used by images pinned to different references`);
        continue;
      }
      const pinned = new Set(group.map((pin) => pathKey(pin.location.path)));
      const other = uses.find((use) => !pinned.has(use.path));
      if (other !== undefined) {
        refuse(
          other.at === start
            ? `${what} is also used where it is written, which is no image; pinning would change it there too`
            : `${what} is also used at line ${lineOf(other.at)}, where it is no image pinned with it`,
        );
        continue;
      }
      if (pinned.size !== uses.length) {
        refuse('the text holds no such image there');
        continue;
      }
      accepted.push(...group);
      edits.push({
        start,
        end: first.location.range[1],
        source: rewritten(node, image, text, document),
      });
    }
  });
  let result = text;
  for (const edit of edits.sort((a, b) => b.start - a.start))
    result = `${result.slice(0, edit.start)}${edit.source}${result.slice(edit.end)}`;
  if (accepted.length > 0)
    checkPinned(
      text,
      result,
      accepted.map((pin) => ({ ...pin.location, image: pin.image })),
      source,
    );
  return { text: result, refused };
}

/** Where a pinned scalar appears in its document's tree. */
interface Places {
  readonly node: Scalar;
  /** Each place: its path (pathKey) and where it is written (the alias that leads there, if any). */
  readonly uses: { readonly path: string; readonly at: number }[];
}

/** `/3/0/1`: the path of `ImageLocation`; `k2` steps into a map's third key. */
function pathKey(path: readonly (number | string)[]): string {
  return path.map((step) => `/${step}`).join('');
}

/** Every place in `document`'s tree (aliases followed) where a scalar starting at one of `starts` appears. */
function placesOf(
  document: Document.Parsed,
  starts: ReadonlySet<number>,
  budget: Budget,
): Map<number, Places> {
  const resolve = aliasResolver(document);
  const places = new Map<number, Places>();
  const open = new Set<ValueNode>();
  const walk = (written: unknown, path: string, at: number | undefined, depth: number) => {
    const node = resolve(written);
    if (node === undefined) return;
    budget.spend(depth);
    const here = isAlias(written) ? written.range?.[0] : at;
    if (isScalar(node)) {
      const start = node.range?.[0];
      if (start === undefined || !starts.has(start)) return;
      const entry = places.get(start) ?? { node, uses: [] };
      entry.uses.push({ path, at: here ?? start });
      places.set(start, entry);
      return;
    }
    enter(open, node, budget);
    if (isMap(node)) {
      node.items.forEach((pair, i) => {
        walk(pair.key, `${path}/k${i}`, here, depth + 1);
        walk(pair.value, `${path}/${i}`, here, depth + 1);
      });
    } else {
      node.items.forEach((item, i) => walk(item, `${path}/${i}`, here, depth + 1));
    }
    open.delete(node);
  };
  walk(document.contents, '', undefined, 0);
  return places;
}

/** A value changed in a file: where (as `ImageLocation` says) and what it reads as now. */
export interface PinnedValue {
  readonly document: number;
  readonly path: readonly number[];
  readonly image: string;
}

/**
 * Throws `invalid` MANIFEST_PIN_UNSAFE unless `after` reads as `before`
 * with the values at `pinned` replaced and nothing else changed: as many
 * documents, each the same tree (keys, values, tags, aliases followed).
 */
export function checkPinned(
  before: string,
  after: string,
  pinned: readonly PinnedValue[],
  source: string,
): void {
  const unsafe = (why: string) =>
    invalid(
      'MANIFEST_PIN_UNSAFE',
      `${source}: refusing to write the pinned file: ${why} (a bug in vouch; please report it with the file)`,
    );
  // A lone surrogate would not survive UTF-8 (with /u, \p{Cs} matches only unpaired ones).
  if (/\p{Cs}/u.test(after)) throw unsafe('it is not valid Unicode');
  const documents = parseStream(before, source).documents;
  let reread;
  try {
    reread = parseStream(after, source).documents;
  } catch (error) {
    throw unsafe(`it does not parse: ${messageOf(error)}`);
  }
  if (reread.length !== documents.length)
    throw unsafe(`it holds ${reread.length} documents, not ${documents.length}`);
  const budget = budgetFor(source);
  documents.forEach((document, index) => {
    const again = reread[index];
    const expected = new Map(
      pinned.filter((p) => p.document === index).map((p) => [pathKey(p.path), p.image]),
    );
    if (again === undefined || !sameTree(document, again, expected, budget))
      throw unsafe(`document ${index + 1} reads differently beyond its image values`);
  });
}

/** Whether `a` and `b` hold the same tree, but for `b` holding the strings of `expected` at those paths. */
function sameTree(
  a: Document.Parsed,
  b: Document.Parsed,
  expected: ReadonlyMap<string, string>,
  budget: Budget,
): boolean {
  const resolveA = aliasResolver(a);
  const resolveB = aliasResolver(b);
  const openA = new Set<ValueNode>();
  const openB = new Set<ValueNode>();
  const same = (writtenA: unknown, writtenB: unknown, path: string, depth: number): boolean => {
    const x = resolveA(writtenA);
    const y = resolveB(writtenB);
    budget.spend(depth);
    const want = expected.get(path);
    if (want !== undefined) {
      return (
        isScalar(x) &&
        typeof x.value === 'string' &&
        isScalar(y) &&
        y.value === want &&
        x.tag === y.tag
      );
    }
    if (x === undefined || y === undefined) return x === y;
    if (x.tag !== y.tag || x.constructor !== y.constructor) return false;
    if (isScalar(x)) return isScalar(y) && isDeepStrictEqual(x.value, y.value);
    enter(openA, x, budget);
    enter(openB, y, budget);
    let equal: boolean;
    if (isMap(x) && isMap(y)) {
      equal =
        x.items.length === y.items.length &&
        x.items.every((pair, i) => {
          const other = y.items[i];
          return (
            other !== undefined &&
            same(pair.key, other.key, `${path}/k${i}`, depth + 1) &&
            same(pair.value, other.value, `${path}/${i}`, depth + 1)
          );
        });
    } else if (isSeq(x) && isSeq(y)) {
      equal =
        x.items.length === y.items.length &&
        x.items.every((item, i) => same(item, y.items[i], `${path}/${i}`, depth + 1));
    } else {
      equal = false;
    }
    openA.delete(x);
    openB.delete(y);
    return equal;
  };
  return same(a.contents, b.contents, '', 0);
}

/** Marks a collection as being read; one that holds itself through an alias is refused. */
function enter(open: Set<ValueNode>, node: ValueNode, budget: Budget): void {
  if (open.has(node)) {
    throw invalid(
      'MANIFEST_PIN_UNSAFE',
      `${budget.source}: an alias inside its own anchor (YAML readers such as kubectl's refuse it); not pinned`,
    );
  }
  open.add(node);
}

/** The node and depth limits of one pinImages call. */
interface Budget {
  readonly source: string;
  /** Counts one node at `depth`; throws past the limits. */
  spend(depth: number): void;
}

function budgetFor(source: string): Budget {
  let left = MAX_NODES;
  return {
    source,
    spend(depth) {
      if (--left < 0 || depth > MAX_DEPTH) {
        throw invalid(
          'MANIFEST_PIN_UNSAFE',
          `${source}: too many nodes or too deep (through aliases?) to check a pinned copy; not pinned`,
        );
      }
    },
  };
}

/** How `value` is written in place of `node`'s source (see the module comment). */
function rewritten(node: Scalar, value: string, text: string, document: Document.Parsed): string {
  const version = document.directives?.yaml.version ?? '1.2';
  const inline = plainReadsAs(value, version) ? value : JSON.stringify(value);
  switch (node.type) {
    case 'QUOTE_DOUBLE':
      return JSON.stringify(value);
    case 'QUOTE_SINGLE':
      // Single quotes escape only themselves (YAML 1.2.2 §7.3.2): no line breaks or
      // other control characters, nor unpaired surrogates, can be written inside.
      return /^[^\p{Cc}\p{Cs}]*$/u.test(value)
        ? `'${value.replaceAll("'", "''")}'`
        : JSON.stringify(value);
    case 'BLOCK_LITERAL':
    case 'BLOCK_FOLDED': {
      const [start, end] = node.range ?? [0, 0];
      const written = text.slice(start, end);
      // The header: indicators (no '#' among them), then maybe a comment (§8.1.1).
      const header = (written.split('\n', 1)[0] ?? '').replace(/\r$/, '');
      const hash = header.indexOf('#');
      const comment = hash < 0 ? '' : ` ${header.slice(hash).trimEnd()}`;
      return `${inline}${comment}${/\r?\n$/.exec(written)?.[0] ?? ''}`;
    }
    default:
      return inline;
  }
}

/**
 * Whether `value` written plain reads back as that string in a block or a
 * flow collection: no indicator first, no flow indicators, spaces, '#' or
 * trailing ':' (YAML 1.2.2 §7.3.3), and not a null, boolean or number of the
 * document's YAML version.
 */
function plainReadsAs(value: string, version: '1.1' | '1.2' | 'next'): boolean {
  return (
    /^[A-Za-z0-9_][\w./:@+-]*$/.test(value) &&
    !value.endsWith(':') &&
    parse(value, { version }) === value
  );
}
