/**
 * signedIdentity rules, ported from containers/image
 * signature/policy_reference_match_test.go (the tables
 * prmExactMatchTestTable, prmRepositoryMatchTestTable,
 * matchRepoDigestOrExactTestTable and the TestPRM* tests named below).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ImageReference, parseReference } from '../../oci/reference.ts';
import type { IdentityRule } from './policy-json.ts';
import {
  matchesSignedIdentity,
  refMatchesPrefix,
  remapReferencePrefix,
  requiredIdentityRule,
} from './signed-identity.ts';
import { formatReference } from '../../oci/reference.ts';

const FULL_RHEL = 'registry.access.redhat.com/rhel7/rhel:7.2.3';
const UNTAGGED_RHEL = 'registry.access.redhat.com/rhel7/rhel';
const DIGEST = '@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const DIGEST_OTHER = '@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

type Row = readonly [string, string, boolean];

const EXACT: readonly Row[] = [
  ['busybox:latest', 'busybox:latest', true],
  [FULL_RHEL, FULL_RHEL, true],
  ['busybox' + DIGEST, 'busybox' + DIGEST, true],
  ['library/busybox:latest', 'busybox:latest', true],
  ['docker.io/library/busybox:latest', 'busybox:latest', true],
  ['library/busybox' + DIGEST, 'busybox' + DIGEST, true],
  ['busybox:latest', 'busybox:notlatest', false],
  ['busybox:latest', 'notbusybox:latest', false],
  ['busybox:latest', 'hostname/library/busybox:notlatest', false],
  ['hostname/library/busybox:latest', 'busybox:notlatest', false],
  ['busybox:latest', FULL_RHEL, false],
  ['busybox' + DIGEST, 'notbusybox' + DIGEST, false],
  ['busybox:latest', 'busybox' + DIGEST, false],
  ['busybox' + DIGEST, 'busybox' + DIGEST_OTHER, false],
  ['busybox', 'busybox:latest', false],
  ['busybox', 'busybox' + DIGEST, false],
  ['busybox', 'busybox', false],
  ['busybox:latest' + DIGEST, 'busybox:latest' + DIGEST, true],
  ['busybox:latest' + DIGEST, 'busybox:latest' + DIGEST_OTHER, false],
  ['busybox:latest' + DIGEST, 'busybox:notlatest' + DIGEST, false],
  ['busybox:latest' + DIGEST, 'busybox' + DIGEST, false],
  ['busybox:latest' + DIGEST, 'busybox:latest', false],
  ['UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', 'busybox:latest', false],
  ['', 'UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', false],
  ['INVALID', 'INVALID', false],
];

const REPOSITORY: readonly Row[] = [
  ['busybox:latest', 'busybox:latest', true],
  [FULL_RHEL, FULL_RHEL, true],
  ['busybox' + DIGEST, 'busybox' + DIGEST, true],
  ['library/busybox:latest', 'busybox:latest', true],
  ['docker.io/library/busybox:latest', 'busybox:latest', true],
  ['library/busybox' + DIGEST, 'busybox' + DIGEST, true],
  ['busybox:latest', 'busybox:notlatest', true],
  [FULL_RHEL + 'tagsuffix', FULL_RHEL, true],
  ['library/busybox:latest', 'busybox:notlatest', true],
  ['busybox:latest', 'library/busybox:notlatest', true],
  ['docker.io/library/busybox:notlatest', 'busybox:latest', true],
  ['busybox:notlatest', 'docker.io/library/busybox:latest', true],
  ['busybox:latest', 'busybox' + DIGEST, true],
  ['busybox' + DIGEST, 'busybox' + DIGEST_OTHER, true],
  ['busybox', 'busybox:notlatest', true],
  [FULL_RHEL, UNTAGGED_RHEL, true],
  ['busybox', 'busybox' + DIGEST, true],
  ['library/busybox', 'busybox', true],
  ['docker.io/library/busybox', 'busybox', true],
  ['busybox:latest', 'notbusybox:latest', false],
  ['hostname/library/busybox:latest', 'busybox:notlatest', false],
  ['busybox:latest', FULL_RHEL, false],
  ['busybox' + DIGEST, 'notbusybox' + DIGEST, false],
  ['busybox:latest' + DIGEST, 'busybox:latest' + DIGEST, true],
  ['busybox:latest' + DIGEST, 'busybox:latest' + DIGEST_OTHER, true],
  ['busybox:latest' + DIGEST, 'busybox:notlatest' + DIGEST, true],
  ['busybox:latest' + DIGEST, 'busybox' + DIGEST, true],
  ['busybox:latest' + DIGEST, 'busybox:latest', true],
  ['UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', 'busybox:latest', false],
  ['', 'UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', false],
  ['INVALID', 'INVALID', false],
];

// Possibly asymmetrical: image reference, then signature reference.
const REPO_DIGEST_OR_EXACT: readonly Row[] = [
  ['busybox:latest', 'busybox:notlatest', false],
  [FULL_RHEL + 'tagsuffix', FULL_RHEL, false],
  ['library/busybox:latest', 'busybox:notlatest', false],
  ['busybox:latest', 'library/busybox:notlatest', false],
  ['docker.io/library/busybox:notlatest', 'busybox:latest', false],
  ['busybox:notlatest', 'docker.io/library/busybox:latest', false],
  ['busybox', 'busybox:latest', false],
  ['busybox:latest', 'busybox', false],
  ['busybox', 'busybox' + DIGEST, false],
  ['busybox' + DIGEST, 'busybox', false],
  [FULL_RHEL, UNTAGGED_RHEL, false],
  ['busybox', 'busybox', false],
  ['busybox:latest', 'busybox' + DIGEST, false],
  ['busybox' + DIGEST, 'busybox:latest', true],
  ['busybox' + DIGEST, 'busybox' + DIGEST_OTHER, true],
  ['busybox:latest' + DIGEST, 'busybox:latest', false],
  ['busybox:latest' + DIGEST, 'busybox:notlatest', false],
  ['busybox:latest', 'busybox:latest' + DIGEST, false],
  ['busybox:latest' + DIGEST, 'busybox:latest' + DIGEST_OTHER, false],
  ['busybox:latest' + DIGEST, 'busybox:notlatest' + DIGEST_OTHER, false],
];

function tryParse(text: string): ImageReference | undefined {
  try {
    return parseReference(text);
  } catch {
    return undefined;
  }
}

/** testPossiblyInvalidImageAndSig: rows whose image reference does not parse cannot happen. */
function check(rule: IdentityRule, image: string, signature: string, expected: boolean): void {
  const intended = tryParse(image);
  if (intended === undefined) return;
  assert.equal(
    matchesSignedIdentity(rule, intended, signature),
    expected,
    `${image} vs. ${signature}`,
  );
}

/** Rows of `table` in both directions. */
function symmetric(rule: IdentityRule, table: readonly Row[], only?: boolean): void {
  for (const [a, b, expected] of table) {
    if (only !== undefined && expected !== only) continue;
    check(rule, a, b, expected);
    check(rule, b, a, expected);
  }
}

describe('matchesSignedIdentity', () => {
  it('matchExact (TestPRMMatchExactMatchesDockerReference)', () => {
    symmetric({ type: 'matchExact' }, EXACT);
  });

  it('matchRepoDigestOrExact (TestPRMMatchRepoDigestOrExactMatchesDockerReference)', () => {
    const rule: IdentityRule = { type: 'matchRepoDigestOrExact' };
    symmetric(rule, EXACT, true);
    symmetric(rule, REPOSITORY, false);
    for (const [image, signature, expected] of REPO_DIGEST_OR_EXACT)
      check(rule, image, signature, expected);
  });

  it('matchRepository (TestPRMMatchRepositoryMatchesDockerReference)', () => {
    symmetric({ type: 'matchRepository' }, REPOSITORY);
  });

  it('exactReference and exactRepository ignore the image (TestPRMExactReferenceMatchesDockerReference, TestPRMExactRepositoryMatchesDockerReference)', () => {
    const anyImage = parseReference('unrelated.example/whatever:1');
    for (const [a, b, expected] of EXACT) {
      assert.equal(
        matchesSignedIdentity({ type: 'exactReference', dockerReference: a }, anyImage, b),
        expected,
        `${a} vs. ${b}`,
      );
      assert.equal(
        matchesSignedIdentity({ type: 'exactReference', dockerReference: b }, anyImage, a),
        expected,
        `${b} vs. ${a}`,
      );
    }
    for (const [a, b, expected] of REPOSITORY) {
      assert.equal(
        matchesSignedIdentity({ type: 'exactRepository', dockerRepository: a }, anyImage, b),
        expected,
        `${a} vs. ${b}`,
      );
      assert.equal(
        matchesSignedIdentity({ type: 'exactRepository', dockerRepository: b }, anyImage, a),
        expected,
        `${b} vs. ${a}`,
      );
    }
  });
});

describe('remapIdentity', () => {
  it('refMatchesPrefix (TestPRMRemapIdentityRefMatchesPrefix)', () => {
    for (const [ref, prefix, expected] of [
      ['docker.io/image', 'docker.io', true],
      ['docker.io/image', 'example.com', false],
      ['example.com:5000/image', 'example.com:5000', true],
      ['example.com:50000/image', 'example.com:5000', false],
      ['example.com:5000/image', 'example.com', false],
      ['example.com/foo', 'example.com', true],
      ['example.com/foo/bar', 'example.com', true],
      ['example.com/foo/bar:baz', 'example.com', true],
      ['example.com/foo/bar' + DIGEST, 'example.com', true],
      ['docker.io/ns/image', 'docker.io/library', false],
      ['example.com/library', 'docker.io/library', false],
      ['docker.io/libraryy/image', 'docker.io/library', false],
      ['docker.io/library/busybox', 'docker.io/library', true],
      ['example.com/ns/image', 'example.com/ns', true],
      ['example.com/ns2/image', 'example.com/ns', false],
      ['example.com/n2/image', 'example.com/ns', false],
      ['example.com', 'example.com/library/busybox', false],
      ['example.com:5000/ns/image', 'example.com/ns', false],
      ['example.com/ns/image', 'example.com:5000/ns', false],
      ['docker.io/library/busybox', 'docker.io/library/busybox', true],
      ['example.com/library/busybox', 'docker.io/library/busybox', false],
      ['docker.io/library/busybox2', 'docker.io/library/busybox', false],
      ['example.com/ns/image', 'example.com/ns/image', true],
      ['example.com/ns/imag2', 'example.com/ns/image', false],
      ['example.com/ns/imagee', 'example.com/ns/image', false],
      ['example.com:5000/ns/image', 'example.com/ns/image', false],
      ['example.com/ns/image', 'example.com:5000/ns/image', false],
      ['example.com/ns/image:tag', 'example.com/ns/image', true],
      ['example.com/ns/image' + DIGEST, 'example.com/ns/image', true],
      ['example.com/ns/image:tag' + DIGEST, 'example.com/ns/image', true],
    ] as const) {
      assert.equal(refMatchesPrefix(prefix, parseReference(ref)), expected, `${ref} vs. ${prefix}`);
    }
  });

  it('remapReferencePrefix (TestPRMRemapIdentityRemapReferencePrefix)', () => {
    for (const [prefix, signedPrefix, ref, expected] of [
      [
        'mirror.example',
        'vendor.example',
        'mirror.example/ns/image:tag',
        'vendor.example/ns/image:tag',
      ],
      [
        'mirror.example',
        'vendor.example',
        'different.com/ns/image:tag',
        'different.com/ns/image:tag',
      ],
      [
        'mirror.example/ns',
        'vendor.example/vendor-ns',
        'mirror.example/different-ns/image:tag',
        'mirror.example/different-ns/image:tag',
      ],
      [
        'docker.io',
        'not-docker-signed.example/ns',
        'busybox',
        'not-docker-signed.example/ns/library/busybox',
      ],
      [
        'example.com/mirror',
        'example.com/vendor',
        'example.com/mirror/image:tag',
        'example.com/vendor/image:tag',
      ],
      [
        'example.com/ns/mirror',
        'example.com/ns/vendor',
        'example.com/ns/mirror:tag',
        'example.com/ns/vendor:tag',
      ],
      [
        'mirror.example',
        'vendor.example',
        'prefixmirror.example/ns/image:tag',
        'prefixmirror.example/ns/image:tag',
      ],
      [
        'docker.io',
        'not-docker-signed.example',
        'busybox',
        'not-docker-signed.example/library/busybox',
      ],
      [
        'docker.io/library',
        'not-docker-signed.example/ns',
        'busybox',
        'not-docker-signed.example/ns/busybox',
      ],
      [
        'docker.io/library/busybox',
        'not-docker-signed.example/ns/notbusybox',
        'busybox',
        'not-docker-signed.example/ns/notbusybox',
      ],
      ['mirror.example', 'vendor.example', 'mirror.example/image', 'vendor.example/image'],
      ['mirror.example', 'vendor.example', 'mirror.example/image:tag', 'vendor.example/image:tag'],
      [
        'mirror.example',
        'vendor.example',
        'mirror.example/image' + DIGEST,
        'vendor.example/image' + DIGEST,
      ],
      [
        'mirror.example',
        'vendor.example',
        'mirror.example/image:tag' + DIGEST,
        'vendor.example/image:tag' + DIGEST,
      ],
      ['mirror.example/ns/image', 'vendor.example:5000', 'mirror.example/ns/image:tag', undefined],
      [
        'mirror.example/ns/image',
        'vendor.example:5000',
        'mirror.example/ns/image' + DIGEST,
        undefined,
      ],
      ['mirror.example/ns/image', 'notlocalhost', 'mirror.example/ns/image:tag', undefined],
    ] as const) {
      const remapped = remapReferencePrefix(prefix, signedPrefix, parseReference(ref));
      assert.equal(
        remapped === undefined ? undefined : formatReference(remapped),
        expected,
        `${prefix} ${signedPrefix} ${ref}`,
      );
    }
  });

  it('matches after rewriting (TestPRMRemapIdentityMatchesDockerReference)', () => {
    for (const [prefix, signedPrefix, image, signature, expected] of [
      ['does-not-match.com', 'does-not-match.rewritten', 'busybox:latest', 'busybox:latest', true],
      [
        'does-not-match.com',
        'does-not-match.rewritten',
        'busybox:latest',
        'notbusybox:latest',
        false,
      ],
      ['mirror.example', 'public.com', 'mirror.example/busybox:1', 'public.com/busybox:1', true],
      [
        'mirror.example',
        'public.com',
        'mirror.example/busybox:1',
        'public.com/busybox:not1',
        false,
      ],
      [
        'mirror.example',
        'docker.io/library',
        'mirror.example/busybox:latest',
        'busybox:latest',
        true,
      ],
      [
        'mirror.example',
        'docker.io/library',
        'mirror.example/alpine:latest',
        'busybox:latest',
        false,
      ],
      ['docker.io/library', 'original.com', 'copied:latest', 'original.com/copied:latest', true],
      [
        'docker.io/library',
        'original.com',
        'copied:latest',
        'original.com/ns/copied:latest',
        false,
      ],
      ['busybox', 'example.com/busybox', 'busybox:latest', 'example.com/busybox:latest', false],
      [
        'docker.io/library/busybox',
        'busybox',
        'docker.io/library/busybox:latest',
        'busybox:latest',
        false,
      ],
      ['UPPERCASE', 'example.com', 'example.com/foo:latest', 'example.com/foo:latest', true],
      ['example.com', 'UPPERCASE', 'example.com/foo:latest', 'UPPERCASE/foo:latest', false],
    ] as const) {
      assert.equal(
        matchesSignedIdentity(
          { type: 'remapIdentity', prefix, signedPrefix },
          parseReference(image),
          signature,
        ),
        expected,
        `${prefix} ${signedPrefix} ${image} ${signature}`,
      );
    }
  });

  it('behaves as matchRepoDigestOrExact otherwise (prmRemapIdentityMRDOETestCase)', () => {
    const noRewrite: IdentityRule = {
      type: 'remapIdentity',
      prefix: 'never-causes-a-rewrite.example',
      signedPrefix: 'never-causes-a-rewrite.example',
    };
    symmetric(noRewrite, EXACT, true);
    symmetric(noRewrite, REPOSITORY, false);
    for (const [image, signature, expected] of REPO_DIGEST_OR_EXACT)
      check(noRewrite, image, signature, expected);
    // Rewriting the image's (modified) host back to the original.
    for (const [image, signature, expected] of REPO_DIGEST_OR_EXACT) {
      const ref = parseReference(image);
      const modified = 'e' + ref.registry.slice(1);
      const rule: IdentityRule = {
        type: 'remapIdentity',
        prefix: modified,
        signedPrefix: ref.registry,
      };
      check(rule, formatReference({ ...ref, registry: modified }), signature, expected);
    }
  });
});

describe('matchesSignedIdentity: hostile claims', () => {
  it('matches nothing for an unparsable or enormous claim, in linear time', () => {
    const image = parseReference('example.com/app:1');
    for (const claim of [
      '',
      'example.com/app:1\n',
      'a'.repeat(1_000_000),
      `example.com/${'a-'.repeat(100_000)}`,
    ]) {
      const start = process.hrtime.bigint();
      for (const type of ['matchExact', 'matchRepoDigestOrExact', 'matchRepository'] as const) {
        assert.equal(matchesSignedIdentity({ type }, image, claim), false);
      }
      assert.ok(process.hrtime.bigint() - start < 1_000_000_000n);
    }
  });
});

describe('requiredIdentityRule (vouch verify --signed-identity)', () => {
  const accepts = (signed: string, required: string) => {
    const reference = parseReference(required);
    return matchesSignedIdentity(requiredIdentityRule(reference), reference, signed);
  };
  const ok = (signed: string, required: string) =>
    assert.equal(accepts(signed, required), true, `${signed} ~ ${required}`);
  const no = (signed: string, required: string) =>
    assert.equal(accepts(signed, required), false, `${signed} !~ ${required}`);

  it('a repository: repositories compared after docker normalisation (exactRepository)', () => {
    ok('index.docker.io/library/busybox', 'busybox');
    ok('docker.io/library/busybox:1.36', 'busybox');
    ok('busybox@sha256:' + 'a'.repeat(64), 'docker.io/library/busybox');
    ok('registry.example.com/team/app:v1', 'registry.example.com/team/app');
    no('registry.example.com/team/app', 'registry.example.com/team/other');
    no('registry.example.com/team/app', 'busybox');
    no('not a reference', 'busybox');
  });

  it('a tag or digest: the signed reference must carry the same one (exactReference)', () => {
    ok('index.docker.io/library/busybox:1.36', 'busybox:1.36');
    ok('registry.example.com/app:v1', 'registry.example.com/app:v1');
    no('registry.example.com/app:v2', 'registry.example.com/app:v1');
    no('registry.example.com/app', 'registry.example.com/app:v1');
    no('registry.example.com/app:latest', 'registry.example.com/app:v1');
  });
});
