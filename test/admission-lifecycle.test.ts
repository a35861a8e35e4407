/**
 * `vouch admission serve` end to end (the shared environment is test/helpers/admission.ts:
 * the real CLI in a child process over HTTPS, a real Distribution 2.8 registry behind a
 * counting proxy, images signed and attested with `vouch sign` / `vouch attest`).
 * This file: installing (manifests), policy reloads, certificate renewal, and
 * shutdown on signals.
 */
import assert from 'node:assert/strict';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  admit,
  forwardTo,
  KINDS,
  metric,
  podReview,
  podSpec,
  post,
  reviewOf,
  startWebhook,
  timedReview,
  useAdmissionFixture,
  waitFor,
  type Webhook,
  writeFaultPolicy,
} from './helpers/admission.ts';
import { runVouch } from './helpers/cli.ts';
import { type HostileRegistry, startHostileRegistry } from './helpers/hostile-registry.ts';
import { type RunningRegistry } from './helpers/registry.ts';

describe('vouch admission serve: lifecycle', () => {
  const fixture = useAdmissionFixture();
  let registry: RunningRegistry;
  let proxy: HostileRegistry;
  let tmp: string;
  let ca: string;
  let certArgs: string[];
  let policyFile: string;
  let policyText: string;
  let webhook: Webhook;
  const { image } = fixture;
  before(() => ({ registry, proxy, tmp, ca, certArgs, policyFile, policyText, webhook } = fixture));

  it('keeps serving the old policy when the file is replaced by a broken one, and loads the next valid one', async () => {
    const unsignedPod = () =>
      reviewOf(KINDS[0]?.kind as never, { kind: 'Pod', spec: podSpec([image('unsigned')]) });
    await writeFile(policyFile, `${policyText}\n  - this is: [not a rule\n`);
    await waitFor(() =>
      webhook.logs.some(
        (l) => l['msg'] === 'policy reload failed; still serving the previous policy',
      ),
    );
    assert.equal((await admit(webhook.port, ca, '/validate', unsignedPod())).allowed, false);
    assert.equal((await post(webhook.port, ca, '/readyz', '', {}, 'GET')).status, 200);

    // The new policy lets unsigned images run in warn mode.
    await writeFile(
      policyFile,
      policyText.replace(/- name: signed\n(.*\n){3}/, (rule) => `${rule}    mode: warn\n`),
    );
    await waitFor(() => webhook.logs.some((l) => l['msg'] === 'policy reloaded'));
    const warned = await admit(webhook.port, ca, '/validate', unsignedPod());
    assert.equal(warned.allowed, true);
    assert.match(warned.warnings?.[0] ?? '', /rule signed/);
    assert.ok(
      (await metric(
        webhook.port,
        ca,
        /^vouch_admission_policy_reloads_total\{result="failed"\}/,
      )) >= 1,
    );
    await writeFile(policyFile, policyText);
    await waitFor(() => webhook.logs.filter((l) => l['msg'] === 'policy reloaded').length >= 2);
    assert.equal((await admit(webhook.port, ca, '/validate', unsignedPod())).allowed, false);
  });

  it('vouch admission manifests: the YAML to apply, with the policy, its key file and the CA bundle', async () => {
    const caFile = join(tmp, 'certs', 'ca.crt');
    const run = await runVouch([
      'admission',
      'manifests',
      '--policy',
      policyFile,
      '--ca-file',
      caFile,
      '-n',
      'guard',
      '--failure-policy',
      'ignore',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const documents = parseAllDocuments(run.stdout).map(
      (d) => d.toJS() as { kind: string } & Record<string, never>,
    );
    const configMap = documents.find((d) => d.kind === 'ConfigMap') as unknown as {
      data: Record<string, string>;
    };
    assert.equal(configMap.data['policy.yaml'], await readFile(policyFile, 'utf8'));
    assert.equal(
      configMap.data['file-0'],
      await readFile(join(tmp, 'policy', 'keys', 'release.pub'), 'utf8'),
    );
    const validating = documents.find(
      (d) => d.kind === 'ValidatingWebhookConfiguration',
    ) as unknown as {
      webhooks: {
        failurePolicy: string;
        clientConfig: { caBundle: string; service: { namespace: string } };
      }[];
    };
    assert.equal(validating.webhooks[0]?.failurePolicy, 'Ignore');
    assert.equal(validating.webhooks[0]?.clientConfig.service.namespace, 'guard');
    assert.equal(
      Buffer.from(validating.webhooks[0]?.clientConfig.caBundle ?? '', 'base64').toString(),
      ca,
    );

    const missing = await runVouch(['admission', 'manifests', '--policy', policyFile]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--ca-file FILE is required/);
    const broken = join(tmp, 'broken.yaml');
    await writeFile(broken, 'apiVersion: vouch.dev/v1alpha1\nkind: ImagePolicy\nrules: []\n');
    const refused = await runVouch([
      'admission',
      'manifests',
      '--policy',
      broken,
      '--ca-file',
      caFile,
    ]);
    assert.equal(refused.code, 2, 'a policy that does not load is never installed');
    const badCert = await runVouch([
      'admission',
      'cert',
      '--dns',
      'not a name',
      '--out-dir',
      join(tmp, 'x'),
    ]);
    assert.equal(badCert.code, 2);
  });

  it('vouch admission serve refuses a policy that does not load', async () => {
    const broken = join(tmp, 'broken-serve.yaml');
    await writeFile(broken, 'apiVersion: vouch.dev/v1alpha1\nkind: ImagePolicy\n');
    await assert.rejects(startWebhook(['--policy', broken, ...certArgs], tmp), /exited with 2/);
  });

  it('serves a renewed certificate without a restart', async () => {
    const dir = join(tmp, 'rotating');
    const first = await runVouch(['admission', 'cert', '--dns', 'localhost', '--out-dir', dir]);
    assert.equal(first.code, 0, first.stderr);
    const oldCa = await readFile(join(dir, 'ca.crt'), 'utf8');
    const rotating = await startWebhook(
      [
        '--policy',
        policyFile,
        '--tls-cert',
        join(dir, 'tls.crt'),
        '--tls-key',
        join(dir, 'tls.key'),
      ],
      tmp,
    );
    try {
      assert.equal((await post(rotating.port, oldCa, '/healthz', '', {}, 'GET')).status, 200);
      const renewed = join(tmp, 'renewed');
      const second = await runVouch([
        'admission',
        'cert',
        '--dns',
        'localhost',
        '--out-dir',
        renewed,
      ]);
      assert.equal(second.code, 0, second.stderr);
      const newCa = await readFile(join(renewed, 'ca.crt'), 'utf8');
      // As a Secret volume does: the new files replace the old ones by rename.
      for (const file of ['tls.key', 'tls.crt']) {
        await writeFile(join(dir, `.${file}`), await readFile(join(renewed, file)));
        await rename(join(dir, `.${file}`), join(dir, file));
      }
      await waitFor(() => rotating.logs.some((l) => l['msg'] === 'serving certificate reloaded'));
      assert.equal((await post(rotating.port, newCa, '/healthz', '', {}, 'GET')).status, 200);
      await assert.rejects(post(rotating.port, oldCa, '/healthz', '', {}, 'GET'), /certificate/);
    } finally {
      await rotating.stop();
    }
  });

  describe('signals', () => {
    let faultPolicy: string;
    const hostiles: HostileRegistry[] = [];

    before(async () => {
      faultPolicy = await writeFaultPolicy(tmp);
    });

    after(async () => {
      await Promise.all(hostiles.map((h) => h.stop()));
    });

    const pod = podReview;
    const timed = (port: number, ref: string) => timedReview(port, ca, ref);

    it('SIGTERM: stops accepting connections, answers the review in flight, exits 0', async () => {
      // The tag lookup takes a second, so the review is in flight when SIGTERM comes.
      const forward = forwardTo(registry);
      const slow = await startHostileRegistry(async (req, res) => {
        if (/\/manifests\/1\.0$/.test(req.url ?? '')) await sleep(1_000);
        await forward(req, res);
      });
      hostiles.push(slow);
      const draining = await startWebhook(
        ['--policy', faultPolicy, ...certArgs, '--deadline', '5'],
        tmp,
      );
      try {
        const started = performance.now();
        const review = admit(draining.port, ca, '/validate', pod(`${slow.host}/acme/signed:1.0`));
        await waitFor(() => slow.requests.some((r) => r.includes('/manifests/1.0')));
        draining.child.kill('SIGTERM');
        await waitFor(() => draining.logs.some((l) => l['msg'] === 'shutting down'));
        assert.equal(draining.logs.find((l) => l['msg'] === 'shutting down')?.['inFlight'], 1);
        // New connections are refused: the kubelet's readiness probe fails, no new review starts.
        await assert.rejects(post(draining.port, ca, '/readyz', '', {}, 'GET'), /ECONNREFUSED/);

        const answered = await review;
        assert.equal(answered.allowed, true, JSON.stringify(answered));
        assert.ok(performance.now() - started >= 1_000, 'it was answered after the slow lookup');
        assert.deepEqual(await draining.exited, { code: 0, signal: null });
        const messages = draining.logs.map((l) => l['msg']);
        assert.ok(
          messages.indexOf('admission decision') > messages.indexOf('shutting down') &&
            messages.indexOf('stopped') > messages.indexOf('admission decision'),
          messages.join(', '),
        );
      } finally {
        await draining.stop();
      }
    });

    it('a second signal stops it at once, after writing the log lines still queued', async () => {
      // A review in flight (the tag lookup takes a second) keeps the first signal's shutdown waiting.
      const forward = forwardTo(registry);
      const slow = await startHostileRegistry(async (req, res) => {
        if (/\/manifests\/1\.0$/.test(req.url ?? '')) await sleep(1_000);
        await forward(req, res);
      });
      hostiles.push(slow);
      const stopping = await startWebhook(['--policy', faultPolicy, ...certArgs], tmp);
      const closed = new Promise((resolve) => stopping.child.once('close', resolve));
      const review = admit(stopping.port, ca, '/validate', pod(`${slow.host}/acme/signed:1.0`));
      review.catch(() => {}); // cut when the process stops
      await waitFor(() => slow.requests.some((r) => r.includes('/manifests/1.0')));
      stopping.child.kill('SIGTERM');
      // Well inside the 50 ms a log line may wait: "shutting down" is still queued.
      await sleep(10);
      stopping.child.kill('SIGINT');
      assert.deepEqual(await stopping.exited, { code: null, signal: 'SIGINT' });
      await closed;
      const messages = stopping.logs.map((l) => l['msg']);
      assert.ok(messages.includes('shutting down'), messages.join(', '));
      assert.ok(!messages.includes('stopped'), 'it did not wait for the review');
    });

    it('SIGTERM right after a burst of reviews: every decision is logged before the process exits', async () => {
      const quitting = await startWebhook(['--policy', faultPolicy, ...certArgs], tmp);
      const closed = new Promise((resolve) => quitting.child.once('close', resolve));
      const reviews = 30;
      for (let i = 0; i < reviews; i++) {
        const { review } = await timed(quitting.port, `${proxy.host}/acme/signed:1.0`);
        assert.equal(review.allowed, true, JSON.stringify(review));
      }
      // Lines wait up to 50 ms to be written in a batch: the last decisions'
      // are still queued when the signal comes.
      quitting.child.kill('SIGTERM');
      await closed;
      assert.equal(quitting.logs.filter((l) => l['msg'] === 'admission decision').length, reviews);
      assert.deepEqual(
        quitting.logs.slice(-2).map((l) => l['msg']),
        ['shutting down', 'stopped'],
      );
    });
  });
});
