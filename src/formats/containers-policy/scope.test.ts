/**
 * Scope lookup, ported from containers/image
 * docker/policyconfiguration/naming_test.go (TestDockerReference,
 * TestDockerReferenceIdentity) and signature/policy_eval_test.go
 * (TestPolicyContextRequirementsForImageRef).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectError } from '../../../test/helpers/assertions.ts';
import { parseReference } from '../../oci/reference.ts';
import { parseContainersPolicy } from './policy-json.ts';
import {
  policyConfigurationIdentity,
  policyConfigurationNamespaces,
  requirementsForImage,
} from './scope.ts';

const DIGEST = '@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

describe('policyConfigurationIdentity / Namespaces (TestDockerReference)', () => {
  const table: Record<string, string[]> = {
    'example.com/ns/repo': ['example.com/ns/repo', 'example.com/ns', 'example.com', '*.com'],
    'example.com/repo': ['example.com/repo', 'example.com', '*.com'],
    'localhost/ns/repo': ['localhost/ns/repo', 'localhost/ns', 'localhost'],
    'localhost/repo': ['localhost/repo', 'localhost'],
    'notlocalhost/repo': [
      'docker.io/notlocalhost/repo',
      'docker.io/notlocalhost',
      'docker.io',
      '*.io',
    ],
    'docker.io/ns/repo': ['docker.io/ns/repo', 'docker.io/ns', 'docker.io', '*.io'],
    'docker.io/library/repo': ['docker.io/library/repo', 'docker.io/library', 'docker.io', '*.io'],
    'docker.io/repo': ['docker.io/library/repo', 'docker.io/library', 'docker.io', '*.io'],
    'ns/repo': ['docker.io/ns/repo', 'docker.io/ns', 'docker.io', '*.io'],
    'library/repo': ['docker.io/library/repo', 'docker.io/library', 'docker.io', '*.io'],
    repo: ['docker.io/library/repo', 'docker.io/library', 'docker.io', '*.io'],
    'yet.another.example.com:8443/ns/repo': [
      'yet.another.example.com:8443/ns/repo',
      'yet.another.example.com:8443/ns',
      'yet.another.example.com:8443',
      '*.another.example.com',
      '*.example.com',
      '*.com',
    ],
  };
  it('gives the identity and the namespaces from most to least specific', () => {
    for (const [name, expected] of Object.entries(table)) {
      for (const suffix of [':tag', DIGEST]) {
        const ref = parseReference(name + suffix);
        assert.equal(policyConfigurationIdentity(ref), expected[0] + suffix, name + suffix);
        assert.deepEqual(policyConfigurationNamespaces(ref), expected, name + suffix);
      }
    }
  });

  it('defaults the tag and refuses tag and digest together (TestDockerReferenceIdentity, docker_transport.go)', () => {
    assert.equal(
      policyConfigurationIdentity(parseReference('busybox')),
      'docker.io/library/busybox:latest',
    );
    assert.throws(
      () => policyConfigurationIdentity(parseReference(`busybox:notlatest${DIGEST}`)),
      expectError('invalid', 'INVALID_REFERENCE', 'both a tag and a digest'),
    );
  });
});

describe('requirementsForImage (TestPolicyContextRequirementsForImageRef)', () => {
  const scopes = [
    '',
    'unmatched',
    'deep.com',
    '*.very.deep.com',
    '*.deep.com',
    'deep.com/n1',
    'deep.com/n1/n2',
    'deep.com/n1/n2/n3',
    'deep.com/n1/n2/n3/repo',
    'deep.com/n1/n2/n3/repo:tag2',
  ];
  // Each scope gets a requirement that names it (by its keyPath), so the match is visible.
  const requirementFor = (scope: string) => [
    { type: 'signedBy', keyType: 'GPGKeys', keyPath: `/${scope}` },
  ];
  const policy = parseContainersPolicy(
    new TextEncoder().encode(
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: Object.fromEntries(scopes.map((scope) => [scope, requirementFor(scope)])),
          atomic: { unmatched: requirementFor('atomic') },
        },
      }),
    ),
  );

  it('takes the most specific scope', () => {
    for (const [input, matched] of [
      ['deep.com/n1/n2/n3/repo:tag2', 'deep.com/n1/n2/n3/repo:tag2'],
      ['deep.com/n1/n2/n3/repo:nottag2', 'deep.com/n1/n2/n3/repo'],
      ['deep.com/n1/n2/n3/notrepo:tag2', 'deep.com/n1/n2/n3'],
      ['deep.com/n1/n2/notn3/repo:tag2', 'deep.com/n1/n2'],
      ['deep.com/n1/notn2/n3/repo:tag2', 'deep.com/n1'],
      ['deep.com/notn1/n2/n3/repo:tag2', 'deep.com'],
      ['very.deep.com/n1/n2/n3/repo:tag2', '*.deep.com'],
      ['not.very.deep.com/n1/n2/n3/repo:tag2', '*.very.deep.com'],
      ['this.does-not/match:anything', ''],
    ] as const) {
      const match = requirementsForImage(policy, parseReference(input));
      assert.equal(match.scope, matched, input);
      assert.deepEqual(
        match.requirements,
        parseContainersPolicy(
          new TextEncoder().encode(JSON.stringify({ default: requirementFor(matched) })),
        ).default,
        input,
      );
    }
  });

  it('falls back to default when the docker transport has no "" scope, or no section', () => {
    const noDefault = parseContainersPolicy(
      new TextEncoder().encode(
        JSON.stringify({
          default: [{ type: 'reject' }],
          transports: { docker: { 'a.io': [{ type: 'insecureAcceptAnything' }] } },
        }),
      ),
    );
    assert.deepEqual(requirementsForImage(noDefault, parseReference('b.io/x:1')), {
      requirements: [{ type: 'reject' }],
    });
    const noDocker = parseContainersPolicy(
      new TextEncoder().encode(
        JSON.stringify({
          default: [{ type: 'reject' }],
          transports: { atomic: { '': [{ type: 'insecureAcceptAnything' }] } },
        }),
      ),
    );
    assert.equal(requirementsForImage(noDocker, parseReference('b.io/x:1')).scope, undefined);
  });

  it('matches every spelling of a repository alike (canonical references)', () => {
    for (const spelling of [
      'busybox',
      'library/busybox:latest',
      'docker.io/library/busybox',
      'index.docker.io/library/busybox:latest',
    ]) {
      const p = parseContainersPolicy(
        new TextEncoder().encode(
          JSON.stringify({
            default: [{ type: 'reject' }],
            transports: {
              docker: { 'docker.io/library/busybox': [{ type: 'insecureAcceptAnything' }] },
            },
          }),
        ),
      );
      assert.equal(
        requirementsForImage(p, parseReference(spelling)).scope,
        'docker.io/library/busybox',
        spelling,
      );
    }
  });
});
