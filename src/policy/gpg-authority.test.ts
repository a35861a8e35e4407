/**
 * `gpg:` policy authorities: parsed with errors naming their path, compiled
 * with the keyring bytes kept for the gather step, refused as attestation
 * signers, and counted by evaluateImage only for the image's digest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateImage } from './evaluate.ts';
import type { EvidencedImage } from './evidence.ts';
import { requirementsOf } from './match.ts';
import { parsePolicy } from './parse.ts';
import { policyCompiler } from '../../test/helpers/policy.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const ARMORED = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n-----END PGP PUBLIC KEY BLOCK-----\n';

function policy(gpg: string, rules?: string): string {
  return `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  release:
    keyless:
      identity: a@example.com
      issuer: https://accounts.example.com
  gp:
    gpg:
${gpg
  .trim()
  .split('\n')
  .map((line) => `      ${line}`)
  .join('\n')}
rules:
${
  rules ??
  `  - name: both
    images: [ghcr.io/acme/**]
    authorities: [gp, release]
    threshold: 2
  - name: either
    images: [quay.io/acme/**]
    authorities: [gp, release]
`
}`;
}

const KEYRING = new Uint8Array([0x99, 1, 2, 3]);
const FILES = new Map<string, Uint8Array>([['keys/pubring.gpg', KEYRING]]);

const { compile, issuesOf } = policyCompiler(FILES);

describe('gpg policy authorities', () => {
  it('compile with the keyring files as bytes and matchRepoDigestOrExact by default', () => {
    const parsed = parsePolicy(policy('keyPaths: [keys/pubring.gpg]'), 'p.yaml');
    assert.equal(parsed.files.get('keys/pubring.gpg')?.holds, 'keyring');
    const gp = compile(policy('keyPaths: [keys/pubring.gpg]')).authorities.get('gp');
    assert.equal(gp?.kind, 'gpg');
    assert.deepEqual(gp.keyring, [KEYRING]);
    assert.deepEqual(gp.signedIdentity, { type: 'matchRepoDigestOrExact' });
    const inline = compile(
      policy(
        `keyData: ${JSON.stringify(ARMORED)}\nsignedIdentity: {type: exactRepository, dockerRepository: quay.io/acme/app}`,
      ),
    ).authorities.get('gp');
    assert.equal(inline?.kind, 'gpg');
    assert.equal(Buffer.from(inline.keyring[0] ?? []).toString(), ARMORED);
    assert.deepEqual(inline.signedIdentity, {
      type: 'exactRepository',
      dockerRepository: 'quay.io/acme/app',
    });
  });

  it('refuse what they cannot use, naming the path', () => {
    assert.match(
      issuesOf(policy('keyPaths: [keys/missing.gpg]')),
      /authorities\.gp\.gpg\.keyPaths\[0\]: keys\/missing\.gpg was not read/,
    );
    assert.match(
      issuesOf(policy('keyPaths: []')),
      /authorities\.gp\.gpg\.keyPaths: must have at least 1/,
    );
    assert.match(
      issuesOf(policy('keyData: AAAA')),
      /authorities\.gp\.gpg\.keyData: must be ASCII-armored/,
    );
    assert.match(
      issuesOf(policy(`keyPaths: [keys/pubring.gpg]\nkeyData: ${JSON.stringify(ARMORED)}`)),
      /authorities\.gp\.gpg/,
    );
    assert.match(issuesOf(policy('keyType: GPGKeys')), /authorities\.gp\.gpg/);
    assert.match(
      issuesOf(
        policy(
          'keyPaths: [keys/pubring.gpg]\nsignedIdentity: {type: remapIdentity, prefix: a, signedPrefix: b}',
        ),
      ),
      /authorities\.gp\.gpg\.signedIdentity\.type: remapIdentity is not supported/,
    );
    assert.match(
      issuesOf(policy('keyPaths: [keys/pubring.gpg]\nsignedIdentity: {type: matchAnything}')),
      /authorities\.gp\.gpg\.signedIdentity\.type: must be one of/,
    );
    assert.match(
      issuesOf(
        policy(
          'keyPaths: [keys/pubring.gpg]\nsignedIdentity: {type: exactReference, dockerReference: quay.io/a}',
        ),
      ),
      /authorities\.gp\.gpg\.signedIdentity\.dockerReference: quay\.io\/a names no tag or digest/,
    );
    assert.match(
      issuesOf(policy('keyPaths: [keys/pubring.gpg]\nsignedIdentity: {type: exactRepository}')),
      /authorities\.gp\.gpg\.signedIdentity: missing required field "dockerRepository"/,
    );
    assert.match(
      issuesOf(
        policy(
          'keyPaths: [keys/pubring.gpg]\nsignedIdentity: {type: matchExact, dockerReference: a:1}',
        ),
      ),
      /authorities\.gp\.gpg\.signedIdentity\.dockerReference: matchExact takes no dockerReference/,
    );
  });

  it('cannot sign attestations', () => {
    const named = `  - name: x
    images: [ghcr.io/acme/**]
    authorities: [gp, release]
    attestations:
      - predicateType: slsaprovenance1
        authorities: [gp]
`;
    assert.match(issuesOf(policy('keyPaths: [keys/pubring.gpg]', named)), /gp is a gpg authority/);
    const alone = `  - name: x
    images: [ghcr.io/acme/**]
    authorities: [gp]
    attestations:
      - predicateType: slsaprovenance1
`;
    assert.match(
      issuesOf(policy('keyPaths: [keys/pubring.gpg]', alone)),
      /no key or keyless authority to sign attestations/,
    );
  });

  it('are gathered as gpg requirements and counted only for the image digest', () => {
    const compiled = compile(policy('keyPaths: [keys/pubring.gpg]'));
    const needs = requirementsOf(compiled, compiled.rules);
    assert.deepEqual([...needs.gpg], ['gp']);
    assert.deepEqual([...needs.signatures], ['release']);
    // release did not verify: gp alone decides the `either` rule.
    const unsigned = { authority: 'release', status: 'denied' as const, message: 'no' };
    const image = (authorities: EvidencedImage['authorities'], name = 'quay.io/acme/app:1') =>
      evaluateImage(
        { image: name, digest: DIGEST, authorities: [unsigned, ...authorities], attestations: [] },
        compiled,
      );
    const gpgVerified = (digest: string) => ({
      authority: 'gp',
      status: 'verified' as const,
      message: 'ok',
      digest,
      signers: ['ABCD'],
    });
    assert.equal(image([gpgVerified(DIGEST)]).result, 'allowed');
    const moved = image([gpgVerified(OTHER)]);
    assert.equal(moved.result, 'denied');
    assert.match(JSON.stringify(moved), /GPG_DIGEST_MISMATCH/);
    assert.equal(
      image([{ authority: 'gp', status: 'denied', code: 'GPG_KEY_UNKNOWN', message: 'no' }]).result,
      'denied',
    );
    // Beside another kind toward a threshold of 2.
    const release = { authority: 'release', status: 'verified' as const, message: 'ok' };
    assert.equal(image([gpgVerified(DIGEST)], 'ghcr.io/acme/app:1').result, 'denied');
    const both = evaluateImage(
      {
        image: 'ghcr.io/acme/app:1',
        digest: DIGEST,
        authorities: [gpgVerified(DIGEST), release],
        attestations: [],
      },
      compiled,
    );
    assert.equal(both.result, 'allowed');
  });
});
