import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { hasCode } from '../core/errors.ts';
import type { ImageDecision } from '../policy/evaluate.ts';
import { CONTAINER_LISTS, POD_SPEC_PATHS, WORKLOAD_KINDS } from '../policy/pod-spec.ts';
import { findImages } from '../policy/workloads.ts';
import { SingleFlight, TtlLru } from './cache.ts';
import { containerImages } from './containers.ts';
import { type LogEntry, logLine } from './log.ts';
import { webhookManifests } from './manifests.ts';
import { AdmissionMetrics, Counter, Histogram, keyOf } from './metrics.ts';
import { admissionResponse } from './respond.ts';
import { type AdmissionRequest, parseAdmissionReview } from './review.ts';

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function request(kind: string, object: unknown, extra: Partial<AdmissionRequest> = {}) {
  return {
    uid: 'u',
    kind: { group: '', version: 'v1', kind },
    subResource: '',
    name: 'n',
    namespace: 'ns',
    operation: 'CREATE',
    object,
    dryRun: false,
    ...extra,
  } as AdmissionRequest;
}

describe('TtlLru', () => {
  it('evicts the least recently used entry and expires entries after their TTL', () => {
    let now = 0;
    const cache = new TtlLru<string, number>({ maxEntries: 2, now: () => now });
    cache.set('a', 1, 100);
    cache.set('b', 2, 100);
    assert.equal(cache.get('a'), 1); // a is now the most recent
    cache.set('c', 3, 100);
    assert.equal(cache.get('b'), undefined, 'b was the least recently used');
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.size, 2);
    now = 100;
    assert.equal(cache.get('a'), undefined, 'expired at its TTL');
    assert.equal(cache.size, 1, 'an expired entry is dropped when seen');
    cache.set('d', 4, 0);
    assert.equal(cache.get('d'), undefined, 'a TTL of 0 stores nothing');
    assert.throws(() => new TtlLru({ maxEntries: 0 }), RangeError);
  });
});

describe('SingleFlight', () => {
  it('shares the promise in flight and forgets it once settled, failures included', async () => {
    const flights = new SingleFlight<string, number>();
    let runs = 0;
    let release: (value: number) => void = () => undefined;
    const work = () => {
      runs++;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const first = flights.run('k', work);
    const second = flights.run('k', work);
    assert.equal(first.shared, false);
    assert.equal(second.shared, true);
    await Promise.resolve();
    release(7);
    assert.deepEqual(await Promise.all([first.promise, second.promise]), [7, 7]);
    assert.equal(runs, 1);
    assert.equal(flights.size, 0);
    const failing = flights.run('k', () => Promise.reject(new Error('down')));
    await assert.rejects(failing.promise, /down/);
    const again = flights.run('k', async () => 8);
    assert.equal(again.shared, false, 'a failure is not remembered');
    assert.equal(await again.promise, 8);
  });
});

describe('metrics', () => {
  it('writes counters with escaped labels and cumulative histogram buckets', () => {
    const counter = new Counter('x_total', 'Things.');
    counter.inc({ code: 'a"b\\c\nd' });
    counter.inc({ code: 'a"b\\c\nd' }, 2);
    assert.equal(
      counter.render(),
      '# HELP x_total Things.\n# TYPE x_total counter\nx_total{code="a\\"b\\\\c\\nd"} 3',
    );
    const histogram = new Histogram('t_seconds', 'Time.', [0.1, 1]);
    for (const value of [0.05, 0.5, 0.5, 5]) histogram.observe(value, { w: 'v' });
    assert.deepEqual(histogram.render().split('\n').slice(2), [
      't_seconds_bucket{w="v",le="0.1"} 1',
      't_seconds_bucket{w="v",le="1"} 3',
      't_seconds_bucket{w="v",le="+Inf"} 4',
      't_seconds_sum{w="v"} 6.05',
      't_seconds_count{w="v"} 4',
    ]);
    assert.match(
      new AdmissionMetrics().render(),
      /# TYPE vouch_admission_cache_hits_total counter\n/,
    );
  });
});

describe('metric series keys', () => {
  it('count one series per label set, whatever the order the labels are written in', () => {
    const counter = new Counter('x_total', 'Things.');
    counter.inc({ webhook: 'validate', result: 'allowed' });
    counter.inc({ result: 'allowed', webhook: 'validate' });
    assert.equal(counter.value({ webhook: 'validate', result: 'allowed' }), 2);
    assert.equal(counter.render().split('\n').length, 3, 'one sample line');
  });

  it('never let two different label sets share a series', () => {
    const sets = [
      {},
      { a: '' },
      { a: 'b' },
      { ab: '' },
      { a: 'b', c: 'd' },
      { a: 'b1:c', d: 'e' },
      { a: 'b', '1:c1:d': '' },
      { a: '1:b' },
      { a: '', b: '' },
      { '': 'a' },
    ];
    const keys = sets.map((labels) => keyOf(labels));
    assert.equal(new Set(keys).size, sets.length, keys.join(' | '));
    const counter = new Counter('y_total', 'Things.');
    for (const labels of sets) counter.inc(labels);
    for (const labels of sets) assert.equal(counter.value(labels), 1, JSON.stringify(labels));
  });
});

describe('metric series of frozen label sets', () => {
  it('count a frozen label set, made once, in the series of its equal label sets', () => {
    const counter = new Counter('x_total', 'Things.');
    const allowed = Object.freeze({ webhook: 'validate', result: 'allowed' });
    counter.inc({ result: 'allowed', webhook: 'validate' });
    counter.inc(allowed);
    counter.inc(allowed, 2);
    counter.inc(Object.freeze({ webhook: 'validate', result: 'denied' }));
    assert.equal(counter.value({ webhook: 'validate', result: 'allowed' }), 4);
    assert.equal(counter.value(allowed), 4);
    assert.equal(counter.value({ webhook: 'validate', result: 'denied' }), 1);
    assert.equal(counter.render().split('\n').length, 4, 'two sample lines');

    const histogram = new Histogram('t_seconds', 'Time.', [0.1, 1]);
    const validate = Object.freeze({ webhook: 'validate' });
    histogram.observe(0.05, validate);
    histogram.observe(0.5, { webhook: 'validate' });
    histogram.observe(0.5, validate);
    assert.deepEqual(histogram.render().split('\n').slice(2), [
      't_seconds_bucket{webhook="validate",le="0.1"} 1',
      't_seconds_bucket{webhook="validate",le="1"} 3',
      't_seconds_bucket{webhook="validate",le="+Inf"} 3',
      't_seconds_sum{webhook="validate"} 1.05',
      't_seconds_count{webhook="validate"} 3',
    ]);
  });

  it('never remember a label object that can change: each increment counts what it says then', () => {
    const counter = new Counter('x_total', 'Things.');
    const labels: Record<string, string> = { code: 'A' };
    counter.inc(labels);
    labels['code'] = 'B';
    counter.inc(labels);
    assert.equal(counter.value({ code: 'A' }), 1);
    assert.equal(counter.value({ code: 'B' }), 1);
  });
});

describe('logLine', () => {
  it('writes the time first, then the entry, as one JSON line, as a spread copy would', () => {
    const time = new Date(Date.UTC(2026, 11, 7, 9, 30, 1, 234));
    const entries: LogEntry[] = [
      { level: 'info', msg: 'listening', port: 8443 },
      {
        level: 'info',
        msg: 'admission decision',
        uid: 'u"1\n',
        message: undefined,
        images: [{ image: 'a:1', digest: undefined, rule: null }],
      },
      { level: 'error', msg: 'x', time: 'the entry says otherwise' },
    ];
    for (const entry of entries) {
      const line = logLine(entry, time);
      assert.equal(line, `${JSON.stringify({ time: time.toISOString(), ...entry })}\n`);
      assert.equal((JSON.parse(line) as { msg: string }).msg, entry.msg);
    }
  });
});

describe('parseAdmissionReview', () => {
  const valid = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'abc',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      operation: 'CREATE',
      namespace: 'prod',
      object: { kind: 'Deployment' },
    },
  };

  it('reads the fields the webhook needs, defaulting the optional ones', () => {
    const parsed = parseAdmissionReview(
      encode({
        ...valid,
        request: {
          ...valid.request,
          userInfo: { username: 'u' },
          oldObject: { kind: 'Deployment' },
        },
      }),
    );
    assert.equal(JSON.stringify(parsed.object), '{"kind":"Deployment"}');
    assert.equal(parsed.uid, 'abc');
    assert.equal(parsed.kind.kind, 'Deployment');
    assert.equal(parsed.subResource, '');
    assert.equal(parsed.name, '');
    assert.equal(parsed.dryRun, false);
  });

  it('refuses anything but a strict AdmissionReview v1', () => {
    const cases: [Uint8Array, RegExp][] = [
      [
        new TextEncoder().encode('{"apiVersion":"admission.k8s.io/v1","apiVersion":"x"}'),
        /duplicate/i,
      ],
      [encode([]), /not a JSON object/],
      [encode({ ...valid, kind: 'Other' }), /kind must be AdmissionReview/],
      [encode({ ...valid, request: null }), /request must be an object/],
      [encode({ ...valid, request: { ...valid.request, operation: 'PATCH' } }), /operation/],
      [encode({ ...valid, request: { ...valid.request, kind: 'Pod' } }), /request.kind/],
      [encode({ ...valid, request: { ...valid.request, object: [] } }), /object must be an object/],
      [
        encode({ ...valid, request: { ...valid.request, namespace: 1 } }),
        /namespace must be a string/,
      ],
    ];
    // The members the webhook does not keep are checked as strictly.
    const raw = (request: string) =>
      new TextEncoder().encode(
        `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"abc","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"UPDATE",${request}}}`,
      );
    cases.push(
      [raw('"userInfo":{"username":"a","username":"b"}'), /duplicate key "username"/],
      [raw('"userInfo":{},"userInfo":{}'), /duplicate key "userInfo"/],
      [
        raw('"oldObject":{"spec":{"containers":[{"image":"a","image":"b"}]}}'),
        /duplicate key "image"/,
      ],
      [raw('"uid":"other"'), /duplicate key "uid"/],
      [raw('"options":{"x":"\\ud800"}'), /lone surrogate/],
      [raw(`"oldObject":${'['.repeat(120)}${']'.repeat(120)}`), /nesting deeper than 100/],
    );
    for (const [body, message] of cases) {
      assert.throws(
        () => parseAdmissionReview(body),
        (error: unknown) =>
          hasCode(error, 'ADMISSION_REVIEW_INVALID') && message.test(error.message),
      );
    }
  });
});

describe('containerImages', () => {
  it('finds init, regular and ephemeral containers with JSON pointers, per kind', () => {
    const spec = {
      initContainers: [{ name: 'i', image: 'a' }],
      containers: [{ name: 'c', image: 'b' }, { name: 'empty', image: '' }, 'junk'],
      ephemeralContainers: [{ image: 'c' }],
      volumes: [
        { name: 'config', configMap: {} },
        { name: 'models', image: { reference: 'd' } },
      ],
    };
    const cron = containerImages(
      request('CronJob', { spec: { jobTemplate: { spec: { template: { spec } } } } }),
    );
    assert.deepEqual(cron, [
      {
        image: 'a',
        pointer: '/spec/jobTemplate/spec/template/spec/initContainers/0/image',
        container: 'initContainers[0] (i)',
      },
      {
        image: 'b',
        pointer: '/spec/jobTemplate/spec/template/spec/containers/0/image',
        container: 'containers[0] (c)',
      },
      {
        image: 'c',
        pointer: '/spec/jobTemplate/spec/template/spec/ephemeralContainers/0/image',
        container: 'ephemeralContainers[0]',
      },
      {
        image: 'd',
        pointer: '/spec/jobTemplate/spec/template/spec/volumes/1/image/reference',
        container: 'volumes[1] (models)',
      },
    ]);
    assert.deepEqual(
      containerImages(
        request('Pod', { kind: 'EphemeralContainers', ephemeralContainers: [{ image: 'e' }] }),
      )?.map((c) => c.pointer),
      ['/ephemeralContainers/0/image'],
    );
    assert.equal(containerImages(request('ConfigMap', { data: {} })), undefined);
    assert.equal(containerImages(request('Pod', null)), undefined);
    assert.deepEqual(containerImages(request('Pod', { spec: 'odd' })), []);
  });

  it('finds what `vouch policy check` finds in the same object, for every workload kind', () => {
    for (const kind of WORKLOAD_KINDS) {
      const spec = {
        ...Object.fromEntries(CONTAINER_LISTS.map((list) => [list, [{ image: `${list}:1` }]])),
        volumes: [{ name: 'v', image: { reference: 'volume:1' } }],
      };
      const object = (POD_SPEC_PATHS[kind] ?? []).reduceRight<object>(
        (inner, key) => ({ [key]: inner }),
        spec,
      );
      const manifest = { apiVersion: 'v1', kind, metadata: { name: 'n' }, ...object };
      const fromWebhook = containerImages(request(kind, manifest))?.map((c) => c.image);
      assert.deepEqual(
        fromWebhook,
        findImages(JSON.stringify(manifest), 'x.json').map((f) => f.image),
        kind,
      );
      assert.equal(fromWebhook?.length, CONTAINER_LISTS.length + 1, kind);
    }
  });
});

function decision(
  image: string,
  result: ImageDecision['result'],
  extra: Partial<ImageDecision> = {},
): ImageDecision {
  return {
    image,
    rule: 'r',
    mode: 'enforce',
    result,
    passed: result === 'allowed',
    reason: `rule r: ${result}`,
    threshold: 1,
    verified: 0,
    authorities: [],
    attestations: [],
    ...extra,
  };
}

describe('admissionResponse', () => {
  const containers = [
    { image: 'a:1', pointer: '/spec/containers/0/image', container: 'containers[0] (a)' },
    { image: 'b:1', pointer: '/spec/containers/1/image', container: 'containers[1] (b)' },
    { image: 'a:1', pointer: '/spec/initContainers/0/image', container: 'initContainers[0] (i)' },
  ];
  const base = { uid: 'u', subject: 'Pod ns/p', containers, mutate: true, policyRevision: 'rev' };

  it('pins every container of an admitted image on /mutate, and nothing on /validate', () => {
    const decisions = new Map([
      ['a:1', decision('a:1', 'allowed', { pin: 'a:1@sha256:aa' })],
      ['b:1', decision('b:1', 'allowed')],
    ]);
    const mutated = admissionResponse({ ...base, decisions, failurePolicy: 'fail' });
    assert.equal(mutated.allowed, true);
    assert.deepEqual(JSON.parse(Buffer.from(mutated.patch ?? '', 'base64').toString()), [
      { op: 'replace', path: '/spec/containers/0/image', value: 'a:1@sha256:aa' },
      { op: 'replace', path: '/spec/initContainers/0/image', value: 'a:1@sha256:aa' },
    ]);
    assert.equal(
      admissionResponse({ ...base, mutate: false, decisions, failurePolicy: 'fail' }).patch,
      undefined,
    );
  });

  it('applies the failure policy to unavailable images only; denials stay denials', () => {
    const unavailable = new Map([
      ['a:1', decision('a:1', 'unavailable')],
      ['b:1', decision('b:1', 'allowed')],
    ]);
    const closed = admissionResponse({ ...base, decisions: unavailable, failurePolicy: 'fail' });
    assert.equal(closed.allowed, false);
    assert.equal(closed.status?.code, 403);
    assert.match(
      closed.status?.message ?? '',
      /^vouch denied Pod ns\/p: image a:1 \(containers\[0\] \(a\), initContainers\[0\] \(i\)\): rule r: unavailable \[could not verify; failure policy: fail\]$/,
    );
    const open = admissionResponse({ ...base, decisions: unavailable, failurePolicy: 'ignore' });
    assert.equal(open.allowed, true);
    assert.equal(open.warnings?.length, 1);
    assert.match(open.auditAnnotations?.['failure-policy-ignored'] ?? '', /^image a:1/);
    const denied = new Map([
      ['a:1', decision('a:1', 'denied')],
      ['b:1', decision('b:1', 'unavailable')],
    ]);
    const deniedOpen = admissionResponse({ ...base, decisions: denied, failurePolicy: 'ignore' });
    assert.equal(deniedOpen.allowed, false);
    assert.doesNotMatch(deniedOpen.status?.message ?? '', /b:1/);
  });

  it('warns for warn mode (clipped to 256 characters) and records audit-mode failures', () => {
    const long = 'x'.repeat(400);
    const decisions = new Map([
      ['a:1', decision('a:1', 'warned', { reason: long })],
      ['b:1', decision('b:1', 'allowed', { mode: 'audit', passed: false })],
    ]);
    const response = admissionResponse({ ...base, decisions, failurePolicy: 'fail' });
    assert.equal(response.allowed, true);
    assert.equal(response.warnings?.[0]?.length, 256);
    assert.match(response.auditAnnotations?.['audit'] ?? '', /^image b:1/);
    assert.equal(response.auditAnnotations?.['policy'], 'rev');
    assert.deepEqual(JSON.parse(response.auditAnnotations?.['images'] ?? ''), [
      { image: 'a:1', rule: 'r', result: 'warned' },
      { image: 'b:1', rule: 'r', result: 'allowed' },
    ]);
  });
});

describe('webhookManifests', () => {
  const options = {
    namespace: 'vouch-system',
    image: 'registry.example/vouch:1',
    caBundle: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    policy: 'apiVersion: vouch.dev/v1alpha1\n',
    policyFiles: new Map([['keys/release.pub', new TextEncoder().encode('PEM')]]),
    failurePolicy: 'fail' as const,
  };

  it('prints every object to apply, the webhooks excluding kube-system and their own namespace', () => {
    const documents = parseAllDocuments(webhookManifests(options)).map(
      (d) => d.toJS() as Record<string, unknown> & { kind: string },
    );
    assert.deepEqual(
      documents.map((d) => d.kind),
      [
        'Namespace',
        'ServiceAccount',
        'ConfigMap',
        'Deployment',
        'PodDisruptionBudget',
        'Service',
        'ValidatingWebhookConfiguration',
        'MutatingWebhookConfiguration',
      ],
    );
    const byKind = Object.fromEntries(documents.map((d) => [d.kind, d])) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(byKind['Deployment'].spec.replicas, 2);
    assert.deepEqual(byKind['ConfigMap'].data, {
      'policy.yaml': options.policy,
      'file-0': 'PEM',
    });
    assert.deepEqual(byKind['Deployment'].spec.template.spec.volumes[0].configMap.items, [
      { key: 'policy.yaml', path: 'policy.yaml' },
      { key: 'file-0', path: 'keys/release.pub' },
    ]);
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      const [webhook] = byKind[kind].webhooks;
      assert.deepEqual(webhook.admissionReviewVersions, ['v1']);
      assert.equal(webhook.sideEffects, 'None');
      assert.equal(webhook.failurePolicy, 'Fail');
      assert.equal(webhook.timeoutSeconds, 10);
      assert.deepEqual(webhook.namespaceSelector.matchExpressions[0].values, [
        'kube-system',
        'vouch-system',
      ]);
      assert.equal(
        Buffer.from(webhook.clientConfig.caBundle, 'base64').toString(),
        options.caBundle,
      );
      assert.ok(
        webhook.rules.some((r: { resources: string[] }) =>
          r.resources.includes('pods/ephemeralcontainers'),
        ),
      );
      assert.ok(
        webhook.rules.some((r: { resources: string[] }) => r.resources.includes('cronjobs')),
      );
    }
    assert.equal(
      byKind['MutatingWebhookConfiguration'].webhooks[0].clientConfig.service.path,
      '/mutate',
    );
    const args: string[] = byKind['Deployment'].spec.template.spec.containers[0].args;
    assert.deepEqual(args.slice(args.indexOf('--deadline'), args.indexOf('--deadline') + 2), [
      '--deadline',
      '8',
    ]);
  });

  it('puts a binary key file (a GPG keyring, a DER certificate) in binaryData, byte for byte', () => {
    // A binary OpenPGP public key packet header and bytes that are not UTF-8.
    const keyring = new Uint8Array([0x99, 0x01, 0x0d, 0x04, 0xff, 0xfe, 0x00, 0x80, 0xc3]);
    const [configMap] = parseAllDocuments(
      webhookManifests({
        ...options,
        policyFiles: new Map([
          ['keys/release.pub', new TextEncoder().encode('PEM ✓')],
          ['keys/pubring.gpg', keyring],
        ]),
      }),
    )
      .map((d) => d.toJS() as Record<string, any>) // eslint-disable-line @typescript-eslint/no-explicit-any
      .filter((d) => d['kind'] === 'ConfigMap');
    assert.deepEqual(configMap?.['data'], { 'policy.yaml': options.policy, 'file-0': 'PEM ✓' });
    assert.deepEqual(Object.keys(configMap?.['binaryData'] ?? {}), ['file-1']);
    assert.deepEqual(
      new Uint8Array(Buffer.from(configMap?.['binaryData']['file-1'], 'base64')),
      keyring,
    );
  });

  it('shuts down without dropping reviews: a preStop pause, then a grace period covering the deadline', () => {
    for (const timeoutSeconds of [10, 30]) {
      const [deployment] = parseAllDocuments(webhookManifests({ ...options, timeoutSeconds }))
        .map((d) => d.toJS() as { kind: string; spec: any }) // eslint-disable-line @typescript-eslint/no-explicit-any
        .filter((d) => d.kind === 'Deployment');
      const pod = deployment?.spec.template.spec;
      const pause: number = pod.containers[0].lifecycle.preStop.sleep.seconds;
      assert.equal(pause, 5);
      const args: string[] = pod.containers[0].args;
      const deadline = Number(args[args.indexOf('--deadline') + 1]);
      // SIGTERM comes after the pause; the drain then takes at most deadline + 1 s (server.ts).
      assert.ok(
        pod.terminationGracePeriodSeconds >= pause + deadline + 1,
        `${pod.terminationGracePeriodSeconds} s for ${pause} s + ${deadline} s`,
      );
    }
  });

  it('runs read-only, as the image user, writing only to emptyDirs: the cache, the trust data and /tmp', () => {
    const [deployment] = parseAllDocuments(webhookManifests(options))
      .map((d) => d.toJS() as { kind: string; spec: any }) // eslint-disable-line @typescript-eslint/no-explicit-any
      .filter((d) => d.kind === 'Deployment');
    const pod = deployment?.spec.template.spec;
    const [container] = pod.containers;
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    // The Containerfile's USER.
    assert.deepEqual(
      [pod.securityContext.runAsNonRoot, pod.securityContext.runAsUser],
      [true, 65532],
    );
    const emptyDirs = new Set(
      pod.volumes
        .filter((v: { emptyDir?: object }) => v.emptyDir)
        .map((v: { name: string }) => v.name),
    );
    const writable = container.volumeMounts
      .filter((m: { name: string }) => emptyDirs.has(m.name))
      .map((m: { mountPath: string }) => m.mountPath);
    const under = (path: string) =>
      writable.some((dir: string) => `${path}/`.startsWith(`${dir}/`));
    const env = Object.fromEntries(
      container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    const args: string[] = container.args;
    // VOUCH_CACHE_DIR: the trusted root's TUF cache; --trust-dir: Docker Content
    // Trust metadata; /tmp: tuf-js stages each TUF download in os.tmpdir().
    assert.ok(under(env.VOUCH_CACHE_DIR), `VOUCH_CACHE_DIR ${env.VOUCH_CACHE_DIR} in ${writable}`);
    assert.ok(under(args[args.indexOf('--trust-dir') + 1] as string), `--trust-dir in ${writable}`);
    assert.ok(under('/tmp'), `/tmp in ${writable}`);
  });

  it('refuses policy files outside the policy directory and timeouts out of range', () => {
    assert.throws(
      () =>
        webhookManifests({
          ...options,
          policyFiles: new Map([['../x.pem', new TextEncoder().encode('PEM')]]),
        }),
      /inside its directory/,
    );
    assert.throws(() => webhookManifests({ ...options, timeoutSeconds: 31 }), /from 2 to 30/);
  });
});
