/**
 * What the `vouch admission serve` tests (test/admission-*.test.ts) share:
 * the webhook as a child process, HTTPS requests trusting only its CA,
 * AdmissionReview builders for every workload kind, and one environment per
 * test file (`useAdmissionFixture`): a real Distribution 2.8 registry behind a
 * counting proxy, images signed and attested with `vouch sign` /
 * `vouch attest` and unsigned ones, a serving certificate from `vouch
 * admission cert`, a policy, and the webhook serving it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before } from 'node:test';
import { publicKeyToPem } from '../../src/keys/pem.ts';
import { RegistryClient } from '../../src/registry/distribution.ts';
import { HttpClient } from '../../src/registry/http.ts';
import { NO_DOCKER_CONFIG, runVouch } from './cli.ts';
import { type HostileRegistry, startHostileRegistry } from './hostile-registry.ts';
import { buildImage } from './images.ts';
import { type RunningRegistry, startRegistry } from './registry.ts';

const BIN = new URL('../../src/cli/bin.ts', import.meta.url).pathname;

export interface Review {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { code: number; reason: string; message: string };
  readonly patchType?: string;
  readonly patch?: string;
  readonly warnings?: string[];
  readonly auditAnnotations?: Record<string, string>;
}

export interface Webhook {
  readonly port: number;
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** `vouch admission serve ...` on 127.0.0.1:0; resolves once it logs that it listens. */
export async function startWebhook(args: readonly string[], home: string): Promise<Webhook> {
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
export function post(
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
export function oversized(port: number, ca: string, declared: boolean): Promise<number> {
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

/** The uid of the last review made: `uid-${uidCounter}`. */
export let uidCounter = 0;

export function reviewOf(
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

export async function admit(
  port: number,
  ca: string,
  path: string,
  review: string,
): Promise<Review> {
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

export const podSpec = (containers: string[], init: string[] = [], ephemeral: string[] = []) => ({
  ...(init.length === 0
    ? {}
    : { initContainers: init.map((image, i) => ({ name: `init${i}`, image })) }),
  containers: containers.map((image, i) => ({ name: `c${i}`, image })),
  ...(ephemeral.length === 0
    ? {}
    : { ephemeralContainers: ephemeral.map((image, i) => ({ name: `debug${i}`, image })) }),
});

/** Every workload kind, its group/version and the object holding `spec` as its pod spec. */
export const KINDS: readonly {
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
export function applyPatch(
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

export function decodePatch(review: Review): { op: string; path: string; value: string }[] {
  assert.equal(review.patchType, 'JSONPatch');
  return JSON.parse(Buffer.from(review.patch as string, 'base64').toString()) as {
    op: string;
    path: string;
    value: string;
  }[];
}

/** Forwards every request to `target`, counting them: what the webhook asks of the registry. */
export function forwardTo(target: RunningRegistry) {
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

export async function metric(port: number, ca: string, line: RegExp): Promise<number> {
  const response = await post(port, ca, '/metrics', '', {}, 'GET');
  const match = response.body.split('\n').find((l) => line.test(l));
  return match === undefined ? 0 : Number(match.split(' ').pop());
}

/** What `useAdmissionFixture` sets up, filled in by its `before` hook. */
export interface AdmissionFixture {
  registry: RunningRegistry;
  proxy: HostileRegistry;
  tmp: string;
  ca: string;
  certArgs: string[];
  policyFile: string;
  policyText: string;
  /** The webhook serving `policyFile` (absent with `webhook: false`). */
  webhook: Webhook;
  host: string;
  /** Image name (`signed`, `attested`, `unsigned`, ...) → its digest. */
  readonly digests: Record<string, string>;
  /** `HOST/acme/NAME:1.0` in the proxied registry. */
  readonly image: (name: string) => string;
}

/**
 * Registers the `before` and `after` hooks of one test file's environment
 * (call it at the top of its `describe`) and returns the object they fill in.
 */
/**
 * Loads (estimated for strings of 100 characters, it is cheap), but on the
 * `costly` image's scan spreads a 1 MiB string into an array 1,000 times,
 * which held the event loop for half a minute before conditions had a
 * budget.
 */
export const COSTLY_CONDITION = 'predicate.long.all(a, predicate.text.size() > 0)';

export function useAdmissionFixture(
  options: { readonly webhook?: boolean } = {},
): AdmissionFixture {
  let host: string;
  const fixture = {
    digests: {},
    image: (name: string) => `${host}/acme/${name}:1.0`,
  } as AdmissionFixture;
  let registry: RunningRegistry;
  let proxy: HostileRegistry;
  let tmp: string;
  let ca: string;
  let certArgs: string[];
  let policyFile: string;
  let policyText: string;
  let webhook: Webhook;
  const { digests, image } = fixture;

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
    if (options.webhook ?? true) {
      webhook = await startWebhook(['--policy', policyFile, ...certArgs], tmp);
    }
    Object.assign(fixture, {
      registry,
      proxy,
      tmp,
      ca,
      certArgs,
      policyFile,
      policyText,
      webhook,
      host,
    });
  });

  after(async () => {
    await webhook?.stop();
    await proxy?.stop();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });
  return fixture;
}

/** Writes the policy the fault and signal tests serve: every image signed by `release`. */
export async function writeFaultPolicy(tmp: string): Promise<string> {
  const faultPolicy = join(tmp, 'policy', 'faults.yaml');
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
  return faultPolicy;
}

/** A Pod review running `ref`. */
export const podReview = (ref: string) =>
  reviewOf(KINDS[0]?.kind as never, { kind: 'Pod', spec: podSpec([ref]) });

/** Admits a Pod running `ref` through `/validate`, timing the answer. */
export async function timedReview(
  port: number,
  ca: string,
  ref: string,
): Promise<{ review: Review; ms: number }> {
  const start = performance.now();
  const review = await admit(port, ca, '/validate', podReview(ref));
  return { review, ms: performance.now() - start };
}

export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await sleep(25);
  }
}
