import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hasCode } from '../core/errors.ts';
import { matches } from '../sigstore/certificate-identity.ts';
import { compilePolicy, compilePolicyText } from './compile.ts';
import { compileCondition } from './condition.ts';
import { evaluateImage, evaluatePolicy } from './evaluate.ts';
import { type EvidencedImage, parseEvidence } from './evidence.ts';
import {
  compileImageGlob,
  compileNamespaceGlob,
  matchesImageGlob,
  matchesNamespaceGlob,
} from './glob.ts';
import { selectRule } from './match.ts';
import { parsePolicy } from './parse.ts';
import { CONTAINER_LISTS, POD_SPEC_PATHS, WORKLOAD_KINDS } from './pod-spec.ts';
import { PolicyError } from './source.ts';
import { pinImages } from './pin-images.ts';
import { findImages } from './workloads.ts';

const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const PROVENANCE = 'https://slsa.dev/provenance/v1';

function policy(rules: string, extra = ''): string {
  return `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
${extra}authorities:
  release:
    key:
      pem: |
${PEM.trim()
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
  backup:
    key:
      file: backup.pub
  ci:
    keyless:
      identityRegExp: https://github\\.com/acme/.+
      issuer: https://token.actions.githubusercontent.com
  dct:
    notary:
      rootKeys:
        - pem: |
${PEM.trim()
  .split('\n')
  .map((l) => `            ${l}`)
  .join('\n')}
rules:
${rules}`;
}

function compile(text: string) {
  return compilePolicy(parsePolicy(text, 'p.yaml'), new Map([['backup.pub', Buffer.from(PEM)]]));
}

function issuesOf(text: string) {
  try {
    compile(text);
  } catch (error) {
    assert.ok(error instanceof PolicyError, String(error));
    assert.equal(error.category, 'invalid');
    return error.issues;
  }
  assert.fail('the policy loaded');
}

const BASIC = `  - name: acme
    images: [ghcr.io/acme/**]
    authorities: [release, backup]
    threshold: 2
  - name: team
    images: [ghcr.io/*/app]
    namespaces: [team-*]
    authorities: [ci]
    attestations:
      - name: provenance
        predicateType: slsaprovenance1
        condition: predicate.buildDefinition.buildType == "https://example.com/build/v1"
    mode: warn
  - name: audit
    images: [docker.io/library/*]
    authorities: [dct]
    mode: audit
    mutateDigest: false
  - name: pause
    images: [registry.k8s.io/pause]
    action: allow
`;

describe('parsePolicy', () => {
  it('compiles a complete policy', () => {
    const compiled = compile(policy(BASIC));
    assert.equal(compiled.defaultAction, 'deny');
    assert.deepEqual(
      compiled.rules.map((r) => [r.name, r.action, r.threshold, r.mode, r.mutateDigest]),
      [
        ['acme', 'verify', 2, 'enforce', true],
        ['team', 'verify', 1, 'warn', true],
        ['audit', 'verify', 1, 'audit', false],
        ['pause', 'allow', 1, 'enforce', true],
      ],
    );
    assert.equal(compiled.rules[1]?.attestations[0]?.predicateType, PROVENANCE);
    assert.deepEqual(compiled.rules[1]?.attestations[0]?.authorities, ['ci']);
    assert.equal(compiled.authorities.get('dct')?.kind, 'notary');
    assert.ok(Object.isFrozen(compiled) && Object.isFrozen(compiled.rules));
    assert.match(compiled.revision, /^[a-f0-9]{64}$/);
  });

  it('reads the same policy as JSON', () => {
    const fromYaml = compile(policy(BASIC));
    const again = compile(JSON.stringify(fromYaml.document));
    assert.deepEqual(again.document, fromYaml.document);
    assert.equal(again.revision, fromYaml.revision);
  });

  it('refuses unknown fields, naming the path and line', () => {
    const issues = issuesOf(
      policy(
        `  - name: acme\n    images: [ghcr.io/acme/**]\n    authorities: [release]\n    treshold: 1\n`,
      ),
    );
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.path, 'rules[0].treshold');
    assert.equal(issues[0]?.line, policy('').split('\n').length + 3);
    assert.match(issues[0]?.message ?? '', /unknown field; expected one of .*threshold/);
  });

  it('lists every problem at once, each with its position', () => {
    const issues = issuesOf(
      policy(`  - name: Bad_Name
    images: [ghcr.io/Acme/app, "ghcr.io/a**"]
    authorities: [nobody, release]
    threshold: 3
    mode: block
    attestations:
      - predicateType: not a type
        condition: "predicate.x ==="
      - predicateType: spdxjson
        authorities: [dct]
        condition: foo.bar == 1
`),
    );
    const paths = issues.map((i) => i.path);
    assert.deepEqual(paths, [
      'rules[0].name',
      'rules[0].images[0]',
      'rules[0].images[1]',
      'rules[0].mode',
      'rules[0].authorities[0]',
      'rules[0].threshold',
      'rules[0].attestations[0].predicateType',
      'rules[0].attestations[0].condition',
      'rules[0].attestations[1].authorities[0]',
      'rules[0].attestations[1].condition',
    ]);
    assert.ok(issues.every((i) => i.line > 0 && i.column > 0));
    const text = new PolicyError('POLICY_INVALID', 'p.yaml', issues).message;
    assert.match(
      text,
      /rules\[0\]\.attestations\[1\]\.condition \(line \d+, column \d+\): the CEL expression names "foo"/,
    );
    assert.match(text, /notary authority: Docker Content Trust signs tags/);
  });

  it('reads identityRegExp and issuerRegExp as Go (RE2) does', () => {
    const withRegexps = (identity: string, issuer: string) =>
      policy('  - {name: a, images: ["**"], action: deny}\n')
        .replace('identityRegExp: https://github\\.com/acme/.+', `identityRegExp: '${identity}'`)
        .replace(
          'issuer: https://token.actions.githubusercontent.com',
          `issuerRegExp: '${issuer}'`,
        );
    // `\-` is an escape Go accepts (and cosign with it), JavaScript's u flag not.
    const compiled = compile(
      withRegexps('https://github\\.com/acme\\-corp/.+', '(?i)https://TOKEN\\.actions\\..+'),
    );
    const ci = compiled.authorities.get('ci');
    assert.ok(ci?.kind === 'keyless');
    assert.equal(matches(ci.identity.subject, 'https://github.com/acme-corp/app'), true);
    assert.equal(matches(ci.identity.issuer, 'https://token.actions.githubusercontent.com'), true);

    const issues = issuesOf(withRegexps('https://github\\.com/(acme)/\\1', 'https://x(?=y)'));
    assert.deepEqual(
      issues.map((issue) => issue.path),
      ['authorities.ci.keyless.identityRegExp', 'authorities.ci.keyless.issuerRegExp'],
    );
    assert.match(issues[0]?.message ?? '', /invalid escape sequence: `\\1`/);
    assert.match(issues[1]?.message ?? '', /invalid or unsupported Perl syntax: `\(\?=`/);
  });

  it('refuses bad regular expressions, files that are not keys, and YAML errors', () => {
    const bad = policy('  - {name: a, images: ["**"], action: deny}\n').replace(
      'identityRegExp: https://github\\.com/acme/.+',
      'identityRegExp: "(unclosed"',
    );
    const issues = issuesOf(bad);
    assert.equal(issues[0]?.path, 'authorities.ci.keyless.identityRegExp');
    assert.match(issues[0]?.message ?? '', /not a valid regular expression/);

    assert.throws(
      () =>
        compilePolicy(
          parsePolicy(policy('  - {name: a, images: ["**"], action: deny}\n')),
          new Map([['backup.pub', Buffer.from('nope')]]),
        ),
      (error: unknown) =>
        error instanceof PolicyError &&
        error.issues[0]?.path === 'authorities.backup.key' &&
        error.issues[0].line > 0,
    );
    const yamlIssues = issuesOf('apiVersion: vouch.dev/v1alpha1\nkind: [unclosed\n');
    assert.ok((yamlIssues[0]?.line ?? 0) >= 2);
    assert.match(
      issuesOf('apiVersion: &v vouch.dev/v1alpha1\nkind: *v\nrules: []\n')[0]?.message ?? '',
      /aliases are not allowed/,
    );
    assert.match(issuesOf('')[0]?.message ?? '', /empty/);
    assert.match(issuesOf('[1]')[0]?.message ?? '', /must be a mapping, not a list/);
  });

  it('refuses a rule an earlier unscoped rule hides, and duplicate names', () => {
    const issues = issuesOf(
      policy(`  - {name: all, images: ["ghcr.io/acme/**"], action: allow}
  - {name: all, images: ["ghcr.io/acme/**"], authorities: [release]}
`),
    );
    assert.deepEqual(
      issues.map((i) => [i.path, /another rule|never match/.exec(i.message)?.[0]]),
      [
        ['rules[1]', 'another rule'],
        ['rules[1]', 'never match'],
      ],
    );
  });

  it('checks apiVersion, kind and required fields', () => {
    const issues = issuesOf('apiVersion: v1\nkind: Policy\n');
    assert.deepEqual(
      issues.map((i) => i.path),
      ['apiVersion', 'kind', ''],
    );
    assert.match(issues[2]?.message ?? '', /missing required field "rules"/);
  });

  it('never throws anything but a positioned PolicyError on random input', () => {
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    const keys = fc.constantFrom(
      'apiVersion',
      'kind',
      'rules',
      'authorities',
      'name',
      'images',
      'mode',
      'threshold',
      'key',
      'pem',
      'x',
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(keys, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    const document = fc.record({
      apiVersion: fc.constantFrom('vouch.dev/v1alpha1', 'v1'),
      kind: fc.constantFrom('ImagePolicy', 'Other'),
      rules: fc.array(
        fc.record(
          {
            name: fc.constantFrom('a', 'b', 'Bad'),
            images: fc.array(
              fc.constantFrom('**', 'ghcr.io/*', 'ghcr.io/a/**', 'x', 'ghcr.io/a**'),
              { maxLength: 2 },
            ),
            action: fc.constantFrom('allow', 'deny', 'maybe'),
            authorities: fc.array(fc.constantFrom('release', 'nobody'), { maxLength: 2 }),
            threshold: fc.integer({ min: -1, max: 3 }),
            mode: fc.constantFrom('enforce', 'warn', 'audit', 'x'),
            extra: value,
          },
          { requiredKeys: ['name'] },
        ),
        { maxLength: 3 },
      ),
      authorities: fc.option(
        fc.dictionary(fc.constantFrom('release', 'x'), value, { maxKeys: 2 }),
        { nil: undefined },
      ),
    });
    fc.assert(
      fc.property(document, fc.boolean(), (doc, asYaml) => {
        const text = asYaml
          ? JSON.stringify(doc, null, 1).replace(/^\{|\}$/g, '')
          : JSON.stringify(doc);
        let compiled;
        try {
          compiled = compilePolicyText(text, 'random');
        } catch (error) {
          assert.ok(error instanceof PolicyError, `threw ${String(error)}`);
          assert.ok(error.issues.length > 0);
          return;
        }
        assert.deepEqual(
          compilePolicyText(JSON.stringify(compiled.document)).document,
          compiled.document,
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('image globs', () => {
  const cases: [string, string, boolean][] = [
    ['ghcr.io/acme/**', 'ghcr.io/acme/app', true],
    ['ghcr.io/acme/**', 'ghcr.io/acme/team/app', true],
    ['ghcr.io/acme/**', 'ghcr.io/acme', false],
    ['ghcr.io/acme/**', 'ghcr.io/acmecorp/app', false],
    ['ghcr.io/acme/*', 'ghcr.io/acme/team/app', false],
    ['ghcr.io/*/app', 'ghcr.io/acme/app', true],
    ['ghcr.io/acme/app-*', 'ghcr.io/acme/app-web', true],
    ['ghcr.io/**/app', 'ghcr.io/a/b/app', true],
    ['ghcr.io/**/app', 'ghcr.io/app', false],
    ['*/acme/app', 'localhost:5000/acme/app', true],
    ['**', 'docker.io/library/nginx', true],
    ['docker.io/library/nginx', 'docker.io/library/nginx', true],
    ['ghcr.io/a.b', 'ghcr.io/axb', false],
  ];
  for (const [glob, repository, expected] of cases) {
    it(`${glob} ${expected ? 'covers' : 'does not cover'} ${repository}`, () => {
      assert.equal(matchesImageGlob(compileImageGlob(glob), repository), expected);
    });
  }
  it('refuses malformed globs', () => {
    for (const glob of [
      '',
      'nginx',
      'ghcr.io/a**',
      'ghcr.io//a',
      'GHCR.io/a',
      'ghcr.io/***',
      'ghcr.io/a?',
    ]) {
      assert.throws(
        () => compileImageGlob(glob),
        (e: unknown) => hasCode(e, 'INVALID_GLOB'),
        glob,
      );
    }
  });
  it('refuses registries images never carry: a glob matches canonical names', () => {
    const cases: [string, string][] = [
      ['ghcr.io:443/acme/**', 'registry port 443 is the default port of HTTPS'],
      ['localhost:80/**', 'registry port 80 is the default port of plain HTTP'],
      ['localhost:05000/**', 'images name this registry "localhost:5000"'],
      ['index.docker.io/library/nginx', 'images name this registry "docker.io"'],
      ['registry-1.docker.io/**', 'images name this registry "docker.io"'],
      ['registry.hub.docker.com/library/*', 'images name this registry "docker.io"'],
      ['[0:0::1]:5000/**', 'images name this registry "[::1]:5000"'],
      ['[1:2:3:4:5:6:7:8:9]:5000/**', 'has 9 groups'],
      ['127.1/**', 'ends in a number'],
      ['localhost:99999/**', 'registry port 99999 is out of range'],
      ['docker.io/nginx', 'nginx is docker.io/library/nginx'],
      ['docker.io/*', 'nginx is docker.io/library/nginx'],
    ];
    for (const [glob, fragment] of cases) {
      assert.throws(
        () => compileImageGlob(glob),
        (e: unknown) =>
          hasCode(e, 'INVALID_GLOB') &&
          e.message.startsWith(`${JSON.stringify(glob)} is not an image glob: `) &&
          e.message.includes(fragment),
        glob,
      );
    }
    for (const glob of [
      'docker.io/**',
      'docker.io/library/*',
      'localhost:5000/**',
      '[::1]:5000/**',
      '*.example.com/**',
      'ghcr.io:*/**',
      '**/app',
    ]) {
      assert.equal(compileImageGlob(glob).glob, glob);
    }
  });
  it('matches namespaces', () => {
    assert.ok(matchesNamespaceGlob(compileNamespaceGlob('team-*'), 'team-a'));
    assert.ok(!matchesNamespaceGlob(compileNamespaceGlob('team-*'), 'prod'));
    assert.throws(() => compileNamespaceGlob('Team'));
  });
});

describe('selectRule (first match)', () => {
  const compiled = compile(policy(BASIC));
  it('takes the first rule that covers the image, in document order', () => {
    assert.equal(selectRule(compiled, 'ghcr.io/acme/app:1')?.name, 'acme');
    assert.equal(selectRule(compiled, 'ghcr.io/acme/app:1', 'team-a')?.name, 'acme');
    assert.equal(selectRule(compiled, 'ghcr.io/other/app', 'team-a')?.name, 'team');
    assert.equal(
      selectRule(compiled, 'ghcr.io/other/app'),
      undefined,
      'a namespaced rule needs a namespace',
    );
    assert.equal(selectRule(compiled, 'nginx:1.27')?.name, 'audit', 'docker normalisation');
    assert.equal(selectRule(compiled, 'quay.io/x/y'), undefined);
  });
});

describe('compileCondition', () => {
  it('evaluates against the statement and explains failures', () => {
    const c = compileCondition(
      'predicate.builder.id.startsWith("https://github.com/") && subject.size() == 1',
    );
    assert.deepEqual(
      c.test({ predicate: { builder: { id: 'https://github.com/x' } }, subject: [{}] }),
      { holds: true },
    );
    assert.deepEqual(c.test({ predicate: { builder: { id: 'x' } }, subject: [{}] }), {
      holds: false,
      reason: 'the condition is false',
    });
    const missing = c.test({ predicate: {}, subject: [] });
    assert.equal(missing.holds, false);
    assert.match(
      compileCondition('predicate.x').test({ predicate: { x: 1 } }).holds ? '' : 'not a boolean',
      /boolean/,
    );
  });
  it('allows macro variables and refuses unknown ones', () => {
    compileCondition('subject.exists(s, s.name == "x") && statement.subject.all(t, has(t.digest))');
    assert.throws(() => compileCondition('image == "x"'), /names "image"/);
    assert.throws(() => compileCondition('a +'), /does not parse/);
  });
});

function image(fields: Partial<EvidencedImage> & { image: string }): EvidencedImage {
  return { digest: DIGEST, authorities: [], attestations: [], ...fields };
}

describe('evaluateImage', () => {
  const compiled = compile(policy(BASIC, 'defaultAction: deny\n'));
  const verified = (authority: string) => ({
    authority,
    status: 'verified' as const,
    message: 'ok',
  });

  it('allows at the threshold and pins the tag to the digest', () => {
    const d = evaluateImage(
      image({
        image: 'ghcr.io/acme/app:1.0',
        authorities: [verified('release'), verified('backup')],
      }),
      compiled,
    );
    assert.equal(d.result, 'allowed');
    assert.equal(d.rule, 'acme');
    assert.equal(d.verified, 2);
    assert.equal(d.pin, `ghcr.io/acme/app:1.0@${DIGEST}`);
  });

  it('denies below the threshold, saying which authority said what', () => {
    const d = evaluateImage(
      image({
        image: 'ghcr.io/acme/app:1.0',
        authorities: [
          verified('release'),
          { authority: 'backup', status: 'denied', code: 'NO_SIGNATURES', message: 'none' },
        ],
      }),
      compiled,
    );
    assert.equal(d.result, 'denied');
    assert.equal(d.pin, undefined);
    assert.match(
      d.reason,
      /1 of 2 required authorities verified it \(backup: NO_SIGNATURES: none\)/,
    );
    assert.deepEqual(
      d.authorities.map((a) => [a.authority, a.counted]),
      [
        ['release', true],
        ['backup', false],
      ],
    );
  });

  it('is unavailable, not denied, when missing evidence could still reach the threshold', () => {
    const d = evaluateImage(
      image({
        image: 'ghcr.io/acme/app:1.0',
        authorities: [
          verified('release'),
          { authority: 'backup', status: 'unavailable', message: 'down' },
        ],
      }),
      compiled,
    );
    assert.equal(d.result, 'unavailable');
    const missing = evaluateImage(
      image({ image: 'ghcr.io/acme/app:1.0', authorities: [verified('release')] }),
      compiled,
    );
    assert.equal(missing.result, 'unavailable');
    assert.equal(missing.authorities[1]?.code, 'EVIDENCE_MISSING');
    const unresolved = evaluateImage(
      {
        image: 'ghcr.io/acme/app:1.0',
        error: { code: 'NETWORK_ERROR', category: 'unavailable', message: 'x' },
        authorities: [],
        attestations: [],
      },
      compiled,
    );
    assert.equal(unresolved.result, 'unavailable');
    const unknown = evaluateImage(
      {
        image: 'ghcr.io/acme/app:1.0',
        error: { code: 'MANIFEST_UNKNOWN', category: 'invalid', message: 'x' },
        authorities: [],
        attestations: [],
      },
      compiled,
    );
    assert.equal(unknown.result, 'denied');
  });

  it('checks attestation conditions; warn mode turns a failure into a warning', () => {
    const statement = (buildType: string) => ({
      _type: 'https://in-toto.io/Statement/v1',
      predicateType: PROVENANCE,
      subject: [],
      predicate: { buildDefinition: { buildType } },
    });
    const evidence = (buildType: string) =>
      image({
        image: 'ghcr.io/team/app:2',
        namespace: 'team-a',
        authorities: [verified('ci')],
        attestations: [
          {
            authority: 'ci',
            predicateType: PROVENANCE,
            status: 'verified',
            message: 'ok',
            statements: [statement(buildType)],
          },
        ],
      });
    const good = evaluateImage(evidence('https://example.com/build/v1'), compiled);
    assert.equal(good.result, 'allowed');
    assert.equal(good.attestations[0]?.status, 'satisfied');
    const bad = evaluateImage(evidence('https://evil.example/build'), compiled);
    assert.equal(bad.result, 'warned');
    assert.equal(bad.passed, false);
    assert.equal(bad.attestations[0]?.status, 'denied');
    assert.match(bad.reason, /attestation provenance: .*the condition is false.*warn mode/);
    assert.equal(bad.pin, `ghcr.io/team/app:2@${DIGEST}`);
  });

  it('audit mode allows and records; a notary digest must be the image digest', () => {
    const d = evaluateImage(
      image({
        image: 'nginx:1.27',
        authorities: [{ authority: 'dct', status: 'verified', message: 'ok', digest: OTHER }],
      }),
      compiled,
    );
    assert.equal(d.result, 'allowed');
    assert.equal(d.passed, false);
    assert.equal(d.authorities[0]?.code, 'NOTARY_DIGEST_MISMATCH');
    assert.equal(d.pin, undefined, 'mutateDigest: false');
    const ok = evaluateImage(
      image({
        image: 'nginx:1.27',
        authorities: [{ authority: 'dct', status: 'verified', message: 'ok', digest: DIGEST }],
      }),
      compiled,
    );
    assert.equal(ok.passed, true);
  });

  it('applies the default action and static rules', () => {
    assert.equal(evaluateImage(image({ image: 'quay.io/x/y:1' }), compiled).result, 'denied');
    const warn = compile(policy(BASIC, 'defaultAction: warn\n'));
    assert.equal(evaluateImage(image({ image: 'quay.io/x/y:1' }), warn).result, 'warned');
    const pause = evaluateImage(image({ image: 'registry.k8s.io/pause:3.9' }), compiled);
    assert.equal(pause.result, 'allowed');
    assert.equal(pause.pin, `registry.k8s.io/pause:3.9@${DIGEST}`);
    assert.equal(evaluateImage(image({ image: 'Not A Ref' }), compiled).result, 'denied');
    assert.equal(
      evaluateImage(
        image({
          image: `ghcr.io/acme/app@${DIGEST}`,
          authorities: [verified('release'), verified('backup')],
        }),
        compiled,
      ).pin,
      undefined,
    );
  });
});

describe('parseEvidence and evaluatePolicy', () => {
  it('reads an evidence file and decides every image', () => {
    const evidence = parseEvidence(`apiVersion: vouch.dev/v1alpha1
kind: PolicyEvidence
images:
  - image: ghcr.io/acme/app:1.0
    digest: ${DIGEST}
    authorities:
      - {authority: release, status: verified, message: ok}
      - {authority: backup, status: verified, message: ok}
    expect: allowed
  - image: quay.io/x/y:1
    expect: denied
`);
    const decision = evaluatePolicy(evidence, compile(policy(BASIC)));
    assert.deepEqual(
      decision.images.map((d) => d.result),
      ['allowed', 'denied'],
    );
    assert.equal(decision.allowed, false);
  });
  it('refuses malformed evidence with positions', () => {
    assert.throws(
      () =>
        parseEvidence(
          'apiVersion: vouch.dev/v1alpha1\nkind: PolicyEvidence\nimages:\n  - image: x\n    digest: sha256:zz\n    status: ok\n',
        ),
      (e: unknown) =>
        e instanceof PolicyError &&
        e.code === 'EVIDENCE_INVALID' &&
        e.issues.map((i) => `${i.path}:${i.line}`).join(',') ===
          'images[0].status:6,images[0].digest:5',
    );
  });
});

describe('findImages and pinImages', () => {
  it('reads image volumes beside the containers of every workload kind, and pins them', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: prod }
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/app:1.0
      volumes:
        - name: config
          configMap: { name: web }
        - name: models
          image:
            reference: "ghcr.io/acme/models:2" # pulled by the kubelet like a container
            pullPolicy: IfNotPresent
        - name: odd
          image: {}
`;
    const found = findImages(text, 'web.yaml');
    assert.deepEqual(
      found.map((f) => [f.image, f.object, f.namespace, f.line]),
      [
        ['ghcr.io/acme/app:1.0', 'Deployment/web', 'prod', 9],
        ['ghcr.io/acme/models:2', 'Deployment/web', 'prod', 15],
      ],
    );
    const location = found[1];
    assert.ok(location !== undefined);
    const pinned = pinImages(text, [{ location, image: `x@${DIGEST}` }], 'web.yaml').text;
    assert.equal(
      pinned,
      text.replace('"ghcr.io/acme/models:2"', `"x@${DIGEST}"`),
      'quoting and the comment stay',
    );
  });

  it('follows aliases as kubectl does: an aliased image, container list or object is found', () => {
    const text = `apiVersion: v1
kind: List
items:
  - &pod
    apiVersion: v1
    kind: Pod
    metadata: {name: a}
    spec:
      initContainers: &list
        - {name: i, image: &img ghcr.io/acme/app:1}
      containers:
        - {name: c, image: *img}
      ephemeralContainers: *list
  - *pod
`;
    assert.deepEqual(
      findImages(text, 'x.yaml').map((f) => [f.image, f.line, f.path.join('.')]),
      [
        ['ghcr.io/acme/app:1', 10, '2.0.3.0.0.1'],
        ['ghcr.io/acme/app:1', 12, '2.0.3.1.0.1'],
        ['ghcr.io/acme/app:1', 13, '2.0.3.2.0.1'],
        ['ghcr.io/acme/app:1', 14, '2.1.3.0.0.1'],
        ['ghcr.io/acme/app:1', 12, '2.1.3.1.0.1'],
        ['ghcr.io/acme/app:1', 13, '2.1.3.2.0.1'],
      ],
    );
  });

  it('applies merge keys as kubectl and compose do: own keys first, then each merged map', () => {
    const text = `x-base: &base {image: ghcr.io/acme/base:1, restart: always}
x-other: &other {image: ghcr.io/acme/other:1}
services:
  a: {<<: *base}
  b: {<<: [*other, *base]}
  c: {<<: *base, image: ghcr.io/acme/own:1}
  d: {"<<": *base}
  e: {!!merge <<: *base}
  loop: &loop {<<: *loop}
...
%YAML 1.1
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: &spec
  containers: [{name: a, image: nginx:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: q}
spec: {<<: *spec}
`;
    assert.deepEqual(
      findImages(text, 'x.yaml').map((f) => [f.object, f.image, f.line]),
      [
        ['compose service a', 'ghcr.io/acme/base:1', 4],
        ['compose service b', 'ghcr.io/acme/other:1', 5],
        ['compose service c', 'ghcr.io/acme/own:1', 6],
        ['compose service e', 'ghcr.io/acme/base:1', 8],
        ['Pod/p', 'nginx:1', 17],
      ],
      'a quoted "<<" is a plain key; an alias to another document is none',
    );
  });

  it('bounds the objects aliases can make of a few lines', () => {
    const lists = [
      '- &l0 {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: []}}',
    ];
    for (let i = 1; i < 7; i++)
      lists.push(
        `- &l${i} {kind: List, items: [${Array(10)
          .fill(`*l${i - 1}`)
          .join(', ')}]}`,
      );
    const text = `apiVersion: v1\nkind: List\nitems:\n${lists.map((l) => `  ${l}`).join('\n')}\n`;
    assert.throws(() => findImages(text, 'x.yaml'), { code: 'MANIFEST_TOO_LARGE' });
    // Few objects, each naming one long container list.
    const containers = `x: &cs [${Array(2000).fill('{image: a}').join(', ')}]`;
    const pods = Array(60)
      .fill('  - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: *cs}}')
      .join('\n');
    const wide = `apiVersion: v1\nkind: List\n${containers}\nitems:\n${pods}\n`;
    assert.throws(() => findImages(wide, 'x.yaml'), { code: 'MANIFEST_TOO_LARGE' });
  });

  it('finds the same images as the table says for each kind', () => {
    for (const kind of WORKLOAD_KINDS) {
      const path = POD_SPEC_PATHS[kind] ?? [];
      const spec = {
        ...Object.fromEntries(CONTAINER_LISTS.map((list) => [list, [{ image: `${list}:1` }]])),
        volumes: [{ name: 'v', image: { reference: 'volume:1' } }],
      };
      const object = path.reduceRight<object>((inner, key) => ({ [key]: inner }), spec);
      const text = JSON.stringify({ apiVersion: 'v1', kind, metadata: { name: 'n' }, ...object });
      assert.deepEqual(
        findImages(text, 'x.json').map((f) => f.image),
        [...CONTAINER_LISTS.map((list) => `${list}:1`), 'volume:1'],
        kind,
      );
    }
  });
});
