/**
 * The identities GPG signing writes and `vouch verify --gpg-key` accepts:
 * skopeo copy --sign-by's docker-reference, and policy.json's default
 * `matchRepoDigestOrExact` (containers/image
 * signature/policy_reference_match_test.go TestPRMMatchRepoDigestOrExactMatchesDockerReference).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseReference } from '../oci/reference.ts';
import { signedDockerReference } from './sign.ts';
import { matchRepoDigestOrExact } from './verify.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

describe('signedDockerReference', () => {
  test('the fully qualified repository:tag, the default tag added, a digest dropped', () => {
    assert.equal(
      signedDockerReference(parseReference('busybox')),
      'docker.io/library/busybox:latest',
    );
    assert.equal(
      signedDockerReference(parseReference('127.0.0.1:5000/app:v1')),
      '127.0.0.1:5000/app:v1',
    );
    assert.equal(
      signedDockerReference(parseReference(`example.com/app:v1@${DIGEST}`)),
      'example.com/app:v1',
    );
  });
});

describe('matchRepoDigestOrExact', () => {
  const cases: [image: string, signed: string, matches: boolean][] = [
    // By tag: exactly that repository and tag.
    ['example.com/app:v1', 'example.com/app:v1', true],
    ['example.com/app:v1', 'example.com/app:v2', false],
    ['example.com/app:v1', 'example.com/app', false],
    ['example.com/app:v1', 'example.com/other:v1', false],
    ['example.com/app:v1', `example.com/app@${DIGEST}`, false],
    ['busybox:latest', 'docker.io/library/busybox:latest', true],
    ['docker.io/library/busybox', 'busybox:latest', true],
    // By digest: any tag (or digest) of the same repository.
    [`example.com/app@${DIGEST}`, 'example.com/app:v1', true],
    [`example.com/app@${DIGEST}`, `example.com/app@${OTHER}`, true],
    [`example.com/app@${DIGEST}`, 'example.com/other:v1', false],
    // Tag and digest: both, exactly.
    [`example.com/app:v1@${DIGEST}`, `example.com/app:v1@${DIGEST}`, true],
    [`example.com/app:v1@${DIGEST}`, 'example.com/app:v1', false],
    // A signed reference that does not parse never matches.
    ['example.com/app:v1', 'UPPERCASE/app:v1', false],
    ['example.com/app:v1', '', false],
  ];
  for (const [image, signed, matches] of cases) {
    test(`${image} ${matches ? 'accepts' : 'refuses'} ${JSON.stringify(signed)}`, () => {
      assert.equal(matchRepoDigestOrExact(parseReference(image))(signed), matches);
    });
  }
});
