import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isVouchError } from '../core/errors.ts';
import { compareUtf8, goMarshal, goMarshalIndent, goString } from './go-json.ts';
import {
  type JsonShape,
  parseStrictJson,
  parseStrictJsonText,
  StrictJsonError,
} from '../core/strict-json.ts';

describe('goString', () => {
  test('escapes exactly what Go escapes', () => {
    assert.equal(
      goString('<a href="x">&amp;</a>'),
      '"\\u003ca href=\\"x\\"\\u003e\\u0026amp;\\u003c/a\\u003e"',
    );
    assert.equal(goString('\u2028\u2029'), '"\\u2028\\u2029"');
    assert.equal(goString('\b\f\n\r\t\u0000\u001f\u007f'), '"\\b\\f\\n\\r\\t\\u0000\\u001f\u007f"');
    assert.equal(goString('é\u{1F600}/'), '"é\u{1F600}/"');
  });

  test('any well-formed string round-trips, with no raw HTML-sensitive characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const encoded = goString(s);
        assert.equal(JSON.parse(encoded), s);
        assert.ok(!/[<>&\u2028\u2029]/.test(encoded));
      }),
    );
  });

  test('refuses lone surrogates', () => {
    for (const s of ['\uD800', 'a\uDC00', '\uDC00\uD800']) {
      assert.throws(
        () => goString(s),
        (e: unknown) => isVouchError(e) && e.category === 'invalid',
      );
    }
    assert.equal(goString('\uD83D\uDE00'), '"\u{1F600}"');
  });
});

describe('goMarshal', () => {
  test('structs in field order, maps sorted by UTF-8 bytes, no whitespace', () => {
    const value = {
      z: 1,
      a: [true, false, null],
      m: new Map([
        ['b', 'x'],
        ['\u{1F600}', 'astral'],
        ['\uFFFD', 'bmp'],
        ['A', 'upper'],
      ]),
    };
    assert.equal(
      goMarshal(value),
      '{"z":1,"a":[true,false,null],"m":{"A":"upper","b":"x","\uFFFD":"bmp","\u{1F600}":"astral"}}',
    );
  });

  test('refuses numbers Go would format differently', () => {
    for (const n of [0.5, 1e21, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => goMarshal(n),
        (e: unknown) => isVouchError(e) && e.category === 'invalid',
      );
    }
  });

  test('compareUtf8 orders as Go strings.Compare', () => {
    assert.ok(compareUtf8('\uFFFD', '\u{1F600}') < 0);
    assert.ok('\uFFFD' > '\u{1F600}'); // what a plain sort would do
    assert.equal(compareUtf8('a', 'a'), 0);
    assert.ok(compareUtf8('a', 'ab') < 0);
  });
});

describe('goMarshalIndent', () => {
  test('json.MarshalIndent: one element a line, ": " after keys, [] and {} when empty', () => {
    const value = {
      b: [1, 'x', { c: [], d: new Map<string, null>() }],
      a: new Map([
        ['z', true],
        ['y', null],
      ]),
    };
    assert.equal(
      goMarshalIndent(value, '  '),
      [
        '{',
        '  "b": [',
        '    1,',
        '    "x",',
        '    {',
        '      "c": [],',
        '      "d": {}',
        '    }',
        '  ],',
        '  "a": {',
        '    "y": null,',
        '    "z": true',
        '  }',
        '}',
      ].join('\n'),
    );
    assert.equal(goMarshalIndent([], '    '), '[]');
    assert.equal(goMarshalIndent(['<&>'], '\t'), '[\n\t"\\u003c\\u0026\\u003e"\n]');
  });
});

describe('parseStrictJson', () => {
  test('reads what JSON.parse reads when there are no duplicate keys', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
        const text = JSON.stringify(value, null, 1);
        assert.equal(JSON.stringify(parseStrictJsonText(text)), JSON.stringify(JSON.parse(text)));
      }),
    );
  });

  test('decodes escapes and surrogate pairs', () => {
    assert.equal(
      parseStrictJsonText('"\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\"\\\\"'),
      'é\u{1F600}/\b\f\n\r\t"\\',
    );
    assert.deepEqual(parseStrictJsonText(' [ 0 , -0.5e+2 , 1E3 ] '), [0, -50, 1000]);
  });

  const refused = [
    '01',
    '1.',
    '.5',
    '+1',
    '-',
    '1e',
    '[1,]',
    '{"a":1,}',
    "{'a':1}",
    'NaN',
    'Infinity',
    '/* c */ 1',
    '"\\x"',
    '"\t"',
    'tru',
    'nul',
    '[',
    '{"a"}',
    '{"a":1 "b":2}',
    '1 2',
    '"\\u12"',
    '"\\udc00"',
    '"\\ud800x"',
    '"\\ud800\\u0041"',
    '{"a":1,"a":2}',
    '[1e999]',
    '\u00a01',
  ];
  for (const text of refused) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseStrictJsonText(text), StrictJsonError);
    });
  }

  test('refuses a byte order mark and invalid UTF-8', () => {
    assert.throws(() => parseStrictJson(new Uint8Array([0xef, 0xbb, 0xbf, 0x31])), StrictJsonError);
    assert.throws(() => parseStrictJson(new Uint8Array([0x22, 0xc3, 0x22])), /not valid UTF-8/);
  });

  test('limits nesting', () => {
    assert.deepEqual(parseStrictJsonText('[[1]]', { maxDepth: 2 }), [[1]]);
    assert.throws(() => parseStrictJsonText('[[[1]]]', { maxDepth: 2 }), /nesting deeper than 2/);
    assert.throws(() => parseStrictJsonText('['.repeat(100000)), /nesting deeper than 64/);
  });

  test('every object, nested or empty, has a null prototype; duplicate keys are refused in each', () => {
    const value = parseStrictJsonText(
      '{"a":{"b":{}},"c":[{"constructor":1,"toString":2,"hasOwnProperty":3}],"d":{}}',
    ) as Record<string, Record<string, unknown>>;
    const objects = [value, value.a, value.a?.b, (value.c as unknown as object[])[0], value.d];
    for (const object of objects) assert.equal(Object.getPrototypeOf(object), null);
    assert.deepEqual(Object.keys((value.c as unknown as object[])[0] as object), [
      'constructor',
      'toString',
      'hasOwnProperty',
    ]);
    for (const text of [
      '{"a":1,"a":2}',
      '{"x":{"a":1,"b":2,"a":3}}',
      '{"__proto__":1,"__proto__":2}',
      '{"constructor":1,"constructor":1}',
      '[{"k":{},"k":{}}]',
    ]) {
      assert.throws(() => parseStrictJsonText(text), /duplicate key/, text);
    }
  });

  test('objects have a null prototype; __proto__ is a key like any other', () => {
    const value = parseStrictJsonText('{"__proto__":{"x":1},"constructor":2}') as Record<
      string,
      unknown
    >;
    assert.equal(Object.getPrototypeOf(value), null);
    assert.deepEqual(Object.keys(value), ['__proto__', 'constructor']);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});

describe('parseStrictJson with a shape (members left out are checked, not built)', () => {
  const shape = { a: true, b: { c: true } } as const;
  /** What the shape keeps of a value parsed whole. */
  function kept(value: unknown, of: JsonShape | true): unknown {
    if (of === true || typeof value !== 'object' || value === null || Array.isArray(value)) {
      return value;
    }
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      const rule = Object.hasOwn(of, key) ? of[key] : undefined;
      if (rule !== undefined) out[key] = kept(member, rule);
    }
    return out;
  }
  /** The message a parse throws, or the value's JSON. */
  function outcome(parse: () => unknown): string {
    try {
      return `ok ${JSON.stringify(parse())}`;
    } catch (error) {
      if (!(error instanceof StrictJsonError)) throw error;
      return `refused ${error.message}`;
    }
  }

  test('builds only the members named, whole or under their own shape', () => {
    const value = parseStrictJsonText(
      '{"a":{"x":[1,{"y":2}]},"b":{"c":"kept","d":"left out"},"e":{"f":1},"g":[1,2]}',
      { shape },
    );
    assert.deepEqual(JSON.parse(JSON.stringify(value)), {
      a: { x: [1, { y: 2 }] },
      b: { c: 'kept' },
    });
    assert.equal(Object.getPrototypeOf(value), null);
    // A member whose shape is for an object but whose value is not: built whole.
    assert.equal(JSON.stringify(parseStrictJsonText('{"b":[1,"x"]}', { shape })), '{"b":[1,"x"]}');
  });

  const hostile = [
    '{"e":{"f":1,"f":2}}',
    '{"e":1,"e":2}',
    '{"a":1,"a":2}',
    '{"b":{"d":1,"d":2}}',
    '{"b":{"c":1,"c":2}}',
    '{"e":[{"x":1},{"y":1,"y":2}]}',
    '{"e":"\\x"}',
    '{"e":"\\udc00"}',
    '{"e":"\\ud800x"}',
    '{"e":"\\u12"}',
    '{"e":"\t"}',
    '{"e":[1e999]}',
    '{"e":01}',
    '{"e":[1,]}',
    '{"e":{"f":1,}}',
    '{"e":{"f"}}',
    '{"e":{"f":1 "g":2}}',
    '{"e":{1:2}}',
    '{"e":tru}',
    `{"e":${'['.repeat(70)}${']'.repeat(70)}}`,
    '{"e":"unterminated}',
    '{"e":[1 2]}',
    // Past the few keys kept in a list: the duplicate is found either side of the switch.
    `{"e":{${Array.from({ length: 12 }, (_, i) => `"k${i}":0`).join(',')},"k3":1}}`,
    `{"e":{${Array.from({ length: 12 }, (_, i) => `"k${i}":0`).join(',')},"k11":1}}`,
    `{${Array.from({ length: 12 }, (_, i) => `"k${i}":0`).join(',')},"k10":1}`,
  ];
  for (const text of hostile) {
    test(`refuses ${JSON.stringify(text.slice(0, 40))} in a member left out as when it is built`, () => {
      const whole = outcome(() => parseStrictJsonText(text));
      assert.match(whole, /^refused /);
      assert.equal(
        outcome(() => parseStrictJsonText(text, { shape })),
        whole,
      );
    });
  }

  test('refuses exactly what a whole parse refuses, with the same message; keeps what the shape names', () => {
    // Texts near JSON: valid documents, and documents with one character changed.
    const member = fc.constantFrom('"a"', '"b"', '"c"', '"d"', '"e"', '"__proto__"');
    const text = fc.oneof(
      fc.jsonValue({ maxDepth: 5 }).map((value) => JSON.stringify(value)),
      fc
        .tuple(fc.array(fc.tuple(member, fc.jsonValue({ maxDepth: 4 })), { maxLength: 6 }))
        .map(([members]) => `{${members.map(([k, v]) => `${k}:${JSON.stringify(v)}`).join(',')}}`),
    );
    const mutated = fc
      .tuple(text, fc.nat(), fc.constantFrom('', '"', ',', '}', ']', '\\', '1', 'x', ':'))
      .map(([t, at, c]) => {
        const i = t.length === 0 ? 0 : at % t.length;
        return t.slice(0, i) + c + t.slice(i + 1);
      });
    fc.assert(
      fc.property(fc.oneof(text, mutated), (t) => {
        const whole = outcome(() => parseStrictJsonText(t, { maxDepth: 6 }));
        const shaped = outcome(() => parseStrictJsonText(t, { maxDepth: 6, shape }));
        if (whole.startsWith('refused')) assert.equal(shaped, whole, t);
        else {
          assert.equal(shaped, `ok ${JSON.stringify(kept(JSON.parse(whole.slice(3)), shape))}`, t);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
