/**
 * verifyContainersPolicyImages reads and parses a scope's key material once
 * per call, not once per image: a run over 1,000 images spent most of its
 * time re-reading the keyring file (an 8 MiB capped read) and re-parsing it
 * with openpgp.js for every image (bench/gpg.ts, issue 14).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { unavailable } from '../core/errors.ts';
import { parseContainersPolicy } from '../formats/containers-policy/policy-json.ts';
import { EMPTY_REGISTRIES_D } from '../formats/simple-signing/registries-d.ts';
import type { Stores } from '../registry/open.ts';
import type { ReadFile } from './material.ts';
import { verifyContainersPolicyImages } from './verify.ts';

const { publicKey } = await openpgp.generateKey({
  type: 'ecc',
  curve: 'ed25519Legacy',
  userIDs: [{ name: 'vouch test', email: 'test@example.com' }],
  format: 'binary',
});

const policy = parseContainersPolicy(
  new TextEncoder().encode(
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          'registry.example/a': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/keys/a.gpg' }],
          'registry.example/b': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/keys/b.gpg' }],
        },
      },
    }),
  ),
  'policy.json',
);

// The registry is never reached in these tests: every image stops at opening its store.
const unreachable = {
  open: () => Promise.reject(unavailable('REGISTRY_ERROR', 'no registry in this test')),
} as unknown as Stores;

describe('verifyContainersPolicyImages', () => {
  it('reads and parses each scope key file once per call, however many images', async () => {
    const reads: string[] = [];
    const readFile: ReadFile = (path) => {
      reads.push(path);
      return Promise.resolve(publicKey);
    };
    const images = [
      ...Array.from({ length: 5 }, (_, i) => `registry.example/a:${i}`),
      ...Array.from({ length: 3 }, (_, i) => `registry.example/b:${i}`),
    ];
    const results = await verifyContainersPolicyImages(unreachable, images, {
      policy,
      registriesD: EMPTY_REGISTRIES_D,
      simpleSigning: { builtinLookaside: 'file:///nonexistent' },
      readFile,
      concurrency: 4,
    });
    assert.deepEqual(
      results.map((result) => result.status),
      images.map(() => 'unavailable'),
    );
    assert.deepEqual(reads.sort(), ['/keys/a.gpg', '/keys/b.gpg']);
  });

  it('gives every image of a scope the same error when its key file is not a keyring', async () => {
    let reads = 0;
    const readFile: ReadFile = () => {
      reads += 1;
      return Promise.resolve(new TextEncoder().encode('not a key'));
    };
    const results = await verifyContainersPolicyImages(
      unreachable,
      ['registry.example/a:1', 'registry.example/a:2'],
      {
        policy,
        registriesD: EMPTY_REGISTRIES_D,
        simpleSigning: { builtinLookaside: 'file:///nonexistent' },
        readFile,
      },
    );
    assert.equal(reads, 1);
    for (const result of results) {
      assert.equal(result.status, 'invalid');
      assert.equal(result.error?.code, 'GPG_KEYRING_INVALID');
    }
  });
});
