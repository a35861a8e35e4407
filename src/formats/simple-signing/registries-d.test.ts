import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { parseReference } from '../../oci/reference.ts';
import {
  builtinDefaultLookaside,
  lookasideFor,
  mergeRegistriesD,
  parseRegistriesD,
  policyIdentity,
  policyNamespaces,
  type RegistriesDConfig,
  type RegistriesDNamespace,
  topLevelOf,
  usesSigstoreAttachments,
} from './registries-d.ts';

function refused(fragment: string) {
  return (error: unknown): boolean => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, 'REGISTRIES_D_INVALID', error.message);
    assert.equal(error.category, 'invalid');
    assert.ok(error.message.includes(fragment), `"${fragment}" not in: ${error.message}`);
    return true;
  };
}

const ref = (text: string) => parseReference(text);

// containers/image docker/fixtures/registries.d (the fixture TestLoadAndMergeConfig reads).
const INTERNAL_EXAMPLE = `docker:
    example.com:
        lookaside: https://lookaside.example.com
    registry.test.example.com:
        lookaside: http://registry.test.example.com/lookaside
    registry.test.example.com:8888:
        lookaside: http://registry.test.example.com:8889/lookaside
        lookaside-staging: https://registry.test.example.com:8889/lookaside/specialAPIserverWhichDoesNotExist
    localhost:
        lookaside: file:///home/mitr/mydevelopment1
    localhost:8080:
        lookaside: file:///home/mitr/mydevelopment2
    localhost/invalid/url/test:
        lookaside: ":emptyscheme"
    localhost/file/path/test:
        lookaside: "/no/scheme/just/a/path"
    localhost/relative/path/test:
        lookaside: "no/scheme/relative/path"
`;
const INTERNET_USER = `default-docker:
    lookaside: file:///mnt/companywide/signatures/for/other/repositories
docker:
    docker.io/contoso:
        lookaside: https://lookaside.contoso.com/fordocker
    docker.io/centos:
        lookaside: https://lookaside.centos.org/
    docker.io/centos/mybetaproduct:
        lookaside: http://localhost:9999/mybetaWIP/lookaside
        lookaside-staging: file:///srv/mybetaWIP/lookaside
    docker.io/centos/mybetaproduct:latest:
        lookaside: https://lookaside.centos.org/
`;

function fixtureConfig(): RegistriesDConfig {
  return mergeRegistriesD([
    { where: 'emptyConfig.yaml', config: parseRegistriesD('{}', 'emptyConfig.yaml') },
    {
      where: 'internal-example.com.yaml',
      config: parseRegistriesD(INTERNAL_EXAMPLE, 'internal-example.com.yaml'),
    },
    { where: 'internet-user.yaml', config: parseRegistriesD(INTERNET_USER, 'internet-user.yaml') },
  ]);
}

describe('parseRegistriesD and mergeRegistriesD', () => {
  test("upstream TestLoadAndMergeConfig's fully worked example", () => {
    const config = fixtureConfig();
    assert.deepEqual(config.defaultDocker, {
      lookaside: 'file:///mnt/companywide/signatures/for/other/repositories',
    });
    assert.deepEqual(
      Object.fromEntries(config.docker),
      Object.fromEntries<RegistriesDNamespace>([
        ['example.com', { lookaside: 'https://lookaside.example.com' }],
        ['registry.test.example.com', { lookaside: 'http://registry.test.example.com/lookaside' }],
        [
          'registry.test.example.com:8888',
          {
            lookaside: 'http://registry.test.example.com:8889/lookaside',
            lookasideStaging:
              'https://registry.test.example.com:8889/lookaside/specialAPIserverWhichDoesNotExist',
          },
        ],
        ['localhost', { lookaside: 'file:///home/mitr/mydevelopment1' }],
        ['localhost:8080', { lookaside: 'file:///home/mitr/mydevelopment2' }],
        ['localhost/invalid/url/test', { lookaside: ':emptyscheme' }],
        ['localhost/file/path/test', { lookaside: '/no/scheme/just/a/path' }],
        ['localhost/relative/path/test', { lookaside: 'no/scheme/relative/path' }],
        ['docker.io/contoso', { lookaside: 'https://lookaside.contoso.com/fordocker' }],
        ['docker.io/centos', { lookaside: 'https://lookaside.centos.org/' }],
        [
          'docker.io/centos/mybetaproduct',
          {
            lookaside: 'http://localhost:9999/mybetaWIP/lookaside',
            lookasideStaging: 'file:///srv/mybetaWIP/lookaside',
          },
        ],
        ['docker.io/centos/mybetaproduct:latest', { lookaside: 'https://lookaside.centos.org/' }],
      ]),
    );
  });

  test('upstream: invalid YAML is refused', () => {
    assert.throws(() => parseRegistriesD('}', '0.yaml'), refused('0.yaml (line 1, column 1)'));
  });

  test('upstream: "default-docker" in two files is refused, naming both', () => {
    const files = ['0.yaml', '1.yaml'].map((where, i) => ({
      where,
      config: parseRegistriesD(`default-docker:\n lookaside: file:////tmp/x${i}`, where),
    }));
    assert.throws(
      () => mergeRegistriesD(files),
      refused('"default-docker" defined both in 0.yaml and 1.yaml'),
    );
  });

  test('upstream: one "docker" namespace in two files is refused, naming both', () => {
    const files = ['0.yaml', '1.yaml'].map((where, i) => ({
      where,
      config: parseRegistriesD(`docker:\n example.com:\n  lookaside: file:////tmp/x${i}`, where),
    }));
    assert.throws(
      () => mergeRegistriesD(files),
      refused('"docker" namespace "example.com" defined both in 0.yaml and 1.yaml'),
    );
  });

  test('an empty file, a comment and a null document configure nothing', () => {
    for (const text of ['', '# nothing\n', '~\n', '{}']) {
      const config = parseRegistriesD(text, 'x.yaml');
      assert.equal(config.defaultDocker, undefined);
      assert.equal(config.docker.size, 0);
    }
  });

  test('a null default-docker is no default, so it conflicts with nothing; {} is one', () => {
    const nullDefault = parseRegistriesD('default-docker:\n', 'a.yaml');
    assert.equal(nullDefault.defaultDocker, undefined);
    const empty = parseRegistriesD('default-docker: {}\n', 'b.yaml');
    assert.deepEqual(empty.defaultDocker, {});
    const other = parseRegistriesD('default-docker: {lookaside: file:///x}\n', 'c.yaml');
    mergeRegistriesD([
      { where: 'a.yaml', config: nullDefault },
      { where: 'c.yaml', config: other },
    ]);
    assert.throws(
      () =>
        mergeRegistriesD([
          { where: 'b.yaml', config: empty },
          { where: 'c.yaml', config: other },
        ]),
      refused('b.yaml and c.yaml'),
    );
  });

  test('a docker entry with a null value is an entry with nothing configured', () => {
    const config = parseRegistriesD('docker:\n  example.com:\n', 'x.yaml');
    assert.deepEqual(config.docker.get('example.com'), {});
  });

  test('unknown keys are ignored at every level, as yaml.v3 ignores them', () => {
    const config = parseRegistriesD(
      'future: [1, 2]\ndocker:\n  example.com:\n    lookaside: https://l\n    colour: {a: b}\n',
      'x.yaml',
    );
    assert.deepEqual(config.docker.get('example.com'), { lookaside: 'https://l' });
  });

  test('any scalar is its text in a string field; null and "" are unset', () => {
    const config = parseRegistriesD(
      'docker:\n  a: {lookaside: 123}\n  b: {lookaside: true}\n  c: {lookaside: ~}\n  d: {lookaside: ""}\n  e: {lookaside: !!str 0x10}\n',
      'x.yaml',
    );
    assert.deepEqual(config.docker.get('a'), { lookaside: '123' });
    assert.deepEqual(config.docker.get('b'), { lookaside: 'true' });
    assert.deepEqual(config.docker.get('c'), {});
    assert.deepEqual(config.docker.get('d'), {});
    assert.deepEqual(config.docker.get('e'), { lookaside: '0x10' });
  });

  test('use-sigstore-attachments: yaml.v3 booleans, and YAML 1.1 forms in any style', () => {
    const read = (value: string) =>
      parseRegistriesD(`default-docker: {use-sigstore-attachments: ${value}}`, 'x.yaml')
        .defaultDocker?.useSigstoreAttachments;
    for (const yes of ['true', 'True', 'TRUE', 'yes', 'on', 'Y', '"yes"', "'On'"]) {
      assert.equal(read(yes), true, yes);
    }
    for (const no of ['false', 'FALSE', 'no', 'off', 'N', '"no"'])
      assert.equal(read(no), false, no);
    assert.equal(read('~'), undefined);
    // yaml.v3 refuses these into a bool: a quoted "true" is a string, 1 an int.
    for (const bad of ['"true"', '1', 'maybe', '[true]', '!!str true']) {
      assert.throws(() => read(bad), refused('must be true or false'), bad);
    }
  });

  test('wrong kinds where a field is are refused, with the line', () => {
    assert.throws(
      () => parseRegistriesD('docker:\n  example.com:\n    lookaside: [a]\n', 'x.yaml'),
      refused('x.yaml (line 3, column 16): docker "example.com" lookaside must be a string'),
    );
    assert.throws(
      () => parseRegistriesD('docker: [a]\n', 'x.yaml'),
      refused('"docker" must be a mapping'),
    );
    assert.throws(
      () => parseRegistriesD('default-docker: x\n', 'x.yaml'),
      refused('must be a mapping'),
    );
    assert.throws(
      () => parseRegistriesD('- a\n', 'x.yaml'),
      refused('the document must be a mapping'),
    );
    assert.throws(
      () => parseRegistriesD('just text\n', 'x.yaml'),
      refused('the document must be a mapping'),
    );
  });

  test('duplicate keys in one mapping are refused, quoted or not (yaml.v3 compares the text)', () => {
    assert.throws(
      () => parseRegistriesD('docker:\n  a: {}\n  "a": {}\n', 'x.yaml'),
      refused('x.yaml (line 3, column 3)'),
    );
    assert.throws(
      () => parseRegistriesD('default-docker: {lookaside: x, lookaside: y}\n', 'x.yaml'),
      refused('x.yaml'),
    );
  });

  test('anchors, aliases, merge keys, other tags and second documents are refused', () => {
    for (const [text, fragment] of [
      ['docker:\n  a: &x {lookaside: u}\n  b: *x\n', 'anchors are not supported'],
      ['docker:\n  a: {<<: {lookaside: u}}\n', 'merge keys (<<) are not supported'],
      ['docker:\n  a: {lookaside: !!binary aGVsbG8=}\n', 'tag tag:yaml.org,2002:binary'],
      ['docker:\n  a: {lookaside: !custom x}\n', 'tag !custom'],
      ['docker: {}\n---\ndocker: {}\n', 'multiple documents'],
    ] as const) {
      assert.throws(() => parseRegistriesD(text, 'x.yaml'), refused(fragment), text);
    }
  });

  test('deep nesting and oversized files are refused without parsing them', () => {
    assert.throws(
      () => parseRegistriesD(`docker: ${'['.repeat(5000)}${']'.repeat(5000)}`, 'x.yaml'),
      refused('nested deeper than 256 levels'),
    );
    assert.throws(
      () => parseRegistriesD(`# ${'x'.repeat(1024 * 1024)}`, 'x.yaml'),
      refused('larger than'),
    );
  });

  test('a null key is skipped with its value, as yaml.v3 skips it', () => {
    const config = parseRegistriesD('docker:\n  ~: [not, a, namespace]\n  a: {}\n', 'x.yaml');
    assert.deepEqual([...config.docker.keys()], ['a']);
  });
});

describe('scopes (policyconfiguration naming_test.go TestDockerReference)', () => {
  test('identity and namespaces, wildcards from the host without its port', () => {
    const cases: [string, string[]][] = [
      ['example.com/ns/repo', ['example.com/ns/repo', 'example.com/ns', 'example.com', '*.com']],
      ['example.com/repo', ['example.com/repo', 'example.com', '*.com']],
      ['localhost/ns/repo', ['localhost/ns/repo', 'localhost/ns', 'localhost']],
      ['localhost/repo', ['localhost/repo', 'localhost']],
      [
        'notlocalhost/repo',
        ['docker.io/notlocalhost/repo', 'docker.io/notlocalhost', 'docker.io', '*.io'],
      ],
      ['docker.io/repo', ['docker.io/library/repo', 'docker.io/library', 'docker.io', '*.io']],
      ['repo', ['docker.io/library/repo', 'docker.io/library', 'docker.io', '*.io']],
      [
        'yet.another.example.com:8443/ns/repo',
        [
          'yet.another.example.com:8443/ns/repo',
          'yet.another.example.com:8443/ns',
          'yet.another.example.com:8443',
          '*.another.example.com',
          '*.example.com',
          '*.com',
        ],
      ],
    ];
    for (const [input, namespaces] of cases) {
      assert.deepEqual(policyNamespaces(ref(`${input}:notlatest`)), namespaces, input);
      assert.equal(policyIdentity(ref(`${input}:notlatest`)), `${namespaces[0]}:notlatest`, input);
    }
    const digest = `sha256:${'ab'.repeat(32)}`;
    assert.equal(policyIdentity(ref(`example.com/repo@${digest}`)), `example.com/repo@${digest}`);
    assert.equal(policyIdentity(ref(`example.com/repo:t@${digest}`)), `example.com/repo@${digest}`);
    assert.equal(policyIdentity(ref('example.com/repo')), 'example.com/repo:latest');
  });
});

describe('lookasideFor (registries_d.go signatureTopLevel)', () => {
  const BUILTIN = 'file:///builtin';

  test('upstream TestRegistryConfigurationSignatureTopLevel', () => {
    const docker = new Map<string, RegistriesDNamespace>();
    for (const ns of [
      'localhost',
      'localhost:5000',
      'example.com',
      'example.com/ns1',
      'example.com/ns1/ns2',
      'example.com/ns1/ns2/repo',
      'example.com/ns1/ns2/repo:notlatest',
    ]) {
      docker.set(ns, { lookaside: ns, lookasideStaging: `${ns}+w` });
    }
    const config: RegistriesDConfig = {
      defaultDocker: { lookaside: '=default', lookasideStaging: '=default+w' },
      docker,
    };
    for (const [input, expected] of [
      ['example.com/ns1/ns2/repo:notlatest', 'example.com/ns1/ns2/repo:notlatest'],
      ['example.com/ns1/ns2/repo:unmatched', 'example.com/ns1/ns2/repo'],
      ['example.com/ns1/ns2/notrepo:notlatest', 'example.com/ns1/ns2'],
      ['example.com/ns1/notns2/repo:notlatest', 'example.com/ns1'],
      ['example.com/notns1/ns2/repo:notlatest', 'example.com'],
      ['unknown.example.com/busybox', '=default'],
      ['localhost:5000/busybox', 'localhost:5000'],
      ['localhost/busybox', 'localhost'],
      ['localhost:9999/busybox', '=default'],
    ] as const) {
      const read = lookasideFor(config, ref(input), { write: false, builtinDefault: BUILTIN });
      assert.equal(read.topLevel, expected, input);
      const write = lookasideFor(config, ref(input), { write: true, builtinDefault: BUILTIN });
      assert.equal(write.topLevel, `${expected}+w`, input);
    }
    const unmatched: RegistriesDConfig = {
      docker: new Map([['unmatched', { lookaside: 'a', lookasideStaging: 'b' }]]),
    };
    for (const write of [false, true]) {
      const location = lookasideFor(unmatched, ref('thisisnotmatched'), {
        write,
        builtinDefault: BUILTIN,
      });
      assert.deepEqual(location, { topLevel: BUILTIN, source: { kind: 'built-in' } });
    }
  });

  test('upstream TestRegistryNamespaceSignatureTopLevel', () => {
    const cases: [RegistriesDNamespace, boolean, string | undefined][] = [
      [{ lookasideStaging: 'a', lookaside: 'b' }, true, 'a'],
      [{ lookasideStaging: 'a', lookaside: 'b' }, false, 'b'],
      [{ lookaside: 'b' }, true, 'b'],
      [{ lookaside: 'b' }, false, 'b'],
      [{ lookasideStaging: 'a' }, true, 'a'],
      [{ lookasideStaging: 'a' }, false, undefined],
      [{}, true, undefined],
      [{}, false, undefined],
      [{ lookasideStaging: 'a', lookaside: 'b', sigstoreStaging: 'c', sigstore: 'd' }, true, 'a'],
      [{ lookaside: 'b', sigstoreStaging: 'c', sigstore: 'd' }, true, 'c'],
      [{ lookaside: 'b', sigstore: 'd' }, true, 'b'],
      [{ sigstore: 'd' }, true, 'd'],
      [{ lookasideStaging: 'a', lookaside: 'b', sigstoreStaging: 'c', sigstore: 'd' }, false, 'b'],
      [{ lookaside: 'b', sigstoreStaging: 'c', sigstore: 'd' }, false, 'b'],
      [{ lookaside: 'b', sigstore: 'd' }, false, 'b'],
      [{ sigstore: 'd' }, false, 'd'],
    ];
    for (const [entry, write, expected] of cases) {
      assert.equal(topLevelOf(entry, write)?.url, expected, `${JSON.stringify(entry)} ${write}`);
    }
  });

  test('an entry with no URL for the purpose passes the choice on; the source is reported', () => {
    const config: RegistriesDConfig = {
      defaultDocker: { sigstore: 'https://default' },
      docker: new Map<string, RegistriesDNamespace>([
        ['example.com/repo', { useSigstoreAttachments: true }],
        ['*.com', { lookaside: 'https://wild' }],
      ]),
    };
    assert.deepEqual(
      lookasideFor(config, ref('example.com/repo:t'), { write: false, builtinDefault: BUILTIN }),
      {
        topLevel: 'https://wild',
        source: { kind: 'docker', scope: '*.com', key: 'lookaside' },
      },
    );
    assert.deepEqual(
      lookasideFor(config, ref('example.org/repo:t'), { write: true, builtinDefault: BUILTIN }),
      {
        topLevel: 'https://default',
        source: { kind: 'default-docker', key: 'sigstore' },
      },
    );
  });

  test('use-sigstore-attachments: the most specific entry that sets it, else default-docker, else false', () => {
    const config: RegistriesDConfig = {
      defaultDocker: { useSigstoreAttachments: true },
      docker: new Map<string, RegistriesDNamespace>([
        ['example.com/ns', { useSigstoreAttachments: false }],
        ['example.com/ns/repo', { lookaside: 'x' }],
      ]),
    };
    assert.equal(usesSigstoreAttachments(config, ref('example.com/ns/repo:t')), false);
    assert.equal(usesSigstoreAttachments(config, ref('example.com/other:t')), true);
    assert.equal(usesSigstoreAttachments({ docker: new Map() }, ref('example.com/other:t')), false);
  });

  test('upstream TestBuiltinDefaultLookasideStorageDir', () => {
    assert.equal(
      builtinDefaultLookaside({ root: true, home: '/root' }),
      'file:///var/lib/containers/sigstore',
    );
    assert.equal(
      builtinDefaultLookaside({ root: false, home: '/home/u' }),
      'file:///home/u/.local/share/containers/sigstore',
    );
    assert.equal(
      builtinDefaultLookaside({ root: false, home: '/home/a b#c' }),
      'file:///home/a%20b%23c/.local/share/containers/sigstore',
    );
  });
});
