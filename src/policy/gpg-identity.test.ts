/**
 * The `signedIdentity` rules of a gpg authority, against containers/image's
 * policy_reference_match.go behaviour.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReference } from '../oci/reference.ts';
import { matchesSignedIdentity as acceptsSignedIdentity } from '../formats/containers-policy/signed-identity.ts';
import { signedIdentityProblem } from './gpg-identity.ts';
import type { SignedIdentityDocument } from './types.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const accepts = (rule: SignedIdentityDocument, intended: string, signed: string) =>
  acceptsSignedIdentity(rule, parseReference(intended), signed);

describe('signedIdentity', () => {
  it('matchRepoDigestOrExact: a tag exactly, a digest by repository', () => {
    const rule = { type: 'matchRepoDigestOrExact' } as const;
    assert.equal(accepts(rule, 'docker.io/library/busybox:1', 'busybox:1'), true);
    assert.equal(accepts(rule, 'docker.io/library/busybox:1', 'busybox:2'), false);
    assert.equal(accepts(rule, 'docker.io/library/busybox:1', 'busybox'), false);
    assert.equal(accepts(rule, 'example.com/a:1', 'example.com/b:1'), false);
    assert.equal(accepts(rule, `example.com/a@${DIGEST}`, 'example.com/a:whatever'), true);
    assert.equal(accepts(rule, `example.com/a@${DIGEST}`, 'example.com/b:1'), false);
    assert.equal(accepts(rule, `example.com/a@${DIGEST}`, 'example.com/a'), false);
    assert.equal(accepts(rule, 'example.com/a', 'example.com/a:latest'), false);
    assert.equal(accepts(rule, 'example.com/a:1', 'not a reference'), false);
  });

  it('matchExact: the same reference, never a name alone', () => {
    const rule = { type: 'matchExact' } as const;
    assert.equal(accepts(rule, 'example.com/a:1', 'example.com/a:1'), true);
    assert.equal(accepts(rule, `example.com/a@${DIGEST}`, 'example.com/a:1'), false);
    assert.equal(accepts(rule, `example.com/a@${DIGEST}`, `example.com/a@${DIGEST}`), true);
    assert.equal(accepts(rule, 'example.com/a', 'example.com/a'), false);
  });

  it('matchRepository: any tag or digest of the repository', () => {
    const rule = { type: 'matchRepository' } as const;
    assert.equal(accepts(rule, 'example.com/a:1', 'example.com/a:2'), true);
    assert.equal(accepts(rule, 'example.com/a:1', 'example.com/a'), true);
    assert.equal(accepts(rule, 'example.com/a:1', 'example.com/ab:1'), false);
  });

  it('exactReference and exactRepository ignore the reference asked for', () => {
    const reference = { type: 'exactReference', dockerReference: 'busybox:1' } as const;
    assert.equal(accepts(reference, 'example.com/x:9', 'docker.io/library/busybox:1'), true);
    assert.equal(accepts(reference, 'example.com/x:9', 'busybox:2'), false);
    const repository = { type: 'exactRepository', dockerRepository: 'example.com/a' } as const;
    assert.equal(accepts(repository, 'example.com/x:9', 'example.com/a:7'), true);
    assert.equal(accepts(repository, 'example.com/x:9', 'example.com/x:9'), false);
  });

  it('refuses a reference the rule cannot use', () => {
    assert.match(
      signedIdentityProblem({ type: 'exactReference', dockerReference: 'busybox' }) ?? '',
      /names no tag or digest/,
    );
    assert.match(
      signedIdentityProblem({ type: 'exactRepository', dockerRepository: 'busybox:1' }) ?? '',
      /takes a repository alone/,
    );
    assert.ok(signedIdentityProblem({ type: 'exactReference', dockerReference: 'A B' }));
    assert.equal(signedIdentityProblem({ type: 'matchExact' }), undefined);
  });
});
