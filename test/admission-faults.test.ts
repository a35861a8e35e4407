/**
 * `vouch admission serve` end to end (the shared environment is test/helpers/admission.ts:
 * the real CLI in a child process over HTTPS, a real Distribution 2.8 registry behind a
 * counting proxy, images signed and attested with `vouch sign` / `vouch attest`).
 * This file: registries that are down, slow, dripping, rate limiting or serving
 * corrupt content, under both failure policies, within the deadline.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  forwardTo,
  metric,
  podReview,
  post,
  startWebhook,
  timedReview,
  useAdmissionFixture,
  waitFor,
  type Webhook,
  writeFaultPolicy,
} from './helpers/admission.ts';
import { type HostileRegistry, startHostileRegistry } from './helpers/hostile-registry.ts';
import { freePort, type RunningRegistry } from './helpers/registry.ts';

describe('vouch admission serve: registry faults', () => {
  const fixture = useAdmissionFixture({ webhook: false });
  let registry: RunningRegistry;
  let proxy: HostileRegistry;
  let tmp: string;
  let ca: string;
  let certArgs: string[];
  before(() => ({ registry, proxy, tmp, ca, certArgs } = fixture));

  describe('faults', () => {
    let faultPolicy: string;
    let failClosed: Webhook;
    let ignore: Webhook;
    const hostiles: HostileRegistry[] = [];
    const DEADLINE_S = 1.5;

    before(async () => {
      faultPolicy = await writeFaultPolicy(tmp);
      const common = ['--policy', faultPolicy, ...certArgs, '--deadline', String(DEADLINE_S)];
      [failClosed, ignore] = await Promise.all([
        startWebhook(common, tmp),
        startWebhook([...common, '--failure-policy', 'ignore'], tmp),
      ]);
    });

    after(async () => {
      await Promise.all([failClosed?.stop(), ignore?.stop(), ...hostiles.map((h) => h.stop())]);
    });

    const pod = podReview;
    const timed = (port: number, ref: string) => timedReview(port, ca, ref);

    it('registry down: denied when fail-closed, admitted with a warning and an audit annotation when ignore, within the deadline', async () => {
      const down = `127.0.0.1:${await freePort()}/acme/app:1.0`;
      const closed = await timed(failClosed.port, down);
      assert.equal(closed.review.allowed, false);
      assert.match(closed.review.status?.message ?? '', /could not verify; failure policy: fail/);
      assert.ok(closed.ms < DEADLINE_S * 1000 + 1000, `answered in ${closed.ms} ms`);

      const open = await timed(ignore.port, down);
      assert.equal(open.review.allowed, true);
      assert.match(open.review.warnings?.[0] ?? '', /could not verify .*failure policy: ignore/);
      assert.match(
        open.review.auditAnnotations?.['failure-policy-ignored'] ?? '',
        /acme\/app:1\.0/,
      );
      assert.ok(open.ms < DEADLINE_S * 1000 + 1000, `answered in ${open.ms} ms`);
    });

    it('a registry slower than the deadline: the webhook answers by its deadline, per the failure policy', async () => {
      const slow = await startHostileRegistry(async (_req, res) => {
        await sleep(5_000);
        res.writeHead(503).end();
      });
      hostiles.push(slow);
      const ref = `${slow.host}/acme/app:1.0`;
      const [closed, open] = await Promise.all([
        timed(failClosed.port, ref),
        timed(ignore.port, ref),
      ]);
      assert.equal(closed.review.allowed, false);
      assert.match(closed.review.status?.message ?? '', /deadline of 1500 ms/);
      assert.ok(closed.ms >= 1400 && closed.ms < 2500, `answered in ${closed.ms} ms`);
      assert.equal(open.review.allowed, true);
      assert.ok(open.ms < 2500, `answered in ${open.ms} ms`);
      assert.ok(
        (await metric(failClosed.port, ca, /^vouch_admission_deadline_exceeded_total/)) >= 1,
      );
      // The API server's own ?timeout= shortens the deadline, less half a second to answer in.
      const start = performance.now();
      const shortened = await post(
        failClosed.port,
        ca,
        '/validate?timeout=1s',
        pod(`${slow.host}/acme/other:2`),
      );
      const took = performance.now() - start;
      assert.match(shortened.body, /deadline of 500 ms/);
      assert.ok(took < 1200, `answered in ${took} ms`);
    });

    it('a registry that drips a manifest: answered by the deadline, and the drip is cut soon after', async () => {
      // Headers at once, then a byte every 200 ms: never silent long enough
      // for an idle timeout, so only a bound on the whole request ends it.
      const drips: { started: number; ended?: number }[] = [];
      const dripping = await startHostileRegistry((req, res) => {
        if (req.url === '/v2/') return void res.writeHead(200).end('{}');
        res.writeHead(200, {
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
          'content-length': '100000',
        });
        if (req.method === 'HEAD') return void res.end();
        const drip = { started: performance.now() } as { started: number; ended?: number };
        drips.push(drip);
        res.on('error', () => {});
        const timer = setInterval(() => res.write('{'), 200);
        res.on('close', () => {
          clearInterval(timer);
          drip.ended = performance.now();
        });
      });
      hostiles.push(dripping);
      const { review, ms } = await timed(failClosed.port, `${dripping.host}/acme/app:1.0`);
      assert.equal(review.allowed, false);
      assert.ok(ms < DEADLINE_S * 1000 + 1000, `answered in ${ms} ms`);
      await waitFor(() => drips.length > 0 && drips.every((d) => d.ended !== undefined), 5_000);
      for (const drip of drips) {
        const held = (drip.ended ?? Infinity) - drip.started;
        assert.ok(held < DEADLINE_S * 1000 + 1000, `the webhook held a drip for ${held} ms`);
      }
    });

    it('a registry answering 429: never admitted when fail-closed, and counted as a registry error', async () => {
      // The API version check passes; every manifest and blob is rate limited (Docker Hub's pull limit).
      const limited = await startHostileRegistry((req, res) => {
        if (req.url === '/v2/') return void res.writeHead(200).end('{}');
        res.writeHead(429, { 'retry-after': '5', 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      });
      hostiles.push(limited);
      const { review, ms } = await timed(failClosed.port, `${limited.host}/acme/app:1.0`);
      assert.equal(review.allowed, false);
      assert.ok(
        ms < 2500,
        `answered in ${ms} ms: a Retry-After past the deadline is not waited for`,
      );
      assert.match(
        review.status?.message ?? '',
        /RATE_LIMITED: .*rate limited by the registry \(429\)/,
      );
      const metrics = (await post(failClosed.port, ca, '/metrics', '', {}, 'GET')).body;
      assert.match(metrics, /^vouch_admission_registry_errors_total\{code="RATE_LIMITED"\} [1-9]/m);
    });

    it('a registry serving content that does not match its digest: never admitted, even when ignore', async () => {
      // Everything from the real registry, except blobs (the signature payloads) come back altered.
      const forward = forwardTo(registry);
      const corrupt = await startHostileRegistry(async (req, res) => {
        if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')) {
          const upstream = await fetch(`${registry.url}${req.url ?? ''}`);
          const bytes = Buffer.from(await upstream.arrayBuffer());
          bytes[0] = (bytes[0] ?? 0) ^ 0xff;
          res.writeHead(upstream.status, { 'content-type': 'application/octet-stream' }).end(bytes);
          return;
        }
        await forward(req, res);
      });
      hostiles.push(corrupt);
      const ref = `${corrupt.host}/acme/signed:1.0`;
      for (const port of [failClosed.port, ignore.port]) {
        const { review } = await timed(port, ref);
        assert.equal(review.allowed, false, JSON.stringify(review));
        assert.match(review.status?.message ?? '', /acme\/signed:1\.0/);
      }
      // The same image through an honest registry is admitted: the denial was the corruption's.
      assert.equal(
        (await timed(failClosed.port, `${proxy.host}/acme/signed:1.0`)).review.allowed,
        true,
      );
    });
  });
});
