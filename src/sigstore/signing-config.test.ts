import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import {
  MAX_SERVICES,
  MAX_SIGNING_CONFIG_BYTES,
  parseSigningConfig,
  selectSigningServices,
  serviceUrlProblem,
  SIGNING_CONFIG_MEDIA_TYPE,
  type SigningConfig,
  withServiceOverrides,
} from './signing-config.ts';

const encode = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

function service(url: string, majorApiVersion = 1, start = '2022-01-01T00:00:00Z', more = {}) {
  return { url, majorApiVersion, validFor: { start }, operator: 'example.test', ...more };
}

/** A document shaped like the public-good one, with `changes` on top. */
function document(changes: Record<string, unknown> = {}) {
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [service('https://fulcio.example.test')],
    oidcUrls: [service('https://oauth2.example.test/auth')],
    rekorTlogUrls: [service('https://rekor.example.test')],
    tsaUrls: [service('https://tsa.example.test/api/v1/timestamp')],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
    ...changes,
  };
}

const parse = (value: unknown) => parseSigningConfig(encode(value), 'test.json');
const NOW = new Date('2026-06-01T00:00:00Z');
const select = (config: SigningConfig, tlogMajorVersions: readonly number[] = [1, 2]) =>
  selectSigningServices(config, { now: NOW, tlogMajorVersions });
const invalidConfig = (text?: string) => expectError('invalid', 'SIGNING_CONFIG_INVALID', text);

describe('parseSigningConfig', () => {
  test('reads every field of a v0.2 document', () => {
    const config = parse(
      document({
        rekorTlogUrls: [
          service('https://log2025-1.rekor.example.test', 2, '2025-10-06T00:00:00.5Z', {
            validFor: { start: '2025-10-06T00:00:00.5Z', end: '2030-01-01T00:00:00.0000009Z' },
          }),
        ],
        tsaConfig: { selector: 'EXACT', count: 1 },
      }),
    );
    assert.equal(config.mediaType, SIGNING_CONFIG_MEDIA_TYPE);
    assert.deepEqual(config.rekorTlogUrls, [
      {
        url: 'https://log2025-1.rekor.example.test',
        majorApiVersion: 2,
        // Sub-millisecond digits never widen the period.
        validFrom: Date.parse('2025-10-06T00:00:00.500Z'),
        validUntil: Date.parse('2030-01-01T00:00:00.000Z'),
        operator: 'example.test',
      },
    ]);
    assert.deepEqual(config.tsaConfig, { selector: 'EXACT', count: 1 });
    assert.deepEqual(config.rekorTlogConfig, { selector: 'ANY', count: 0 });
  });

  test("protobuf defaults: null and absent fields are empty lists, no selector, version 0, operator ''", () => {
    const config = parse({
      mediaType: SIGNING_CONFIG_MEDIA_TYPE,
      caUrls: [{ url: 'https://fulcio.example.test', validFor: { start: '2022-01-01T00:00:00Z' } }],
      oidcUrls: null,
      tsaConfig: null,
      rekorTlogConfig: { selector: 'SERVICE_SELECTOR_UNDEFINED' },
    });
    assert.deepEqual(config.caUrls, [
      {
        url: 'https://fulcio.example.test',
        majorApiVersion: 0,
        validFrom: Date.parse('2022-01-01T00:00:00Z'),
        operator: '',
      },
    ]);
    assert.deepEqual(config.oidcUrls, []);
    assert.deepEqual(config.tsaUrls, []);
    assert.deepEqual(config.tsaConfig, { selector: undefined, count: 0 });
    assert.deepEqual(config.rekorTlogConfig, { selector: undefined, count: 0 });
  });

  test('refuses other media types, v0.1 included, and documents that are not objects', () => {
    for (const mediaType of [
      'application/vnd.dev.sigstore.signingconfig.v0.1+json',
      'application/vnd.dev.sigstore.signingconfig.v0.3+json',
      'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      undefined,
    ]) {
      assert.throws(() => parse(document({ mediaType })), invalidConfig('mediaType is'));
    }
    assert.throws(() => parse([document()]), invalidConfig('not a JSON object'));
    assert.throws(() => parse('null'), invalidConfig('not a JSON object'));
  });

  test('hostile JSON: duplicate keys, BOM, bad UTF-8, depth and size caps', () => {
    const text = JSON.stringify(document());
    assert.throws(
      () => parse(text.replace('{', '{"mediaType":"x",')),
      invalidConfig('duplicate key "mediaType"'),
    );
    assert.throws(() => parse(`\uFEFF${text}`), invalidConfig('not valid JSON'));
    assert.throws(
      () => parseSigningConfig(new Uint8Array([0x7b, 0xff, 0x7d])),
      invalidConfig('not valid UTF-8'),
    );
    const deep = `{"mediaType":"${SIGNING_CONFIG_MEDIA_TYPE}","caUrls":${'['.repeat(20)}${']'.repeat(20)}}`;
    assert.throws(() => parse(deep), invalidConfig('nesting deeper than 8'));
    const padded = `${text}${' '.repeat(MAX_SIGNING_CONFIG_BYTES)}`;
    assert.throws(() => parse(padded), invalidConfig(`larger than ${MAX_SIGNING_CONFIG_BYTES}`));
    const many = Array.from({ length: MAX_SERVICES + 1 }, () => service('https://x.test'));
    assert.throws(
      () => parse(document({ tsaUrls: many })),
      invalidConfig(`tsaUrls lists more than ${MAX_SERVICES}`),
    );
  });

  test('unknown fields are refused at every level (protojson refuses them), snake_case names too', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [document({ ca_urls: [] }), 'unknown field "ca_urls"'],
      [
        document({ caUrls: [{ ...service('https://f.test'), uri: 'x' }] }),
        'caUrls[0]: unknown field "uri"',
      ],
      [
        document({
          caUrls: [
            { ...service('https://f.test'), validFor: { start: '2022-01-01T00:00:00Z', x: 1 } },
          ],
        }),
        'caUrls[0].validFor: unknown field "x"',
      ],
      [document({ tsaConfig: { selector: 'ANY', threshold: 2 } }), 'tsaConfig: unknown field'],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => parse(value), invalidConfig(message), message);
    }
    // A literal `__proto__` key is an own key of the parsed object, and unknown.
    const proto = JSON.stringify(document()).replace('{', '{"__proto__":{},');
    assert.throws(() => parse(proto), invalidConfig('unknown field "__proto__"'));
  });

  test('wrong types and values are refused with where they are', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [document({ caUrls: {} }), 'caUrls is not an array'],
      [document({ caUrls: ['https://f.test'] }), 'caUrls[0] is not a JSON object'],
      [
        document({ caUrls: [{ ...service('https://f.test'), url: 7 }] }),
        'caUrls[0].url is not a string',
      ],
      [
        document({ caUrls: [{ ...service('https://f.test'), url: '' }] }),
        'caUrls[0].url "" is not a URL',
      ],
      [
        document({ rekorTlogUrls: [service('https://r.test', -1)] }),
        'rekorTlogUrls[0].majorApiVersion is not an integer',
      ],
      [
        document({ rekorTlogUrls: [service('https://r.test', 1.5)] }),
        'majorApiVersion is not an integer',
      ],
      [
        document({ rekorTlogUrls: [service('https://r.test', 2 ** 32)] }),
        'majorApiVersion is not an integer',
      ],
      [
        document({ rekorTlogUrls: [{ ...service('https://r.test'), majorApiVersion: '1' }] }),
        'majorApiVersion is not an integer',
      ],
      [
        document({ rekorTlogUrls: [{ ...service('https://r.test'), operator: 1 }] }),
        'operator is not a string',
      ],
      [
        document({ tsaUrls: [{ url: 'https://t.test', majorApiVersion: 1 }] }),
        'tsaUrls[0].validFor is missing',
      ],
      [
        document({
          tsaUrls: [{ ...service('https://t.test'), validFor: { end: '2030-01-01T00:00:00Z' } }],
        }),
        'tsaUrls[0].validFor.start is missing',
      ],
      [
        document({ tsaUrls: [service('https://t.test', 1, '2022-02-30T00:00:00Z')] }),
        'validFor.start is not a valid time',
      ],
      [
        document({ tsaUrls: [service('https://t.test', 1, '2022-01-01')] }),
        'validFor.start is not an RFC 3339 time',
      ],
      [
        document({
          tsaUrls: [
            {
              ...service('https://t.test'),
              validFor: { start: '2022-01-02T00:00:00Z', end: '2022-01-01T00:00:00Z' },
            },
          ],
        }),
        'tsaUrls[0].validFor ends before it starts',
      ],
      [document({ tsaConfig: { selector: 'FIRST' } }), 'tsaConfig.selector is "FIRST"'],
      [document({ tsaConfig: { selector: 2 } }), 'tsaConfig.selector is 2'],
      [document({ tsaConfig: { selector: 'EXACT', count: -1 } }), 'tsaConfig.count is not'],
      [document({ rekorTlogConfig: [] }), 'rekorTlogConfig is not a JSON object'],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => parse(value), invalidConfig(message), message);
    }
  });

  test('a long hostile value is cut short in messages', () => {
    const error = (() => {
      try {
        parse(document({ tsaConfig: { selector: 'A'.repeat(100_000) } }));
      } catch (caught) {
        return caught as Error;
      }
      assert.fail('accepted');
    })();
    assert.ok(error.message.length < 400, error.message);
  });
});

describe('serviceUrlProblem', () => {
  test('accepts https anywhere and http on loopback only, spelled as the URL parser writes it', () => {
    for (const url of [
      'https://fulcio.sigstore.dev',
      'https://timestamp.sigstore.dev/api/v1/timestamp',
      'https://rekor.example.test:8443/base',
      'http://127.0.0.1:3000',
      'http://localhost:8080',
      'http://[::1]:9000/tsa',
    ]) {
      assert.equal(serviceUrlProblem(url), undefined, url);
    }
  });

  test('refuses other schemes, plain http elsewhere, credentials, queries, fragments, odd spellings', () => {
    const cases: Array<[string, RegExp]> = [
      ['http://fulcio.example.test', /must be an https:\/\/ URL/],
      ['http://10.0.0.1', /must be an https:\/\/ URL/],
      ['http://127.0.0.1.example.test', /must be an https:\/\/ URL/],
      ['ftp://fulcio.example.test', /must be an https:\/\/ URL/],
      ['file:///etc/passwd', /must be an https:\/\/ URL/],
      ['javascript:alert(1)', /must be an https:\/\/ URL/],
      ['fulcio.example.test', /is not a URL/],
      ['', /is not a URL/],
      ['https://user:secret@fulcio.example.test', /^must not carry credentials$/],
      ['https://token@fulcio.example.test', /^must not carry credentials$/],
      ['https://fulcio.example.test/?x=1', /query or a fragment/],
      ['https://fulcio.example.test/?', /query or a fragment/],
      ['https://fulcio.example.test#top', /query or a fragment/],
      ['HTTPS://Fulcio.Example.Test', /must be written "https:\/\/fulcio\.example\.test"/],
      ['https://fulcio.example.test:443', /must be written "https:\/\/fulcio\.example\.test"/],
      ['https://fulcio.example.test/', /must be written "https:\/\/fulcio\.example\.test"/],
      ['https://example.test/tsa/', /must be written "https:\/\/example\.test\/tsa"/],
      [' https://fulcio.example.test', /must be written/],
      [
        'https://fulcio.example.test/a/../b',
        /must be written "https:\/\/fulcio\.example\.test\/b"/,
      ],
      ['https:\\\\fulcio.example.test', /must be written/],
      ['http://127.1:3000', /must be written "http:\/\/127\.0\.0\.1:3000"/],
      [`https://${'a'.repeat(3000)}.test`, /longer than 2048/],
    ];
    for (const [url, pattern] of cases) {
      const problem = serviceUrlProblem(url);
      assert.ok(problem !== undefined, `${url} was accepted`);
      assert.match(problem, pattern, url);
      assert.ok(!problem.includes('secret'), problem);
    }
  });

  test('a document naming a plain-http, credentialed or unparsable service is refused', () => {
    assert.throws(
      () => parse(document({ caUrls: [service('http://fulcio.example.test')] })),
      invalidConfig('caUrls[0].url "http://fulcio.example.test" must be an https:// URL'),
    );
    assert.throws(
      () => parse(document({ tsaUrls: [service('https://u:p@tsa.example.test')] })),
      invalidConfig('tsaUrls[0].url must not carry credentials'),
    );
  });
});

describe('selectSigningServices', () => {
  test('the newest valid service of the highest API version the signer speaks', () => {
    const config = parse(
      document({
        caUrls: [
          service('https://fulcio-old.test', 1, '2020-01-01T00:00:00Z'),
          service('https://fulcio-new.test', 1, '2024-01-01T00:00:00Z'),
          service('https://fulcio-future.test', 1, '2027-01-01T00:00:00Z'),
          service('https://fulcio-v2.test', 2, '2025-01-01T00:00:00Z'),
        ],
        rekorTlogUrls: [
          service('https://rekor-v1.test', 1, '2021-01-12T11:53:27Z'),
          service('https://rekor-v2.test', 2, '2025-10-06T00:00:00Z'),
        ],
      }),
    );
    assert.deepEqual(select(config), {
      fulcio: { url: 'https://fulcio-new.test' },
      rekor: { url: 'https://rekor-v2.test', majorApiVersion: 2 },
      tsa: { url: 'https://tsa.example.test/api/v1/timestamp' },
      oidcIssuer: { url: 'https://oauth2.example.test/auth' },
    });
    // A signer that writes only Rekor v1 gets the v1 log.
    assert.deepEqual(select(config, [1]).rekor, {
      url: 'https://rekor-v1.test',
      majorApiVersion: 1,
    });
  });

  test('validity bounds are inclusive; an ended service is skipped', () => {
    const config = parse(
      document({
        tsaUrls: [
          service('https://tsa-ended.test', 1, '2025-01-01T00:00:00Z', {
            validFor: { start: '2025-01-01T00:00:00Z', end: '2026-05-31T23:59:59.999Z' },
          }),
          service('https://tsa-starts-now.test', 1, '2026-06-01T00:00:00Z'),
          service('https://tsa-older.test', 1, '2020-01-01T00:00:00Z'),
        ],
      }),
    );
    assert.equal(select(config).tsa?.url, 'https://tsa-starts-now.test');
    const ending = parse(
      document({
        tsaUrls: [
          service('https://tsa-ends-now.test', 1, '2025-01-01T00:00:00Z', {
            validFor: { start: '2025-01-01T00:00:00Z', end: '2026-06-01T00:00:00Z' },
          }),
        ],
      }),
    );
    assert.equal(select(ending).tsa?.url, 'https://tsa-ends-now.test');
  });

  test('empty lists are unused; lists with nothing valid now are errors', () => {
    const noOidc = select(parse(document({ oidcUrls: [], tsaUrls: [], tsaConfig: null })));
    assert.deepEqual(noOidc, {
      fulcio: { url: 'https://fulcio.example.test' },
      rekor: { url: 'https://rekor.example.test', majorApiVersion: 1 },
    });
    assert.throws(
      () => select(parse(document({ caUrls: [] }))),
      invalidConfig('names no Fulcio certificate authority'),
    );
    assert.throws(
      () => select(parse(document({ caUrls: [service('https://f.test', 2)] }))),
      invalidConfig('none of caUrls is valid at 2026-06-01T00:00:00.000Z for API version 1'),
    );
    assert.throws(
      () =>
        select(
          parse(document({ tsaUrls: [service('https://t.test', 1, '2027-01-01T00:00:00Z')] })),
        ),
      invalidConfig('none of tsaUrls is valid'),
    );
    assert.throws(
      () => select(parse(document({ rekorTlogUrls: [service('https://r.test', 3)] }))),
      invalidConfig(
        'none of rekorTlogUrls is valid at 2026-06-01T00:00:00.000Z for API version 1 or 2',
      ),
    );
    assert.throws(() => select(parse(document()), []), invalidConfig('for API version (none)'));
  });

  test('a keyless signature needs a log or a TSA, and a Rekor v2 log needs a TSA', () => {
    assert.throws(
      () => select(parse(document({ rekorTlogUrls: [], tsaUrls: [] }))),
      invalidConfig('names neither a transparency log nor a timestamp authority'),
    );
    assert.throws(
      () =>
        select(parse(document({ rekorTlogUrls: [service('https://r2.test', 2)], tsaUrls: [] }))),
      invalidConfig('the Rekor v2 log https://r2.test signs no time'),
    );
    const tsaOnly = select(parse(document({ rekorTlogUrls: [] })));
    assert.equal(tsaOnly.rekor, undefined);
    assert.equal(tsaOnly.tsa?.url, 'https://tsa.example.test/api/v1/timestamp');
  });

  test('selectors: ANY takes the newest; EXACT 1 and ALL of one are that one; more than one is refused', () => {
    const two = [
      service('https://rekor-a.test', 1, '2022-01-01T00:00:00Z', { operator: 'a.test' }),
      service('https://rekor-b.test', 1, '2023-01-01T00:00:00Z', { operator: 'b.test' }),
    ];
    const with2 = (rekorTlogConfig: unknown) =>
      parse(document({ rekorTlogUrls: two, rekorTlogConfig }));
    assert.equal(select(with2({ selector: 'ANY' })).rekor?.url, 'https://rekor-b.test');
    assert.equal(select(with2({ selector: 'EXACT', count: 1 })).rekor?.url, 'https://rekor-b.test');
    assert.throws(
      () => select(with2({ selector: 'EXACT', count: 2 })),
      invalidConfig(
        'asks for EXACT 2 services; vouch writes each signature to one transparency log',
      ),
    );
    assert.throws(
      () => select(with2({ selector: 'EXACT', count: 3 })),
      invalidConfig('EXACT 3 services of distinct operators, but only 2 are eligible'),
    );
    assert.throws(
      () => select(with2({ selector: 'EXACT' })),
      invalidConfig('EXACT with a count of 0'),
    );
    assert.throws(
      () => select(with2({ selector: 'ALL' })),
      invalidConfig('asks for ALL 2 eligible services'),
    );
    assert.throws(
      () => select(with2(null)),
      invalidConfig('rekorTlogUrls lists services but rekorTlogConfig has no selector'),
    );
    // One operator: ALL picks its newest service, as sigstore-go groups by operator.
    const sameOperator = parse(
      document({
        rekorTlogUrls: two.map((entry) => ({ ...entry, operator: 'a.test' })),
        rekorTlogConfig: { selector: 'ALL' },
      }),
    );
    assert.equal(select(sameOperator).rekor?.url, 'https://rekor-b.test');
    // A TSA configuration is read the same way.
    assert.throws(
      () => select(parse(document({ tsaConfig: { selector: 'SERVICE_SELECTOR_UNDEFINED' } }))),
      invalidConfig('tsaUrls lists services but tsaConfig has no selector'),
    );
  });

  test('messages name the source', () => {
    assert.throws(
      () =>
        selectSigningServices(parse(document({ caUrls: [] })), {
          now: NOW,
          tlogMajorVersions: [1],
          source: 'signing.json',
        }),
      invalidConfig('signing.json cannot be used to sign: it names no Fulcio'),
    );
  });
});

describe('withServiceOverrides', () => {
  test('each URL flag replaces its service of the base config, the others stay', () => {
    const base = parse(
      document({
        rekorTlogUrls: [service('https://rekor-v2.test', 2)],
        rekorTlogConfig: { selector: 'ALL' },
      }),
    );
    const fulcio = withServiceOverrides(base, { fulcioUrl: 'https://fulcio.private.test' });
    assert.deepEqual(select(fulcio), {
      fulcio: { url: 'https://fulcio.private.test' },
      rekor: { url: 'https://rekor-v2.test', majorApiVersion: 2 },
      tsa: { url: 'https://tsa.example.test/api/v1/timestamp' },
      oidcIssuer: { url: 'https://oauth2.example.test/auth' },
    });
    const rekor = withServiceOverrides(base, { rekorUrl: 'http://127.0.0.1:3000' });
    // A --rekor-url is a Rekor v1 log (as cosign's flag), selected with ANY.
    assert.deepEqual(select(rekor).rekor, { url: 'http://127.0.0.1:3000', majorApiVersion: 1 });
    assert.deepEqual(rekor.rekorTlogConfig, { selector: 'ANY', count: 0 });
    const tsa = withServiceOverrides(base, { tsaUrl: 'https://tsa.private.test/tsr' });
    assert.equal(select(tsa).tsa?.url, 'https://tsa.private.test/tsr');
    assert.equal(base.tsaUrls[0]?.url, 'https://tsa.example.test/api/v1/timestamp', 'base changed');
  });

  test('URL flags without a base are a private deployment of those services alone', () => {
    const config = withServiceOverrides(undefined, {
      fulcioUrl: 'https://fulcio.private.test',
      tsaUrl: 'https://tsa.private.test/tsr',
    });
    assert.deepEqual(select(config), {
      fulcio: { url: 'https://fulcio.private.test' },
      tsa: { url: 'https://tsa.private.test/tsr' },
    });
    assert.throws(
      () => select(withServiceOverrides(undefined, { rekorUrl: 'https://rekor.private.test' })),
      invalidConfig('names no Fulcio'),
    );
  });

  test('tlogUpload false drops every log, so a TSA must remain', () => {
    const config = withServiceOverrides(parse(document()), { tlogUpload: false });
    assert.deepEqual(config.rekorTlogUrls, []);
    const selected = select(config);
    assert.equal(selected.rekor, undefined);
    assert.equal(selected.tsa?.url, 'https://tsa.example.test/api/v1/timestamp');
    assert.throws(
      () => select(withServiceOverrides(parse(document({ tsaUrls: [] })), { tlogUpload: false })),
      invalidConfig('names neither a transparency log nor a timestamp authority'),
    );
  });

  test('refuses URLs a document could not name', () => {
    assert.throws(
      () => withServiceOverrides(undefined, { fulcioUrl: 'http://fulcio.example.test' }),
      invalidConfig('the Fulcio URL "http://fulcio.example.test" must be an https:// URL'),
    );
    assert.throws(
      () => withServiceOverrides(undefined, { tsaUrl: 'https://a:b@tsa.test' }),
      invalidConfig('the timestamp authority URL must not carry credentials'),
    );
  });
});
