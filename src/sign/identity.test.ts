import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { parseReference } from '../oci/reference.ts';
import { defaultDockerReference, parseSignedIdentity } from './identity.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('defaultDockerReference', () => {
  it('is the repository cosign records, without tag or digest, Docker Hub as index.docker.io', () => {
    const registry = (text: string) =>
      defaultDockerReference({ kind: 'registry', reference: parseReference(text) });
    assert.equal(registry('ubuntu:24.04'), 'index.docker.io/library/ubuntu');
    assert.equal(registry('docker.io/acme/app@' + DIGEST), 'index.docker.io/acme/app');
    assert.equal(registry('ghcr.io/acme/app:1.0'), 'ghcr.io/acme/app');
    assert.equal(registry('127.0.0.1:5000/a/b/c:x'), '127.0.0.1:5000/a/b/c');
  });

  it('is the layout as it was named, without its tag, for a layout', () => {
    assert.equal(
      defaultDockerReference({ kind: 'layout', path: './app', target: { tag: '1.0' } }),
      'oci:./app',
    );
  });
});

describe('parseSignedIdentity', () => {
  it('normalises a repository as cosign writes names, and keeps a tag', () => {
    assert.equal(parseSignedIdentity('ubuntu'), 'index.docker.io/library/ubuntu');
    assert.equal(parseSignedIdentity('registry.example.com/app'), 'registry.example.com/app');
    assert.equal(parseSignedIdentity('registry.example.com/app:2'), 'registry.example.com/app:2');
  });

  it('refuses a digest (the digest signed is always the one resolved) and a bad reference', () => {
    assert.throws(
      () => parseSignedIdentity(`registry.example.com/app@${DIGEST}`),
      expectError('invalid', 'INVALID_IDENTITY', 'has a digest'),
    );
    assert.throws(
      () => parseSignedIdentity('Not A Reference'),
      (error: unknown) => {
        assert.equal((error as { category?: string }).category, 'invalid');
        return true;
      },
    );
  });
});
