import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { invalid, unavailable } from '../core/errors.ts';
import { publicKeyToPem } from '../keys/pem.ts';
import { compilePolicy } from '../policy/compile.ts';
import { parsePolicy } from '../policy/parse.ts';
import type { Stores } from '../registry/open.ts';
import type { ImageStore } from '../registry/store.ts';
import { AdmissionMetrics } from './metrics.ts';
import { servedPolicy } from './policy-watch.ts';
import { ImageVerifier, refreshPoint } from './verifier.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function policy(extra = '') {
  const text = `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  release:
    key: { pem: ${JSON.stringify(publicKeyToPem(publicKey))} }
rules:
  - name: trusted
    images: ["ghcr.io/trusted/**"]
    action: allow
    mutateDigest: false
  - name: signed
    images: ["ghcr.io/**"]
    authorities: [release]
    mutateDigest: true${extra}
`;
  return servedPolicy(compilePolicy(parsePolicy(text, 'policy.yaml'), new Map()));
}

/**
 * A registry where every tag names DIGEST and nothing is signed (the `.sig`
 * tag does not exist, no referrers), counting what is asked; `fail` makes
 * every call throw instead.
 */
function fakeStores() {
  const calls: string[] = [];
  let fail: Error | undefined;
  const store = {
    location: 'ghcr.io/acme/app',
    async resolve(target: { tag?: string }) {
      calls.push(`resolve ${target.tag}`);
      if (fail !== undefined) throw fail;
      return { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: DIGEST, size: 2 };
    },
    async getManifest(target: { tag?: string }) {
      calls.push(`manifest ${target.tag}`);
      if (fail !== undefined) throw fail;
      throw invalid('MANIFEST_UNKNOWN', 'no such tag');
    },
    async referrers() {
      calls.push('referrers');
      if (fail !== undefined) throw fail;
      return [];
    },
  } as unknown as ImageStore;
  const stores = {
    async openImage(reference: string) {
      const digest = reference.includes('@')
        ? reference.slice(reference.indexOf('@') + 1)
        : undefined;
      const tag =
        digest === undefined ? reference.slice(reference.lastIndexOf(':') + 1) : undefined;
      return { store, target: digest === undefined ? { tag } : { digest } };
    },
    async close() {},
  } as unknown as Stores;
  return { stores, calls, failWith: (error: Error | undefined) => (fail = error) };
}

describe('ImageVerifier', () => {
  it('gives the event loop a turn before deciding with attestation conditions, and only then', async () => {
    const { stores } = fakeStores();
    const verifier = new ImageVerifier({ gather: { stores }, metrics: new AdmissionMetrics() });
    const conditions = policy(
      '\n    attestations:\n      - predicateType: vuln\n        condition: predicate.x == 1.0',
    );
    const plain = policy();
    const image = `ghcr.io/acme/app@${DIGEST}`;
    for (const served of [conditions, plain]) await verifier.decide(served, image, 'ns');
    // Now both are cached: no I/O, nothing else would let a timer or a socket in.
    const turned = async (served: typeof plain) => {
      let turn = false;
      setImmediate(() => (turn = true));
      await verifier.decide(served, image, 'ns');
      return turn;
    };
    assert.equal(await turned(conditions), true);
    assert.equal(await turned(plain), false);
  });

  it('asks nothing of a registry for an image its rule allows without verifying', async () => {
    const { stores, calls } = fakeStores();
    const verifier = new ImageVerifier({ gather: { stores }, metrics: new AdmissionMetrics() });
    const decision = await verifier.decide(policy(), 'ghcr.io/trusted/tool:1', 'ns');
    assert.equal(decision.result, 'allowed');
    assert.deepEqual(calls, []);
  });

  it('resolves a tag once while it is fresh, and keeps a denial only for the denied TTL', async () => {
    let now = 0;
    const { stores, calls } = fakeStores();
    const metrics = new AdmissionMetrics();
    const verifier = new ImageVerifier({
      gather: { stores },
      metrics,
      tagTtlMs: 1_000,
      deniedTtlMs: 5_000,
      now: () => now,
    });
    const served = policy();
    const first = await verifier.decide(served, 'ghcr.io/acme/app:1', 'ns');
    assert.equal(first.result, 'denied');
    assert.equal(first.digest, DIGEST);
    assert.match(first.reason, /rule signed: 0 of 1/);
    const gathered = calls.length;
    assert.ok(calls.includes('resolve 1') && calls.some((c) => c.endsWith('.sig')));

    assert.equal(
      (await verifier.decide(served, 'ghcr.io/acme/app:1', 'other-ns')).result,
      'denied',
    );
    assert.equal(calls.length, gathered, 'tag and verification both cached');
    now = 2_000;
    await verifier.decide(served, 'ghcr.io/acme/app:1', 'ns');
    assert.deepEqual(calls.slice(gathered), ['resolve 1'], 'the tag expired; the digest did not');
    now = 6_000;
    const before = calls.length;
    await verifier.decide(served, `ghcr.io/acme/app@${DIGEST}`, 'ns');
    assert.ok(calls.length > before, 'the denial expired after deniedTtlMs: verified again');
    assert.ok(
      !calls.slice(before).some((c) => c.startsWith('resolve')),
      'a digest is not resolved',
    );
    assert.equal(metrics.cacheHits.value({ cache: 'verification' }), 2);
  });

  it('resolves a tag in use again in the background before its TTL ends, so it never expires while named', async () => {
    let now = 0;
    const { stores, calls, failWith } = fakeStores();
    const metrics = new AdmissionMetrics();
    const verifier = new ImageVerifier({
      gather: { stores },
      metrics,
      tagTtlMs: 1_000,
      now: () => now,
    });
    const served = policy();
    const resolves = () => calls.filter((c) => c === 'resolve 1').length;
    const refreshAt = 1_000 * refreshPoint('ghcr.io/acme/app:1');
    await verifier.decide(served, 'ghcr.io/acme/app:1', 'ns');
    assert.equal(resolves(), 1);
    now = refreshAt - 1;
    await verifier.decide(served, 'ghcr.io/acme/app:1', 'ns');
    assert.equal(resolves(), 1, 'before its refresh point: a plain hit');
    now = refreshAt;
    await Promise.all([1, 2, 3].map(() => verifier.decide(served, 'ghcr.io/acme/app:1', 'ns')));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(resolves(), 2, 'at its refresh point: resolved again, once for concurrent hits');
    assert.equal(metrics.tagRefreshes.value(), 1);
    now = 1_000;
    await verifier.decide(served, 'ghcr.io/acme/app:1', 'ns');
    assert.equal(resolves(), 2, 'at the first expiry, the refreshed digest answers');
    assert.equal(metrics.cacheMisses.value({ cache: 'tag' }), 1, 'only the first sight missed');

    // A refresh that fails leaves the entry to its expiry; then the error is the request's.
    now = 2 * refreshAt;
    failWith(unavailable('NETWORK_ERROR', 'connection refused'));
    const cached = await verifier.decide(served, 'ghcr.io/acme/app:1', 'ns');
    assert.equal(cached.digest, DIGEST, 'answered from the cache while the refresh fails');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(resolves(), 3);
    assert.equal(metrics.registryErrors.value({ code: 'NETWORK_ERROR' }), 1);
    now = refreshAt + 1_000;
    const expired = await verifier.decide(served, 'ghcr.io/acme/app:1', 'ns');
    assert.equal(expired.result, 'unavailable', 'never served past its TTL');
  });

  it('spreads refresh points between half and three quarters of the TTL, fixed per tag', () => {
    const points = Array.from({ length: 1000 }, (_, i) => refreshPoint(`registry:5000/app:v${i}`));
    assert.ok(points.every((p) => p >= 0.5 && p < 0.75));
    assert.equal(refreshPoint('registry:5000/app:v1'), points[1]);
    // Spread, not bunched: each tenth of the range holds some of the 1,000.
    for (let tenth = 0; tenth < 10; tenth++) {
      const low = 0.5 + 0.025 * tenth;
      assert.ok(points.filter((p) => p >= low && p < low + 0.025).length > 50, `tenth ${tenth}`);
    }
  });

  it('never caches a failure to check, and counts it as a registry error', async () => {
    const { stores, calls, failWith } = fakeStores();
    const metrics = new AdmissionMetrics();
    const verifier = new ImageVerifier({ gather: { stores }, metrics });
    failWith(unavailable('NETWORK_ERROR', 'connection refused'));
    const down = await verifier.decide(policy(), 'ghcr.io/acme/app:1', 'ns');
    assert.equal(down.result, 'unavailable');
    assert.match(down.reason, /NETWORK_ERROR: connection refused/);
    failWith(undefined);
    const calls1 = calls.length;
    assert.equal((await verifier.decide(policy(), 'ghcr.io/acme/app:1', 'ns')).result, 'denied');
    assert.ok(calls.length > calls1 + 1, 'resolved and gathered again');
    assert.equal(metrics.registryErrors.value({ code: 'NETWORK_ERROR' }), 1);
  });

  it('keys verifications by policy version: a changed policy verifies again', async () => {
    const { stores, calls } = fakeStores();
    const verifier = new ImageVerifier({ gather: { stores }, metrics: new AdmissionMetrics() });
    await verifier.decide(policy(), `ghcr.io/acme/app@${DIGEST}`, 'ns');
    const gathered = calls.length;
    await verifier.decide(policy(), `ghcr.io/acme/app@${DIGEST}`, 'ns');
    assert.equal(calls.length, gathered);
    const warned = await verifier.decide(
      policy('\n    mode: warn'),
      `ghcr.io/acme/app@${DIGEST}`,
      'ns',
    );
    assert.equal(warned.result, 'warned');
    assert.ok(calls.length > gathered);
  });

  it('shares one verification among concurrent callers', async () => {
    const { stores, calls } = fakeStores();
    const metrics = new AdmissionMetrics();
    const verifier = new ImageVerifier({ gather: { stores }, metrics });
    const served = policy();
    const decisions = await Promise.all(
      [1, 2, 3].map(() => verifier.decide(served, 'ghcr.io/acme/app:1', 'ns')),
    );
    assert.ok(decisions.every((d) => d.result === 'denied'));
    assert.equal(calls.filter((c) => c === 'resolve 1').length, 1);
    assert.equal(calls.filter((c) => c.endsWith('.sig')).length, 1);
    assert.equal(
      metrics.shared.value({ cache: 'verification' }) + metrics.shared.value({ cache: 'tag' }),
      4,
    );
  });

  it("gives a timed-out image the rule mode's answer: unavailable under enforce", () => {
    const { stores } = fakeStores();
    const verifier = new ImageVerifier({ gather: { stores }, metrics: new AdmissionMetrics() });
    const late = verifier.timedOut(policy().policy, 'ghcr.io/acme/app:1', 'ns', 'too slow');
    assert.equal(late.result, 'unavailable');
    assert.match(late.reason, /DEADLINE_EXCEEDED: too slow/);
    const warned = verifier.timedOut(
      policy('\n    mode: warn').policy,
      'ghcr.io/acme/app:1',
      'ns',
      'too slow',
    );
    assert.equal(warned.result, 'warned');
  });
});
