import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isVouchError } from '../core/errors.ts';
import { type Digest, parseDigest } from './digest.ts';
import {
  canonicalRegistry,
  familiarReference,
  formatReference,
  type ImageReference,
  isLoopbackRegistry,
  parseReference,
  repositoryName,
  withDefaultTag,
} from './reference.ts';

const SHA256 = `sha256:${'f'.repeat(64)}`;
const SHA512 = `sha512:${'f'.repeat(128)}`;
const BUSYBOX_DIGEST = 'sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa';
const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

function ref(registry: string, repository: string, tag?: string, digest?: string): ImageReference {
  return {
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest: parseDigest(digest) }),
  };
}

/** Asserts an INVALID_REFERENCE error whose message holds `fragment` (and the position, if given). */
function assertInvalid(input: string, fragment: string, position?: number): void {
  assert.throws(
    () => parseReference(input),
    (error: unknown) => {
      assert.ok(isVouchError(error), `expected a VouchError for ${JSON.stringify(input)}`);
      assert.equal(error.code, 'INVALID_REFERENCE');
      assert.equal(error.category, 'invalid');
      assert.ok(
        error.message.includes(fragment),
        `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(fragment)}`,
      );
      if (position !== undefined) {
        assert.ok(
          error.message.endsWith(`(at character ${position})`),
          `message ${JSON.stringify(error.message)} does not point at character ${position}`,
        );
      }
      return true;
    },
  );
}

describe('parseReference: upstream examples that parse', () => {
  // normalize_test.go TestValidateReferenceName, TestParseRepositoryInfo,
  // TestNormalizedSplitHostname; reference_test.go TestReferenceParse (normalised).
  const cases: [string, ImageReference][] = [
    ['docker/docker', ref('docker.io', 'docker/docker')],
    ['library/debian', ref('docker.io', 'library/debian')],
    ['debian', ref('docker.io', 'library/debian')],
    ['localhost/library/debian', ref('localhost', 'library/debian')],
    ['localhost/debian', ref('localhost', 'debian')],
    ['docker.io/docker/docker', ref('docker.io', 'docker/docker')],
    ['docker.io/library/debian', ref('docker.io', 'library/debian')],
    ['docker.io/debian', ref('docker.io', 'library/debian')],
    ['index.docker.io/docker/docker', ref('docker.io', 'docker/docker')],
    ['index.docker.io/library/debian', ref('docker.io', 'library/debian')],
    ['index.docker.io/debian', ref('docker.io', 'library/debian')],
    ['127.0.0.1:5000/docker/docker', ref('127.0.0.1:5000', 'docker/docker')],
    ['127.0.0.1:5000/debian', ref('127.0.0.1:5000', 'debian')],
    ['192.168.0.1', ref('docker.io', 'library/192.168.0.1')],
    ['192.168.0.1:80', ref('docker.io', 'library/192.168.0.1', '80')],
    ['192.168.0.1:8/debian', ref('192.168.0.1:8', 'debian')],
    ['192.168.1.1:5000/repo:5050', ref('192.168.1.1:5000', 'repo', '5050')],
    [
      'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
      ref('docker.io', 'library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev'),
    ],
    [`docker.io/${HEX64}`, ref('docker.io', `library/${HEX64}`)],
    [`${HEX64}:latest`, ref('docker.io', `library/${HEX64}`, 'latest')],
    ['[fc00::1]:5000/docker', ref('[fc00::1]:5000', 'docker')],
    [
      '[fc00:1:2:3:4:5:6:7]:5000/library/debian',
      ref('[fc00:1:2:3:4:5:6:7]:5000', 'library/debian'),
    ],
    ['[2001:db8::1]/repo', ref('[2001:db8::1]', 'repo')],
    ['[2001:db8::]:5000/repo', ref('[2001:db8::]:5000', 'repo')],
    ['[::1]:5000/repo', ref('[::1]:5000', 'repo')],
    [`[2001:db8::1]:5000/repo:tag@${SHA256}`, ref('[2001:db8::1]:5000', 'repo', 'tag', SHA256)],
    ['docker-rules/docker', ref('docker.io', 'docker-rules/docker')],
    ['docker---rules/docker', ref('docker.io', 'docker---rules/docker')],
    ['d/docker', ref('docker.io', 'd/docker')],
    ['jess/t', ref('docker.io', 'jess/t')],
    ['dock__er/docker', ref('docker.io', 'dock__er/docker')],
    ['test_com', ref('docker.io', 'library/test_com')],
    ['test_com/foo', ref('docker.io', 'test_com/foo')],
    ['test.com:tag', ref('docker.io', 'library/test.com', 'tag')],
    ['test.com:5000', ref('docker.io', 'library/test.com', '5000')],
    ['test.com/repo:tag', ref('test.com', 'repo', 'tag')],
    ['test:5000/repo', ref('test:5000', 'repo')],
    [`test:5000/repo@${SHA256}`, ref('test:5000', 'repo', undefined, SHA256)],
    [`test:5000/repo:tag@${SHA256}`, ref('test:5000', 'repo', 'tag', SHA256)],
    ['test-com:8080/foo', ref('test-com:8080', 'foo')],
    ['xn--n3h.com:18080/foo', ref('xn--n3h.com:18080', 'foo')],
    ['lowercase:Uppercase', ref('docker.io', 'library/lowercase', 'Uppercase')],
    [
      'sub-dom1.foo.com/bar/baz/quux:some-long-tag',
      ref('sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag'),
    ],
    [
      'b.gcr.io/test.example.com/my-app:test.example.com',
      ref('b.gcr.io', 'test.example.com/my-app', 'test.example.com'),
    ],
    [
      `xn--7o8h.com/myimage:xn--7o8h.com@${SHA256}`,
      ref('xn--7o8h.com', 'myimage', 'xn--7o8h.com', SHA256),
    ],
    ['foo_bar.com:8080', ref('docker.io', 'library/foo_bar.com', '8080')],
    ['foo/foo_bar.com:8080', ref('docker.io', 'foo/foo_bar.com', '8080')],
    [
      `busybox:latest@${BUSYBOX_DIGEST}`,
      ref('docker.io', 'library/busybox', 'latest', BUSYBOX_DIGEST),
    ],
    [`validname@${SHA512}`, ref('docker.io', 'library/validname', undefined, SHA512)],
    ['ghcr.io/x/y', ref('ghcr.io', 'x/y')],
    [`example.com/${'a'.repeat(255)}:tag`, ref('example.com', 'a'.repeat(255), 'tag')],
    [
      `${'a/'.repeat(127)}a:tag-puts-this-over-max`,
      ref('docker.io', `${'a/'.repeat(127)}a`, 'tag-puts-this-over-max'),
    ],
    [`ubuntu:${'t'.repeat(128)}`, ref('docker.io', 'library/ubuntu', 't'.repeat(128))],
  ];
  for (const [input, expected] of cases) {
    test(input.length > 80 ? `${input.slice(0, 77)}...` : input, () => {
      const parsed = parseReference(input);
      assert.deepEqual(parsed, expected);
      assert.deepEqual(parseReference(formatReference(parsed)), parsed);
    });
  }

  test('a bare name has no tag', () => {
    const parsed = parseReference('ubuntu');
    assert.equal('tag' in parsed, false);
    assert.equal('digest' in parsed, false);
  });
});

describe('parseReference: upstream examples that fail', () => {
  // [input, message fragment, 1-based position or undefined]
  const cases: [string, string, number | undefined][] = [
    ['', 'reference is empty', undefined],
    ['https://github.com/docker/docker', 'registry port is empty', 6],
    ['docker/Docker', 'repository name must be lowercase', 8],
    ['docker.io/docker/Docker', 'repository name must be lowercase', 18],
    ['Uppercase:tag', 'repository name must be lowercase', 1],
    ['test:5000/Uppercase/lowercase:tag', 'repository name must be lowercase', 11],
    ['docker.io/Foo', 'repository name must be lowercase', 11],
    ['-docker', 'must start with a lowercase letter or digit', 1],
    ['-docker/docker', 'must start with a lowercase letter or digit', 1],
    ['-docker.io/docker/docker', 'registry host label must not start with "-"', 1],
    ['docker-/docker', 'must end with a lowercase letter or digit', 7],
    ['-docker-/docker', 'must start with a lowercase letter or digit', 1],
    ['____/____', 'must start with a lowercase letter or digit', 1],
    ['_docker/_docker', 'must start with a lowercase letter or digit', 1],
    ['dock..er/docker', 'registry host has an empty label', 6],
    ['dock_.er/docker', 'invalid character "_" in registry host', 5],
    ['dock-.er/docker', 'registry host label must not end with "-"', 5],
    ['docker/dock..er', 'invalid separator ".."', 13],
    ['docker/dock_.er', 'invalid separator "_."', 13],
    ['docker/dock-.er', 'invalid separator "-."', 13],
    ['docker/a___b', 'invalid separator "___"', 11],
    ['docker///docker', 'must not contain "//"', 8],
    ['docker.io/docker///docker', 'must not contain "//"', 18],
    ['ghcr.io//x', 'must not contain "//"', 9],
    ['docker/', 'must not end with "/"', 7],
    ['ghcr.io/x/', 'must not end with "/"', 10],
    ['docker.io/', 'must not end with "/"', 10],
    ['/foo', 'must not start with "/"', 1],
    ['[fc00::1]', 'invalid character "[" in repository name', 1],
    ['[fc00::1]:5000', 'invalid character "[" in repository name', 1],
    ['[2001:db8::1]:tag', 'invalid character "[" in repository name', 1],
    ['fc00::1:5000/debian', 'invalid character ":" in registry port', 6],
    ['[fe80::1%eth0]:5000/debian', 'invalid character "%" in IPv6 address', 9],
    ['[2001:db8:3:4::192.0.2.33]:5000/debian', 'invalid character "." in IPv6 address', 19],
    ['[::1:5000/x', 'IPv6 address has no closing "]"', 1],
    ['[]:5000/x', 'IPv6 address is empty', 2],
    ['[::1]5000/x', 'expected ":" or "/" after IPv6 address', 6],
    ['localhost:/x', 'registry port is empty', 10],
    ['localhost:50a0/x', 'invalid character "a" in registry port', 13],
    [HEX64, 'could be an image ID', undefined],
    [':justtag', 'missing repository name before ":"', 1],
    [`@${SHA256}`, 'missing repository name before "@"', 1],
    ['aa/asdf$$^/aa', 'invalid character "$" in repository name', 8],
    ['foo bar', 'invalid character " " in repository name', 4],
    ['foo\nbar', 'invalid character "\\n" in repository name', 4],
    ['caf\u00e9/x', 'invalid character "\\u00e9" in repository name', 4],
    ['x/\u{1f433}', 'invalid character "\\ud83d\\udc33" in repository name', 3],
    ['foo_bar.com/x', 'invalid character "_" in registry host', 4],
    ['a:b:c', 'tag "b:c" contains invalid character ":"', 4],
    ['foo:', 'tag is empty', 4],
    ['foo:-bar', 'must start with a letter, digit or "_"', 5],
    ['foo:.bar', 'must start with a letter, digit or "_"', 5],
    ['foo:bar$', 'contains invalid character "$"', 8],
    [`foo:${'t'.repeat(129)}`, 'tag exceeds 128 characters', 133],
    ['foo:tag/bar', 'invalid character "t" in registry port', 5],
    ['foo@', 'digest is empty', 4],
    ['foo:tag@', 'digest is empty', 8],
    ['foo@sha256', 'expected "algorithm:hex"', 5],
    [`repo@sha256:${'f'.repeat(34)}`, 'sha256 needs 64 hex characters, found 34', undefined],
    [`repo@sha256:${'f'.repeat(65)}`, 'sha256 needs 64 hex characters, found 65', 77],
    [`repo@sha512:${'f'.repeat(64)}`, 'sha512 needs 128 hex characters, found 64', undefined],
    [`repo@sha256:${'F'.repeat(64)}`, 'hex must be lowercase', 13],
    [`repo@sha256:${'f'.repeat(63)}g`, 'invalid character "g"', 76],
    [`repo@${SHA256}@${SHA256}`, 'invalid character "@"', 77],
    [`validname@invaliddigest:${'f'.repeat(64)}`, 'unsupported algorithm "invaliddigest"', 11],
    [`validname@SHA256:${'f'.repeat(64)}`, 'unsupported algorithm "SHA256"', 11],
    // Upstream's case, normalised: 'domain' is no registry, so the path is 263 long.
    [`domain/${'a'.repeat(256)}:tag`, 'repository name exceeds 255 characters (has 263)', 256],
    [`example.com/${'a'.repeat(256)}`, 'repository name exceeds 255 characters (has 256)', 268],
    [`${'a'.repeat(248)}`, 'repository name exceeds 255 characters (has 256)', 248],
    [
      `${'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_'.repeat(4)}x/docker`,
      'repository name exceeds 255 characters',
      256,
    ],
  ];
  for (const [input, fragment, position] of cases) {
    test(JSON.stringify(input.length > 80 ? `${input.slice(0, 77)}...` : input), () => {
      assertInvalid(input, fragment, position);
    });
  }

  test('messages quote the input, escaped and truncated', () => {
    assert.throws(() => parseReference('Foo'), {
      message: 'invalid reference "Foo": repository name must be lowercase (at character 1)',
    });
    assert.throws(
      () => parseReference(`${'a'.repeat(1000)}$`),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.ok(error.message.length < 400);
        assert.ok(error.message.includes('(at character 1001)'));
        return true;
      },
    );
  });
});

describe('parseReference: registry names are canonical', () => {
  // Spellings that reach the same registry parse to one name, so that a policy
  // rule, a cache key or a notary GUN cannot tell them apart.
  const cases: [string, ImageReference][] = [
    // Host names are case-insensitive (RFC 4343); URL parsers lower-case them.
    ['GHCR.IO/acme/app:1', ref('ghcr.io', 'acme/app', '1')],
    ['Ghcr.Io/acme/app', ref('ghcr.io', 'acme/app')],
    ['LOCALHOST:5000/app:b', ref('localhost:5000', 'app', 'b')],
    ['LOCALHOST/app', ref('localhost', 'app')],
    ['XN--N3H.COM:18080/foo', ref('xn--n3h.com:18080', 'foo')],
    // Docker Hub's other host names.
    ['DOCKER.IO/nginx', ref('docker.io', 'library/nginx')],
    ['Index.Docker.IO/nginx', ref('docker.io', 'library/nginx')],
    ['registry-1.docker.io/nginx', ref('docker.io', 'library/nginx')],
    ['registry-1.docker.io/library/nginx:1', ref('docker.io', 'library/nginx', '1')],
    ['registry-1.docker.io/acme/app', ref('docker.io', 'acme/app')],
    ['registry.hub.docker.com/library/nginx', ref('docker.io', 'library/nginx')],
    ['registry.docker.io/acme/app', ref('docker.io', 'acme/app')],
    // A port is a number: leading zeros say nothing.
    ['localhost:05000/app', ref('localhost:5000', 'app')],
    ['127.0.0.1:0000000005000/app', ref('127.0.0.1:5000', 'app')],
    // IPv6 addresses in RFC 5952's form, as the WHATWG URL serialiser writes them.
    ['[0:0:0:0:0:0:0:1]:5000/x', ref('[::1]:5000', 'x')],
    ['[0000::0001]/x', ref('[::1]', 'x')],
    ['[FE80::1]:5000/x', ref('[fe80::1]:5000', 'x')],
    ['[0001::0ABC]/x', ref('[1::abc]', 'x')],
    ['[1:0:0:1:0:0:0:1]/x', ref('[1:0:0:1::1]', 'x')],
    ['[1:0:0:1:0:0:1:1]/x', ref('[1::1:0:0:1:1]', 'x')],
    ['[1:2:3:4:5:6:0:8]/x', ref('[1:2:3:4:5:6:0:8]', 'x')],
    ['[1:2:3:4:5:6:7::]/x', ref('[1:2:3:4:5:6:7:0]', 'x')],
    ['[::0:0]/x', ref('[::]', 'x')],
    ['[::ffff:7f00:1]:5000/x', ref('[::ffff:7f00:1]:5000', 'x')],
    // Edge values that stay.
    ['localhost:1/x', ref('localhost:1', 'x')],
    ['localhost:65535/x', ref('localhost:65535', 'x')],
    ['localhost:8080/x', ref('localhost:8080', 'x')],
    ['255.255.255.255:5000/x', ref('255.255.255.255:5000', 'x')],
    ['0.0.0.0:5000/x', ref('0.0.0.0:5000', 'x')],
    ['1.foo/x', ref('1.foo', 'x')],
    ['123.example.com/x', ref('123.example.com', 'x')],
    ['0x1.example/x', ref('0x1.example', 'x')],
  ];
  for (const [input, expected] of cases) {
    test(input, () => {
      const parsed = parseReference(input);
      assert.deepEqual(parsed, expected);
      assert.deepEqual(parseReference(formatReference(parsed)), parsed);
      assert.deepEqual(parseReference(familiarReference(parsed)), parsed);
    });
  }
});

describe('parseReference: hosts that end in a number, scanned in place', () => {
  /** The message for a numeric host as splitting at dots and regular expressions read it. */
  function splitOracle(host: string): string | undefined {
    const parts = host.split('.');
    if (!/^(?:[0-9]+|0[xX][0-9a-fA-F]*)$/.test(parts.at(-1) ?? '')) return undefined;
    if (parts.length !== 4) return `registry host "${host}" ends in a number`;
    for (const part of parts) {
      const address = `IPv4 address "${host}"`;
      if (!/^[0-9]+$/.test(part)) return `${address} has a part that is not a decimal number`;
      if (part.length > 1 && part.startsWith('0'))
        return `${address} has a number with a leading zero`;
      if (Number(part) > 255) return `${address} has a number above 255 ("${part}")`;
    }
    return undefined;
  }

  test('refuses exactly what splitting the host at its dots refused, with the same message', () => {
    const label = fc.stringMatching(/^(?:[0-9]{1,4}|0x[0-9a-f]{0,2}|[a-f0-9]{1,3}|00|0)$/);
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 6 }), (labels) => {
        const host = labels.join('.');
        const expected = splitOracle(host);
        let message: string | undefined;
        try {
          parseReference(`${host}:5000/x`);
        } catch (error) {
          message = (error as Error).message;
        }
        if (expected === undefined) assert.equal(message, undefined, host);
        else assert.ok(message?.includes(expected), `${host}: ${message} should say ${expected}`);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parseReference: registry hosts refused beyond upstream', () => {
  // The Distribution grammar takes any run of digits as a port, and any
  // labels as a domain name. A registry client then needs a URL: Node's
  // (WHATWG) parser refuses ports above 65535 and malformed IPv6 addresses,
  // and reads a host whose last label is a number as an IPv4 address
  // (refusing it when it is not one, rewriting 127.1 as 127.0.0.1). vouch
  // refuses all of these when parsing: what it decides on must be what it
  // connects to.
  const cases: [string, string, number][] = [
    ['127.0.0.1:99999/app:a', 'registry port 99999 is out of range (1-65535)', 11],
    ['localhost:0/x', 'registry port 0 is out of range (1-65535)', 11],
    ['localhost:65536/x', 'registry port 65536 is out of range (1-65535)', 11],
    [`localhost:${'9'.repeat(30)}/x`, 'is out of range (1-65535)', 11],
    ['999.999.999.999:5000/x', 'IPv4 address "999.999.999.999" has a number above 255 ("999")', 1],
    ['1.2.3.256/x', 'IPv4 address "1.2.3.256" has a number above 255 ("256")', 7],
    ['010.0.0.1/x', 'IPv4 address "010.0.0.1" has a number with a leading zero ("010")', 1],
    ['0x7f.0.0.1/x', 'IPv4 address "0x7f.0.0.1" has a part that is not a decimal number', 1],
    ['127.1/x', 'registry host "127.1" ends in a number', 1],
    ['1.2.3.4.5:5000/x', 'registry host "1.2.3.4.5" ends in a number', 1],
    ['123:5000/x', 'registry host "123" ends in a number', 1],
    ['foo.123/x', 'registry host "foo.123" ends in a number', 1],
    ['foo.0x1f/x', 'registry host "foo.0x1f" ends in a number', 1],
    ['foo.0X/x', 'registry host "foo.0X" ends in a number', 1],
    [
      '[1:2:3:4:5:6:7:8:9]:5000/x',
      'IPv6 address "1:2:3:4:5:6:7:8:9" has 9 groups; an IPv6 address has 8',
      2,
    ],
    ['[1:2:3:4:5:6:7]/x', 'IPv6 address "1:2:3:4:5:6:7" has 7 groups; an IPv6 address has 8', 2],
    ['[1:2:3:4:5:6:7:8::]/x', 'IPv6 address "1:2:3:4:5:6:7:8::" has 8 groups and "::"', 2],
    ['[1::2::3]/x', 'IPv6 address "1::2::3" has more than one "::"', 2],
    ['[12345::1]/x', 'IPv6 address "12345::1" has a group of more than 4 digits ("12345")', 2],
    ['[:1]/x', 'IPv6 address ":1" has an empty group', 2],
    ['[1:]/x', 'IPv6 address "1:" has an empty group', 2],
    ['[:::]/x', 'IPv6 address ":::" has an empty group', 2],
  ];
  for (const [input, fragment, position] of cases) {
    test(JSON.stringify(input), () => assertInvalid(input, fragment, position));
  }
});

describe('parseReference: spellings refused rather than folded', () => {
  // An explicit default port names the same registry as no port only over
  // one scheme (`host:443` is `host` over HTTPS, `host:80` is `host` over
  // plain HTTP), and vouch, like docker, may reach a registry over either
  // (loopback registries, --allow-insecure-registry). Dropping the port
  // would change where vouch connects; keeping it would let two names reach
  // one registry. So neither: such names are refused.
  const cases: [string, string, number][] = [
    ['ghcr.io:443/acme/app:1', 'registry port 443 is the default port of HTTPS', 9],
    ['GHCR.IO:443/acme/app', 'registry port 443 is the default port of HTTPS', 9],
    ['ghcr.io:0443/acme/app', 'registry port 443 is the default port of HTTPS', 9],
    ['localhost:80/app', 'registry port 80 is the default port of plain HTTP', 11],
    ['[::1]:443/app', 'registry port 443 is the default port of HTTPS', 7],
    // Upstream reads a first component with capitals as a registry, but host
    // names are case-insensitive and the lower-case spelling ('foo/bar')
    // names a Docker Hub repository: there is no canonical name to give.
    ['Foo/bar', 'registry host "Foo" is a registry only because of its capital letters', 1],
    ['LOCALDOMAIN/debian', 'registry host "LOCALDOMAIN" is a registry only', 1],
    ['Docker/docker', 'registry host "Docker" is a registry only', 1],
  ];
  for (const [input, fragment, position] of cases) {
    test(JSON.stringify(input), () => assertInvalid(input, fragment, position));
  }

  test('the messages say what to write instead', () => {
    assert.throws(() => parseReference('ghcr.io:443/acme/app:1'), {
      message:
        'invalid reference "ghcr.io:443/acme/app:1": registry port 443 is the default port of HTTPS; write the registry as "ghcr.io" (at character 9)',
    });
    assert.throws(() => parseReference('localhost:80/app'), {
      message:
        'invalid reference "localhost:80/app": registry port 80 is the default port of plain HTTP; write the registry as "localhost" (at character 11)',
    });
  });
});

test('canonicalRegistry: a registry alone, as a reference would name it', () => {
  const canonical: [string, string][] = [
    ['GHCR.IO', 'ghcr.io'],
    ['localhost', 'localhost'],
    ['LOCALHOST:05000', 'localhost:5000'],
    ['Index.Docker.IO', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['[0:0::1]:5000', '[::1]:5000'],
  ];
  for (const [text, expected] of canonical) {
    assert.equal(canonicalRegistry(text), expected, text);
  }
  const refused: [string, string][] = [
    ['', 'invalid registry "": a registry has a "." or a port, or is localhost'],
    ['nohost', 'invalid registry "nohost": a registry has a "." or a port, or is localhost'],
    [
      'ghcr.io:443',
      'invalid registry "ghcr.io:443": registry port 443 is the default port of HTTPS; write the registry as "ghcr.io" (at character 9)',
    ],
    [
      'ghcr.io/x',
      'invalid registry "ghcr.io/x": invalid character "/" in registry host (at character 8)',
    ],
    [
      'Foo',
      'invalid registry "Foo": registry host "Foo" is a registry only because of its capital letters',
    ],
  ];
  for (const [text, message] of refused) {
    assert.throws(
      () => canonicalRegistry(text),
      (error: unknown) =>
        isVouchError(error) &&
        error.code === 'INVALID_REFERENCE' &&
        error.message.startsWith(message),
      text,
    );
  }
});

describe('familiarReference', () => {
  // normalize_test.go TestParseRepositoryInfo: [familiar, full, ambiguous spellings].
  const cases: [string, string, string[]][] = [
    ['localhost/fooo', 'localhost/fooo', []],
    ['localhost/fooo/bar', 'localhost/fooo/bar', []],
    ['fooo/bar', 'docker.io/fooo/bar', ['index.docker.io/fooo/bar']],
    ['ubuntu', 'docker.io/library/ubuntu', ['library/ubuntu']],
    ['nonlibrary/ubuntu', 'docker.io/nonlibrary/ubuntu', []],
    ['other/library', 'docker.io/other/library', []],
    ['127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase', []],
    ['127.0.0.1:8000/privatebase', '127.0.0.1:8000/privatebase', []],
    ['example.com/private/moonbase', 'example.com/private/moonbase', []],
    ['example.com:8000/privatebasee', 'example.com:8000/privatebasee', []],
    [
      'ubuntu-12.04-base',
      'docker.io/library/ubuntu-12.04-base',
      ['index.docker.io/library/ubuntu-12.04-base'],
    ],
    ['foo', 'docker.io/library/foo', ['docker.io/foo']],
    ['library/foo/bar', 'docker.io/library/foo/bar', []],
    ['store/foo/bar', 'docker.io/store/foo/bar', []],
    [`busybox:latest@${BUSYBOX_DIGEST}`, `docker.io/library/busybox:latest@${BUSYBOX_DIGEST}`, []],
  ];
  for (const [familiar, full, ambiguous] of cases) {
    test(familiar, () => {
      for (const input of [familiar, full, ...ambiguous]) {
        const parsed = parseReference(input);
        assert.equal(familiarReference(parsed), familiar, input);
        assert.equal(formatReference(parsed), full, input);
      }
    });
  }

  test('keeps prefixes where dropping them would change the meaning', () => {
    assert.equal(
      familiarReference(ref('docker.io', 'example.com/app')),
      'docker.io/example.com/app',
    );
    assert.equal(familiarReference(ref('docker.io', 'localhost/app')), 'docker.io/localhost/app');
    assert.equal(familiarReference(ref('docker.io', `library/${HEX64}`)), `library/${HEX64}`);
    assert.equal(familiarReference(ref('docker.io', `library/${HEX64}`, 'v1')), `${HEX64}:v1`);
  });
});

test('repositoryName', () => {
  assert.equal(repositoryName(parseReference('ubuntu:22.04')), 'docker.io/library/ubuntu');
  assert.equal(repositoryName(parseReference(`[::1]:5000/a/b@${SHA256}`)), '[::1]:5000/a/b');
});

test('withDefaultTag applies latest only when neither tag nor digest is given', () => {
  // normalize_test.go TestParseDockerRef, except that vouch keeps the tag
  // beside the digest rather than dropping it.
  const cases: [string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:latest', 'docker.io/library/busybox:latest'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['gcr.io/library/busybox', 'gcr.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    [`busybox@${BUSYBOX_DIGEST}`, `docker.io/library/busybox@${BUSYBOX_DIGEST}`],
    [`gcr.io/b:v1@${BUSYBOX_DIGEST}`, `gcr.io/b:v1@${BUSYBOX_DIGEST}`],
  ];
  for (const [input, expected] of cases) {
    assert.equal(formatReference(withDefaultTag(parseReference(input))), expected, input);
  }
  const tagged = parseReference('busybox:1');
  assert.equal(withDefaultTag(tagged), tagged);
});

test('isLoopbackRegistry', () => {
  for (const registry of [
    'localhost',
    'localhost:5000',
    'LOCALHOST:5000',
    '127.0.0.1',
    '127.0.0.1:5000',
    '127.1.2.3:80',
    '127.255.255.255',
    '[::1]',
    '[::1]:5000',
    '[0:0:0:0:0:0:0:1]:5000',
    '[::0:1]',
    '[0000::0001]',
  ]) {
    assert.equal(isLoopbackRegistry(registry), true, registry);
  }
  for (const registry of [
    'docker.io',
    'localhost.example.com',
    'mylocalhost',
    '128.0.0.1',
    '127.0.0.256',
    '127.0.0.01',
    '127.1',
    '127.0.0.1.nip.io',
    '10.0.0.1:5000',
    '[::2]',
    '[::]',
    '[1::1]',
    '[::1',
    '[::1]x',
    '[::g1]',
    '[::ffff:7f00:1]',
    '[0:0:0:0:0:0:0:0:1]',
    'localhost:',
    'localhost:5000:1',
    '',
  ]) {
    assert.equal(isLoopbackRegistry(registry), false, registry);
  }
});

// --- property tests ----------------------------------------------------------

const label = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?$/);
const port = fc.stringMatching(/^[0-9]{1,5}$/).map((p) => `:${p}`);
const optionalPort = fc.option(port, { nil: undefined }).map((p) => p ?? '');

/** Registries as a user may write them: any the upstream grammar takes, and some it does not. */
const spelledRegistryArb = fc.oneof(
  fc.constant('docker.io'),
  fc.constantFrom('localhost', 'ghcr.io', '127.0.0.1:5000', '[::1]:5000', 'ghcr.io:443'),
  optionalPort.map((p) => `localhost${p}`),
  fc
    .tuple(fc.array(label, { minLength: 2, maxLength: 4 }), optionalPort)
    .map(([labels, p]) => labels.join('.') + p),
  fc.tuple(label, port).map(([l, p]) => l + p),
  // A single label is a domain only if it holds an uppercase letter (normalize.go).
  label.filter((l) => l.toLowerCase() !== l),
  fc
    .tuple(fc.stringMatching(/^[a-fA-F0-9:]{1,39}$/), optionalPort)
    .map(([address, p]) => `[${address}]${p}`)
    // Without a ':' the bracketed host reads as a path component (normalize.go).
    .filter((registry) => registry.includes(':')),
);

/** Docker Hub's host names other than docker.io, which vouch folds into it. */
const HUB_ALIASES = [
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
  'registry.docker.io',
];

const lowerLabel = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/);
// A host whose last label is a number is an IPv4 address to a URL parser.
const nameLabel = lowerLabel.filter((l) => !/^(?:[0-9]+|0x[0-9a-f]*)$/.test(l));
const portNumber = fc.integer({ min: 1, max: 65535 }).filter((p) => p !== 80 && p !== 443);
const canonicalPort = fc
  .option(portNumber, { nil: undefined })
  .map((p) => (p === undefined ? '' : `:${p}`));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((n) => n.join('.'));
const ipv6 = fc
  .array(fc.oneof(fc.constant(0), fc.nat(0xffff)), { minLength: 8, maxLength: 8 })
  // The WHATWG serialiser (RFC 5952's form) as the oracle for the canonical text.
  .map((words) => new URL(`http://[${words.map((w) => w.toString(16)).join(':')}]/`).hostname);

/** Registries as parseReference produces them: canonical, never a Docker Hub alias. */
const registryArb = fc
  .oneof(
    fc.constant('docker.io'),
    fc.constantFrom('localhost', 'ghcr.io', '127.0.0.1:5000', '[::1]:5000'),
    canonicalPort.map((p) => `localhost${p}`),
    fc
      .tuple(fc.array(lowerLabel, { minLength: 1, maxLength: 3 }), nameLabel, canonicalPort)
      .map(([labels, last, p]) => [...labels, last].join('.') + p),
    fc.tuple(nameLabel, portNumber).map(([l, p]) => `${l}:${p}`),
    fc.tuple(ipv4, canonicalPort).map(([address, p]) => address + p),
    fc.tuple(ipv6, canonicalPort).map(([address, p]) => address + p),
  )
  .filter((registry) => !HUB_ALIASES.includes(registry));

const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,6}){0,3}$/);

const digestArb = fc
  .oneof(
    fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`),
    fc.stringMatching(/^[0-9a-f]{128}$/).map((hex) => `sha512:${hex}`),
  )
  .map((text): Digest => parseDigest(text));

const referenceArb: fc.Arbitrary<ImageReference> = fc
  .record({
    registry: registryArb,
    components: fc.array(component, { minLength: 1, maxLength: 5 }),
    tag: fc.option(fc.stringMatching(/^\w[\w.-]{0,127}$/), { nil: undefined }),
    digest: fc.option(digestArb, { nil: undefined }),
  })
  .map(({ registry, components, tag, digest }) => {
    // normalize.go: on docker.io a single component lives under 'library/'.
    const path =
      registry === 'docker.io' && components.length === 1 ? ['library', ...components] : components;
    return {
      registry,
      repository: path.join('/'),
      ...(tag === undefined ? {} : { tag }),
      ...(digest === undefined ? {} : { digest }),
    };
  })
  .filter((r) => r.repository.length <= 255);

describe('properties', () => {
  test('parseReference(formatReference(r)) is r', () => {
    fc.assert(
      fc.property(referenceArb, (r) => {
        assert.deepEqual(parseReference(formatReference(r)), r);
      }),
      { numRuns: 2000 },
    );
  });

  test('parseReference(familiarReference(r)) is r', () => {
    fc.assert(
      fc.property(referenceArb, (r) => {
        assert.deepEqual(parseReference(familiarReference(r)), r);
      }),
      { numRuns: 2000 },
    );
  });

  test('docker.io paths whose first component looks like a registry round-trip', () => {
    const arb = fc
      .tuple(
        fc.constantFrom('localhost', 'index.docker.io', 'example.com', 'a.b'),
        fc.array(component, { minLength: 1, maxLength: 3 }),
      )
      .map(([first, rest]) => ref('docker.io', [first, ...rest].join('/')));
    fc.assert(
      fc.property(arb, (r) => {
        assert.deepEqual(parseReference(familiarReference(r)), r);
        assert.deepEqual(parseReference(formatReference(r)), r);
      }),
    );
  });

  // vouch refuses more than upstream (the hosts a URL cannot name or misreads,
  // explicit default ports, capitalised single-label hosts) and names
  // registries canonically: `canonicalOf` applies exactly that to upstream's
  // answer, reading hosts with the WHATWG URL parser rather than vouch's code.
  test('agrees with the upstream regular expressions, then canonical names, on near-valid input', () => {
    const piece = fc.constantFrom(
      'a',
      'b',
      'z9',
      '0',
      'A',
      '.',
      '_',
      '__',
      '-',
      '--',
      '/',
      ':',
      '@',
      '[',
      ']',
      '::1',
      'localhost',
      'docker.io',
      'index.docker.io',
      'library',
      'ex.com',
      '5000',
      'latest',
      'sha256:',
      'sha512:',
      'f'.repeat(64),
      'f'.repeat(32),
      '$',
      ' ',
    );
    const soup = fc.array(piece, { minLength: 1, maxLength: 12 }).map((parts) => parts.join(''));
    // Shaped like a reference, with parts that are often slightly wrong.
    const shaped = fc
      .record({
        domain: fc.option(
          fc.oneof(
            spelledRegistryArb,
            fc.constantFrom(...HUB_ALIASES, 'Foo', 'foo', '[ab]', '[::1]', 'REGISTRY-1.docker.io'),
            fc.stringMatching(/^[a-zA-Z0-9.:_[\]-]{0,10}$/),
          ),
          { nil: undefined },
        ),
        path: fc.array(
          fc.oneof(
            { arbitrary: component, weight: 5 },
            { arbitrary: fc.stringMatching(/^[a-z0-9._-]{0,8}$|^[a-zA-Z]{1,3}$/), weight: 1 },
          ),
          { minLength: 1, maxLength: 3 },
        ),
        tag: fc.option(fc.stringMatching(/^[\w.:-]{0,8}$/), { nil: undefined }),
        digest: fc.option(
          fc.constantFrom(
            SHA256,
            SHA512,
            BUSYBOX_DIGEST,
            `sha256:${'f'.repeat(63)}`,
            `sha256:${'F'.repeat(64)}`,
            `sha384:${'f'.repeat(96)}`,
            `${SHA256}0`,
            '',
          ),
          { nil: undefined },
        ),
      })
      .map(
        ({ domain, path, tag, digest }) =>
          (domain === undefined ? '' : `${domain}/`) +
          path.join('/') +
          (tag === undefined ? '' : `:${tag}`) +
          (digest === undefined ? '' : `@${digest}`),
      );
    const input = fc.oneof(soup, shaped);
    fc.assert(
      fc.property(input, (text) => {
        const expected = canonicalOf(upstream(text));
        let actual: ImageReference | undefined;
        try {
          actual = parseReference(text);
        } catch (error) {
          assert.ok(isVouchError(error), String(error));
          assert.equal(error.code, 'INVALID_REFERENCE');
        }
        assert.deepEqual(actual, expected, JSON.stringify(text));
      }),
      { numRuns: 20000 },
    );
  });

  test('every registry it accepts is the host a URL parser reads, unchanged', () => {
    // vouch's registry client builds https:// and http:// URLs from the
    // registry name: neither may throw, and neither may read another host.
    const host = fc.oneof(
      spelledRegistryArb,
      fc
        .tuple(
          fc.array(fc.oneof(label, fc.stringMatching(/^(?:[0-9]{1,4}|0[xX][0-9a-fA-F]{0,3})$/)), {
            minLength: 1,
            maxLength: 5,
          }),
          optionalPort,
        )
        .map(([labels, p]) => labels.join('.') + p),
    );
    fc.assert(
      fc.property(host, (registry) => {
        let parsed: ImageReference;
        try {
          parsed = parseReference(`${registry}/x`);
        } catch (error) {
          assert.ok(isVouchError(error), String(error));
          return;
        }
        if (parsed.registry === 'docker.io') return;
        for (const scheme of ['https', 'http']) {
          const url = new URL(`${scheme}://${parsed.registry}/v2/`);
          assert.equal(url.host, parsed.registry, `${scheme}://${registry}`);
        }
      }),
      { numRuns: 20000 },
    );
  });

  test('never throws anything but INVALID_REFERENCE', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        try {
          parseReference(text);
        } catch (error) {
          assert.ok(isVouchError(error));
          assert.equal(error.code, 'INVALID_REFERENCE');
        }
      }),
      { numRuns: 5000 },
    );
  });
});

/**
 * What vouch makes of a reference upstream accepted: undefined where vouch
 * refuses it, else the same reference with its registry canonical (host as
 * the WHATWG URL parser reads it, port as a number, Docker Hub's aliases as
 * docker.io and its single-component paths under library/).
 */
function canonicalOf(r: ImageReference | undefined): ImageReference | undefined {
  if (r === undefined) return undefined;
  const [, host = '', port] = /^(\[[^\]]*\]|[^:]*)(?::([0-9]+))?$/.exec(r.registry) ?? [];
  const portNumber = port === undefined ? undefined : Number(port);
  if (portNumber !== undefined && !(portNumber >= 1 && portNumber <= 65535)) return undefined;
  if (portNumber === 80 || portNumber === 443) return undefined;
  // Only its capitals made a single label a registry.
  if (port === undefined && !/[.[]/.test(host) && host.toLowerCase() !== 'localhost') {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(`http://${host}/`);
  } catch {
    return undefined;
  }
  // Read as another host: an IPv4 address in another notation.
  if (!host.startsWith('[') && url.hostname !== host.toLowerCase()) return undefined;
  const hub = portNumber === undefined && [...HUB_ALIASES, 'docker.io'].includes(url.hostname);
  const registry = hub ? 'docker.io' : url.hostname + (port === undefined ? '' : `:${portNumber}`);
  const repository = hub && !r.repository.includes('/') ? `library/${r.repository}` : r.repository;
  if (repository.length > 255) return undefined;
  return { ...r, registry, repository };
}

// An oracle transcribed from upstream: regexp.go patterns, ParseNormalizedNamed
// and splitDockerDomain (normalize.go), Parse (reference.go), plus vouch's two
// restrictions: only sha256/sha512 digests, and no reference without a domain.
const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|\\[(?:[a-fA-F0-9:]+)\\])`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const namePattern = `(?:${domainAndPort}/)?${remoteName}`;
const referenceRegexp = new RegExp(
  `^(${namePattern})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`,
);
const anchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);

function upstream(s: string): ImageReference | undefined {
  if (/^[a-f0-9]{64}$/.test(s)) return undefined;
  let domain: string;
  let remainder: string;
  const slash = s.indexOf('/');
  if (slash === -1) {
    domain = 'docker.io';
    remainder = `library/${s}`;
  } else {
    const maybeDomain = s.slice(0, slash);
    const rest = s.slice(slash + 1);
    if (maybeDomain === 'localhost') [domain, remainder] = [maybeDomain, rest];
    else if (maybeDomain === 'index.docker.io') [domain, remainder] = ['docker.io', rest];
    else if (/[.:]/.test(maybeDomain)) [domain, remainder] = [maybeDomain, rest];
    else if (maybeDomain.toLowerCase() !== maybeDomain) [domain, remainder] = [maybeDomain, rest];
    else [domain, remainder] = ['docker.io', s];
    if (domain === 'docker.io' && !remainder.includes('/')) remainder = `library/${remainder}`;
  }
  const tagSep = remainder.indexOf(':');
  const remote = tagSep === -1 ? remainder : remainder.slice(0, tagSep);
  if (remote.toLowerCase() !== remote) return undefined;
  const match = referenceRegexp.exec(`${domain}/${remainder}`);
  if (match === null) return undefined;
  const name = anchoredNameRegexp.exec(match[1] ?? '');
  const registry = name?.[1] ?? '';
  const repository = name?.[2] ?? '';
  if (repository.length > 255) return undefined;
  const tag = match[2];
  const digest = match[3];
  if (digest !== undefined && !/^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/.test(digest)) {
    return undefined;
  }
  if (registry === '') return undefined;
  return ref(registry, repository, tag, digest);
}
