import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { expectError } from '../../../test/helpers/assertions.ts';
import { parseReference } from '../../oci/reference.ts';
import {
  applicableStatement,
  MAX_TRUST_POLICY_BYTES,
  parseTrustPolicy,
  type TrustPolicyDocument,
} from './trust-policy.ts';

const FIXTURES = resolve(
  import.meta.dirname,
  '../../../../shared/fixtures/notation/config/trustpolicies',
);
const skip = existsSync(FIXTURES)
  ? false
  : `notation fixtures not found at ${FIXTURES} (they live outside the repository)`;

const refused = (text?: string) => expectError('invalid', 'NOTATION_TRUST_POLICY_INVALID', text);
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const parse = (value: unknown) => parseTrustPolicy(bytes(value));

function statement(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'e2e',
    registryScopes: ['*'],
    signatureVerification: { level: 'strict' },
    trustStores: ['ca:e2e'],
    trustedIdentities: ['*'],
    ...fields,
  };
}
const policy = (...statements: unknown[]) => ({ version: '1.0', trustPolicies: statements });
const only = (document: TrustPolicyDocument) => {
  const [first] = document.trustPolicies;
  assert.ok(first !== undefined && document.trustPolicies.length === 1);
  return first;
};

/**
 * Every trust policy of notation's e2e suite, loaded as an OCI trust policy.
 * A string is a fragment of the refusal (notation's own message, from
 * test/e2e/suite/trustpolicy/*.go where it checks one); a function checks
 * what was read. "invalid_*" policies are well formed: notation's suite uses
 * them for a scope no image has, a store that does not exist, an identity no
 * certificate has.
 */
const FIXTURE_TABLE: Readonly<Record<string, string | ((document: TrustPolicyDocument) => void)>> =
  {
    'any_registry_scope_trust_policy.json': (d) => assert.deepEqual(only(d).registryScopes, ['*']),
    'audit_trustpolicy.json': (d) => assert.equal(only(d).verification.name, 'audit'),
    'blob_trust_policy.json':
      'oci trust policy statement "wabbit-networks-policy" has zero registry scopes',
    'empty_registry_scope_trustpolicy.json':
      'trust policy statement "e2e" has zero registry scopes',
    'empty_trusted_identity_trustpolicy.json':
      'trust policy statement "e2e" has an empty trusted identity',
    'generate_test_trustpolicy.json': (d) =>
      assert.deepEqual(only(d).trustStores, [{ type: 'ca', name: 'sKey' }]),
    'invalid_format_trustpolicy.json': 'malformed trust policy',
    'invalid_registry_scope_trustpolicy.json': (d) => {
      assert.deepEqual(only(d).registryScopes, ['localhost:5000/invalid-test-repo']);
      assert.throws(
        () => applicableStatement(d, parseReference('localhost:5000/e2e')),
        expectError('denied', 'NOTATION_NO_APPLICABLE_POLICY', 'localhost:5000/e2e'),
      );
    },
    'invalid_trust_store_trustpolicy.json': (d) =>
      assert.deepEqual(only(d).trustStores, [{ type: 'ca', name: 'invalid_store' }]),
    'invalid_trusted_identity_trustpolicy.json': (d) => {
      const [identity] = only(d).trustedIdentities;
      assert.ok(identity?.kind === 'x509.subject');
      assert.equal(identity.dn.get('C'), 'USB');
    },
    'malformed_registry_scope_trustpolicy.json':
      'registry scope "localhost:5000\\\\test-repo" is not valid, make sure it is a fully qualified repository without the scheme, protocol or tag. For example domain.com/my/repository or a local scope like local/myOCILayout',
    'malformed_trust_store_trustpolicy.json':
      'trust policy statement "e2e" uses an unsupported trust store name "" in trust store value "ca:". Named store name needs to follow [a-zA-Z0-9_.-]+ format',
    'malformed_trusted_identity_trustpolicy.json':
      'trust policy statement "e2e" has trusted identity "x509.subject CN=e2e,O=Notary,L=Seattle,ST=WA,C=US" missing separator',
    'missing_country_trusted_identity_trustpolicy.json': `distinguished name (DN) " CN=e2e,O=Notary,L=Seattle,ST=WA" has no mandatory RDN attribute for "C", it must contain 'C', 'ST' or 'S', and 'O' RDN attributes at a minimum`,
    'missing_organization_trusted_identity_trustpolicy.json': `distinguished name (DN) " CN=e2e,L=Seattle,ST=WA,C=US" has no mandatory RDN attribute for "O", it must contain 'C', 'ST' or 'S', and 'O' RDN attributes at a minimum`,
    'missing_state_trusted_identity_trustpolicy.json': `distinguished name (DN) " CN=e2e,O=Notary,L=Seattle,C=US" has no mandatory RDN attribute for "ST", it must contain 'C', 'ST' or 'S', and 'O' RDN attributes at a minimum`,
    'multi_statements_with_multi_wildcard_registry_scope_trustpolicy.json':
      'registry scope "*" is present in multiple oci trust policy statements, one registry scope value can only be associated with one statement',
    'multi_statements_with_the_same_name_trustpolicy.json':
      'multiple oci trust policy statements use the same name "e2e", statement names must be unique',
    'multi_statements_with_the_same_registry_scope_trustpolicy.json':
      'registry scope "localhost:5000/test-repo8" is present in multiple oci trust policy statements, one registry scope value can only be associated with one statement',
    'multi_statements_with_wildcard_registry_scope_trustpolicy.json': (d) => {
      assert.equal(applicableStatement(d, parseReference('localhost:5000/test-repo9')).name, 'e2e');
      assert.equal(applicableStatement(d, parseReference('localhost:5000/other')).name, 'e2e2');
    },
    'multiple_registry_scope_trustpolicy.json': (d) =>
      assert.deepEqual(only(d).registryScopes, [
        'localhost:5000/test-repo3',
        'localhost:5000/test-repo2',
      ]),
    'multiple_trust_store_trustpolicy.json': (d) => assert.equal(only(d).trustStores.length, 2),
    'multiple_trusted_identity_trustpolicy.json': (d) =>
      assert.equal(only(d).trustedIdentities.length, 2),
    'overlapped_registry_scope_trustpolicy.json':
      'registry scope "localhost:5000/test-repo6" is present in multiple oci trust policy statements',
    // notation's suite skips this one: "overlapped trust stores were not checked".
    'overlapped_trust_store_trustpolicy.json': (d) => assert.equal(only(d).trustStores.length, 2),
    'overlapped_trusted_identity_trustpolicy.json':
      'trust policy statement "e2e" has overlapping x509 trustedIdentities',
    'override_audit_trustpolicy.json': (d) => {
      assert.equal(only(d).verification.name, 'custom');
      assert.equal(only(d).verification.enforced.length, 5);
    },
    'override_integrity_for_permissive_trustpolicy.json':
      '"integrity" verification can not be overridden in custom signature verification',
    'override_permissive_trustpolicy.json': (d) =>
      assert.deepEqual(only(d).verification.logged, ['authenticity']),
    'override_strict_trustpolicy.json': (d) =>
      assert.deepEqual(only(d).verification.enforced, ['integrity']),
    'permissive_trustpolicy.json': (d) => assert.equal(only(d).verification.name, 'permissive'),
    'quickstart_trustpolicy.json': (d) => assert.equal(only(d).name, 'wabbit-networks-images'),
    'registry_scope_trustpolicy.json': (d) =>
      assert.equal(
        applicableStatement(d, parseReference('localhost:5000/test-repo:v1')).name,
        'e2e',
      ),
    'skip_trustpolicy.json': (d) => {
      assert.equal(only(d).verification.name, 'skip');
      assert.deepEqual(only(d).trustStores, []);
    },
    'timestamp_after_cert_expiry_trustpolicy.json': (d) =>
      assert.equal(only(d).verifyTimestamp, 'afterCertExpiry'),
    'timestamp_trustpolicy.json': (d) => {
      assert.equal(only(d).verifyTimestamp, 'always');
      assert.deepEqual(only(d).trustStores, [
        { type: 'ca', name: 'e2e' },
        { type: 'tsa', name: 'e2e' },
      ]);
    },
    'trustpolicy.json': (d) => {
      assert.equal(only(d).verification.name, 'strict');
      assert.equal(only(d).verifyTimestamp, 'always');
      assert.deepEqual(only(d).trustedIdentities, [{ kind: 'any' }]);
    },
    'unset_trust_store_trustpolicy.json':
      'trust policy statement "e2e" is either missing trust stores or trusted identities, both must be specified',
    'unset_trusted_identity_trustpolicy.json':
      'trust policy statement "e2e" is either missing trust stores or trusted identities, both must be specified',
    'valid_trusted_identity_trustpolicy.json': (d) => {
      const [identity] = only(d).trustedIdentities;
      assert.ok(identity?.kind === 'x509.subject');
      assert.deepEqual(Object.fromEntries(identity.dn), {
        CN: 'e2e',
        O: 'Notary',
        L: 'Seattle',
        ST: 'WA',
        C: 'US',
      });
    },
    'wildcard_plus_other_registry_scope_trustpolicy.json': `trust policy statement "e2e" uses wildcard registry scope '*', a wildcard scope cannot be used in conjunction with other scope values`,
    'wildcard_plus_other_trusted_identity_trustpolicy.json': `trust policy statement "e2e" uses a wildcard trusted identity '*', a wildcard identity cannot be used in conjunction with other values`,
    'wildcard_trust_store_trustpolicy.json':
      'trust policy statement "e2e" has malformed trust store value "*". The required format is <TrustStoreType>:<TrustStoreName>',
  };

describe('notation e2e trust policies (shared/fixtures/notation)', { skip }, () => {
  it('covers every file of the folder', () => {
    assert.deepEqual(
      readdirSync(FIXTURES)
        .filter((file) => file.endsWith('.json'))
        .sort(),
      Object.keys(FIXTURE_TABLE).sort(),
    );
  });

  for (const [file, expected] of Object.entries(FIXTURE_TABLE)) {
    it(typeof expected === 'string' ? `refuses ${file}` : `reads ${file}`, () => {
      const source = resolve(FIXTURES, file);
      const read = () => parseTrustPolicy(new Uint8Array(readFileSync(source)), { source });
      if (typeof expected === 'string') {
        assert.throws(read, refused(expected));
        assert.throws(read, refused(`trust policy ${source}: `));
      } else {
        expected(read());
      }
    });
  }
});

describe('parseTrustPolicy', () => {
  it('reads a statement', () => {
    const document = parse(
      policy(
        statement({
          registryScopes: ['registry.acme-rockets.io/software/net-monitor'],
          signatureVerification: { level: 'permissive', override: { revocation: 'skip' } },
          trustStores: ['ca:acme-rockets', 'signingAuthority:acme', 'tsa:timestamps'],
          trustedIdentities: [
            'x509.subject: C=US, ST=WA, L=Seattle, O=acme-rockets.io, OU=Finance, CN=SecureBuilder',
            'plugin.example:anything',
          ],
        }),
      ),
    );
    const read = only(document);
    assert.equal(document.version, '1.0');
    assert.deepEqual(read.registryScopes, ['registry.acme-rockets.io/software/net-monitor']);
    assert.equal(read.verification.base, 'permissive');
    assert.deepEqual(read.verification.skipped, ['revocation']);
    assert.deepEqual(
      read.trustStores.map((store) => store.type),
      ['ca', 'signingAuthority', 'tsa'],
    );
    assert.equal(read.trustedIdentities[0]?.kind, 'x509.subject');
    // Identities with another prefix are for plugins; notation accepts and keeps them.
    assert.deepEqual(read.trustedIdentities[1], {
      kind: 'other',
      text: 'plugin.example:anything',
      prefix: 'plugin.example',
    });
    assert.ok(Object.isFrozen(document) && Object.isFrozen(read.trustStores));
  });

  it('checks the document as notation does', () => {
    assert.throws(() => parse({ trustPolicies: [statement()] }), refused('has empty version'));
    assert.throws(
      () => parse({ version: '1.1', trustPolicies: [statement()] }),
      refused('unsupported version "1.1"'),
    );
    assert.throws(
      () => parse({ version: '1.0' }),
      refused('can not have zero trust policy statements'),
    );
    assert.throws(() => parse(policy(statement({ name: '' }))), refused('missing a name'));
    assert.throws(
      () => parse(policy(statement({ signatureVerification: {} }))),
      refused(
        'trust policy statement "e2e" has invalid signatureVerification: signature verification level is empty',
      ),
    );
    assert.throws(
      () => parse(policy(statement({ signatureVerification: { level: 'lenient' } }))),
      refused('invalid signature verification level "lenient"'),
    );
    assert.throws(
      () =>
        parse(
          policy(
            statement({ signatureVerification: { level: 'strict', verifyTimestamp: 'never' } }),
          ),
        ),
      refused('verifyTimestamp must be "always" or "afterCertExpiry", but got "never"'),
    );
    assert.throws(
      () =>
        parse(
          policy(
            statement({ signatureVerification: { level: 'strict', override: { expiry: 'skip' } } }),
          ),
        ),
      refused('"expiry" verification can not be skipped'),
    );
  });

  it('refuses trust stores and identities on a skip statement, and requires them otherwise', () => {
    const skip = { signatureVerification: { level: 'skip' } };
    assert.throws(
      () => parse(policy(statement(skip))),
      refused('is set to skip signature verification but configured with trust stores'),
    );
    assert.throws(
      () => parse(policy(statement({ ...skip, trustStores: [] }))),
      refused('is set to skip'),
    );
    assert.equal(
      only(parse(policy(statement({ ...skip, trustStores: [], trustedIdentities: null }))))
        .verification.name,
      'skip',
    );
    assert.throws(
      () =>
        parse(
          policy(
            statement({
              ...skip,
              trustStores: [],
              trustedIdentities: [],
              signatureVerification: { level: 'skip', override: { revocation: 'log' } },
            }),
          ),
        ),
      refused(`"skip" can't be used to customize`),
    );
    assert.throws(
      () => parse(policy(statement({ trustedIdentities: [] }))),
      refused('either missing trust stores or trusted identities'),
    );
  });

  it('checks trust store values', () => {
    for (const [store, text] of [
      ['e2e', 'malformed trust store value "e2e"'],
      ['x509:e2e', 'unsupported trust store type "x509"'],
      ['CA:e2e', 'unsupported trust store type "CA"'],
      ['ca:a/b', 'unsupported trust store name "a/b"'],
      ['ca:a:b', 'unsupported trust store name "a:b"'],
      ['ca:é', 'unsupported trust store name "é"'],
    ] as const) {
      assert.throws(() => parse(policy(statement({ trustStores: [store] }))), refused(text), store);
    }
    // IsValidFileName admits "." and ".."; reading such a store fails (notation/trust-store.ts).
    assert.deepEqual(only(parse(policy(statement({ trustStores: ['tsa:..'] })))).trustStores, [
      { type: 'tsa', name: '..' },
    ]);
  });

  it('checks trusted identities', () => {
    const identities = (...values: unknown[]) => policy(statement({ trustedIdentities: values }));
    assert.throws(
      () => parse(identities('*', '*')),
      refused("uses a wildcard trusted identity '*'"),
    );
    assert.throws(() => parse(identities('x509.subject:')), refused('without an identity value'));
    assert.throws(
      () => parse(identities('x509.subject: C=US,ST=WA,O=x,CN=#0400')),
      refused('containing "=#"'),
    );
    assert.throws(
      () => parse(identities('x509.subject: C=US,ST=WA,O=x+CN=y')),
      refused('multi-valued RDN'),
    );
    assert.throws(() => parse(identities(null)), refused('has an empty trusted identity'));
    // Identical identities overlap too.
    assert.throws(
      () => parse(identities('x509.subject: C=US,ST=WA,O=x', 'x509.subject: O=x, ST=WA, C=US')),
      refused('"x509.subject: C=US,ST=WA,O=x" overlaps with "x509.subject: O=x, ST=WA, C=US"'),
    );
    const two = only(
      parse(identities('x509.subject: C=US,ST=WA,O=x,CN=a', 'x509.subject: C=US,ST=WA,O=x,CN=b')),
    );
    assert.equal(two.trustedIdentities.length, 2);
  });

  it('checks registry scopes as notation does', () => {
    const scopes = (...values: unknown[]) => policy(statement({ registryScopes: values }));
    for (const scope of [
      'localhost:5000',
      'localhost:5000/',
      '/repo',
      'https://ghcr.io/repo',
      'ghcr.io/Repo',
      'ghcr.io/repo:tag',
      'ghcr.io/repo@sha256:' + 'a'.repeat(64),
      '-ghcr.io/repo',
      'ghcr.io:port/repo',
      '[::1]:5000/repo',
      'ghcr.io//repo',
      'ghcr.io/repo/',
      '',
    ]) {
      assert.throws(
        () => parse(scopes(scope)),
        refused(`registry scope ${JSON.stringify(scope)} is not valid`),
        scope,
      );
    }
    assert.throws(() => parse(scopes('ghcr.io/*')), refused('with wild card(s) is not valid'));
    assert.throws(() => parse(scopes('**')), refused('with wild card(s) is not valid'));
    assert.throws(
      () => parse(scopes('*', 'ghcr.io/a')),
      refused("uses wildcard registry scope '*'"),
    );
    assert.throws(() => parse(scopes('*', '*')), refused("uses wildcard registry scope '*'"));
    assert.throws(() => parse(scopes()), refused('has zero registry scopes'));
    assert.throws(
      () => parse(scopes('ghcr.io/a', 'ghcr.io/a')),
      refused('present in multiple oci trust policy statements'),
    );
    assert.throws(
      () =>
        parse(
          policy(
            statement({ registryScopes: ['ghcr.io/a'] }),
            statement({ name: 'b', registryScopes: ['ghcr.io/a'] }),
          ),
        ),
      refused('(named by "e2e", "b")'),
    );
    // A format error in a later statement is reported before an earlier duplicate, as notation checks.
    assert.throws(
      () =>
        parse(
          policy(
            statement({ registryScopes: ['ghcr.io/a', 'ghcr.io/a'] }),
            statement({ name: 'b', registryScopes: ['bad'] }),
          ),
        ),
      refused('registry scope "bad" is not valid'),
    );
  });

  it('spells scopes canonically, and refuses two spellings of one repository', () => {
    const read = only(
      parse(
        policy(
          statement({
            registryScopes: [
              'GHCR.IO/a',
              'index.docker.io/nginx',
              'docker.io/library/redis',
              'LocalHost:05000/x',
            ],
          }),
        ),
      ),
    );
    assert.deepEqual(read.registryScopes, [
      'ghcr.io/a',
      'docker.io/library/nginx',
      'docker.io/library/redis',
      'localhost:5000/x',
    ]);
    assert.throws(
      () =>
        parse(
          policy(
            statement({ registryScopes: ['docker.io/nginx'] }),
            statement({ name: 'b', registryScopes: ['index.docker.io/library/nginx'] }),
          ),
        ),
      refused('registry scope "docker.io/nginx" (docker.io/library/nginx) is present in multiple'),
    );
    // A registry vouch cannot name: no image vouch reads could match it.
    for (const scope of ['library/nginx', 'ghcr.io:443/a', 'ghcr.io:99999/a']) {
      assert.throws(
        () => parse(policy(statement({ registryScopes: [scope] }))),
        refused('names no repository vouch can reach'),
        scope,
      );
    }
  });

  it('decodes as Go does: unknown keys ignored, null as the zero value, wrong types refused', () => {
    const read = only(
      parse({
        version: '1.0',
        comment: { deep: [1, 2, 3] },
        trustPolicies: [
          {
            ...statement(),
            globalPolicy: true,
            signatureVerification: {
              level: 'strict',
              override: null,
              verifyTimestamp: null,
              extra: 1,
            },
          },
        ],
      }),
    );
    assert.equal(read.verification.name, 'strict');
    assert.equal(read.verifyTimestamp, 'always');
    assert.throws(
      () => parse(policy(statement({ name: 7 }))),
      refused('malformed trust policy: trustPolicies[0].name must be a string, found number 7'),
    );
    assert.throws(
      () => parse(policy(statement({ trustStores: 'ca:e2e' }))),
      refused('trustPolicies[0].trustStores must be an array'),
    );
    assert.throws(
      () => parse(policy(statement({ signatureVerification: ['strict'] }))),
      refused('signatureVerification must be an object'),
    );
    assert.throws(
      () =>
        parse(
          policy(
            statement({
              signatureVerification: { level: 'strict', override: { revocation: true } },
            }),
          ),
        ),
      refused('override["revocation"] must be a string'),
    );
    assert.throws(() => parse(policy('statement')), refused('trustPolicies[0] must be an object'));
    assert.throws(() => parse([policy(statement())]), refused('the document must be an object'));
    assert.throws(() => parse(null), refused('has empty version'));
  });

  it('refuses what could mean two documents', () => {
    const text = (json: string) => () => parseTrustPolicy(new TextEncoder().encode(json));
    const good = JSON.stringify(statement());
    // Go keeps the last of duplicate keys.
    assert.throws(
      text(`{"version":"1.0","version":"1.0","trustPolicies":[${good}]}`),
      refused('duplicate'),
    );
    assert.throws(
      text(
        `{"version":"1.0","trustPolicies":[{"name":"a","name":"b","registryScopes":["*"],"signatureVerification":{"level":"strict"},"trustStores":["ca:e2e"],"trustedIdentities":["*"]}]}`,
      ),
      refused('duplicate'),
    );
    assert.throws(
      text(
        `{"version":"1.0","trustPolicies":[${good.replace('"level":"strict"', '"level":"strict","level":"skip"')}]}`,
      ),
      refused('duplicate'),
    );
    // Go matches keys to fields ignoring case.
    assert.throws(
      () => parse({ Version: '1.0', version: '1.0', trustPolicies: [statement()] }),
      refused('case variant'),
    );
    assert.throws(
      () => parse(policy({ ...statement(), TrustStores: ['ca:x'] })),
      refused('case variant'),
    );
    assert.throws(
      text(`${JSON.stringify(policy(statement()))} {}`),
      refused('unexpected data after the JSON value'),
    );
    assert.throws(
      () => parseTrustPolicy(new Uint8Array([0x7b, 0xff, 0x7d])),
      refused('not valid UTF-8'),
    );
  });

  it('caps size, nesting and list lengths', () => {
    let deep = '1';
    for (let i = 0; i < 10_000; i++) deep = `[${deep}]`;
    assert.throws(
      () =>
        parseTrustPolicy(
          new TextEncoder().encode(`{"version":"1.0","x":${deep},"trustPolicies":[]}`),
        ),
      refused('nesting deeper than'),
    );
    const big = new Uint8Array(MAX_TRUST_POLICY_BYTES + 1).fill(0x20);
    assert.throws(() => parseTrustPolicy(big), refused(`at most ${MAX_TRUST_POLICY_BYTES}`));
    const many = Array.from({ length: 1001 }, (_, i) => `ghcr.io/r${i}`);
    assert.throws(
      () => parse(policy(statement({ registryScopes: many }))),
      refused('has 1001 entries'),
    );
    const statements = Array.from({ length: 1001 }, (_, i) =>
      statement({ name: `s${i}`, registryScopes: [`ghcr.io/r${i}`] }),
    );
    assert.throws(() => parse(policy(...statements)), refused('trustPolicies has 1001 entries'));
  });

  it('ends on long hostile scopes and identities', { timeout: 30_000 }, () => {
    for (const scope of [
      `${'a'.repeat(200_000)}!/r`,
      `ghcr.io/${'a'.repeat(200_000)}!`,
      `ghcr.io/a${'-'.repeat(200_000)}`,
      `ghcr.io/${'a_'.repeat(100_000)}`,
    ]) {
      assert.throws(() => parse(policy(statement({ registryScopes: [scope] }))), refused());
    }
    const identities = Array.from(
      { length: 1000 },
      (_, i) => `x509.subject: C=US,ST=WA,O=x,CN=${i}`,
    );
    assert.equal(
      only(parse(policy(statement({ trustedIdentities: identities })))).trustedIdentities.length,
      1000,
    );
  });
});

describe('applicableStatement', () => {
  const document = parse(
    policy(
      statement({ name: 'exact', registryScopes: ['ghcr.io/acme/app', 'docker.io/library/nginx'] }),
      statement({ name: 'global' }),
      statement({ name: 'local', registryScopes: ['localhost:5000/app'] }),
    ),
  );

  it('takes the statement naming the repository, else the global one', () => {
    const name = (image: string) => applicableStatement(document, parseReference(image)).name;
    assert.equal(name('ghcr.io/acme/app:v1'), 'exact');
    assert.equal(name('GHCR.io/acme/app@sha256:' + 'a'.repeat(64)), 'exact');
    assert.equal(name('nginx'), 'exact');
    assert.equal(name('index.docker.io/library/nginx:latest'), 'exact');
    assert.equal(name('localhost:5000/app'), 'local');
    // Scopes name repositories, not prefixes.
    assert.equal(name('ghcr.io/acme/app/sub'), 'global');
    assert.equal(name('ghcr.io/acme'), 'global');
    assert.equal(name('localhost:5001/app'), 'global');
  });

  it('refuses an image no statement applies to', () => {
    const none = parse(policy(statement({ registryScopes: ['ghcr.io/acme/app'] })));
    assert.throws(
      () => applicableStatement(none, parseReference('ghcr.io/acme/other')),
      expectError(
        'denied',
        'NOTATION_NO_APPLICABLE_POLICY',
        'ghcr.io/acme/other has no applicable trust policy statement',
      ),
    );
  });
});
