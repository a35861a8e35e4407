import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { selectRule } from '../match.ts';
import { imageGlobs, importKyvernoPolicies } from './kyverno.ts';

const KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ format: 'pem', type: 'spki' })
  .toString();
const indent = (text: string, spaces: number) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => `${' '.repeat(spaces)}${line}`)
    .join('\n');

const policy = (
  verifyImages: string,
  extra = '',
  match = 'match: { any: [{ resources: { kinds: [Pod] } }] }',
) => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: { name: check-images }
spec:
  validationFailureAction: Enforce
  background: false
${indent(extra, 2)}
  rules:
    - name: verify
${indent(match, 6)}
      verifyImages:
${indent(verifyImages, 8)}
`;

const keyEntry = `- entries:
    - keys:
        publicKeys: |
${indent(KEY, 10)}`;

function refusal(text: string): string {
  try {
    importKyvernoPolicies(text, 'kyverno.yaml');
  } catch (error) {
    assert.ok(isVouchError(error), String(error));
    assert.equal(error.code, 'POLICY_IMPORT_REFUSED', error.message);
    return error.message;
  }
  assert.fail('the policy was imported');
}

describe('vouch policy import --kyverno', () => {
  it('maps references, key and keyless attestors, count, attestations and modes', () => {
    const text = policy(`- imageReferences: ["ghcr.io/acme/*", "quay.io/acme/app*"]
  failureAction: Audit
  mutateDigest: true
  attestors:
    - count: 1
      entries:
        - keys:
            publicKeys: |
${indent(KEY, 14)}
            rekor: { ignoreTlog: true }
        - keyless:
            subject: "https://github.com/acme/*"
            issuer: https://token.actions.githubusercontent.com
            rekor: { url: https://rekor.sigstore.dev }
        - keyless:
            subjectRegExp: ^release@acme\\.dev$
  attestations:
    - type: https://slsa.dev/provenance/v1
      attestors:
        - entries:
            - keys:
                publicKeys: |
${indent(KEY, 18)}`);
    const { document, compiled } = importKyvernoPolicies(text, 'kyverno.yaml');
    assert.equal(document.defaultAction, 'allow');
    assert.deepEqual(document.rules, [
      {
        name: 'check-images-verify',
        images: ['ghcr.io/acme/**', 'quay.io/acme/app*', 'quay.io/acme/app*/**'],
        authorities: [
          'check-images-verify-0',
          'check-images-verify-0-2',
          'check-images-verify-0-3',
        ],
        attestations: [
          {
            predicateType: 'https://slsa.dev/provenance/v1',
            authorities: ['check-images-verify-att0'],
          },
        ],
        mode: 'audit',
      },
    ]);
    assert.deepEqual(document.authorities?.['check-images-verify-0'], { key: { pem: KEY } });
    assert.deepEqual(document.authorities?.['check-images-verify-0-2'], {
      keyless: {
        identityRegExp: 'https://github\\.com/acme/(?s:.*)',
        issuer: 'https://token.actions.githubusercontent.com',
      },
    });
    assert.deepEqual(document.authorities?.['check-images-verify-0-3'], {
      keyless: {
        identityRegExp: '(?s:.*)(?:^release@acme\\.dev$)(?s:.*)',
        issuerRegExp: '(?s:.*)',
      },
    });
    assert.deepEqual(document.authorities?.['check-images-verify-att0'], {
      key: { pem: KEY, requireTlog: true },
    });
    assert.equal(selectRule(compiled, 'quay.io/acme/app-2/x:1')?.name, 'check-images-verify');
    assert.equal(selectRule(compiled, 'quay.io/other/app:1'), undefined);
  });

  it('all entries by default, several sets of all-required entries add up, namespaces and mutateDigest map', () => {
    const text = policy(
      `- imageReferences: ["*"]
  mutateDigest: false
  verifyDigest: false
  attestors:
${indent(keyEntry, 4)}
    - entries:
        - keyless: { subject: a@acme.dev, issuer: https://accounts.google.com }
        - keyless: { subject: b@acme.dev, issuer: https://accounts.google.com }`,
      '',
      'match: { any: [{ resources: { kinds: [Pod], namespaces: [prod, "team-*"] } }] }',
    );
    const { document } = importKyvernoPolicies(text, 'kyverno.yaml');
    assert.deepEqual(document.rules[0], {
      name: 'check-images-verify',
      images: ['**'],
      namespaces: ['prod', 'team-*'],
      authorities: ['check-images-verify-0', 'check-images-verify-1', 'check-images-verify-1-2'],
      threshold: 3,
      mutateDigest: false,
    });
  });

  it('a namespaced Policy applies in its namespace', () => {
    const text = policy(
      `- imageReferences: ["ghcr.io/acme/*"]\n  attestors:\n${indent(keyEntry, 4)}`,
    )
      .replace('kind: ClusterPolicy', 'kind: Policy')
      .replace(
        'metadata: { name: check-images }',
        'metadata: { name: check-images, namespace: prod }',
      );
    assert.deepEqual(importKyvernoPolicies(text, 'k.yaml').document.rules[0]?.namespaces, ['prod']);
  });

  it('maps the references that match every version of a repository, and refuses the others', () => {
    assert.deepEqual(imageGlobs('*'), { globs: ['**'] });
    assert.deepEqual(imageGlobs('ghcr.io/acme/*'), { globs: ['ghcr.io/acme/**'] });
    assert.deepEqual(imageGlobs('localhost:5000/app*'), {
      globs: ['localhost:5000/app*', 'localhost:5000/app*/**'],
    });
    for (const [pattern, why] of [
      ['ghcr.io/acme/app', /without \*/],
      ['ghcr.io/acme/app:*', /tags or digests/],
      ['ghcr.io/*/app', /before the end/],
      ['ghcr.io/acme/ap?', /\?/],
      ['docker.io/library/*', /Docker Hub/],
      ['nginx*', /registry/],
      ['acme/*', /registry/],
    ] as const) {
      const result = imageGlobs(pattern);
      assert.ok('why' in result, pattern);
      assert.match(result.why, why, pattern);
    }
  });

  it('refuses JMESPath conditions, naming them, and every other construct without an equivalent', () => {
    const message = refusal(
      policy(
        `- imageReferences: ["ghcr.io/acme/*"]
  type: Notary
  skipImageReferences: ["ghcr.io/acme/test*"]
  required: false
  verifyDigest: true
  mutateDigest: false
  repository: registry.example/sigs
  attestors:
    - count: 1
      entries:
        - certificates: { cert: x }
        - keys: { kms: "awskms:///x", signatureAlgorithm: sha512 }
        - keys: { secret: { name: k, namespace: n } }
        - keyless: { subject: a, subjectRegExp: b, roots: x, additionalExtensions: { a: b }, rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } }
        - keys: { publicKeys: "k8s://ns/secret" }
    - count: 1
      entries:
${indent(keyEntry.replace('- entries:\n', ''), 8)}
  attestations:
    - type: https://cyclonedx.org/bom
      conditions:
        - all:
            - key: "{{ bomFormat }}"
              operator: Equals
              value: CycloneDX
      attestors:
${indent(keyEntry, 8)}`,
        'validationFailureActionOverrides: [{ action: Audit, namespaces: [dev] }]\nfailurePolicy: Ignore',
        'match: { any: [{ resources: { kinds: [Deployment], selector: { matchLabels: { a: b } } } }] }\nexclude: { any: [{ resources: { namespaces: [kube-system] } }] }\npreconditions: { all: [] }',
      ),
    );
    for (const path of [
      'spec.validationFailureActionOverrides',
      'spec.failurePolicy',
      'spec.rules[0].exclude',
      'spec.rules[0].preconditions',
      'spec.rules[0].match.any[0].resources.selector',
      'spec.rules[0].match.any[0].resources.kinds[0]',
      'spec.rules[0].verifyImages[0].type',
      'spec.rules[0].verifyImages[0].skipImageReferences',
      'spec.rules[0].verifyImages[0].required',
      'spec.rules[0].verifyImages[0].verifyDigest',
      'spec.rules[0].verifyImages[0].repository',
      'spec.rules[0].verifyImages[0].attestors[0].entries[0].certificates',
      'spec.rules[0].verifyImages[0].attestors[0].entries[1].keys.kms',
      'spec.rules[0].verifyImages[0].attestors[0].entries[1].keys.signatureAlgorithm',
      'spec.rules[0].verifyImages[0].attestors[0].entries[2].keys.secret',
      'spec.rules[0].verifyImages[0].attestors[0].entries[3].keyless.subjectRegExp',
      'spec.rules[0].verifyImages[0].attestors[0].entries[3].keyless.roots',
      'spec.rules[0].verifyImages[0].attestors[0].entries[3].keyless.additionalExtensions',
      'spec.rules[0].verifyImages[0].attestors[0].entries[3].keyless.rekor',
      'spec.rules[0].verifyImages[0].attestors[0].entries[3].keyless.ctlog.ignoreSCT',
      'spec.rules[0].verifyImages[0].attestors[0].entries[4].keys.publicKeys',
      'spec.rules[0].verifyImages[0].attestors',
      'spec.rules[0].verifyImages[0].attestations[0].conditions',
    ]) {
      assert.ok(message.includes(`${path} (line `), `${path} in ${message}`);
    }
    assert.match(message, /JMESPath conditions \(\{\{ bomFormat \}\}\)/);
  });

  it('refuses attestations without attestors, and entries that could match one image', () => {
    assert.match(
      refusal(
        policy(
          `- imageReferences: ["ghcr.io/acme/*"]\n  attestations: [{ type: https://slsa.dev/provenance/v1, attestors: [] }]`,
        ),
      ),
      /checks no image signature/,
    );
    assert.match(
      refusal(
        policy(`- imageReferences: ["ghcr.io/acme/*"]\n  attestors:\n${indent(keyEntry, 4)}
- imageReferences: ["ghcr.io/acme/app*"]\n  attestors:\n${indent(keyEntry, 4)}`),
      ),
      /verifyImages\[1\]\.imageReferences\[0\] .*may also match the verifyImages of check-images\/verify/,
    );
  });

  it('refuses rules that do not verify images, and malformed input', () => {
    assert.match(
      refusal(
        policy(
          `- imageReferences: ["ghcr.io/acme/*"]\n  attestors:\n${indent(keyEntry, 4)}`,
        ).replace('      verifyImages:', '      validate: { message: x }\n      verifyImages:'),
      ),
      /spec\.rules\[0\]\.validate .*not image verification/,
    );
    assert.throws(
      () =>
        importKyvernoPolicies(
          'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: { name: a }\nspec: { rules: 3 }',
          'k.yaml',
        ),
      (error) =>
        isVouchError(error) &&
        error.code === 'POLICY_IMPORT_INVALID' &&
        /spec\.rules.*must be a list/.test(error.message),
    );
  });
});
