/**
 * `vouch admission serve` end to end (the shared environment is test/helpers/admission.ts:
 * the real CLI in a child process over HTTPS, a real Distribution 2.8 registry behind a
 * counting proxy, images signed and attested with `vouch sign` / `vouch attest`).
 * This file: caches and what they count in /metrics, and the decision log.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  admit,
  KINDS,
  metric,
  podSpec,
  reviewOf,
  useAdmissionFixture,
  waitFor,
  type Webhook,
} from './helpers/admission.ts';
import { type HostileRegistry } from './helpers/hostile-registry.ts';

describe('vouch admission serve: caches, metrics and logs', () => {
  const fixture = useAdmissionFixture();
  let proxy: HostileRegistry;
  let ca: string;
  let webhook: Webhook;
  const { digests, image } = fixture;
  before(() => ({ proxy, ca, webhook } = fixture));

  it('verifies each image once: a second request for the same images asks the registry nothing', async () => {
    const kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
    // A fresh image (never seen by this webhook), twice in one request.
    const wrap = KINDS[1]?.wrap as (spec: object) => object;
    const review = () =>
      reviewOf(kind, wrap(podSpec([image('fresh'), image('fresh')], [image('fresh')])));
    const before = proxy.requests.length;
    const hitsBefore = await metric(
      webhook.port,
      ca,
      /^vouch_admission_cache_hits_total\{cache="verification"\}/,
    );
    // Concurrent requests share one verification.
    const first = await Promise.all(
      [0, 1, 2, 3].map(() => admit(webhook.port, ca, '/validate', review())),
    );
    assert.ok(first.every((r) => r.allowed));
    const sent = proxy.requests.slice(before);
    const tagLookups = sent.filter((r) => r.includes('/acme/fresh/manifests/1.0'));
    assert.equal(tagLookups.length, 1, `the tag is resolved once: ${sent.join(', ')}`);
    const signatureLookups = sent.filter((r) =>
      r.includes(`manifests/sha256-${digests['fresh']?.slice(7)}.sig`),
    );
    assert.equal(signatureLookups.length, 1, `the signature is fetched once: ${sent.join(', ')}`);

    const after = proxy.requests.length;
    const second = await admit(webhook.port, ca, '/validate', review());
    assert.equal(second.allowed, true);
    assert.deepEqual(proxy.requests.slice(after), [], 'no registry traffic for a cached image');
    const hits = await metric(
      webhook.port,
      ca,
      /^vouch_admission_cache_hits_total\{cache="verification"\}/,
    );
    assert.ok(hits > hitsBefore, 'the cache hit is counted');
    const shared = await metric(
      webhook.port,
      ca,
      /^vouch_admission_inflight_shared_total\{cache="verification"\}/,
    );
    assert.ok(shared >= 1, 'concurrent requests joined the verification in flight');
  });

  it('logs one JSON line per decision with the images, rules and results', async () => {
    const answer = await admit(
      webhook.port,
      ca,
      '/validate',
      reviewOf(KINDS[0]?.kind as never, { kind: 'Pod', spec: podSpec([image('unsigned')]) }),
    );
    assert.equal(answer.allowed, false);
    // Log lines are written in batches, at most 50 ms late on an idle machine.
    await waitFor(() => webhook.logs.some((l) => l['uid'] === answer.uid));
    const log = webhook.logs.find((l) => l['uid'] === answer.uid);
    assert.ok(log !== undefined);
    assert.equal(log['msg'], 'admission decision');
    assert.equal(log['allowed'], false);
    assert.equal(typeof log['durationMs'], 'number');
    assert.deepEqual(
      (log['images'] as { image: string; rule: string; result: string }[]).map((i) => [
        i.image,
        i.rule,
        i.result,
      ]),
      [[image('unsigned'), 'signed', 'denied']],
    );
  });
});
