import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { isVouchError } from '../core/errors.ts';
import { checkPinned, type ImagePin, pinImages } from './pin-images.ts';
import { findImages, type ImageLocation } from './workloads.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

/** Each document of `text` as plain data (maps as Maps, so keys keep their types). */
function trees(text: string): unknown[] {
  return parseAllDocuments(text).map((document) => {
    assert.deepEqual(document.errors, [], text);
    return document.toJS({ mapAsMap: true });
  });
}

/** `tree` with the value at `path` (keys and indices) set to `value`, copying what it changes. */
function setAt(tree: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const [step, ...rest] = path;
  if (step === undefined) return value;
  if (Array.isArray(tree)) {
    const copy = [...tree];
    copy[step as number] = setAt(copy[step as number], rest, value);
    return copy;
  }
  assert.ok(tree instanceof Map, `no map at ${String(step)}`);
  const copy = new Map(tree);
  copy.set(step, setAt(copy.get(step), rest, value));
  return copy;
}

/** `tree` as plain data, for messages. */
function valueAt(tree: unknown, path: readonly (string | number)[]): unknown {
  return path.reduce<unknown>(
    (node, step) =>
      node instanceof Map ? node.get(step) : Array.isArray(node) ? node[step as number] : undefined,
    tree,
  );
}

/** Pins every image found in `text` to `image@DIGEST`. */
function pinAll(text: string) {
  const found = findImages(text, 'x.yaml');
  return {
    found,
    ...pinImages(
      text,
      found.map((location) => ({ location, image: `${location.image}@${DIGEST}` })),
      'x.yaml',
    ),
  };
}

/** Pins every image and checks the documents read as before with those values pinned. */
function assertPinsOnlyImages(
  text: string,
  slots: readonly { document: number; path: readonly (string | number)[] }[],
): string {
  const { found, text: pinned, refused } = pinAll(text);
  assert.deepEqual(refused, []);
  assert.equal(found.length, slots.length, 'every image is found');
  let expected = trees(text);
  for (const { document, path } of slots) {
    const value = valueAt(expected[document], path);
    assert.equal(typeof value, 'string', `an image at ${path.join('.')}`);
    expected = setAt(expected, [document, ...path], `${String(value)}@${DIGEST}`) as unknown[];
  }
  assert.deepEqual(trees(pinned), expected, pinned);
  return pinned;
}

const pod = (name: string, image: string, after = '') =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n    - name: app\n      image: ${image}\n${after}`;
const IMAGE = ['spec', 'containers', 0, 'image'];

describe('pinImages', () => {
  it('replaces a folded block scalar without gluing the next key to it', () => {
    const pinned = assertPinsOnlyImages(
      pod('a', '>-\n        nginx:1.27', '      imagePullPolicy: Always\n'),
      [{ document: 0, path: IMAGE }],
    );
    assert.match(pinned, /\n {6}image: nginx:1\.27@sha256:a{64}\n {6}imagePullPolicy: Always\n/);
  });

  it('replaces a literal block scalar at the end of a document without eating the ---', () => {
    const text = `${pod('a', '|-\n        nginx:1.27')}---\n${pod('b', 'redis:7')}`;
    assertPinsOnlyImages(text, [
      { document: 0, path: IMAGE },
      { document: 1, path: IMAGE },
    ]);
  });

  it('keeps a block scalar header comment, its indentation indicator and CRLF line ends', () => {
    const text = `${pod('a', '>2- # the app\n         nginx:1.27', '      imagePullPolicy: Always\n')}---\n${pod('b', '|-\n        redis:7')}...\n`;
    const crlf = text.replaceAll('\n', '\r\n');
    const pinned = assertPinsOnlyImages(crlf, [
      { document: 0, path: IMAGE },
      { document: 1, path: IMAGE },
    ]);
    // The indicator kept a leading space in the value; plain cannot start with one.
    assert.match(pinned, /image: " nginx:1\.27@sha256:a{64}" # the app\r\n/);
    assert.doesNotMatch(pinned.replaceAll('\r\n', ''), /\n/, 'every line still ends with CRLF');
  });

  it('keeps each quoting style and flow collections, and leaves other bytes alone', () => {
    const text = `services:
  a: {image: nginx:1, ports: ["80"]}   # flow
  b: {image: 'it''s:1'}
  c:
    image: "x\\ty:1" # escapes stay escapes
  d: [not, a, service]
`;
    const pinned = assertPinsOnlyImages(text, [
      { document: 0, path: ['services', 'a', 'image'] },
      { document: 0, path: ['services', 'b', 'image'] },
      { document: 0, path: ['services', 'c', 'image'] },
    ]);
    assert.equal(
      pinned,
      text
        .replace('nginx:1,', `nginx:1@${DIGEST},`)
        .replace("'it''s:1'", `'it''s:1@${DIGEST}'`)
        .replace('"x\\ty:1"', `"x\\ty:1@${DIGEST}"`),
    );
  });

  it('pins an anchored image once when every alias of it is an image', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  initContainers:
    - {name: init, image: &app ghcr.io/acme/app:1}
  containers:
    - name: app
      image: *app
`;
    const found = findImages(text, 'x.yaml');
    assert.deepEqual(
      found.map((l) => [l.image, l.line, l.column]),
      [
        ['ghcr.io/acme/app:1', 6, 32],
        ['ghcr.io/acme/app:1', 9, 14],
      ],
      'the alias is found where it is written',
    );
    const pinned = assertPinsOnlyImages(text, [
      { document: 0, path: ['spec', 'initContainers', 0, 'image'] },
      { document: 0, path: ['spec', 'containers', 0, 'image'] },
    ]);
    assert.equal(
      pinned,
      text.replace('&app ghcr.io/acme/app:1', `&app ghcr.io/acme/app:1@${DIGEST}`),
    );
  });

  it('refuses to pin an anchor also used where no image is, and says where', () => {
    const text = `x-image: &img ghcr.io/acme/app:1
services:
  web:
    image: *img
  worker:
    image: *img
`;
    const { found, text: pinned, refused } = pinAll(text);
    assert.equal(found.length, 2);
    assert.equal(pinned, text, 'nothing changes');
    assert.deepEqual(
      refused.map((r) => [r.pin.location.line, r.reason]),
      [4, 6].map((line) => [
        line,
        'the anchor &img at line 1 is also used where it is written, which is no image; pinning would change it there too',
      ]),
    );
  });

  it('refuses to pin an image whose anchor a non-image field also uses', () => {
    const text = `${pod('a', '&v nginx:1')}metadata2: {copy: *v}\n`;
    const { text: pinned, refused } = pinAll(text);
    assert.equal(pinned, text);
    assert.deepEqual(
      refused.map((r) => r.reason),
      ['the anchor &v at line 8 is also used at line 9, where it is no image pinned with it'],
    );
  });

  it('pins a value reached through an aliased list once for each place, or not at all', () => {
    const text = `services:
  a: &svc {image: nginx:1}
  b: *svc
`;
    assertPinsOnlyImages(text, [
      { document: 0, path: ['services', 'a', 'image'] },
      { document: 0, path: ['services', 'b', 'image'] },
    ]);
    const found = findImages(text, 'x.yaml');
    assert.deepEqual(
      found.map((l) => [l.line, l.range]),
      [
        [2, [28, 35]],
        [3, [28, 35]],
      ],
      'one scalar, two places; each reported where it is reached',
    );
    const one = pinImages(
      text,
      [{ location: found[0] as ImageLocation, image: 'x@sha256:1' }],
      'x',
    );
    assert.equal(one.text, text, 'pinning one place would change the other');
    assert.match(one.refused[0]?.reason ?? '', /is also used at line 3/);
  });

  it('pins an image merged from another service with it, and refuses one merged from a template', () => {
    const text = `services:
  a: &a
    image: nginx:1
  b:
    <<: *a
`;
    assertPinsOnlyImages(text, [
      { document: 0, path: ['services', 'a', 'image'] },
      { document: 0, path: ['services', 'b', '<<', 'image'] },
    ]);
    const template = `x-base: &base\n  image: nginx:1\nservices:\n  a:\n    <<: *base\n`;
    const { text: pinned, refused } = pinAll(template);
    assert.equal(pinned, template);
    assert.deepEqual(
      refused.map((r) => [r.pin.location.line, r.reason]),
      [
        [
          5,
          'the value at line 2 is also used where it is written, which is no image; pinning would change it there too',
        ],
      ],
    );
  });

  it('refuses to pin one anchor to two references', () => {
    const text = `services:\n  a: {image: &i nginx:1}\n  b: {image: *i}\n`;
    const found = findImages(text, 'x.yaml');
    const result = pinImages(
      text,
      found.map((location, i) => ({ location, image: `nginx:1@sha256:${String(i).repeat(64)}` })),
      'x.yaml',
    );
    assert.equal(result.text, text);
    assert.equal(result.refused.length, 2);
    assert.match(result.refused[0]?.reason ?? '', /pinned to different references/);
  });

  it('refuses a pin whose location is not in the text', () => {
    const text = pod('a', 'nginx:1');
    const [location] = findImages(text, 'x.yaml') as [ImageLocation];
    const stale: ImagePin[] = [
      { location: { ...location, image: 'redis:1' }, image: `redis:1@${DIGEST}` },
      { location: { ...location, document: 3 }, image: `nginx:1@${DIGEST}` },
      { location: { ...location, path: [0] }, image: `nginx:1@${DIGEST}` },
    ];
    const result = pinImages(text, stale, 'x.yaml');
    assert.equal(result.text, text);
    assert.deepEqual(
      result.refused.map((r) => r.reason),
      Array(3).fill('the text holds no such image there'),
    );
  });

  it('refuses files whose aliases hold themselves or expand past the budget', () => {
    const cyclic = `${pod('a', 'nginx:1')}loop: &l [*l]\n`;
    assert.throws(() => pinAll(cyclic), { code: 'MANIFEST_PIN_UNSAFE' });
    const layers = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++)
      layers.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const laughs = `${pod('a', 'nginx:1')}${layers.join('\n')}\n`;
    assert.throws(() => pinAll(laughs), { code: 'MANIFEST_PIN_UNSAFE' });
  });
});

describe('checkPinned', () => {
  const text = `${pod('a', '>-\n        nginx:1.27', '      imagePullPolicy: Always\n')}---\n${pod('b', 'redis:7')}`;
  const [first, second] = findImages(text, 'x.yaml') as [ImageLocation, ImageLocation];
  const pinned = [
    { ...first, image: `nginx:1.27@${DIGEST}` },
    { ...second, image: `redis:7@${DIGEST}` },
  ];
  const refuses = (after: string, why: RegExp) =>
    assert.throws(
      () => checkPinned(text, after, pinned, 'x.yaml'),
      (error: unknown) =>
        isVouchError(error) &&
        error.code === 'MANIFEST_PIN_UNSAFE' &&
        error.category === 'invalid' &&
        why.test(error.message),
    );

  it('accepts the documents with exactly those values changed', () => {
    const after = text
      .replace('>-\n        nginx:1.27', `nginx:1.27@${DIGEST}`)
      .replace('redis:7', `"redis:7@${DIGEST}"`);
    checkPinned(text, after, pinned, 'x.yaml');
  });

  it('refuses what the old splice wrote: the value glued to the next line, documents merged', () => {
    // The range of a block scalar ends after its line break; replacing it by a bare value loses it.
    refuses(
      text
        .replace('>-\n        nginx:1.27\n', `nginx:1.27@${DIGEST}`)
        .replace('redis:7', `redis:7@${DIGEST}`),
      /does not parse/,
    );
    const merged = `${pod('a', '|-\n        nginx:1.27')}---\n${pod('b', 'redis:7')}`;
    const [one, two] = findImages(merged, 'x.yaml') as [ImageLocation, ImageLocation];
    assert.throws(
      () =>
        checkPinned(
          merged,
          merged
            .replace('|-\n        nginx:1.27\n', `nginx:1.27@${DIGEST}`)
            .replace('redis:7', `redis:7@${DIGEST}`),
          [
            { ...one, image: `nginx:1.27@${DIGEST}` },
            { ...two, image: `redis:7@${DIGEST}` },
          ],
          'x.yaml',
        ),
      { code: 'MANIFEST_PIN_UNSAFE' },
    );
  });

  it('refuses any other change, a wrong value, a lost document or a lone surrogate', () => {
    const good = text
      .replace('>-\n        nginx:1.27', `nginx:1.27@${DIGEST}`)
      .replace('redis:7', `redis:7@${DIGEST}`);
    refuses(good.replace('Always', 'Never'), /document 1 reads differently/);
    refuses(good.replace(`redis:7@${DIGEST}`, 'redis:7'), /document 2 reads differently/);
    refuses(good.replace('name: b', 'name: "b"\n  labels: {}'), /document 2 reads differently/);
    refuses(good.slice(0, good.indexOf('---')), /holds 1 documents, not 2/);
    refuses(good.replace('name: b', 'name: b\ud800'), /not valid Unicode/);
  });
});

// --- Property: over generated manifests, pinning changes exactly the image values -----------

/** Ways to write a scalar: the flow ones, and block headers (with indentation indicators). */
const FLOW_STYLES = ['plain', 'single', 'double'] as const;
const BLOCK_HEADERS = ['|', '|-', '|+', '>', '>-', '>+', '|2-', '>-1', '|1', '>2+'] as const;

interface ValueSlot {
  readonly kind: 'value';
  readonly value: string;
  /** A flow style, or a block header. */
  readonly style: (typeof FLOW_STYLES)[number] | (typeof BLOCK_HEADERS)[number];
  readonly comment: boolean;
  readonly anchored: boolean;
}
/** An alias of an earlier anchored value of the same document (by its number among them). */
interface AliasSlot {
  readonly kind: 'alias';
  readonly of: number;
}
type Slot = ValueSlot | AliasSlot;

interface Container {
  readonly flow: boolean;
  readonly image: Slot;
  readonly commentLine: boolean;
}

type Generated =
  | {
      readonly kind: 'Pod' | 'Deployment';
      readonly containers: readonly Container[];
      /** An alias of an anchored image at a place that is no image. */
      readonly elsewhere: number | null;
    }
  | {
      readonly kind: 'compose';
      readonly base: boolean;
      readonly services: readonly Container[];
    }
  | { readonly kind: 'ConfigMap' };

const plainValue = fc
  .tuple(
    fc.constantFrom('nginx', 'ghcr.io/acme/app', 'registry.k8s.io/pause', '127.0.0.1:5000/x/y_z'),
    fc.constantFrom('', ':1', ':1.27-alpine', ':latest'),
  )
  .map(([name, tag]) => `${name}${tag}`);
/** Values only quotes or block scalars can hold as they are. */
const oddValue = fc.constantFrom(
  'my image #1',
  'a: b',
  '- dash',
  "it's",
  '[x]',
  '"q"',
  'true',
  '12',
);

const valueSlot: fc.Arbitrary<ValueSlot> = fc
  .record({
    style: fc.constantFrom<ValueSlot['style']>(...FLOW_STYLES, ...BLOCK_HEADERS),
    plain: plainValue,
    odd: fc.option(oddValue, { freq: 4 }),
    comment: fc.boolean(),
    anchored: fc.boolean(),
  })
  .map(({ style, plain, odd, comment, anchored }) => ({
    kind: 'value',
    // Plain can hold only plain values; the rest can hold any.
    value: style === 'plain' || odd === null ? plain : odd,
    style,
    comment,
    anchored,
  }));

const slot: fc.Arbitrary<Slot> = fc.oneof(
  { weight: 4, arbitrary: valueSlot },
  { weight: 1, arbitrary: fc.nat(3).map((of) => ({ kind: 'alias' as const, of })) },
);
const container = fc.record({ flow: fc.boolean(), image: slot, commentLine: fc.boolean() });
const generated: fc.Arbitrary<Generated> = fc.oneof(
  fc.record({
    kind: fc.constantFrom<'Pod' | 'Deployment'>('Pod', 'Deployment'),
    containers: fc.array(container, { minLength: 1, maxLength: 4 }),
    elsewhere: fc.option(fc.nat(3)),
  }),
  fc.record({
    kind: fc.constant<'compose'>('compose'),
    base: fc.boolean(),
    services: fc.array(container, { minLength: 1, maxLength: 3 }),
  }),
  fc.constant<Generated>({ kind: 'ConfigMap' }),
);

/** One image written in block context at `indent` (the column of its key), or in a flow map. */
function scalar(slot: ValueSlot, anchor: string, indent: number, flow: boolean): string {
  const properties = anchor === '' ? '' : `${anchor} `;
  const comment = slot.comment && !flow ? ' # the image' : '';
  switch (slot.style) {
    case 'plain':
      return `${properties}${slot.value}${comment}`;
    case 'single':
      return `${properties}'${slot.value.replaceAll("'", "''")}'${comment}`;
    case 'double':
      return `${properties}${JSON.stringify(slot.value)}${comment}`;
    default:
      // The content two columns in from the key; the line break ends the scalar.
      return `${properties}${slot.style}${comment}\n${' '.repeat(indent + 2)}${slot.value}`;
  }
}

/**
 * `documents` as YAML text, with the path (keys and indices, per document)
 * of each image and whether its pin must be refused (an anchor also used
 * where no image is).
 */
function render(documents: readonly Generated[]): {
  text: string;
  images: { document: number; path: (string | number)[]; refused: boolean }[];
} {
  const images: { document: number; path: (string | number)[]; refused: boolean }[] = [];
  const parts = documents.map((document, index) => {
    const anchors: { name: string; images: number[]; shared: boolean }[] = [];
    // How a slot is written: a value (maybe anchored) or an alias of an anchor defined before.
    const write = (slot: Slot, indent: number, flow: boolean, path: (string | number)[]) => {
      const image = images.push({ document: index, path, refused: false }) - 1;
      if (slot.kind === 'alias') {
        const anchor = anchors[slot.of];
        if (anchor === undefined) return 'nginx:no-anchor-yet';
        anchor.images.push(image);
        return `*${anchor.name}`;
      }
      const name = slot.anchored ? `a${index}x${anchors.length}` : '';
      if (slot.anchored) anchors.push({ name, images: [image], shared: false });
      // A flow collection holds no block scalars.
      const style = flow && /^[|>]/.test(slot.style) ? 'double' : slot.style;
      return scalar({ ...slot, style }, name === '' ? '' : `&${name}`, indent, flow);
    };
    const containers = (list: readonly Container[], pad: string, path: (string | number)[]) =>
      list
        .map((c, i) => {
          const comment = c.commentLine ? `${pad}# container ${i}\n` : '';
          if (c.flow)
            return `${comment}${pad}- {name: c${i}, image: ${write(c.image, pad.length + 2, true, [...path, i, 'image'])}}\n`;
          return `${comment}${pad}- name: c${i}\n${pad}  image: ${write(c.image, pad.length + 2, false, [...path, i, 'image'])}\n${pad}  imagePullPolicy: Always\n`;
        })
        .join('');
    let text: string;
    if (document.kind === 'Pod' || document.kind === 'Deployment') {
      const specPath = document.kind === 'Pod' ? ['spec'] : ['spec', 'template', 'spec'];
      const pad = ' '.repeat(specPath.length * 2);
      const head =
        document.kind === 'Pod'
          ? 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n'
          : 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n  template:\n    spec:\n';
      text = `${head}${pad}containers:\n${containers(document.containers, pad, [...specPath, 'containers'])}`;
      const shared = document.elsewhere === null ? undefined : anchors[document.elsewhere];
      if (shared !== undefined) {
        shared.shared = true;
        text += `extra: {copy: *${shared.name}}\n`;
      }
    } else if (document.kind === 'compose') {
      let base = '';
      if (document.base) {
        const name = `a${index}base`;
        anchors.push({ name, images: [], shared: true });
        base = `x-image: &${name} ghcr.io/acme/base:1\n`;
      }
      text = `${base}services:\n${document.services
        .map((service, i) => {
          const path = ['services', `s${i}`, 'image'];
          return service.flow
            ? `  s${i}: {image: ${write(service.image, 4, true, path)}}\n`
            : `  s${i}:\n    image: ${write(service.image, 4, false, path)}\n`;
        })
        .join('')}`;
    } else {
      text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {image: not-an-image}\n';
    }
    for (const anchor of anchors)
      if (anchor.shared)
        for (const image of anchor.images) (images[image] as { refused: boolean }).refused = true;
    return text;
  });
  return { text: parts.map((part, i) => (i === 0 ? part : `---\n${part}`)).join(''), images };
}

describe('pinImages over generated manifests', () => {
  it('changes exactly the image values, to the pinned ones, in every scalar style', () => {
    fc.assert(
      fc.property(
        fc.array(generated, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (documents, crlf, start, end) => {
          const rendered = render(documents);
          let text = `${start ? '---\n' : ''}${rendered.text.replaceAll('---\n', end ? '...\n---\n' : '---\n')}${end ? '...\n' : ''}`;
          if (crlf) text = text.replaceAll('\n', '\r\n');
          const { found, text: pinned, refused } = pinAll(text);
          assert.equal(found.length, rendered.images.length, 'every image is found');
          let expected = trees(text);
          for (const { document, path, refused: keep } of rendered.images) {
            if (keep) continue;
            const value = valueAt(expected[document], path);
            assert.equal(typeof value, 'string', path.join('.'));
            expected = setAt(
              expected,
              [document, ...path],
              `${String(value)}@${DIGEST}`,
            ) as unknown[];
          }
          assert.deepEqual(trees(pinned), expected);
          assert.equal(refused.length, rendered.images.filter((i) => i.refused).length);
          if (crlf) assert.doesNotMatch(pinned.replaceAll('\r\n', ''), /\n/, 'CRLF stays');
        },
      ),
      { numRuns: 400 },
    );
  });
});
