/**
 * One repository, one decision: however an image reference spells its
 * registry (host case, Docker Hub's other host names, `x` for
 * `docker.io/library/x`, leading zeros in a port, IPv6 text forms), the rule
 * and the decision are those of its canonical name, and a spelling vouch
 * refuses (an explicit default port) is denied, never let through by a
 * default action or a broader rule.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseReference, repositoryName } from '../oci/reference.ts';
import { compilePolicyText } from './compile.ts';
import { evaluateImage } from './evaluate.ts';
import { selectRule, selectRuleForReference } from './match.ts';
import type { CompiledPolicy } from './types.ts';

const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

const HUB_HOSTS = [
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
  'registry.docker.io',
];

interface Repository {
  /** Canonical, as parseReference writes it. */
  readonly registry: string;
  readonly path: string;
}

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?$/);
// The last label of a host name is no number (a URL parser would read IPv4).
const lastLabel = fc.stringMatching(/^[a-z](?:[a-z0-9-]{0,6}[a-z0-9])?$/);
const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}$/);
const port = fc.option(
  fc
    .integer({ min: 1, max: 65535 })
    .filter((p) => p !== 80 && p !== 443)
    .map(String),
  { nil: undefined },
);
const withPort = (host: string, p: string | undefined) => (p === undefined ? host : `${host}:${p}`);

const repositoryArb: fc.Arbitrary<Repository> = fc.oneof(
  fc
    .tuple(fc.constantFrom('library', 'acme'), component)
    .map(([namespace, name]) => ({ registry: 'docker.io', path: `${namespace}/${name}` })),
  fc
    .tuple(
      fc.array(label, { maxLength: 2 }),
      lastLabel,
      port,
      fc.array(component, { minLength: 1, maxLength: 3 }),
    )
    .map(([labels, last, p, path]) => ({
      registry: withPort([...labels, last].join('.'), p),
      path: path.join('/'),
    }))
    // A single lower-case label is a registry only as localhost or with a port.
    .filter(({ registry }) => /[.:]/.test(registry) || registry === 'localhost'),
  fc
    .tuple(port, component)
    .map(([p, name]) => ({ registry: withPort('localhost', p), path: name })),
  fc
    .tuple(fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }), port, component)
    .map(([octets, p, name]) => ({ registry: withPort(octets.join('.'), p), path: name })),
  fc
    .tuple(
      fc.array(fc.oneof(fc.constant(0), fc.nat(0xffff)), { minLength: 8, maxLength: 8 }),
      port,
      component,
    )
    .map(([words, p, name]) => ({
      // The WHATWG serialiser writes the canonical (RFC 5952) text.
      registry: withPort(
        new URL(`http://[${words.map((w) => w.toString(16)).join(':')}]/`).hostname,
        p,
      ),
      path: name,
    })),
);

/** `text` with each letter in either case. */
function anyCase(text: string): fc.Arbitrary<string> {
  return fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((upper) => [...text].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));
}

/** A port as written: with leading zeros, which say nothing. */
function portSpelling(p: string | undefined): fc.Arbitrary<string> {
  return p === undefined ? fc.constant('') : fc.nat(3).map((zeros) => `:${'0'.repeat(zeros)}${p}`);
}

/** The eight words of a canonical IPv6 address such as `fe80::1`. */
function wordsOf(address: string): number[] {
  const [head = '', tail] = address.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  if (tail === undefined) return parse(head);
  const [h, t] = [parse(head), parse(tail)];
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** Another RFC 4291 text form of `address`: leading zeros, capitals, any run of zeros as "::". */
function ipv6Spelling(address: string): fc.Arbitrary<string> {
  const words = wordsOf(address);
  return fc
    .record({
      zeros: fc.array(fc.nat(3), { minLength: 8, maxLength: 8 }),
      upper: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      run: fc.tuple(fc.nat(7), fc.nat(7)),
    })
    .map(({ zeros, upper, run }) => {
      const groups = words.map((word, i) => {
        const hex = word.toString(16);
        const text = '0'.repeat(Math.min(zeros[i] ?? 0, 4 - hex.length)) + hex;
        return upper[i] ? text.toUpperCase() : text;
      });
      // Compress the zero words from run[0] on (at most run[1] + 1 of them), if it is one.
      const [start, extra] = run;
      let end = start;
      while (end < 8 && words[end] === 0 && end - start <= extra) end++;
      if (end === start) return groups.join(':');
      return `${groups.slice(0, start).join(':')}::${groups.slice(end).join(':')}`;
    });
}

/** Spellings of `repository` that name it; `refused` ones vouch must refuse. */
function spellingArb(repository: Repository): fc.Arbitrary<{ text: string; refused: boolean }> {
  const { registry, path } = repository;
  const named = (text: fc.Arbitrary<string>) => text.map((t) => ({ text: t, refused: false }));
  if (registry === 'docker.io') {
    const [first = ''] = path.split('/');
    const paths = path.startsWith('library/') ? [path, path.slice('library/'.length)] : [path];
    const familiar = /[.:]/.test(first) || first === 'localhost' ? [] : paths;
    return fc.oneof(
      named(
        fc
          .tuple(fc.constantFrom(...HUB_HOSTS).chain(anyCase), fc.constantFrom(...paths))
          .map(([host, p]) => `${host}/${p}`),
      ),
      ...(familiar.length === 0 ? [] : [named(fc.constantFrom(...familiar))]),
      fc
        .tuple(fc.constantFrom(...HUB_HOSTS).chain(anyCase), fc.constantFrom(':443', ':80'))
        .map(([host, p]) => ({ text: `${host}${p}/${path}`, refused: true })),
    );
  }
  const [, host = '', p] = /^(\[[^\]]*\]|[^:]*)(?::([0-9]+))?$/.exec(registry) ?? [];
  const hostSpelling = host.startsWith('[')
    ? ipv6Spelling(host.slice(1, -1)).map((a) => `[${a}]`)
    : anyCase(host);
  return fc.oneof(
    named(fc.tuple(hostSpelling, portSpelling(p)).map(([h, q]) => `${h}${q}/${path}`)),
    fc
      .tuple(hostSpelling, fc.constantFrom(':443', ':0443', ':80', ':080'))
      .map(([h, q]) => ({ text: `${h}${q}/${path}`, refused: true })),
  );
}

function policies(repository: Repository): Record<string, CompiledPolicy> {
  const exact = `${repository.registry}/${repository.path}`;
  const header = 'apiVersion: vouch.dev/v1alpha1\nkind: ImagePolicy\n';
  const key = PEM.trim()
    .split('\n')
    .map((line) => `        ${line}`)
    .join('\n');
  return {
    // A signature required for one registry; everything else allowed.
    signed: compilePolicyText(`${header}defaultAction: allow
authorities:
  release:
    key:
      pem: |
${key}
rules:
  - name: signed
    images: ["${repository.registry}/**"]
    authorities: [release]
`),
    // A deny rule before a broader allow.
    blocked: compilePolicyText(`${header}defaultAction: deny
rules:
  - name: blocked
    images: ["${exact}"]
    action: deny
  - name: everything
    images: ["**"]
    action: allow
`),
  };
}

describe('selectRule and evaluateImage across spellings', () => {
  it('give every spelling of a repository the decision of its canonical name', () => {
    const tag = fc.constantFrom('', ':1', ':latest', `@sha256:${'a'.repeat(64)}`);
    fc.assert(
      fc.property(
        repositoryArb.chain((repository) =>
          fc.tuple(fc.constant(repository), spellingArb(repository), tag),
        ),
        ([repository, spelling, suffix]) => {
          const canonical = `${repository.registry}/${repository.path}${suffix}`;
          const image = `${spelling.text}${suffix}`;
          assert.equal(
            repositoryName(parseReference(canonical)),
            `${repository.registry}/${repository.path}`,
          );
          if (spelling.refused) {
            assert.throws(() => parseReference(image), { code: 'INVALID_REFERENCE' });
          } else {
            assert.equal(
              repositoryName(parseReference(image)),
              repositoryName(parseReference(canonical)),
              image,
            );
          }
          for (const [name, policy] of Object.entries(policies(repository))) {
            const expected = evaluateImage(
              { image: canonical, authorities: [], attestations: [] },
              policy,
            );
            const actual = evaluateImage({ image, authorities: [], attestations: [] }, policy);
            assert.notEqual(expected.result, 'allowed', `${name}: ${canonical} is never allowed`);
            if (spelling.refused) {
              assert.equal(actual.result, 'denied', `${name}: ${image}`);
              assert.match(actual.reason, /not an image reference/);
              continue;
            }
            assert.equal(selectRule(policy, image)?.name, selectRule(policy, canonical)?.name);
            assert.deepEqual(
              evaluateImage(
                { image, authorities: [], attestations: [] },
                policy,
                undefined,
                parseReference(image),
              ),
              actual,
              `${name}: ${image}, decided with its reference parsed first`,
            );
            assert.equal(
              selectRuleForReference(policy, parseReference(image)),
              selectRule(policy, image),
              `${name}: ${image}, parsed first`,
            );
            assert.equal(actual.rule, expected.rule, `${name}: ${image}`);
            assert.equal(actual.result, expected.result, `${name}: ${image}`);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
