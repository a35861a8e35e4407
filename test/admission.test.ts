/**
 * `vouch admission serve` end to end: the real CLI in a child process,
 * serving HTTPS with a certificate made by `vouch admission cert`, in front
 * of a real Distribution 2.8 registry (reached through a counting proxy)
 * holding images signed and attested with `vouch sign` / `vouch attest`, and
 * unsigned ones. Real AdmissionReview v1 requests for every workload kind;
 * faults from registries that are down, slow, rate limiting or serving
 * corrupt content; policy reloads.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  appendSignatureLayer,
  signatureLayer,
  signatureTag,
} from '../src/formats/cosign-signature.ts';
import { buildSimpleSigningPayload } from '../src/formats/simple-signing.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import type { Digest } from '../src/oci/digest.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { NO_DOCKER_CONFIG, runVouch } from './helpers/cli.ts';
import { type HostileRegistry, startHostileRegistry } from './helpers/hostile-registry.ts';
import { buildImage, putBytes } from './helpers/images.ts';
import {
  CHAINGUARD_IDENTITY,
  createKeylessSigstore,
  GITHUB_ISSUER,
  keylessTrustedRootJson,
  mintKeylessSignature,
} from './helpers/keyless.ts';
import { freePort, type RunningRegistry, startRegistry } from './helpers/registry.ts';

const BIN = new URL('../src/cli/bin.ts', import.meta.url).pathname;

interface Review {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { code: number; reason: string; message: string };
  readonly patchType?: string;
  readonly patch?: string;
  readonly warnings?: string[];
  readonly auditAnnotations?: Record<string, string>;
}

interface Webhook {
  readonly port: number;
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** `vouch admission serve ...` on 127.0.0.1:0; resolves once it logs that it listens. */
async function startWebhook(args: readonly string[], home: string): Promise<Webhook> {
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'admission', 'serve', '--listen', '127.0.0.1:0', ...args],
    {
      env: { DOCKER_CONFIG: NO_DOCKER_CONFIG, HOME: home, PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const entry = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
        buffered = buffered.slice(newline + 1);
        logs.push(entry);
        if (entry['msg'] === 'listening') resolve(entry['port'] as number);
      }
    });
    child.once('exit', (code) => reject(new Error(`webhook exited with ${code}: ${stderr}`)));
  });
  return {
    port,
    logs,
    exited,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * POSTs an AdmissionReview (or any body) over HTTPS, trusting only `ca`, on a
 * new connection each time (no TLS session resumption: the certificate is
 * checked on every request).
 */
function post(
  port: number,
  ca: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  method = 'POST',
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method, ca, servername: 'localhost', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends a 4 MiB body (declared, or chunked without a length) and resolves
 * with the status as soon as the webhook answers, without finishing it.
 */
function oversized(port: number, ca: string, declared: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        ca,
        servername: 'localhost',
        headers: {
          'content-type': 'application/json',
          ...(declared ? { 'content-length': String(4 * 1024 * 1024) } : {}),
        },
      },
      (res) => {
        answered = true;
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      },
    );
    // Writes after the answer may meet a closed socket: that is the point.
    req.on('error', (error) => (answered ? undefined : reject(error)));
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    const write = (left: number): void => {
      if (answered || left === 0) return;
      req.write(chunk, () => write(left - 1));
    };
    write(16);
  });
}

let uidCounter = 0;

function reviewOf(
  kind: { group: string; version: string; kind: string },
  object: unknown,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `uid-${++uidCounter}`,
      kind,
      resource: {
        group: kind.group,
        version: kind.version,
        resource: `${kind.kind.toLowerCase()}s`,
      },
      subResource: '',
      name: 'web',
      namespace: 'prod',
      operation: 'CREATE',
      userInfo: { username: 'admin' },
      object,
      dryRun: false,
      ...extra,
    },
  });
}

async function admit(port: number, ca: string, path: string, review: string): Promise<Review> {
  const response = await post(port, ca, path, review);
  assert.equal(response.status, 200, response.body);
  const parsed = JSON.parse(response.body) as {
    apiVersion: string;
    kind: string;
    response: Review;
  };
  assert.equal(parsed.apiVersion, 'admission.k8s.io/v1');
  assert.equal(parsed.kind, 'AdmissionReview');
  assert.equal(
    parsed.response.uid,
    (JSON.parse(review) as { request: { uid: string } }).request.uid,
  );
  return parsed.response;
}

const podSpec = (containers: string[], init: string[] = [], ephemeral: string[] = []) => ({
  ...(init.length === 0
    ? {}
    : { initContainers: init.map((image, i) => ({ name: `init${i}`, image })) }),
  containers: containers.map((image, i) => ({ name: `c${i}`, image })),
  ...(ephemeral.length === 0
    ? {}
    : { ephemeralContainers: ephemeral.map((image, i) => ({ name: `debug${i}`, image })) }),
});

/** Every workload kind, its group/version and the object holding `spec` as its pod spec. */
const KINDS: readonly {
  kind: { group: string; version: string; kind: string };
  wrap: (spec: object) => object;
}[] = [
  { kind: { group: '', version: 'v1', kind: 'Pod' }, wrap: (spec) => ({ kind: 'Pod', spec }) },
  ...(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'] as const).map((kind) => ({
    kind: { group: 'apps', version: 'v1', kind },
    wrap: (spec: object) => ({ kind, spec: { template: { spec } } }),
  })),
  {
    kind: { group: 'batch', version: 'v1', kind: 'Job' },
    wrap: (spec) => ({ kind: 'Job', spec: { template: { spec } } }),
  },
  {
    kind: { group: 'batch', version: 'v1', kind: 'CronJob' },
    wrap: (spec) => ({
      kind: 'CronJob',
      spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec } } } },
    }),
  },
  {
    kind: { group: '', version: 'v1', kind: 'ReplicationController' },
    wrap: (spec) => ({ kind: 'ReplicationController', spec: { template: { spec } } }),
  },
];

/** RFC 6902 `replace` applied to a copy of `object` (the only op vouch emits). */
function applyPatch(
  object: unknown,
  patch: { op: string; path: string; value: unknown }[],
): unknown {
  const copy = structuredClone(object) as Record<string, unknown>;
  for (const operation of patch) {
    assert.equal(operation.op, 'replace');
    const keys = operation.path.split('/').slice(1);
    const last = keys.pop() as string;
    let target: Record<string, unknown> = copy;
    for (const key of keys) target = target[key] as Record<string, unknown>;
    assert.ok(last in target, `the patch replaces ${operation.path}, which exists`);
    target[last] = operation.value;
  }
  return copy;
}

function decodePatch(review: Review): { op: string; path: string; value: string }[] {
  assert.equal(review.patchType, 'JSONPatch');
  return JSON.parse(Buffer.from(review.patch as string, 'base64').toString()) as {
    op: string;
    path: string;
    value: string;
  }[];
}

/** Forwards every request to `target`, counting them: what the webhook asks of the registry. */
function forwardTo(target: RunningRegistry) {
  return (req: IncomingMessage, res: ServerResponse) =>
    new Promise<void>((resolve, reject) => {
      const upstream = http.request(
        `${target.url}${req.url ?? '/'}`,
        { method: req.method, headers: { ...req.headers, host: target.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', resolve);
        },
      );
      upstream.on('error', reject);
      req.pipe(upstream);
    });
}

async function metric(port: number, ca: string, line: RegExp): Promise<number> {
  const response = await post(port, ca, '/metrics', '', {}, 'GET');
  const match = response.body.split('\n').find((l) => line.test(l));
  return match === undefined ? 0 : Number(match.split(' ').pop());
}

/**
 * Loads (estimated for strings of 100 characters, it is cheap), but on the
 * `costly` image's scan spreads a 1 MiB string into an array 1,000 times,
 * which held the event loop for half a minute before conditions had a
 * budget.
 */
const COSTLY_CONDITION = 'predicate.long.all(a, predicate.text.size() > 0)';

describe('vouch admission serve', () => {
  let registry: RunningRegistry;
  let proxy: HostileRegistry;
  let tmp: string;
  let ca: string;
  let certArgs: string[];
  let policyFile: string;
  let policyText: string;
  let webhook: Webhook;
  const digests: Record<string, string> = {};
  let host: string;
  const image = (name: string) => `${host}/acme/${name}:1.0`;

  before(async () => {
    registry = await startRegistry();
    proxy = await startHostileRegistry(forwardTo(registry));
    host = proxy.host;
    tmp = await mkdtemp(join(tmpdir(), 'vouch-admission-test-'));
    const httpClient = new HttpClient({ retries: 0 });
    const client = new RegistryClient(registry.host, { http: httpClient });
    for (const name of [
      'signed',
      'attested',
      'unsigned',
      'experimental/tool',
      'other',
      'fresh',
      'costly',
    ]) {
      const built = await buildImage(client.repository(`acme/${name}`), {
        tag: '1.0',
        layers: 1,
        layerSize: 64,
      });
      digests[name] = built.descriptor.digest;
    }
    await httpClient.close();
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = join(tmp, 'key.pem');
    await writeFile(key, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await mkdir(join(tmp, 'policy', 'keys'), { recursive: true });
    await writeFile(join(tmp, 'policy', 'keys', 'release.pub'), publicKeyToPem(pair.publicKey));
    const env = { DOCKER_CONFIG: NO_DOCKER_CONFIG };
    for (const name of ['signed', 'attested', 'other', 'fresh', 'costly']) {
      const run = await runVouch(['sign', '--key', key, image(name)], { env });
      assert.equal(run.code, 0, run.stderr);
    }
    const predicate = join(tmp, 'provenance.json');
    await writeFile(predicate, JSON.stringify({ buildDefinition: { buildType: 'x' } }));
    const attest = await runVouch(
      [
        'attest',
        '--key',
        key,
        '--type',
        'slsaprovenance1',
        '--predicate',
        predicate,
        image('attested'),
      ],
      { env },
    );
    assert.equal(attest.code, 0, attest.stderr);
    // A scan whose predicate holds a list of 1,000 numbers and a 1 MiB string.
    const scan = join(tmp, 'scan.json');
    await writeFile(
      scan,
      JSON.stringify({
        long: Array.from({ length: 1000 }, (_, i) => i),
        text: 'x'.repeat(1 << 20),
      }),
    );
    const attestScan = await runVouch(
      ['attest', '--key', key, '--type', 'vuln', '--predicate', scan, image('costly')],
      { env },
    );
    assert.equal(attestScan.code, 0, attestScan.stderr);

    const certs = join(tmp, 'certs');
    const cert = await runVouch([
      'admission',
      'cert',
      '--dns',
      'localhost',
      '--dns',
      '127.0.0.1',
      '--out-dir',
      certs,
    ]);
    assert.equal(cert.code, 0, cert.stderr);
    ca = await readFile(join(certs, 'ca.crt'), 'utf8');
    certArgs = ['--tls-cert', join(certs, 'tls.crt'), '--tls-key', join(certs, 'tls.key')];

    policyFile = join(tmp, 'policy', 'policy.yaml');
    policyText = `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
defaultAction: deny
authorities:
  release:
    key: { file: keys/release.pub }
rules:
  - name: attested
    images: ["${host}/acme/attested"]
    authorities: [release]
    attestations:
      - name: provenance
        predicateType: slsaprovenance1
    mutateDigest: true
  - name: experiments
    images: ["${host}/acme/experimental/**"]
    authorities: [release]
    mode: warn
  - name: costly
    images: ["${host}/acme/costly"]
    authorities: [release]
    attestations:
      - name: scan
        predicateType: vuln
        condition: ${COSTLY_CONDITION}
  - name: audited
    images: ["${host}/acme/other"]
    namespaces: ["audit-*"]
    authorities: [release]
    mode: audit
  - name: signed
    images: ["${host}/acme/**"]
    authorities: [release]
    mutateDigest: true
`;
    await writeFile(policyFile, policyText);
    webhook = await startWebhook(['--policy', policyFile, ...certArgs], tmp);
  });

  after(async () => {
    await webhook?.stop();
    await proxy?.stop();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('answers /healthz, /readyz and /metrics, and plain HTTP errors for everything else', async () => {
    assert.equal((await post(webhook.port, ca, '/healthz', '', {}, 'GET')).body, 'ok\n');
    assert.equal((await post(webhook.port, ca, '/readyz', '', {}, 'GET')).status, 200);
    const metrics = await post(webhook.port, ca, '/metrics', '', {}, 'GET');
    assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.body, /# TYPE vouch_admission_request_duration_seconds histogram/);
    assert.match(metrics.body, /vouch_admission_policy_info\{revision="[0-9a-f]{64}"\} 1/);

    const review = reviewOf(KINDS[0]?.kind as never, {
      kind: 'Pod',
      spec: podSpec([image('signed')]),
    });
    assert.equal((await post(webhook.port, ca, '/nope', review)).status, 404);
    // A review's answer carries its length: headers and body in one write,
    // not chunked framing written piece by piece.
    const answered = await post(webhook.port, ca, '/validate', review);
    assert.equal(answered.status, 200);
    assert.equal(answered.headers['transfer-encoding'], undefined);
    assert.equal(Number(answered.headers['content-length']), Buffer.byteLength(answered.body));
    const get = await post(webhook.port, ca, '/validate', '', {}, 'GET');
    assert.equal(get.status, 405);
    assert.equal(get.headers['allow'], 'POST');
    assert.equal(
      (await post(webhook.port, ca, '/validate', review, { 'content-type': 'text/plain' })).status,
      415,
    );
    // Refused by its declared length, and while streaming one without a length.
    assert.equal(await oversized(webhook.port, ca, true), 413);
    assert.equal(await oversized(webhook.port, ca, false), 413);
    for (const [body, expected] of [
      ['{"apiVersion":"admission.k8s.io/v1"', /not valid JSON/],
      [
        review.replace(
          '"kind":"AdmissionReview"',
          '"kind":"AdmissionReview","kind":"AdmissionReview"',
        ),
        /duplicate/i,
      ],
      [
        review.replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'),
        /apiVersion must be admission\.k8s\.io\/v1/,
      ],
      [review.replace(/"uid":"[^"]*"/, '"uid":""'), /uid/],
      [`${review} []`, /after the JSON value/],
    ] as const) {
      const answer = await post(webhook.port, ca, '/validate', body);
      assert.equal(answer.status, 400, body);
      assert.match(answer.body, expected);
    }
  });

  for (const { kind, wrap } of KINDS) {
    it(`${kind.kind}: admits signed and attested images (init containers too), denies an unsigned one naming image, rule and reason`, async () => {
      const ok = await admit(
        webhook.port,
        ca,
        '/validate',
        reviewOf(kind, wrap(podSpec([image('attested')], [image('signed')]))),
      );
      assert.equal(ok.allowed, true, JSON.stringify(ok));
      assert.equal(ok.patch, undefined, '/validate never patches');
      const images = JSON.parse(ok.auditAnnotations?.['images'] ?? '[]') as { result: string }[];
      assert.deepEqual(
        images.map((i) => i.result),
        ['allowed', 'allowed'],
      );

      const denied = await admit(
        webhook.port,
        ca,
        '/validate',
        reviewOf(kind, wrap(podSpec([image('signed')], [image('unsigned')]))),
      );
      assert.equal(denied.allowed, false);
      assert.equal(denied.status?.code, 403);
      assert.equal(denied.status?.reason, 'Forbidden');
      const message = denied.status?.message ?? '';
      assert.match(
        message,
        new RegExp(
          `image ${image('unsigned').replace(/[./]/g, '\\$&')} \\(initContainers\\[0\\] \\(init0\\)\\)`,
        ),
      );
      assert.match(message, /rule signed: 0 of 1 required authority verified it \(release: /);
      assert.match(message, new RegExp(`${kind.kind} prod/web`));
      assert.doesNotMatch(message, /acme\/signed/, 'only failing images are named');
    });
  }

  it('a condition over its budget: denied within the deadline, /healthz answering all along', async () => {
    const review = () =>
      reviewOf(KINDS[0]?.kind as never, { kind: 'Pod', spec: podSpec([image('costly')]) });
    for (const round of ['gathers the evidence', 'from the cache']) {
      const started = performance.now();
      let answered = false;
      const answer = admit(webhook.port, ca, '/validate', review()).finally(
        () => (answered = true),
      );
      const health: number[] = [];
      while (!answered) {
        const asked = performance.now();
        const healthz = await post(webhook.port, ca, '/healthz', '', {}, 'GET');
        assert.equal(healthz.body, 'ok\n');
        health.push(performance.now() - asked);
        await sleep(10);
      }
      const denied = await answer;
      const elapsed = performance.now() - started;
      assert.equal(denied.allowed, false, round);
      assert.match(
        denied.status?.message ?? '',
        /rule costly: attestation scan: .*CONDITION_BUDGET_EXCEEDED: the evaluation was stopped at its budget/,
      );
      // The webhook's deadline is 8 s; evaluation is a small part of this.
      assert.ok(elapsed < 8_000, `${round}: answered after ${elapsed} ms`);
      assert.ok(
        Math.max(...health) < 2_000,
        `${round}: /healthz took up to ${Math.max(...health)} ms`,
      );
    }
  });

  it('vouch admission serve refuses a policy whose condition nests loops four deep', async () => {
    const file = join(tmp, 'policy', 'nested.yaml');
    await writeFile(
      file,
      policyText.replace(
        COSTLY_CONDITION,
        'predicate.long.all(a, predicate.long.all(b, predicate.long.all(c, predicate.long.all(d, a + b + c + d >= 0.0))))',
      ),
    );
    const outcome = await startWebhook(['--policy', file, ...certArgs], tmp).then(
      async (started) => {
        await started.stop();
        return 'it started';
      },
      (error: unknown) => String(error),
    );
    assert.match(
      outcome,
      /exited with 2: .*condition \(line \d+, column \d+\): the CEL expression nests loops .* 4 deep/,
    );
  });

  it('pods/ephemeralcontainers: checks the ephemeral containers of the Pod', async () => {
    const kind = { group: '', version: 'v1', kind: 'Pod' };
    const denied = await admit(
      webhook.port,
      ca,
      '/validate',
      reviewOf(
        kind,
        { kind: 'Pod', spec: podSpec([image('signed')], [], [image('unsigned')]) },
        {
          subResource: 'ephemeralcontainers',
          operation: 'UPDATE',
        },
      ),
    );
    assert.equal(denied.allowed, false);
    assert.match(denied.status?.message ?? '', /ephemeralContainers\[0\] \(debug0\)/);
    assert.match(denied.status?.message ?? '', /Pod\/ephemeralcontainers prod\/web/);

    const object = { kind: 'Pod', spec: podSpec([image('signed')], [], [image('signed')]) };
    const mutated = await admit(
      webhook.port,
      ca,
      '/mutate',
      reviewOf(kind, object, { subResource: 'ephemeralcontainers', operation: 'UPDATE' }),
    );
    assert.equal(mutated.allowed, true);
    assert.deepEqual(
      decodePatch(mutated).map((p) => p.path),
      ['/spec/containers/0/image', '/spec/ephemeralContainers/0/image'],
    );
  });

  it('checks image volumes too, and pins them on /mutate', async () => {
    const kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
    const spec = (volume: string) => ({
      ...podSpec([image('signed')]),
      volumes: [{ name: 'models', image: { reference: volume } }],
    });
    const denied = await admit(
      webhook.port,
      ca,
      '/validate',
      reviewOf(kind, { kind: 'Deployment', spec: { template: { spec: spec(image('unsigned')) } } }),
    );
    assert.equal(denied.allowed, false);
    assert.match(denied.status?.message ?? '', /acme\/unsigned:1\.0 \(volumes\[0\] \(models\)\)/);
    const mutated = await admit(
      webhook.port,
      ca,
      '/mutate',
      reviewOf(kind, { kind: 'Deployment', spec: { template: { spec: spec(image('attested')) } } }),
    );
    assert.equal(mutated.allowed, true);
    assert.deepEqual(decodePatch(mutated).at(-1), {
      op: 'replace',
      path: '/spec/template/spec/volumes/0/image/reference',
      value: `${image('attested')}@${digests['attested']}`,
    });
  });

  it('skips DELETE, CONNECT and the status and scale subresources', async () => {
    const kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
    const object = {
      kind: 'Deployment',
      spec: { template: { spec: podSpec([image('unsigned')]) } },
    };
    for (const extra of [
      { operation: 'DELETE', object: null, oldObject: object },
      { subResource: 'status', operation: 'UPDATE' },
      { subResource: 'scale', operation: 'UPDATE' },
    ]) {
      const answer = await admit(webhook.port, ca, '/validate', reviewOf(kind, object, extra));
      assert.equal(answer.allowed, true, JSON.stringify(extra));
    }
    const deny = await admit(
      webhook.port,
      ca,
      '/validate',
      reviewOf(kind, object, { operation: 'UPDATE' }),
    );
    assert.equal(deny.allowed, false, 'an UPDATE is checked');
  });

  it('/mutate pins tags to repo:tag@digest where the rule says mutateDigest, in every container list', async () => {
    for (const { kind, wrap } of KINDS) {
      const object = wrap(podSpec([image('attested'), image('signed')], [image('signed')]));
      const answer = await admit(webhook.port, ca, '/mutate', reviewOf(kind, object));
      assert.equal(answer.allowed, true);
      const patched = JSON.stringify(applyPatch(object, decodePatch(answer)));
      const expected = JSON.stringify(
        wrap(
          podSpec(
            [
              `${image('attested')}@${digests['attested']}`,
              `${image('signed')}@${digests['signed']}`,
            ],
            [`${image('signed')}@${digests['signed']}`],
          ),
        ),
      );
      assert.equal(patched, expected, kind.kind);
    }
    // Already pinned: nothing to patch; a denied request gets no patch either.
    const pinned = await admit(
      webhook.port,
      ca,
      '/mutate',
      reviewOf(KINDS[0]?.kind as never, {
        kind: 'Pod',
        spec: podSpec([`${image('signed')}@${digests['signed']}`]),
      }),
    );
    assert.equal(pinned.allowed, true);
    assert.equal(pinned.patch, undefined);
    const denied = await admit(
      webhook.port,
      ca,
      '/mutate',
      reviewOf(KINDS[0]?.kind as never, {
        kind: 'Pod',
        spec: podSpec([image('signed'), image('unsigned')]),
      }),
    );
    assert.equal(denied.allowed, false);
    assert.equal(denied.patch, undefined);
  });

  it('warn mode admits with a warning; audit mode admits and records it in auditAnnotations', async () => {
    const warned = await admit(
      webhook.port,
      ca,
      '/validate',
      reviewOf(KINDS[0]?.kind as never, {
        kind: 'Pod',
        spec: podSpec([image('experimental/tool')]),
      }),
    );
    assert.equal(warned.allowed, true);
    assert.equal(warned.warnings?.length, 1);
    assert.match(warned.warnings?.[0] ?? '', /acme\/experimental\/tool:1\.0.*rule experiments/);
    assert.ok((warned.warnings?.[0] ?? '').length <= 256);

    const unsignedInAudit = await admit(
      webhook.port,
      ca,
      '/validate',
      reviewOf(
        KINDS[0]?.kind as never,
        { kind: 'Pod', spec: podSpec([image('other')]) },
        { namespace: 'audit-team' },
      ),
    );
    assert.equal(unsignedInAudit.allowed, true);
    assert.equal(unsignedInAudit.warnings, undefined);
    assert.equal(unsignedInAudit.auditAnnotations?.['audit'], undefined, 'other is signed: passes');
    // Log lines are written in batches (cli/batched-lines.ts), shortly after the answer.
    await waitFor(() => webhook.logs.some((l) => l['uid'] === `uid-${uidCounter}`));
    const log = webhook.logs.findLast((l) => l['uid'] === `uid-${uidCounter}`);
    assert.equal(log?.['allowed'], true);
    assert.equal(log?.['namespace'], 'audit-team');
  });

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
    await sleep(50);
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

  describe('keyless authorities', () => {
    let keyless: string;
    let rightPolicy: string;
    let wrongPolicy: string;

    before(async () => {
      // An image signed keylessly by an ephemeral Sigstore (Fulcio and Rekor cannot
      // run here), stored as cosign stores it: one `.sig` layer with the certificate
      // and the Rekor bundle in its annotations.
      const sigstore = await createKeylessSigstore();
      const httpClient = new HttpClient({ retries: 0 });
      const store = new RegistryClient(registry.host, { http: httpClient }).repository(
        'acme/keyless',
      );
      const built = await buildImage(store, { tag: '1.0', layers: 1, layerSize: 64 });
      const digest: Digest = built.descriptor.digest;
      const payload = buildSimpleSigningPayload({
        dockerReference: `${host}/acme/keyless`,
        dockerManifestDigest: digest,
      });
      const minted = await mintKeylessSignature(
        sigstore,
        { subject: CHAINGUARD_IDENTITY, issuer: GITHUB_ISSUER },
        payload,
      );
      const layer = signatureLayer({
        payload,
        signatureBase64: minted.signatureBase64,
        annotations: minted.annotations,
      });
      const { image: sig } = appendSignatureLayer(undefined, layer.descriptor);
      await putBytes(store, layer.descriptor.mediaType, layer.blob);
      await putBytes(store, sig.configDescriptor.mediaType, sig.config);
      await store.putManifest(sig.manifest, sig.mediaType, signatureTag(digest));
      await httpClient.close();
      digests['keyless'] = digest;
      keyless = image('keyless');

      await writeFile(join(tmp, 'policy', 'trusted_root.json'), keylessTrustedRootJson(sigstore));
      const policyFor = (identity: string) => `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  ci:
    keyless:
      identity: ${identity}
      issuer: ${GITHUB_ISSUER}
      trustedRoot: trusted_root.json
rules:
  - name: released
    images: ["${host}/acme/**"]
    authorities: [ci]
`;
      rightPolicy = join(tmp, 'policy', 'keyless-right.yaml');
      wrongPolicy = join(tmp, 'policy', 'keyless-wrong.yaml');
      await writeFile(rightPolicy, policyFor(CHAINGUARD_IDENTITY));
      await writeFile(
        wrongPolicy,
        policyFor('https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main'),
      );
    });

    it('vouch policy evaluate: allowed for the signing identity, denied for another', async () => {
      const env = { DOCKER_CONFIG: NO_DOCKER_CONFIG };
      const right = await runVouch(
        ['policy', 'evaluate', '--policy', rightPolicy, keyless, '-o', 'json'],
        { env },
      );
      assert.equal(right.code, 0, right.stdout + right.stderr);
      const allowed = (
        JSON.parse(right.stdout) as {
          images: { result: string; digest: string; authorities: { status: string }[] }[];
        }
      ).images[0];
      assert.equal(allowed?.result, 'allowed');
      assert.equal(allowed?.digest, digests['keyless']);
      assert.deepEqual(
        allowed?.authorities.map((a) => a.status),
        ['verified'],
      );

      const wrong = await runVouch(['policy', 'evaluate', '--policy', wrongPolicy, keyless], {
        env,
      });
      assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
      assert.match(wrong.stdout, /rule released: 0 of 1 required authority verified it \(ci: /);
      // The policies differ only in the identity: the signature is refused for it.
      assert.match(wrong.stdout, /ci \(keyless\): denied NO_VALID_SIGNATURE/);
      // ... and says why, as `vouch verify` does.
      assert.match(wrong.stdout, /is valid for sha256:[0-9a-f]{64} \(CERT_IDENTITY_MISMATCH: /);
    });

    it('vouch admission serve: admits the keylessly signed image, and denies it for another identity', async () => {
      const [right, wrong] = await Promise.all([
        startWebhook(['--policy', rightPolicy, ...certArgs], tmp),
        startWebhook(['--policy', wrongPolicy, ...certArgs], tmp),
      ]);
      try {
        const review = () =>
          reviewOf(
            KINDS[1]?.kind as never,
            (KINDS[1]?.wrap as (s: object) => object)(podSpec([keyless])),
          );
        const admitted = await admit(right.port, ca, '/mutate', review());
        assert.equal(admitted.allowed, true, JSON.stringify(admitted));
        assert.deepEqual(decodePatch(admitted), [
          {
            op: 'replace',
            path: '/spec/template/spec/containers/0/image',
            value: `${keyless}@${digests['keyless']}`,
          },
        ]);
        const denied = await admit(wrong.port, ca, '/validate', review());
        assert.equal(denied.allowed, false);
        assert.match(
          denied.status?.message ?? '',
          /rule released: 0 of 1 required authority verified it \(ci: /,
        );
      } finally {
        await Promise.all([right.stop(), wrong.stop()]);
      }
    });
  });

  describe('faults', () => {
    let faultPolicy: string;
    let failClosed: Webhook;
    let ignore: Webhook;
    const hostiles: HostileRegistry[] = [];
    const DEADLINE_S = 1.5;

    before(async () => {
      faultPolicy = join(tmp, 'policy', 'faults.yaml');
      await writeFile(
        faultPolicy,
        `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  release:
    key: { file: keys/release.pub }
rules:
  - name: everything-signed
    images: ["**"]
    authorities: [release]
`,
      );
      const common = ['--policy', faultPolicy, ...certArgs, '--deadline', String(DEADLINE_S)];
      [failClosed, ignore] = await Promise.all([
        startWebhook(common, tmp),
        startWebhook([...common, '--failure-policy', 'ignore'], tmp),
      ]);
    });

    after(async () => {
      await Promise.all([failClosed?.stop(), ignore?.stop(), ...hostiles.map((h) => h.stop())]);
    });

    const pod = (ref: string) =>
      reviewOf(KINDS[0]?.kind as never, { kind: 'Pod', spec: podSpec([ref]) });

    async function timed(port: number, ref: string): Promise<{ review: Review; ms: number }> {
      const start = performance.now();
      const review = await admit(port, ca, '/validate', pod(ref));
      return { review, ms: performance.now() - start };
    }

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

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await sleep(25);
  }
}
