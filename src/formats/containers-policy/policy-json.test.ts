/**
 * policy.json parsing. Cases are ported from containers/image
 * signature/policy_config_test.go and policy_config_sigstore_test.go (the
 * test each group came from is named in its `describe`/`it`), then hostile
 * input.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { expectError } from '../../../test/helpers/assertions.ts';
import {
  type ContainersPolicy,
  isIdentityRemappingPrefix,
  MAX_POLICY_BYTES,
  parseContainersPolicy,
  type PolicyRequirement,
} from './policy-json.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../../shared/fixtures/containers-image');
const skip = existsSync(FIXTURES)
  ? false
  : `containers/image fixtures not found at ${FIXTURES} (they live outside the repository)`;

type Json = Record<string, unknown>;
const refused = (text?: string) => expectError('invalid', 'CONTAINERS_POLICY_INVALID', text);
const encode = (text: string) => new TextEncoder().encode(text);
const parseText = (text: string): ContainersPolicy => parseContainersPolicy(encode(text));
const parse = (value: unknown): ContainersPolicy => parseText(JSON.stringify(value));

/** The one requirement of `default` after parsing `requirement`. */
function requirement(value: unknown): PolicyRequirement {
  const policy = parse({ default: [value] });
  assert.equal(policy.default.length, 1);
  return policy.default[0] as PolicyRequirement;
}

/** Each mutation of a copy of `valid` must make the requirement refused. */
function assertBreaks(valid: Json, mutations: readonly ((v: Json) => void)[]): void {
  assert.doesNotThrow(() => requirement(valid));
  for (const [index, mutate] of mutations.entries()) {
    const copy = structuredClone(valid);
    mutate(copy);
    assert.throws(() => requirement(copy), refused(), `mutation ${index}: ${JSON.stringify(copy)}`);
  }
}

/** The same key twice in the requirement's own object must be refused. */
function assertDuplicatesRefused(valid: Json, fields: readonly string[]): void {
  for (const field of fields) {
    const text = JSON.stringify(valid);
    const duplicated = `${text.slice(0, -1)},${JSON.stringify(field)}:${JSON.stringify(valid[field])}}`;
    assert.throws(() => parseText(`{"default":[${duplicated}]}`), refused(), field);
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('parseContainersPolicy: the fixture (TestNewPolicyFromBytes)', { skip }, () => {
  it('reads signature/fixtures/policy.json with every requirement and scope', () => {
    const policy = parseContainersPolicy(readFileSync(resolve(FIXTURES, 'policy.json')));
    assert.deepEqual(policy.default, [{ type: 'reject' }]);
    const docker = policy.transports.get('docker');
    assert.ok(docker);
    assert.deepEqual(docker.get('example.com/playground'), [{ type: 'insecureAcceptAnything' }]);
    assert.deepEqual(docker.get('example.com/production'), [
      {
        type: 'signedBy',
        keyType: 'GPGKeys',
        keys: { kind: 'path', path: '/keys/employee-gpg-keyring' },
        signedIdentity: { type: 'matchRepoDigestOrExact' },
      },
    ]);
    assert.deepEqual(docker.get('registry.redhat.io/beta')?.[0], {
      type: 'signedBy',
      keyType: 'GPGKeys',
      keys: {
        kind: 'paths',
        paths: [
          '/keys/RH-production-signing-key-gpg-keyring',
          '/keys/RH-beta-signing-key-gpg-keyring',
        ],
      },
      signedIdentity: { type: 'matchRepoDigestOrExact' },
    });
    assert.deepEqual(docker.get('private-mirror:5000/vendor-mirror')?.[0], {
      type: 'signedBy',
      keyType: 'GPGKeys',
      keys: { kind: 'path', path: '/keys/vendor-gpg-keyring' },
      signedIdentity: {
        type: 'remapIdentity',
        prefix: 'private-mirror:5000/vendor-mirror',
        signedPrefix: 'vendor.example.com',
      },
    });
    assert.deepEqual(docker.get('bogus/signed-identity-example')?.[0], {
      type: 'signedBaseLayer',
      baseLayerIdentity: {
        type: 'exactReference',
        dockerReference: 'registry.access.redhat.com/rhel7/rhel:latest',
      },
    });
    const keyData = docker.get('example.com/sigstore/key-data-example')?.[0];
    assert.equal(keyData?.type, 'sigstoreSigned');
    assert.deepEqual(keyData.type === 'sigstoreSigned' && keyData.keys, {
      kind: 'data',
      data: new Uint8Array(Buffer.from('nonsense')),
    });
    assert.deepEqual(
      [...docker.keys()].filter((key) => key.startsWith('*')),
      ['*.access.redhat.com', '*.redhat.com', '*.com'],
    );
    assert.deepEqual(policy.transports.get('dir')?.get(''), [{ type: 'insecureAcceptAnything' }]);
  });

  it('refuses empty input (TestNewPolicyFromBytes)', () => {
    assert.throws(() => parseText(''), refused());
  });
});

describe('parseContainersPolicy: the top level (TestPolicyUnmarshalJSON)', () => {
  const valid = {
    default: [{ type: 'signedBy', keyType: 'GPGKeys', keyData: b64('abc') }],
    transports: {
      docker: {
        'docker.io/library/busybox': [
          { type: 'signedBy', keyType: 'GPGKeys', keyData: b64('def') },
        ],
        'registry.access.redhat.com': [
          {
            type: 'signedBy',
            keyType: 'signedByGPGKeys',
            keyData: b64('RH'),
            signedIdentity: { type: 'matchRepository' },
          },
        ],
      },
      atomic: { 'registry.access.redhat.com/rhel7': [{ type: 'reject' }] },
      unknown: { 'registry.access.redhat.com/rhel7': [{ type: 'reject' }] },
    },
  };

  it('reads a valid policy, transports unknown to vouch included', () => {
    const policy = parse(valid);
    assert.equal(policy.default.length, 1);
    assert.deepEqual([...policy.transports.keys()], ['docker', 'atomic', 'unknown']);
  });

  it('refuses each broken variant', () => {
    const breaks: ((v: Json) => void)[] = [
      (v) => delete v.default,
      (v) => (v.unexpected = 1),
      (v) => (v.default = 1),
      (v) => (v.default = {}),
      (v) => (v.default = null),
      (v) => (v.transports = 1),
      (v) => (v.transports = []),
      (v) => (v.transports = null),
      (v) => (v.default = []),
    ];
    for (const mutate of breaks) {
      const copy = structuredClone(valid) as Json;
      mutate(copy);
      assert.throws(() => parse(copy), refused(), JSON.stringify(copy));
    }
  });

  it('accepts a policy without transports or with none', () => {
    assert.equal(parse({ default: [{ type: 'reject' }] }).transports.size, 0);
    assert.equal(parse({ default: [{ type: 'reject' }], transports: {} }).transports.size, 0);
  });

  it('refuses duplicate top-level keys, naming no winner', () => {
    assert.throws(
      () =>
        parseText('{"default":[{"type":"reject"}],"default":[{"type":"insecureAcceptAnything"}]}'),
      refused('duplicate'),
    );
    assert.throws(
      () => parseText('{"default":[{"type":"reject"}],"transports":{},"transports":{}}'),
      refused(),
    );
  });

  it('names the path of the offending member', () => {
    assert.throws(
      () =>
        parse({
          default: [{ type: 'reject' }],
          transports: { docker: { 'example.com/app': [{ type: 'reject' }, { type: 'signedBy' }] } },
        }),
      refused('transports.docker["example.com/app"][1]'),
    );
    assert.throws(
      () => parse({ default: [{ type: 'sigstoreSigned', keyPath: 1 }] }),
      refused('default[0].keyPath'),
    );
  });
});

describe('parseContainersPolicy: scopes (TestPolicyTransportScopesWithTransportUnmarshalJSON)', () => {
  const withScopes = (transport: string, scopes: Json) =>
    parse({ default: [{ type: 'reject' }], transports: { [transport]: scopes } });
  const accept = [{ type: 'insecureAcceptAnything' }];

  it('refuses a scope that is not a non-empty list, and duplicate scopes', () => {
    for (const value of [1, {}, [], null]) {
      assert.throws(() => withScopes('docker', { 'docker.io/library/busybox': value }), refused());
      assert.throws(() => withScopes('docker', { '': value }), refused());
    }
    assert.throws(
      () =>
        parseText(
          '{"default":[{"type":"reject"}],"transports":{"docker":{"a.io/b":[{"type":"reject"}],"a.io/b":[{"type":"reject"}]}}}',
        ),
      refused(),
    );
  });

  it('refuses docker scopes as dir scopes (relative paths)', () => {
    assert.throws(
      () => withScopes('dir', { 'docker.io/library/busybox': accept }),
      refused('absolute'),
    );
    assert.throws(() => withScopes('dir', { '/': accept }), refused());
    assert.throws(() => withScopes('dir', { '/a/../b': accept }), refused('"/b"'));
    assert.throws(() => withScopes('dir', { '/a/b/': accept }), refused());
    assert.throws(() => withScopes('docker-archive', { '/a': accept }), refused());
    assert.equal(withScopes('dir', { '/a/b': accept, '': accept }).transports.get('dir')?.size, 2);
  });

  it('accepts the docker scopes containers-policy.json(5) documents', () => {
    const scopes = [
      'docker.io/library/busybox:latest',
      'docker.io/library/busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      'docker.io/library/busybox',
      'docker.io/library',
      'docker.io',
      'localhost:5000/ns/repo',
      '*.example.com',
      '*.com',
      '',
    ];
    const policy = withScopes('docker', Object.fromEntries(scopes.map((s) => [s, accept])));
    assert.deepEqual([...(policy.transports.get('docker')?.keys() ?? [])], scopes);
  });

  it('refuses docker scopes a canonical reference never spells so (vouch)', () => {
    for (const scope of [
      'Example.com/app',
      'example.com:05000',
      'registry-1.docker.io/library/x',
    ]) {
      assert.throws(() => withScopes('docker', { [scope]: accept }), refused('canonical'), scope);
    }
    assert.throws(() => withScopes('docker', { '*.Example.com': accept }), refused('wildcard'));
    assert.throws(() => withScopes('docker', { '*.example.com/ns': accept }), refused('wildcard'));
  });
});

describe('parseContainersPolicy: requirement lists (TestPolicyRequirementsUnmarshalJSON, TestNewPolicyRequirementFromJSON)', () => {
  it('refuses unknown or missing types and non-objects', () => {
    for (const value of [
      {},
      { type: 'this is invalid' },
      { type: 1 },
      { type: null },
      1,
      'reject',
      null,
    ]) {
      assert.throws(() => requirement(value), refused(), JSON.stringify(value));
    }
  });

  it('insecureAcceptAnything and reject have exactly "type" (TestPRInsecureAcceptAnythingUnmarshalJSON, TestPRRejectUnmarshalJSON)', () => {
    for (const type of ['insecureAcceptAnything', 'reject']) {
      assert.deepEqual(requirement({ type }), { type });
      assert.throws(() => requirement({ type, unexpected: 1 }), refused('unknown key'));
      assert.throws(() => requirement({ type, TYPE: type }), refused());
      assert.throws(
        () => parseText(`{"default":[{"type":"${type}","type":"${type}"}]}`),
        refused(),
      );
    }
  });
});

describe('parseContainersPolicy: signedBy (TestPRSignedByUnmarshalJSON, TestNewPRSignedBy)', () => {
  const valid = {
    type: 'signedBy',
    keyType: 'GPGKeys',
    keyData: b64('abc'),
    signedIdentity: { type: 'matchRepoDigestOrExact' },
  };

  it('reads each key source', () => {
    assert.deepEqual(requirement(valid), {
      type: 'signedBy',
      keyType: 'GPGKeys',
      keys: { kind: 'data', data: new Uint8Array(Buffer.from('abc')) },
      signedIdentity: { type: 'matchRepoDigestOrExact' },
    });
    const { keyData: _, ...withoutData } = valid;
    assert.deepEqual(
      (requirement({ ...withoutData, keyPath: '/foo/bar' }) as { keys: unknown }).keys,
      { kind: 'path', path: '/foo/bar' },
    );
    assert.deepEqual(
      (requirement({ ...withoutData, keyPaths: ['/1', '/2'] }) as { keys: unknown }).keys,
      { kind: 'paths', paths: ['/1', '/2'] },
    );
    // Go reads "" as empty []byte, not nil: a source (that verifies nothing).
    assert.deepEqual((requirement({ ...withoutData, keyData: '' }) as { keys: unknown }).keys, {
      kind: 'data',
      data: new Uint8Array(0),
    });
  });

  it('defaults signedIdentity to matchRepoDigestOrExact', () => {
    const { signedIdentity: _, ...rest } = valid;
    assert.deepEqual((requirement(rest) as { signedIdentity: unknown }).signedIdentity, {
      type: 'matchRepoDigestOrExact',
    });
  });

  it('accepts every keyType upstream recognizes (TestSBKeyTypeIsValid)', () => {
    for (const keyType of ['GPGKeys', 'signedByGPGKeys', 'X509Certificates', 'signedByX509CAs']) {
      assert.equal((requirement({ ...valid, keyType }) as { keyType: string }).keyType, keyType);
    }
  });

  it('refuses each broken variant', () => {
    assertBreaks(valid, [
      (v) => delete v.type,
      (v) => (v.type = 1),
      (v) => (v.type = 'this is invalid'),
      (v) => (v.unexpected = 1),
      (v) => delete v.keyType,
      (v) => (v.keyType = 'this is invalid'),
      (v) => (v.keyType = 'gpgkeys'),
      (v) => delete v.keyData,
      (v) => {
        v.keyPath = '/foo/bar';
        v.keyPaths = ['/1', '/2'];
      },
      (v) => {
        v.keyPath = '/foo/bar';
        v.keyPaths = ['/1', '/2'];
        delete v.keyData;
      },
      (v) => (v.keyPath = '/foo/bar'),
      (v) => (v.keyPaths = ['/1', '/2']),
      (v) => {
        delete v.keyData;
        v.keyPath = 1;
      },
      (v) => {
        delete v.keyData;
        v.keyPaths = 1;
      },
      (v) => {
        delete v.keyData;
        v.keyPaths = [1];
      },
      (v) => (v.keyData = 1),
      (v) => (v.keyData = 'this is invalid base64'),
      (v) => (v.signedIdentity = 'this is invalid'),
      (v) => (v.signedIdentity = null),
      // Go's zero values: present but no source.
      (v) => {
        delete v.keyData;
        v.keyPath = '';
      },
      (v) => {
        delete v.keyData;
        v.keyPath = null;
      },
      (v) => (v.keyData = null),
      (v) => {
        delete v.keyData;
        v.keyPaths = null;
      },
    ]);
    assertDuplicatesRefused(valid, ['type', 'keyType', 'keyData', 'signedIdentity']);
  });
});

describe('parseContainersPolicy: signedBaseLayer (TestPRSignedBaseLayerUnmarshalJSON)', () => {
  const valid = { type: 'signedBaseLayer', baseLayerIdentity: { type: 'matchRepository' } };
  it('reads it and refuses broken variants', () => {
    assert.deepEqual(requirement(valid), valid);
    assertBreaks(valid, [
      (v) => delete v.baseLayerIdentity,
      (v) => (v.baseLayerIdentity = 1),
      (v) => (v.baseLayerIdentity = { type: 'this is invalid' }),
      (v) => (v.unexpected = 1),
    ]);
  });
});

describe('parseContainersPolicy: sigstoreSigned (TestPRSigstoreSignedUnmarshalJSON, TestNewPRSigstoreSigned)', () => {
  const valid = {
    type: 'sigstoreSigned',
    keyData: b64('abc'),
    rekorPublicKeyData: b64('def'),
    signedIdentity: { type: 'matchRepository' },
  };
  const fulcio = {
    caPath: '/ca',
    oidcIssuer: 'https://github.com/login/oauth',
    subjectEmail: 'a@example.com',
  };
  const pki = { caRootsPath: '/roots', subjectEmail: 'a@example.com' };

  it('reads keys, Fulcio and PKI forms', () => {
    const keyed = requirement(valid);
    assert.deepEqual(keyed, {
      type: 'sigstoreSigned',
      keys: { kind: 'data', data: new Uint8Array(Buffer.from('abc')) },
      rekorPublicKeys: { kind: 'data', data: new Uint8Array(Buffer.from('def')) },
      signedIdentity: { type: 'matchRepository' },
    });
    assert.deepEqual(
      requirement({ type: 'sigstoreSigned', fulcio, rekorPublicKeyPath: '/rekor' }),
      {
        type: 'sigstoreSigned',
        fulcio: {
          ca: { kind: 'path', path: '/ca' },
          oidcIssuer: fulcio.oidcIssuer,
          subjectEmail: fulcio.subjectEmail,
        },
        rekorPublicKeys: { kind: 'path', path: '/rekor' },
        signedIdentity: { type: 'matchRepoDigestOrExact' },
      },
    );
    assert.deepEqual(
      requirement({
        type: 'sigstoreSigned',
        pki: { ...pki, caIntermediatesData: b64('i'), subjectHostname: 'h' },
      }),
      {
        type: 'sigstoreSigned',
        pki: {
          caRoots: { kind: 'path', path: '/roots' },
          caIntermediates: { kind: 'data', data: new Uint8Array(Buffer.from('i')) },
          subjectEmail: 'a@example.com',
          subjectHostname: 'h',
        },
        signedIdentity: { type: 'matchRepoDigestOrExact' },
      },
    );
    assert.deepEqual(
      (requirement({ type: 'sigstoreSigned', keyDatas: [b64('a'), b64('b')] }) as { keys: unknown })
        .keys,
      {
        kind: 'datas',
        datas: [new Uint8Array(Buffer.from('a')), new Uint8Array(Buffer.from('b'))],
      },
    );
    // "" is no path for Go, so with keyData it is still one source.
    assert.equal(requirement({ ...valid, keyPath: '' }).type, 'sigstoreSigned');
  });

  it('refuses each broken variant', () => {
    assertBreaks(valid, [
      (v) => delete v.type,
      (v) => (v.type = 1),
      (v) => (v.type = 'this is invalid'),
      (v) => (v.unexpected = 1),
      (v) => delete v.keyData,
      (v) => (v.keyPath = '/foo/bar'),
      (v) => (v.keyPaths = ['/foo/bar', '/foo/baz']),
      (v) => (v.keyDatas = [b64('abc'), b64('def')]),
      (v) => (v.fulcio = fulcio),
      (v) => (v.pki = pki),
      (v) => {
        delete v.keyData;
        v.keyPath = 1;
      },
      (v) => {
        delete v.keyData;
        v.keyPaths = 1;
      },
      (v) => {
        delete v.keyData;
        v.keyPaths = {};
      },
      (v) => {
        delete v.keyData;
        v.keyPaths = [];
      },
      (v) => {
        delete v.keyData;
        v.keyPaths = null;
      },
      (v) => (v.keyData = 1),
      (v) => (v.keyData = 'this is invalid base64'),
      (v) => {
        delete v.keyData;
        v.keyDatas = 1;
      },
      (v) => {
        delete v.keyData;
        v.keyDatas = {};
      },
      (v) => {
        delete v.keyData;
        v.keyDatas = [];
      },
      (v) => {
        delete v.keyData;
        v.fulcio = 1;
      },
      (v) => {
        delete v.keyData;
        v.fulcio = {};
      },
      (v) => {
        delete v.keyData;
        v.fulcio = null;
      },
      (v) => {
        delete v.keyData;
        v.pki = 1;
      },
      (v) => {
        delete v.keyData;
        v.pki = {};
      },
      (v) => {
        delete v.keyData;
        v.pki = null;
      },
      (v) => (v.rekorPublicKeyPath = '/foo/baz'),
      (v) => (v.rekorPublicKeyPath = 1),
      (v) => (v.rekorPublicKeyPaths = ['/a']),
      (v) => (v.rekorPublicKeyPaths = 1),
      (v) => (v.rekorPublicKeyPaths = {}),
      (v) => (v.rekorPublicKeyPaths = []),
      (v) => (v.rekorPublicKeyData = 1),
      (v) => (v.rekorPublicKeyData = 'this is invalid base64'),
      (v) => (v.rekorPublicKeyDatas = [b64('x')]),
      (v) => (v.rekorPublicKeyDatas = 1),
      (v) => (v.rekorPublicKeyDatas = {}),
      (v) => (v.rekorPublicKeyDatas = []),
      (v) => (v.signedIdentity = 'this is invalid'),
      (v) => (v.signedIdentity = null),
    ]);
    assertDuplicatesRefused(valid, ['type', 'keyData', 'rekorPublicKeyData', 'signedIdentity']);
  });

  it('needs a Rekor key with Fulcio and refuses one with PKI (newPRSigstoreSigned)', () => {
    assert.throws(() => requirement({ type: 'sigstoreSigned', fulcio }), refused('fulcio'));
    assert.throws(
      () => requirement({ type: 'sigstoreSigned', fulcio, rekorPublicKeyPath: '' }),
      refused('fulcio'),
    );
    assert.throws(
      () => requirement({ type: 'sigstoreSigned', pki, rekorPublicKeyPath: '/rekor' }),
      refused('pki'),
    );
  });

  it('refuses broken fulcio objects (TestPRSigstoreSignedFulcioUnmarshalJSON)', () => {
    const breaks: ((v: Json) => void)[] = [
      (v) => (v.unexpected = 1),
      (v) => delete v.caPath,
      (v) => (v.caData = ''),
      (v) => (v.caPath = 1),
      (v) => (v.oidcIssuer = 1),
      (v) => delete v.oidcIssuer,
      (v) => (v.oidcIssuer = null),
      (v) => (v.subjectEmail = 1),
      (v) => delete v.subjectEmail,
      (v) => {
        delete v.caPath;
        v.caData = 1;
      },
      (v) => {
        delete v.caPath;
        v.caData = 'this is invalid base64';
      },
    ];
    for (const mutate of breaks) {
      const copy = structuredClone(fulcio) as Json;
      mutate(copy);
      assert.throws(
        () => requirement({ type: 'sigstoreSigned', fulcio: copy, rekorPublicKeyPath: '/r' }),
        refused(),
        JSON.stringify(copy),
      );
    }
  });

  it('refuses broken pki objects (TestPRSigstoreSignedPKIUnmarshalJSON)', () => {
    const full = {
      ...pki,
      caIntermediatesPath: '/intermediates',
      subjectHostname: 'h.example.com',
    };
    const breaks: ((v: Json) => void)[] = [
      (v) => (v.unexpected = 1),
      (v) => delete v.caRootsPath,
      (v) => (v.caRootsData = ''),
      (v) => (v.caRootsPath = 1),
      (v) => (v.caIntermediatesData = ''),
      (v) => (v.caIntermediatesPath = 1),
      (v) => (v.subjectHostname = 1),
      (v) => (v.subjectEmail = 1),
      (v) => {
        delete v.subjectEmail;
        delete v.subjectHostname;
      },
      (v) => {
        delete v.caRootsPath;
        v.caRootsData = 'this is invalid base64';
      },
    ];
    for (const mutate of breaks) {
      const copy = structuredClone(full) as Json;
      mutate(copy);
      assert.throws(
        () => requirement({ type: 'sigstoreSigned', pki: copy }),
        refused(),
        JSON.stringify(copy),
      );
    }
  });
});

describe('parseContainersPolicy: signedIdentity rules (TestNewPolicyReferenceMatchFromJSON and the TestPRM*UnmarshalJSON tests)', () => {
  const withIdentity = (signedIdentity: unknown) =>
    requirement({ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k', signedIdentity });

  it('reads each rule', () => {
    for (const rule of [
      { type: 'matchExact' },
      { type: 'matchRepoDigestOrExact' },
      { type: 'matchRepository' },
      { type: 'exactReference', dockerReference: 'library/busybox:latest' },
      {
        type: 'exactReference',
        dockerReference:
          'busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      },
      { type: 'exactRepository', dockerRepository: 'library/busybox' },
      { type: 'exactRepository', dockerRepository: 'busybox:notlatest' },
      { type: 'remapIdentity', prefix: 'example.com', signedPrefix: 'docker.io/library' },
    ]) {
      assert.deepEqual((withIdentity(rule) as { signedIdentity: unknown }).signedIdentity, rule);
    }
  });

  it('refuses broken rules', () => {
    for (const rule of [
      {},
      { type: 'this is invalid' },
      { type: 1 },
      { type: 'matchExact', unexpected: 1 },
      { type: 'matchRepository', dockerRepository: 'busybox' },
      { type: 'exactReference' },
      { type: 'exactReference', dockerReference: 1 },
      { type: 'exactReference', dockerReference: 'UPPERCASEISINVALID' },
      { type: 'exactReference', dockerReference: 'busybox' }, // neither tag nor digest
      { type: 'exactRepository' },
      { type: 'exactRepository', dockerRepository: 'UPPERCASEISINVALID' },
      { type: 'remapIdentity', prefix: 'example.com' },
      { type: 'remapIdentity', prefix: 'example.com', signedPrefix: '' },
      { type: 'remapIdentity', prefix: 'example.com/repo:tag', signedPrefix: 'example.com' },
      { type: 'remapIdentity', prefix: 'example.com', signedPrefix: 'docker.io', unexpected: 1 },
    ]) {
      assert.throws(() => withIdentity(rule), refused(), JSON.stringify(rule));
    }
  });

  it('validates remap prefixes (TestValidateIdentityRemappingPrefix)', () => {
    for (const prefix of [
      'localhost',
      'example.com',
      'example.com:80',
      'example.com/repo',
      'example.com/ns1/ns2/ns3/repo.with.dots-dashes_underscores',
      'example.com:80/ns1/ns2/ns3/repo.with.dots-dashes_underscores',
      'shortname',
      'ns/shortname',
      'example.com/a__b--c',
    ]) {
      assert.ok(isIdentityRemappingPrefix(prefix), prefix);
    }
    for (const prefix of [
      '',
      'repo_with_underscores',
      'example.com/',
      'example.com/UPPERCASEISINVALID',
      'example.com/repo/',
      'example.com/repo:tag',
      'example.com/repo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      'example.com/repo:tag@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      'example.com/a___b',
      'example.com/a_-b',
      'example.com/a..b',
      'example.com:/a',
      '-example.com',
    ]) {
      assert.ok(!isIdentityRemappingPrefix(prefix), prefix);
    }
  });
});

describe('parseContainersPolicy: hostile input', () => {
  it('refuses a document over the size cap before parsing it', () => {
    const big = new Uint8Array(MAX_POLICY_BYTES + 1).fill(0x20);
    assert.throws(() => parseContainersPolicy(big), refused('bytes'));
  });

  it('refuses deep nesting without a stack overflow', () => {
    const deep = `{"default":[{"type":"reject"}],"transports":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    assert.throws(() => parseText(deep), refused());
  });

  it('refuses invalid JSON, a BOM, trailing data and invalid UTF-8', () => {
    for (const text of [
      '{',
      '{"default":[{"type":"reject"},]}',
      '\ufeff{"default":[{"type":"reject"}]}',
      '{"default":[{"type":"reject"}]} x',
    ]) {
      assert.throws(() => parseText(text), refused(), text);
    }
    assert.throws(
      () => parseContainersPolicy(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])),
      refused(),
    );
  });

  it('keeps __proto__ and constructor as ordinary transport and scope names', () => {
    const policy = parseText(
      '{"default":[{"type":"reject"}],"transports":{"__proto__":{"":[{"type":"reject"}]},"docker":{"constructor":[{"type":"insecureAcceptAnything"}]}}}',
    );
    assert.ok(policy.transports.has('__proto__'));
    assert.ok(policy.transports.get('docker')?.has('constructor'));
    assert.equal(policy.transports.get('docker')?.get('toString'), undefined);
  });

  it('checks a pathological remap prefix in linear time', () => {
    // With containers/image's grammar as a backtracking regular expression this never ends.
    const prefix = `example.com/${'a'.repeat(900)}!`;
    const start = process.hrtime.bigint();
    assert.ok(!isIdentityRemappingPrefix(prefix));
    assert.ok(process.hrtime.bigint() - start < 100_000_000n);
    assert.throws(
      () =>
        requirement({
          type: 'signedBy',
          keyType: 'GPGKeys',
          keyPath: '/k',
          signedIdentity: {
            type: 'remapIdentity',
            prefix: `example.com/${'a'.repeat(5000)}`,
            signedPrefix: 'x.io',
          },
        }),
      refused('not valid'),
    );
  });
});
