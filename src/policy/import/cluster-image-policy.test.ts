import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { selectRule } from '../match.ts';
import { imageGlob, importClusterImagePolicies } from './cluster-image-policy.ts';

const pem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ format: 'pem', type: 'spki' })
    .toString();
const KEY = pem();
const indent = (text: string, spaces: number) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => `${' '.repeat(spaces)}${line}`)
    .join('\n');

const cip = (name: string, spec: string) => `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: ${name}
  labels: { team: acme }
spec:
${indent(spec, 2)}
`;

function refusal(text: string): string {
  try {
    importClusterImagePolicies(text, 'cip.yaml');
  } catch (error) {
    assert.ok(isVouchError(error), String(error));
    assert.equal(error.code, 'POLICY_IMPORT_REFUSED', error.message);
    return error.message;
  }
  assert.fail('the policy was imported');
}

describe('vouch policy import --cluster-image-policy', () => {
  it('maps images, key and keyless authorities, ctlog and mode; one rule per policy', () => {
    const text = `${cip(
      'release',
      `mode: warn
images:
  - glob: ghcr.io/acme/**
  - glob: index.docker.io/acme/app*
authorities:
  - name: keyed
    key:
      hashAlgorithm: sha256
      data: |
${indent(KEY, 8)}
${indent(pem(), 8)}
    ctlog: { url: https://rekor.sigstore.dev }
  - name: ci
    keyless:
      url: https://fulcio.sigstore.dev
      identities:
        - issuer: https://token.actions.githubusercontent.com
          subjectRegExp: https://github.com/acme/.*
        - issuerRegExp: .*accounts.google.com
          subject: release@acme.dev
`,
    )}---
${cip('sidecars', 'images: [{ glob: "quay.io/mesh/*" }]\nauthorities: [{ name: ok, static: { action: pass } }]')}---
${cip('blocked', 'images: [{ glob: "evil.example/**" }]\nauthorities: [{ name: no, static: { action: fail, message: no } }]')}`;
    const { document, compiled } = importClusterImagePolicies(text, 'cip.yaml');
    assert.equal(document.defaultAction, 'deny');
    assert.deepEqual(document.rules, [
      {
        name: 'release',
        images: ['ghcr.io/acme/**', 'docker.io/acme/app*'],
        authorities: ['release-keyed', 'release-keyed-2', 'release-ci', 'release-ci-2'],
        mode: 'warn',
      },
      { name: 'sidecars', images: ['quay.io/mesh/*'], action: 'allow' },
      { name: 'blocked', images: ['evil.example/**'], action: 'deny' },
    ]);
    assert.deepEqual(document.authorities?.['release-keyed'], {
      key: { pem: KEY, requireTlog: true },
    });
    assert.deepEqual(document.authorities?.['release-ci'], {
      keyless: {
        identityRegExp: '(?s:.*)(?:https://github.com/acme/.*)(?s:.*)',
        issuer: 'https://token.actions.githubusercontent.com',
      },
    });
    assert.deepEqual(document.authorities?.['release-ci-2'], {
      keyless: {
        identity: 'release@acme.dev',
        issuerRegExp: '(?s:.*)(?:.*accounts.google.com)(?s:.*)',
      },
    });
    assert.equal(selectRule(compiled, 'acme/app-x:1')?.name, 'release');
    assert.equal(
      selectRule(compiled, 'ghcr.io/acme/team/app@sha256:' + 'a'.repeat(64))?.name,
      'release',
    );
  });

  it('a key without ctlog verifies without a log; static fail beside another authority changes nothing', () => {
    const { document } = importClusterImagePolicies(
      cip(
        'app',
        `images: [{ glob: "ghcr.io/acme/*" }]
authorities:
  - { name: no, static: { action: fail } }
  - name: k
    key:
      data: |
${indent(KEY, 8)}`,
      ),
      'cip.yaml',
      { noMatchPolicy: 'warn' },
    );
    assert.equal(document.defaultAction, 'warn');
    assert.deepEqual(document.rules, [
      { name: 'app', images: ['ghcr.io/acme/*'], authorities: ['app-k'] },
    ]);
    assert.deepEqual(document.authorities?.['app-k'], { key: { pem: KEY } });
  });

  it('maps the globs that match every version of a repository, and refuses the others', () => {
    assert.deepEqual(imageGlob('*'), { glob: 'docker.io/library/*' });
    assert.deepEqual(imageGlob('*/*'), { glob: 'docker.io/*/*' });
    assert.deepEqual(imageGlob('**'), { glob: '**' });
    assert.deepEqual(imageGlob('index.docker.io/library/nginx*'), {
      glob: 'docker.io/library/nginx*',
    });
    assert.deepEqual(imageGlob('localhost:5000/**'), { glob: 'localhost:5000/**' });
    assert.deepEqual(imageGlob('**/acme/app*'), { glob: '**/acme/app*' });
    for (const [glob, why] of [
      ['ghcr.io/acme/app', /whole reference, tag or digest included/],
      ['ghcr.io/acme/app:**', /tags or digests/],
      ['ghcr.io/acme/app@sha256:*', /tags or digests/],
      ['ghcr.io/acme/*-prod', /whole reference/],
      ['docker.io/library/*', /index\.docker\.io/],
      ['d*.io/x/*', /wildcard registry segment/],
      ['*/acme/**', /written without a registry/],
      ['acme/app*', /without a registry/],
      ['ghcr.io*', /one segment/],
    ] as const) {
      const result = imageGlob(glob);
      assert.ok('why' in result, glob);
      assert.match(result.why, why, glob);
    }
  });

  it('refuses each construct without an exact equivalent, naming its path and line', () => {
    const message = refusal(
      cip(
        'app',
        `images: [{ glob: "ghcr.io/acme/app" }]
policy: { type: rego, data: "package sigstore" }
match: [{ group: "", version: v1, resource: pods }]
authorities:
  - name: a
    key: { secretRef: { name: cosign-pub } }
  - name: b
    key: { kms: "awskms:///alias/x" }
  - name: c
    keyless:
      ca-cert: { data: x }
      trustRootRef: private
      insecureIgnoreSCT: true
      url: https://fulcio.example
      identities: [{ issuer: i, subject: s }]
  - name: d
    source: [{ oci: registry.example/sigs }]
    rfc3161timestamp: { trustRootRef: tsa }
    ctlog: { url: https://rekor.example, trustRootRef: r }
    key: { data: x, hashAlgorithm: sha512 }
  - name: e
    attestations: [{ name: v, predicateType: vuln, policy: { type: cue, data: "x" } }]
    keyless: { identities: [{ issuer: i, subject: s }] }`,
      ),
    );
    for (const path of [
      'spec.images[0].glob',
      'spec.policy',
      'spec.match',
      'spec.authorities[0].key.secretRef',
      'spec.authorities[1].key.kms',
      'spec.authorities[2].keyless.ca-cert',
      'spec.authorities[2].keyless.trustRootRef',
      'spec.authorities[2].keyless.insecureIgnoreSCT',
      'spec.authorities[2].keyless.url',
      'spec.authorities[3].source',
      'spec.authorities[3].rfc3161timestamp',
      'spec.authorities[3].ctlog.url',
      'spec.authorities[3].ctlog.trustRootRef',
      'spec.authorities[3].key.hashAlgorithm',
      'spec.authorities[4].attestations',
    ]) {
      assert.ok(message.includes(`${path} (line `), `${path} in ${message}`);
    }
    assert.match(message, /a rego policy/);
    assert.match(message, /instead of the image signature/);
  });

  it('refuses policies that could match one image (policy-controller ANDs them)', () => {
    const text = `${cip('a', `images: [{ glob: "ghcr.io/acme/**" }]\nauthorities: [{ name: s, static: { action: pass } }]`)}---
${cip('b', `images: [{ glob: "ghcr.io/other/*" }, { glob: "ghcr.io/*/app*" }]\nauthorities: [{ name: s, static: { action: pass } }]`)}`;
    assert.match(
      refusal(text),
      /spec\.images\[1\]\.glob \(line \d+, column \d+\): .*may also match ClusterImagePolicy a/,
    );
  });

  it(
    'reads hostile input as strictly as a policy: unknown fields, duplicate keys, aliases, size',
    { timeout: 10_000 },
    () => {
      const invalid = (text: string, pattern: RegExp) =>
        assert.throws(
          () => importClusterImagePolicies(text, 'cip.yaml'),
          (error) =>
            isVouchError(error) &&
            error.code === 'POLICY_IMPORT_INVALID' &&
            pattern.test(error.message),
        );
      invalid(
        cip(
          'a',
          'images: [{ glob: "ghcr.io/a/*" }]\nauthorities: [{ name: s, static: { action: pass } }]\nfrobnicate: 1',
        ),
        /spec\.frobnicate.*unknown field/,
      );
      invalid(
        cip('a', 'images: [{ glob: "ghcr.io/a/*" }]\nimages: []\nauthorities: []'),
        /unique|duplicate/i,
      );
      // An alias in what is read is refused; one in what is not read is never expanded.
      invalid(
        cip('a', 'images: &g [{ glob: "ghcr.io/a/*" }]\nauthorities: *g'),
        /spec\.authorities .*alias/,
      );
      const laughs = ['l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
      for (let i = 1; i < 10; i++)
        laughs.push(
          `l${i}: &l${i} [${Array(10)
            .fill(`*l${i - 1}`)
            .join(', ')}]`,
        );
      const bomb = `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: bomb
  annotations:
${indent(laughs.join('\n'), 4)}
spec:
  images: [{ glob: "ghcr.io/a/*" }]
  authorities: [{ name: s, static: { action: pass } }]
`;
      // Expanded, the annotations would hold 10^10 strings; the test's timeout guards a hang.
      assert.equal(importClusterImagePolicies(bomb, 'cip.yaml').document.rules[0]?.action, 'allow');
      invalid(`a: [${'['.repeat(300)}${']'.repeat(300)}]`, /nested deeper/);
      invalid(`# ${'x'.repeat(1024 * 1024)}`, /larger than/);
      invalid(`apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\nspec: {}`, /apiVersion/);
      invalid('', /no document/);
    },
  );
});
