import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  publicGoodSigningConfig,
  publicGoodSigningConfigBytes,
} from './public-good-signing-config.ts';
import { selectSigningServices } from './signing-config.ts';

test('the shipped signing config is the public-good TUF target, byte for byte', () => {
  // The length and sha256 that the public-good repository's targets.json
  // (version 14) lists for signing_config.v0.2.json.
  const bytes = publicGoodSigningConfigBytes();
  assert.equal(bytes.byteLength, 1034);
  assert.equal(
    createHash('sha256').update(bytes).digest('hex'),
    '9711a6d5375706957a4859af31c5866a4474f81f0544f9f4b76c9c4f4c8a539c',
  );
});

test('it selects the public-good services', () => {
  const selected = selectSigningServices(publicGoodSigningConfig(), {
    now: new Date('2026-06-01T00:00:00Z'),
    tlogMajorVersions: [1, 2],
  });
  assert.deepEqual(selected, {
    fulcio: { url: 'https://fulcio.sigstore.dev' },
    rekor: { url: 'https://rekor.sigstore.dev', majorApiVersion: 1 },
    tsa: { url: 'https://timestamp.sigstore.dev/api/v1/timestamp' },
    oidcIssuer: { url: 'https://oauth2.sigstore.dev/auth' },
  });
  assert.equal(publicGoodSigningConfig(), publicGoodSigningConfig(), 'parsed once');
});
