/**
 * `notation:` policy authorities: parsed with errors naming their path,
 * validated as notation validates its trust policy, compiled to one global
 * statement with the certificate files as trust stores, refused as
 * attestation signers, and counted by evaluateImage only for the image's
 * digest.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { evaluateImage } from './evaluate.ts';
import type { EvidencedImage } from './evidence.ts';
import { requirementsOf } from './match.ts';
import { parsePolicy } from './parse.ts';
import { policyCompiler } from '../../test/helpers/policy.ts';

// Made by test/fixtures/notation-trust-store/generate.sh.
const FIXTURES = resolve(import.meta.dirname, '../../test/fixtures/notation-trust-store');
const ROOT_PEM = readFileSync(join(FIXTURES, 'root-ca.pem'));
const ROOT_DER = readFileSync(join(FIXTURES, 'root-ca.cer'));
const LEAF = readFileSync(join(FIXTURES, 'issued-leaf.pem'));
const KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

function policy(notation: string, rules?: string): string {
  return `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  release:
    key:
      file: release.pub
  np:
    notation:
${notation
  .trim()
  .split('\n')
  .map((line) => `      ${line}`)
  .join('\n')}
rules:
${
  rules ??
  `  - name: np
    images: [ghcr.io/acme/**]
    authorities: [np, release]
    threshold: 2
  - name: either
    images: [quay.io/acme/**]
    authorities: [np, release]
`
}`;
}

const GOOD = `
trustStore:
  ca: [certs/root.pem, certs/root.cer]
trustedIdentities: ["x509.subject: C=US, ST=WA, O=acme"]
`;

const FILES = new Map<string, Uint8Array>([
  ['release.pub', Buffer.from(KEY)],
  ['certs/root.pem', ROOT_PEM],
  ['certs/root.cer', ROOT_DER],
  ['certs/leaf.pem', LEAF],
]);

const { compile, issuesOf } = policyCompiler(FILES);

describe('notation policy authorities', () => {
  it('compile to one global statement with the files as trust stores', () => {
    const compiled = compile(policy(GOOD));
    const np = compiled.authorities.get('np');
    assert.equal(np?.kind, 'notation');
    const [statement] = np.trustPolicy.trustPolicies;
    assert.deepEqual(statement?.registryScopes, ['*']);
    assert.equal(statement?.verification.base, 'strict');
    assert.equal(statement?.verification.actions.revocation, 'enforce');
    assert.equal(statement?.verifyTimestamp, 'always');
    assert.deepEqual(statement?.trustStores, [{ type: 'ca', name: 'policy' }]);
    assert.equal(statement?.trustedIdentities[0]?.kind, 'x509.subject');
    // PEM and DER of one certificate: both read.
    assert.equal(np.trustStores.get('ca:policy')?.length, 2);
    assert.deepEqual([...parsePolicy(policy(GOOD), 'p.yaml').files.keys()].sort(), [
      'certs/root.cer',
      'certs/root.pem',
      'release.pub',
    ]);
  });

  it('take the level, verifyTimestamp and revocation off', () => {
    const compiled = compile(
      policy(`
trustStore:
  signingAuthority: [certs/root.pem]
trustedIdentities: ["*"]
level: permissive
verifyTimestamp: afterCertExpiry
revocation: false
`),
    );
    const np = compiled.authorities.get('np');
    assert.equal(np?.kind, 'notation');
    const [statement] = np.trustPolicy.trustPolicies;
    assert.equal(statement?.verification.base, 'permissive');
    assert.equal(statement?.verification.actions.revocation, 'skip');
    assert.equal(statement?.verifyTimestamp, 'afterCertExpiry');
    assert.deepEqual(statement?.trustStores, [{ type: 'signingAuthority', name: 'policy' }]);
    assert.equal(np.trustStores.get('signingAuthority:policy')?.length, 1);
  });

  it('refuse what notation refuses in a trust policy, naming the authority', () => {
    assert.match(
      issuesOf(
        policy(`trustStore: {ca: [certs/root.pem]}\ntrustedIdentities: ["x509.subject: ST=WA"]`),
      ),
      /authorities\.np\.notation: .*C.*O/,
    );
    assert.match(
      issuesOf(
        policy(
          `trustStore: {ca: [certs/root.pem]}\ntrustedIdentities: ["*", "x509.subject: C=US, ST=WA, O=a"]`,
        ),
      ),
      /authorities\.np\.notation: /,
    );
    assert.match(
      issuesOf(policy(`trustStore: {ca: [certs/root.pem]}\ntrustedIdentities: ["*"]\nlevel: skip`)),
      /authorities\.np\.notation\.level: skip verifies nothing/,
    );
    assert.match(
      issuesOf(
        policy(`trustStore: {ca: [certs/root.pem]}\ntrustedIdentities: ["*"]\nrevocation: no`),
      ),
      /authorities\.np\.notation\.revocation: must be true or false/,
    );
    assert.match(
      issuesOf(policy(`trustStore: {}\ntrustedIdentities: ["*"]`)),
      /authorities\.np\.notation\.trustStore: needs one of ca, signingAuthority, tsa/,
    );
    assert.match(
      issuesOf(policy(`trustStore: {root: [x.pem]}\ntrustedIdentities: ["*"]`)),
      /authorities\.np\.notation\.trustStore/,
    );
    assert.match(
      issuesOf(policy(`trustStore: {ca: [certs/root.pem]}`)),
      /missing required field "trustedIdentities"/,
    );
  });

  it('refuse certificate files that are not trust store certificates, naming the file', () => {
    // A leaf issued by a CA is neither a CA nor self-signed.
    assert.match(
      issuesOf(policy(`trustStore: {ca: [certs/leaf.pem]}\ntrustedIdentities: ["*"]`)),
      /authorities\.np\.notation\.trustStore\.ca\[0\]: certs\/leaf\.pem: .*not a CA certificate/,
    );
    assert.match(
      issuesOf(policy(`trustStore: {ca: [certs/missing.pem]}\ntrustedIdentities: ["*"]`)),
      /authorities\.np\.notation\.trustStore\.ca\[0\]: certs\/missing\.pem was not read/,
    );
  });

  it('cannot sign attestations', () => {
    const rules = `  - name: np
    images: [ghcr.io/acme/**]
    authorities: [np]
    attestations:
      - predicateType: slsaprovenance1
`;
    assert.match(issuesOf(policy(GOOD, rules)), /no key or keyless authority to sign attestations/);
    const named = `  - name: np
    images: [ghcr.io/acme/**]
    authorities: [np, release]
    attestations:
      - predicateType: slsaprovenance1
        authorities: [np]
`;
    assert.match(issuesOf(policy(GOOD, named)), /np is a notation authority/);
    const defaulted = compile(
      policy(
        GOOD,
        `  - name: np
    images: [ghcr.io/acme/**]
    authorities: [np, release]
    attestations:
      - predicateType: slsaprovenance1
`,
      ),
    );
    assert.deepEqual(defaulted.rules[0]?.attestations[0]?.authorities, ['release']);
  });

  it('are gathered as notation, apart from signatures', () => {
    const compiled = compile(policy(GOOD));
    const needs = requirementsOf(compiled, compiled.rules);
    assert.deepEqual([...needs.notation], ['np']);
    assert.deepEqual([...needs.signatures], ['release']);
    assert.deepEqual([...needs.notary], []);
  });
});

describe('evaluateImage with a notation authority', () => {
  const compiled = compile(policy(GOOD));
  const image = (image: string, authorities: EvidencedImage['authorities']): EvidencedImage => ({
    image,
    digest: DIGEST,
    authorities,
    attestations: [],
  });
  const np = (digest: string) =>
    ({ authority: 'np', status: 'verified', message: 'ok', digest }) as const;
  const release = { authority: 'release', status: 'verified', message: 'ok' } as const;
  const unsigned = { authority: 'release', status: 'denied', message: 'no signature' } as const;

  it('counts a verified notation signature of the image digest toward the threshold', () => {
    assert.equal(
      evaluateImage(image('quay.io/acme/app:1', [np(DIGEST), unsigned]), compiled).result,
      'allowed',
    );
    const both = evaluateImage(image('ghcr.io/acme/app:1', [np(DIGEST), release]), compiled);
    assert.equal(both.result, 'allowed');
    assert.deepEqual(
      both.authorities.map((a) => [a.authority, a.kind, a.counted]),
      [
        ['np', 'notation', true],
        ['release', 'key', true],
      ],
    );
    assert.equal(
      evaluateImage(image('ghcr.io/acme/app:1', [np(DIGEST), unsigned]), compiled).result,
      'denied',
    );
  });

  it('does not count a signature verified on another digest', () => {
    const d = evaluateImage(image('quay.io/acme/app:1', [np(OTHER), unsigned]), compiled);
    assert.equal(d.result, 'denied');
    assert.equal(d.authorities[0]?.code, 'NOTATION_DIGEST_MISMATCH');
  });

  it('does not count a denied one', () => {
    const d = evaluateImage(
      image('ghcr.io/acme/app:1', [
        { authority: 'np', status: 'denied', code: 'NOTATION_VERIFICATION_FAILED', message: 'no' },
        release,
      ]),
      compiled,
    );
    assert.equal(d.result, 'denied');
  });
});
