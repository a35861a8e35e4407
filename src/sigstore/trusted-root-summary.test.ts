import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publicGoodTrustedRoot } from './public-good.ts';
import { summarizeTrustedRoot } from './trusted-root-summary.ts';

test('the public-good root summarized: Rekor logs, Fulcio CAs, CT logs, the TSA, with validity', async () => {
  const summary = summarizeTrustedRoot(await publicGoodTrustedRoot());
  const rekor = summary.tlogs.find((log) => log.baseUrl === 'https://rekor.sigstore.dev');
  assert.deepEqual(rekor && { ...rekor, validFrom: rekor.validFrom?.slice(0, 10) }, {
    baseUrl: 'https://rekor.sigstore.dev',
    logId: 'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d',
    keyDetails: 'PKIX_ECDSA_P256_SHA_256',
    validFrom: '2021-01-12',
    validUntil: null,
  });
  assert.ok(summary.certificateAuthorities.length >= 2);
  assert.ok(
    summary.certificateAuthorities.every((ca) => ca.uri?.includes('fulcio') && ca.certificates > 0),
  );
  assert.ok(
    summary.ctlogs.some(
      (log) => log.baseUrl?.includes('ctfe.sigstore.dev') && log.validFrom !== null,
    ),
  );
  assert.ok(summary.timestampAuthorities.length >= 1);
});
