import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { parseDigest } from '../../oci/digest.ts';
import { parseReference } from '../../oci/reference.ts';
import {
  lookasideFilePath,
  lookasideRepositoryUrl,
  lookasideSignatureUrl,
} from './lookaside-layout.ts';
import { lookasideFor, mergeRegistriesD, parseRegistriesD } from './registries-d.ts';

const HEX = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const DIGEST = parseDigest(`sha256:${HEX}`);

function urlInvalid(fragment: string) {
  return (error: unknown): boolean => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, 'LOOKASIDE_URL_INVALID', error.message);
    assert.equal(error.category, 'invalid');
    assert.ok(error.message.includes(fragment), `"${fragment}" not in: ${error.message}`);
    return true;
  };
}

describe('lookaside layout', () => {
  test('upstream TestLookasideStorageURL', () => {
    for (const [base, index, expected] of [
      ['file:///tmp', 1, `file:///tmp@sha256=${HEX}/signature-1`],
      ['file:///tmp', 2, `file:///tmp@sha256=${HEX}/signature-2`],
      ['https://localhost:5555/root', 1, `https://localhost:5555/root@sha256=${HEX}/signature-1`],
      ['https://localhost:5555/root', 2, `https://localhost:5555/root@sha256=${HEX}/signature-2`],
      ['http://localhost:5555/root', 1, `http://localhost:5555/root@sha256=${HEX}/signature-1`],
    ] as const) {
      assert.equal(lookasideSignatureUrl(new URL(base), DIGEST, index).href, expected);
    }
    assert.throws(() => lookasideSignatureUrl(new URL('file:///tmp'), DIGEST, 0), RangeError);
  });

  test('the repository path has no host; Go path semantics for a bare host and a trailing slash', () => {
    assert.equal(
      lookasideRepositoryUrl('https://lookaside.example.com', 'my/project', 'x').href,
      'https://lookaside.example.com/my/project',
    );
    assert.equal(
      lookasideRepositoryUrl('https://lookaside.centos.org/', 'centos/foo', 'x').href,
      'https://lookaside.centos.org//centos/foo',
    );
    assert.equal(
      lookasideRepositoryUrl('https://h:8443/base?q=1', 'library/busybox', 'x').href,
      'https://h:8443/base/library/busybox?q=1',
    );
    const signature = lookasideSignatureUrl(
      lookasideRepositoryUrl('file:///var/lib/containers/sigstore', 'library/busybox', 'x'),
      DIGEST,
      1,
    );
    assert.equal(
      lookasideFilePath(signature, 'x'),
      `/var/lib/containers/sigstore/library/busybox@sha256=${HEX}/signature-1`,
    );
  });

  test('upstream TestSignatureStorageBaseURL with the fixture directory', () => {
    const config = mergeRegistriesD([
      {
        where: 'internal-example.com.yaml',
        config: parseRegistriesD(
          'docker:\n  example.com:\n    lookaside: https://lookaside.example.com\n' +
            '  localhost/invalid/url/test:\n    lookaside: ":emptyscheme"\n' +
            '  localhost/file/path/test:\n    lookaside: "/no/scheme/just/a/path"\n' +
            '  localhost/relative/path/test:\n    lookaside: "no/scheme/relative/path"\n',
          'internal-example.com.yaml',
        ),
      },
    ]);
    const base = (reference: string) => {
      const parsed = parseReference(reference);
      const location = lookasideFor(config, parsed, {
        write: false,
        builtinDefault: 'file:///home/u/.local/share/containers/sigstore',
      });
      return lookasideRepositoryUrl(location.topLevel, parsed.repository, 'registries.d').href;
    };
    assert.equal(base('example.com/my/project'), 'https://lookaside.example.com/my/project');
    assert.equal(
      base('this/is/not/in/the:configuration'),
      'file:///home/u/.local/share/containers/sigstore/this/is/not/in/the',
    );
    assert.throws(() => base('localhost/invalid/url/test'), urlInvalid('is not a URL'));
    // Upstream returns these scheme-less "URLs" and every consumer refuses them.
    assert.throws(() => base('localhost/file/path/test'), urlInvalid('is not a URL'));
    assert.throws(() => base('localhost/relative/path/test'), urlInvalid('is not a URL'));
  });

  test('other schemes, credentials and remote file hosts are refused', () => {
    assert.throws(
      () => lookasideRepositoryUrl('ftp://h/x', 'r', 'cfg'),
      urlInvalid('unsupported scheme ftp:'),
    );
    assert.throws(
      () => lookasideRepositoryUrl('https://user:secret@h/x', 'r', 'cfg'),
      (error: unknown) =>
        urlInvalid('carries credentials')(error) && !String(error).includes('secret'),
    );
    const remote = lookasideRepositoryUrl('file://elsewhere/x', 'r', 'cfg');
    assert.throws(() => lookasideFilePath(remote, 'cfg'), urlInvalid('not a local file URL'));
  });
});
