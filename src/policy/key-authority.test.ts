/**
 * `key:` and `keyless:` authorities: several keys (any of which may have
 * signed), and an optional `signedIdentity` kept on the compiled authority
 * for the gather step, with errors naming the field; an authority with one
 * cannot sign attestations, which name no docker-reference.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { publicKeyToPem } from '../keys/pem.ts';
import { policyCompiler } from '../../test/helpers/policy.ts';

const PEM_A = publicKeyToPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
const PEM_B = publicKeyToPem(generateKeyPairSync('ed25519').publicKey);

function policy(authorities: object, rule: object = {}): string {
  return JSON.stringify({
    apiVersion: 'vouch.dev/v1alpha1',
    kind: 'ImagePolicy',
    authorities,
    rules: [{ name: 'r', images: ['ghcr.io/acme/**'], authorities: ['a'], ...rule }],
  });
}

const FILES = new Map([['b.pem', new TextEncoder().encode(PEM_B)]]);

const { compile, issuesOf } = policyCompiler(FILES, 'p.json');

describe('key and keyless authorities: keys and signedIdentity', () => {
  it('a key authority takes several keys, inline or from files, any of which verifies', () => {
    const a = compile(
      policy({ a: { key: { keys: [{ pem: PEM_A }, { file: 'b.pem' }], requireTlog: true } } }),
    ).authorities.get('a');
    assert.equal(a?.kind, 'key');
    assert.deepEqual(
      a.keys.map((k) => k.asymmetricKeyType),
      ['ec', 'ed25519'],
    );
    assert.equal(a.requireTlog, true);
    assert.equal(a.signedIdentity, undefined);
  });

  it('keeps signedIdentity on key and keyless authorities; absent stays absent', () => {
    const compiled = compile(
      policy({
        a: { key: { pem: PEM_A, signedIdentity: { type: 'matchRepository' } } },
        k: {
          keyless: {
            identity: 'a@acme.dev',
            issuer: 'https://accounts.example.com',
            signedIdentity: { type: 'exactReference', dockerReference: 'ghcr.io/acme/app:1' },
          },
        },
        plain: { key: { pem: PEM_A } },
      }),
    );
    const a = compiled.authorities.get('a');
    assert.equal(a?.kind, 'key');
    assert.deepEqual(a.signedIdentity, { type: 'matchRepository' });
    const k = compiled.authorities.get('k');
    assert.equal(k?.kind, 'keyless');
    assert.deepEqual(k.signedIdentity, {
      type: 'exactReference',
      dockerReference: 'ghcr.io/acme/app:1',
    });
    const plain = compiled.authorities.get('plain');
    assert.equal(plain?.kind, 'key');
    assert.equal(plain.signedIdentity, undefined);
  });

  it('names the field of a bad signedIdentity or key list', () => {
    const issues = issuesOf(
      policy({
        a: { key: { pem: PEM_A, signedIdentity: { type: 'remapIdentity' } } },
        b: {
          keyless: {
            identity: 'a@acme.dev',
            issuer: 'https://accounts.example.com',
            signedIdentity: { type: 'exactReference', dockerReference: 'ghcr.io/acme/app' },
          },
        },
        c: { key: { pem: PEM_A, keys: [{ pem: PEM_B }] } },
        d: { key: { keys: [] } },
        e: { key: { keys: [{ pem: 'not pem' }] } },
      }),
    );
    assert.match(
      issues,
      /authorities\.a\.key\.signedIdentity\.type: remapIdentity is not supported/,
    );
    assert.match(
      issues,
      /authorities\.b\.keyless\.signedIdentity\.dockerReference: ghcr\.io\/acme\/app names no tag or digest/,
    );
    assert.match(issues, /authorities\.c\.key: give only one of pem, keys/);
    assert.match(issues, /authorities\.d\.key\.keys: /);
    assert.match(issues, /authorities\.e\.key\.keys\[0\]\.pem: must be PEM text/);
  });

  it('rekorKeys are the only logs trusted, and make the log required', () => {
    const a = compile(
      policy({ a: { key: { pem: PEM_A, rekorKeys: [{ pem: PEM_A }] } } }),
    ).authorities.get('a');
    assert.equal(a?.kind, 'key');
    assert.equal(a.requireTlog, true);
    assert.equal(a.tlogs?.length, 1);
    const plain = compile(policy({ a: { key: { pem: PEM_A } } })).authorities.get('a');
    assert.equal(plain?.kind, 'key');
    assert.equal(plain.tlogs, undefined, 'without rekorKeys: the trusted root decides');
    const issues = issuesOf(
      policy({
        a: { key: { pem: PEM_A, rekorKeys: [{ pem: PEM_A }], requireTlog: false } },
        b: { key: { pem: PEM_A, rekorKeys: [] } },
      }),
    );
    assert.match(issues, /authorities\.a\.key\.requireTlog: rekorKeys requires the log/);
    assert.match(issues, /authorities\.b\.key\.rekorKeys: /);
    assert.match(
      issuesOf(policy({ a: { key: { pem: PEM_A, rekorKeys: [{ file: 'missing.pem' }] } } })),
      /authorities\.a\.key\.rekorKeys\[0\]: missing\.pem was not read/,
    );
  });

  it('an authority with a signedIdentity cannot sign attestations', () => {
    const authorities = {
      a: { key: { pem: PEM_A, signedIdentity: { type: 'matchRepository' } } },
      b: { key: { pem: PEM_B } },
    };
    // By default the rule's key and keyless authorities sign its attestations.
    assert.match(
      issuesOf(policy(authorities, { attestations: [{ predicateType: 'slsaprovenance1' }] })),
      /rules\[0\]\.attestations\[0\]: authority a has a signedIdentity, which no attestation can satisfy/,
    );
    assert.match(
      issuesOf(
        policy(authorities, {
          authorities: ['a', 'b'],
          attestations: [{ predicateType: 'slsaprovenance1', authorities: ['a'] }],
        }),
      ),
      /rules\[0\]\.attestations\[0\]\.authorities: authority a has a signedIdentity/,
    );
    const other = compile(
      policy(authorities, {
        authorities: ['a', 'b'],
        attestations: [{ predicateType: 'slsaprovenance1', authorities: ['b'] }],
      }),
    );
    assert.deepEqual(other.rules[0]?.attestations[0]?.authorities, ['b']);
  });
});
