/**
 * `npm run bench`: the admission webhook under load (issue 6 Performance).
 *
 * A real Distribution registry on 127.0.0.1 holds BENCH_ADMISSION_IMAGES
 * (1,000) distinct images, plus PACED_COLD_IMAGES (500) for the paced cold
 * phase, each signed with a key by `vouch sign`. The webhook runs as
 * `vouch admission serve` in its own process (HTTPS, a certificate from
 * `vouch admission cert`, a policy requiring the key's signature), and the
 * load comes from a second process, POST /validate with AdmissionReview v1
 * bodies — one Pod per request, one image per Pod, by tag, so a first sight
 * resolves a tag and verifies a signature:
 *
 * 1. cold, autocannon: each image once, in order (tag resolution, signature
 *    manifest and payload fetch and the ECDSA verification inside the
 *    measured request): the first half one at a time over 1 connection, the
 *    second half at COLD_RATE (50) new images per second over 10
 *    connections;
 * 2. cold, paced: the 500 other images at COLD_RATE, evenly spaced;
 * 3. warm, autocannon: the 1,000 images again, round robin, at 500
 *    requests/s for BENCH_ADMISSION_SECONDS (10) — every answer from the
 *    caches;
 * 4. warm, paced: the same at 500 requests/s evenly spaced.
 *
 * autocannon paces by resetting a per-connection counter every second
 * (lib/httpClient.js): each connection sends its quota back to back, the next
 * request as soon as the last is answered, then idles until the second is
 * over. Its "500 req/s" is 10 requests in flight closed loop for the first
 * part of each second. The paced phases (undici Pool, open loop) send at
 * evenly spaced due times and count latency from the due time. The script
 * measures autocannon's spread (the most requests sent in any 100 ms) and,
 * where it is bursty (over twice the even share), judges the target on the
 * paced phase at the same rate instead; both are printed.
 *
 * The webhook's own figures for each phase are printed beside the
 * generator's: its latency histogram (time inside the webhook) and its cache
 * misses and background tag refreshes (a warm phase must have no miss).
 *
 * Before all, WARM_UP_IMAGES other images are admitted (not measured), so
 * the process's own start-up is not counted as the cost of a new digest.
 *
 * A request counts as an error unless it is answered 200 with
 * `"allowed":true`. Peak memory is the webhook process's VmHWM.
 * Targets: warm p99 < 5 ms at 500 req/s, cold p99 < 100 ms, zero errors.
 * The webhook's event-loop delay (a probe preloaded with `--import`) is
 * reported beside the paced phases' latencies.
 *
 * Knobs: BENCH_IMAGES (the images of the cold and warm phases; the paced
 * cold phase gets at most 500), BENCH_ROUNDS (paced warm phases, each after
 * a refresh pass; the worst is judged, so BENCH_ROUNDS=10 asks for the warm
 * target in 10 of 10), BENCH_ADMISSION_SECONDS, BENCH_ADMISSION_COLD_RATE.
 * Every figure is printed, the last line a JSON object of them, before the
 * script exits 1 for a missed target.
 */
import { spawn } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import https from 'node:https';
import { createRequire } from 'node:module';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { createWebhookCertificate } from '../src/admission/certificate.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { NO_DOCKER_CONFIG, runVouch } from '../test/helpers/cli.ts';
import { buildImage } from '../test/helpers/images.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { keyPolicy, podReview } from './admission-fixtures.ts';
import { knob, printFigures } from './common.ts';

const IMAGES = knob('BENCH_IMAGES', knob('BENCH_ADMISSION_IMAGES', 1000));
const WARM_SECONDS = knob('BENCH_ADMISSION_SECONDS', 10);
/** Paced warm phases, each after a refresh pass; the warm target must hold in every one. */
const WARM_ROUNDS = knob('BENCH_ROUNDS', 1);
const WARM_RATE = 500;
/**
 * New digests arrive at this rate in the cold phase: the latency of a first
 * verification, not of a queue. Unthrottled, 10 connections saturate the
 * loopback registry (about 150 verifications/s here, most of the time in
 * docker-registry) and the figure measures its queue instead.
 */
const COLD_RATE = knob('BENCH_ADMISSION_COLD_RATE', 50);
const CONNECTIONS = 10;
/** Images first seen in the paced cold phase: the autocannon cold phases use up the 1,000. */
const PACED_COLD_IMAGES = knob('BENCH_ADMISSION_PACED_COLD_IMAGES', Math.min(500, IMAGES));
/** The paced phases' pool: far more than ever in flight (the result says how many were), so no request waits for a connection. */
const PACED_CONNECTIONS = 64;
/** Images outside the measured set, sent first so start-up (JIT, TLS, lazy loads) is not charged to the cold phase. */
const WARM_UP_IMAGES = 50;
const WARM_P99_TARGET_MS = 5;
const COLD_P99_TARGET_MS = 100;
/**
 * For looking inside the webhook (not for the judged figures): Node flags
 * (`--cpu-prof --cpu-prof-dir=DIR`, `--import probe.mjs`) and extra
 * `vouch admission serve` flags, each a space-separated list. The webhook is
 * started with an environment of its own, so NODE_OPTIONS does not reach it.
 * BENCH_ADMISSION_LOAD_NODE_FLAGS: Node flags for the load generator's process.
 */
const WEBHOOK_NODE_FLAGS = words(process.env.BENCH_ADMISSION_WEBHOOK_NODE_FLAGS);
const WEBHOOK_ARGS = words(process.env.BENCH_ADMISSION_WEBHOOK_ARGS);
const LOAD_NODE_FLAGS = words(process.env.BENCH_ADMISSION_LOAD_NODE_FLAGS);

function words(text: string | undefined): string[] {
  return (text ?? '').split(' ').filter((word) => word !== '');
}

/** A phase run by autocannon: its own pacing, closed loop (a connection sends its next request when the last is answered). */
interface AutocannonConfig {
  readonly kind: 'autocannon';
  readonly url: string;
  readonly ca: string;
  readonly bodies: readonly string[];
  readonly amount?: number;
  readonly duration?: number;
  readonly overallRate?: number;
  readonly connections?: number;
}

/**
 * A phase at evenly spaced arrival times, open loop: request i is due at
 * start + i / rate whether or not earlier ones were answered, and its latency
 * runs from that due time, so time spent waiting for a free connection or
 * behind a late timer is counted (no coordinated omission).
 */
interface PacedConfig {
  readonly kind: 'paced';
  readonly origin: string;
  readonly ca: string;
  /** Sent in order, round robin. */
  readonly bodies: readonly string[];
  readonly requests: number;
  readonly rate: number;
  readonly connections: number;
  /** Already admitted images, one request per connection before the schedule starts (unmeasured), so the TLS handshakes are not charged to it. */
  readonly primeBodies: readonly string[];
}

type LoadConfig = AutocannonConfig | PacedConfig;

interface LoadResult {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly throughput: number;
  readonly requests: number;
  readonly errors: number;
  /** The most requests sent within any 100 ms: rate / 10 if the sends are evenly spaced. */
  readonly busiest100ms: number;
  /** Paced only: the most requests in flight at once (below `connections`: the pool was never the bottleneck). */
  readonly maxInFlight?: number;
  /** Paced only: the generator's own lateness, actual send minus due time, p99 in ms (already inside the latencies). */
  readonly sendLagP99?: number;
}

/** The most of `times` (ascending, ms) within any window of `width` ms. */
function busiest(times: readonly number[], width: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while ((times[last] as number) - (times[first] as number) >= width) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/** The nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: readonly number[], share: number): number {
  return sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)] ?? NaN;
}

/** An answer the bench counts as a success: 200 and the Pod allowed. */
function admitted(status: number, body: string): boolean {
  return status === 200 && body.includes('"allowed":true');
}

/** The load generator: runs in its own process (`bench/admission.ts --load CONFIG`). */
async function load(config: LoadConfig): Promise<LoadResult> {
  return config.kind === 'autocannon' ? loadAutocannon(config) : loadPaced(config);
}

async function loadAutocannon(config: AutocannonConfig): Promise<LoadResult> {
  // autocannon ships no types: it is called with the documented options and
  // its result read through the fields used below.
  const autocannon = createRequire(import.meta.url)('autocannon') as (
    options: object,
  ) => Promise<unknown>;
  let next = 0;
  let refused = 0;
  // Each connection (lib/httpClient.js) emits 'request' just before it writes
  // one: the actual send times, to measure how autocannon spreads them.
  const sent: number[] = [];
  const result = await autocannon({
    url: config.url,
    method: 'POST',
    connections: config.connections ?? CONNECTIONS,
    headers: { 'content-type': 'application/json' },
    servername: 'localhost',
    tlsOptions: { ca: config.ca },
    setupClient: (client: EventEmitter) => client.on('request', () => sent.push(performance.now())),
    ...(config.amount === undefined ? {} : { amount: config.amount }),
    ...(config.duration === undefined ? {} : { duration: config.duration }),
    ...(config.overallRate === undefined
      ? {}
      : {
          overallRate: config.overallRate,
          // autocannon's correction for coordinated omission passes an expected
          // interval of Math.ceil(1 / rate) — 1 ms at any rate over 1 req/s per
          // connection (lib/run.js) — and so back-fills a synthetic sample for
          // every millisecond of every response. The raw latencies are kept.
          ignoreCoordinatedOmission: true,
        }),
    requests: [
      {
        setupRequest: (request: Record<string, unknown>) => {
          request['body'] = config.bodies[next++ % config.bodies.length];
          return request;
        },
        onResponse: (status: number, body: string) => {
          if (!admitted(status, body)) refused++;
        },
      },
    ],
  });
  const r = result as unknown as {
    latency: { p50: number; p99: number; max: number };
    requests: { average: number; total: number };
    errors: number;
    timeouts: number;
    non2xx: number;
  };
  return {
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    throughput: r.requests.average,
    requests: r.requests.total,
    errors: r.errors + r.timeouts + r.non2xx + refused,
    busiest100ms: busiest(sent, 100),
  };
}

async function loadPaced(config: PacedConfig): Promise<LoadResult> {
  const pool = new Pool(config.origin, {
    connections: config.connections,
    connect: { ca: config.ca, servername: 'localhost' },
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const post = async (body: string): Promise<boolean> => {
    try {
      const response = await pool.request({
        path: '/validate',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return admitted(response.statusCode, await response.body.text());
    } catch {
      return false;
    }
  };
  // Concurrent, so the pool opens every connection.
  await Promise.all(
    Array.from({ length: config.connections }, (_, i) =>
      post(config.primeBodies[i % config.primeBodies.length] as string),
    ),
  );

  const interval = 1000 / config.rate;
  const latencies: number[] = [];
  const lags: number[] = [];
  const sent: number[] = [];
  const answers: Promise<void>[] = [];
  let errors = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let lastAnswer = 0;
  const send = async (i: number, due: number): Promise<void> => {
    const now = performance.now();
    sent.push(now);
    lags.push(now - due);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    if (!(await post(config.bodies[i % config.bodies.length] as string))) errors++;
    lastAnswer = performance.now();
    latencies.push(lastAnswer - due);
    inFlight--;
  };
  const start = performance.now() + 20;
  await new Promise<void>((resolve) => {
    let i = 0;
    // A timer fires at or after its time: every request now due leaves at
    // once, so a late timer delays requests (and is counted) but never
    // shifts the schedule.
    const tick = () => {
      const now = performance.now();
      while (i < config.requests && start + i * interval <= now) {
        answers.push(send(i, start + i * interval));
        i++;
      }
      if (i < config.requests) setTimeout(tick, start + i * interval - now);
      else resolve();
    };
    setTimeout(tick, start - performance.now());
  });
  await Promise.all(answers);
  await pool.close();
  latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    p50: round(percentile(latencies, 0.5)),
    p99: round(percentile(latencies, 0.99)),
    max: round(latencies.at(-1) ?? NaN),
    throughput: (config.requests * 1000) / (lastAnswer - start),
    requests: latencies.length,
    errors,
    busiest100ms: busiest(sent, 100),
    maxInFlight,
    sendLagP99: round(percentile(lags, 0.99)),
  };
}

if (process.argv[2] === '--load') {
  const config = JSON.parse(await readFile(process.argv[3] as string, 'utf8')) as LoadConfig;
  process.stdout.write(JSON.stringify(await load(config)));
} else {
  await main();
}

/** What the webhook's /metrics said at one moment. */
interface ServerState {
  /** The request latency histogram for /validate: cumulative count per bucket bound. */
  readonly latency: Map<string, number>;
  /** Cache misses by cache (tag, verification). */
  readonly misses: Map<string, number>;
  /** Tags resolved again in the background before they expired. */
  readonly tagRefreshes: number;
}

async function serverState(port: number, ca: string): Promise<ServerState> {
  const text = await new Promise<string>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: '/metrics', ca, servername: 'localhost' }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
  const series = (pattern: RegExp) =>
    new Map([...text.matchAll(pattern)].map((m) => [m[1] as string, Number(m[2])]));
  return {
    latency: series(
      /^vouch_admission_request_duration_seconds_bucket\{webhook="validate",le="([^"]+)"\} (\d+)$/gm,
    ),
    misses: series(/^vouch_admission_cache_misses_total\{cache="([a-z]+)"\} (\d+)$/gm),
    tagRefreshes: Number(/^vouch_admission_tag_refreshes_total() (\d+)$/m.exec(text)?.[2] ?? 0),
  };
}

/** The smallest bucket bound holding `share` of the requests between two scrapes. */
function bucketOf(before: ServerState, after: ServerState, share: number): string {
  const total = (after.latency.get('+Inf') ?? 0) - (before.latency.get('+Inf') ?? 0);
  for (const [bound, count] of after.latency) {
    if (count - (before.latency.get(bound) ?? 0) >= share * total) return bound;
  }
  return '+Inf';
}

/** p50 and p99 as the histogram's bucket bounds, in ms. */
function serverPercentiles(before: ServerState, after: ServerState): string {
  const ms = (bound: string) => (bound === '+Inf' ? bound : `${Number(bound) * 1000} ms`);
  return `p50 ≤ ${ms(bucketOf(before, after, 0.5))}, p99 ≤ ${ms(bucketOf(before, after, 0.99))}`;
}

/**
 * The cache misses and background tag refreshes between two scrapes: a warm
 * phase is all cache hits only if it says 0 and 0.
 */
function cacheActivity(before: ServerState, after: ServerState): string {
  const missed = (cache: string) =>
    (after.misses.get(cache) ?? 0) - (before.misses.get(cache) ?? 0);
  return `${missed('tag')} tag, ${missed('verification')} verification; ${after.tagRefreshes - before.tagRefreshes} tags refreshed`;
}

/**
 * Preloaded into the webhook (`--import`): Node's event-loop delay histogram
 * (perf_hooks.monitorEventLoopDelay, 1 ms resolution). On SIGUSR2 it writes
 * what it saw since the last signal to `<VOUCH_BENCH_ELD_FILE>.<n>` and
 * starts again, so the bench can read the delay over exactly one phase.
 */
// A function, not a constant: main() runs before this module's later constants are initialised.
function eventLoopProbe(): string {
  return `import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();
let n = 0;
process.on('SIGUSR2', () => {
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  writeFileSync(process.env.VOUCH_BENCH_ELD_FILE + '.' + ++n, JSON.stringify({
    p99: ms(histogram.percentile(99)), max: ms(histogram.max), mean: ms(histogram.mean),
  }));
  histogram.reset();
});
`;
}

interface EventLoopDelay {
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Signals the probe and reads what it wrote: the webhook's event-loop delay since the last call. */
async function eventLoopDelay(pid: number, file: string, n: number): Promise<EventLoopDelay> {
  process.kill(pid, 'SIGUSR2');
  for (let waited = 0; waited < 5000; waited += 5) {
    try {
      return JSON.parse(await readFile(`${file}.${n}`, 'utf8')) as EventLoopDelay;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  throw new Error('the webhook did not report its event-loop delay');
}

/** Runs the load generator in a second process and returns what it measured. */
async function runLoad(work: string, name: string, config: LoadConfig): Promise<LoadResult> {
  const file = join(work, `${name}.json`);
  await writeFile(file, JSON.stringify(config));
  const child = spawn(
    process.execPath,
    [...LOAD_NODE_FLAGS, new URL(import.meta.url).pathname, '--load', file],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the load generator exited ${String(code)}`);
  return JSON.parse(out) as LoadResult;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'vouch-bench-admission-'));
  const registry = await startRegistry({ blobDescriptorCache: true });
  let webhook: ReturnType<typeof spawn> | undefined;
  try {
    // The images, each distinct, and their signatures.
    const http = new HttpClient({ connectionsPerOrigin: 16 });
    const repository = new RegistryClient(registry.host, { http }).repository('bench/app');
    const images: string[] = [];
    const total = IMAGES + PACED_COLD_IMAGES + WARM_UP_IMAGES;
    for (let start = 0; start < total; start += 16) {
      const batch = Array.from({ length: Math.min(16, total - start) }, (_, i) => start + i);
      await Promise.all(
        batch.map((i) => buildImage(repository, { tag: `v${i}`, layers: 1, layerSize: 64 })),
      );
      images.push(...batch.map((i) => `${registry.host}/bench/app:v${i}`));
    }
    await http.close();
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = join(work, 'key.pem');
    await writeFile(key, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await writeFile(join(work, 'release.pub'), publicKeyToPem(pair.publicKey));
    const signing = await runVouch(['sign', '--key', key, ...images], {
      env: { DOCKER_CONFIG: NO_DOCKER_CONFIG },
    });
    if (signing.code !== 0) throw new Error(`vouch sign failed: ${signing.stderr}`);

    await writeFile(join(work, 'policy.yaml'), keyPolicy(registry.host));
    const certs = await createWebhookCertificate({
      names: ['localhost', '127.0.0.1'],
      outDir: join(work, 'certs'),
    });
    const ca = await readFile(certs.caCert, 'utf8');

    const probe = join(work, 'event-loop-probe.mjs');
    await writeFile(probe, eventLoopProbe());
    const eldFile = join(work, 'event-loop-delay');
    let eldReads = 0;
    webhook = spawn(
      process.execPath,
      [
        '--import',
        probe,
        ...WEBHOOK_NODE_FLAGS,
        new URL('../src/cli/bin.ts', import.meta.url).pathname,
        'admission',
        'serve',
        '--policy',
        join(work, 'policy.yaml'),
        '--tls-cert',
        certs.cert,
        '--tls-key',
        certs.key,
        '--listen',
        '127.0.0.1:0',
        ...WEBHOOK_ARGS,
      ],
      {
        env: {
          DOCKER_CONFIG: NO_DOCKER_CONFIG,
          HOME: work,
          PATH: process.env.PATH,
          VOUCH_BENCH_ELD_FILE: eldFile,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const pid = webhook.pid as number;
    const loopDelay = () => eventLoopDelay(pid, eldFile, ++eldReads);
    // The webhook logs a line per decision; the port is in the first.
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = '';
      const onData = (chunk: Buffer) => {
        buffered += chunk.toString();
        const line = buffered.split('\n')[0] as string;
        if (buffered.includes('\n')) {
          webhook?.stdout?.off('data', onData);
          webhook?.stdout?.resume();
          resolve((JSON.parse(line) as { port: number }).port);
        }
      };
      webhook?.stdout?.on('data', onData);
      webhook?.once('exit', (code) => reject(new Error(`the webhook exited ${String(code)}`)));
    });
    const url = `https://127.0.0.1:${port}/validate`;
    const bodies = images.map((image, i) => podReview(image, `bench-${i}`, `pod-${i}`));

    const warmUp = bodies.splice(IMAGES + PACED_COLD_IMAGES);
    const pacedCold = bodies.splice(IMAGES);
    const origin = `https://127.0.0.1:${port}`;
    await runLoad(work, 'warm-up', {
      kind: 'autocannon',
      url,
      ca,
      bodies: warmUp,
      amount: warmUp.length * 4,
    });
    const start = await serverState(port, ca);
    // Half the images one at a time (the cost of one first verification), half
    // in bursts over 10 connections (first verifications competing).
    const half = Math.floor(IMAGES / 2);
    const single = await runLoad(work, 'cold-single', {
      kind: 'autocannon',
      url,
      ca,
      bodies: bodies.slice(0, half),
      amount: half,
      connections: 1,
    });
    const cold = await runLoad(work, 'cold', {
      kind: 'autocannon',
      url,
      ca,
      bodies: bodies.slice(half),
      amount: IMAGES - half,
      overallRate: COLD_RATE,
    });
    const afterCold = await serverState(port, ca);
    await loopDelay();
    const pacedColdResult = await runLoad(work, 'paced-cold', {
      kind: 'paced',
      origin,
      ca,
      bodies: pacedCold,
      requests: pacedCold.length,
      rate: COLD_RATE,
      connections: PACED_CONNECTIONS,
      primeBodies: warmUp,
    });
    // The webhook keeps a tag's digest for 30 s (`--tag-ttl`) and resolves a
    // tag still named again in the background once half of that is gone; but
    // the cold phases take longer than 30 s, and the tags first seen at their
    // start, not named since, expire: without a fresh pass over the images, a
    // warm phase would re-resolve them and stop being all cache hits. Each
    // warm phase follows a pass of its own; the line of cache misses printed
    // under the table shows it worked (0 misses in the warm phases).
    const refresh = (name: string) =>
      runLoad(work, name, { kind: 'autocannon', url, ca, bodies, amount: bodies.length });
    const pacedColdDelay = await loopDelay();
    const afterPacedCold = await serverState(port, ca);
    await refresh('refresh-warm');
    const beforeWarm = await serverState(port, ca);
    const warm = await runLoad(work, 'warm', {
      kind: 'autocannon',
      url,
      ca,
      bodies,
      duration: WARM_SECONDS,
      overallRate: WARM_RATE,
    });
    const afterWarm = await serverState(port, ca);
    const pacedWarmRounds: { result: LoadResult; delay: EventLoopDelay }[] = [];
    let beforePacedWarm = afterWarm;
    for (let round = 0; round < WARM_ROUNDS; round++) {
      await refresh('refresh-paced-warm');
      beforePacedWarm = await serverState(port, ca);
      await loopDelay();
      const result = await runLoad(work, 'paced-warm', {
        kind: 'paced',
        origin,
        ca,
        bodies,
        requests: WARM_RATE * WARM_SECONDS,
        rate: WARM_RATE,
        connections: PACED_CONNECTIONS,
        // Images just refreshed, so the priming requests are cache hits too:
        // the warm-up images' tags expired long ago, and their 50 misses used
        // to land in this phase's window of the webhook's own histogram and
        // miss count (not in the generator's latencies: priming is unmeasured).
        primeBodies: bodies,
      });
      pacedWarmRounds.push({ result, delay: await loopDelay() });
    }
    // The worst round is the one judged (and shown in the table).
    const worstWarm = pacedWarmRounds.reduce((a, b) => (b.result.p99 > a.result.p99 ? b : a));
    const pacedWarm = worstWarm.result;
    const afterPacedWarm = await serverState(port, ca);
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const peakMiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;

    // The targets say "at 500 requests/s": an arrival rate. autocannon's
    // pacing is judged by what it did, not assumed: even arrivals put
    // rate / 10 requests in any 100 ms, and more than twice that is a burst.
    // A bursty autocannon phase is reported, but its target is judged on the
    // paced phase at the same rate.
    const bursty = (phase: LoadResult, rate: number) => phase.busiest100ms > (2 * rate) / 10;
    const coldBursty = bursty(cold, COLD_RATE);
    const warmBursty = bursty(warm, WARM_RATE);
    const coldJudged = coldBursty ? pacedColdResult : cold;
    const warmJudged = warmBursty ? pacedWarm : warm;
    const coldOk =
      coldJudged.p99 < COLD_P99_TARGET_MS &&
      cold.errors + single.errors + pacedColdResult.errors === 0;
    const warmErrors =
      warm.errors + pacedWarmRounds.reduce((sum, round) => sum + round.result.errors, 0);
    const warmOk = warmJudged.p99 < WARM_P99_TARGET_MS && warmErrors === 0;
    const pass = (ok: boolean) => (ok ? 'met' : 'MISSED');
    const target = (ok: boolean, p99: number) => `judged: p99 < ${p99} ms, 0 errors: ${pass(ok)}`;
    const row = (phase: string, r: LoadResult, rate: number | undefined, verdict: string) =>
      `| ${phase} | ${r.requests} | ${r.p50} ms | ${r.p99} ms | ${r.max} ms | ${r.throughput.toFixed(0)} req/s | ${r.errors} | ${rate === undefined ? '' : `${r.busiest100ms} (even: ${rate / 10})`} | ${verdict} |`;
    const pacedNote = (r: LoadResult) =>
      `max ${String(r.maxInFlight)} of ${PACED_CONNECTIONS} connections in flight, send lag p99 ${String(r.sendLagP99)} ms`;
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    console.log(
      [
        `Admission webhook, ${IMAGES} distinct signed images (+${PACED_COLD_IMAGES} for the paced cold phase), Node ${process.version}, ${availableParallelism()} × ${cpu}`,
        '',
        '| phase | requests | p50 | p99 | max | throughput | errors | busiest 100 ms | target |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---|',
        row('cold, one at a time (autocannon, 1 connection)', single, undefined, ''),
        row(
          `cold (first sight of each digest), autocannon at ${COLD_RATE} req/s, ${CONNECTIONS} connections`,
          cold,
          COLD_RATE,
          coldBursty ? 'not judged: bursty, see paced' : target(coldOk, COLD_P99_TARGET_MS),
        ),
        row(
          `cold (first sight of each digest), paced ${COLD_RATE} req/s open loop`,
          pacedColdResult,
          COLD_RATE,
          coldBursty ? target(coldOk, COLD_P99_TARGET_MS) : 'reported only',
        ),
        row(
          `warm (cache hits), autocannon at ${WARM_RATE} req/s, ${CONNECTIONS} connections`,
          warm,
          WARM_RATE,
          warmBursty ? 'not judged: bursty, see paced' : target(warmOk, WARM_P99_TARGET_MS),
        ),
        row(
          `warm (cache hits), paced ${WARM_RATE} req/s open loop`,
          pacedWarm,
          WARM_RATE,
          warmBursty ? target(warmOk, WARM_P99_TARGET_MS) : 'reported only',
        ),
        `| cold, autocannon, inside the webhook (its histogram) | | ${serverPercentiles(start, afterCold)} | | | | | | |`,
        `| cold, paced, inside the webhook | | ${serverPercentiles(afterCold, afterPacedCold)} | | | | | | |`,
        `| warm, autocannon, inside the webhook | | ${serverPercentiles(beforeWarm, afterWarm)} | | | | | | |`,
        `| warm, paced, inside the webhook | | ${serverPercentiles(beforePacedWarm, afterPacedWarm)} | | | | | | |`,
        `| webhook peak memory (VmHWM) | | | | | | | | ${peakMiB.toFixed(1)} MiB |`,
        '',
        `paced cold: ${pacedNote(pacedColdResult)}; paced warm: ${pacedNote(pacedWarm)}`,
        `cache misses inside the webhook: cold ${cacheActivity(start, afterCold)}; paced cold ${cacheActivity(afterCold, afterPacedCold)}; warm ${cacheActivity(beforeWarm, afterWarm)}; paced warm ${cacheActivity(beforePacedWarm, afterPacedWarm)}`,
        `targets judged on: cold ${coldBursty ? 'paced (autocannon bursty)' : 'autocannon'}, warm ${warmBursty ? 'paced (autocannon bursty)' : 'autocannon'}`,
        `webhook event-loop delay (monitorEventLoopDelay, 1 ms resolution): paced cold p99 ${pacedColdDelay.p99} ms (max ${pacedColdDelay.max}); paced warm p99 ${worstWarm.delay.p99} ms (max ${worstWarm.delay.max}) in the judged round`,
        `paced warm rounds (${WARM_ROUNDS}, the worst judged): p99 ${pacedWarmRounds.map((r) => r.result.p99).join(', ')} ms; event-loop delay p99 ${pacedWarmRounds.map((r) => r.delay.p99).join(', ')} ms`,
      ].join('\n'),
    );
    const missed: string[] = [];
    if (!coldOk)
      missed.push(
        `missed: cold p99 ${coldJudged.p99} ms (target < ${COLD_P99_TARGET_MS} ms), ${cold.errors + single.errors + pacedColdResult.errors} errors`,
      );
    if (!warmOk)
      missed.push(
        `missed: warm p99 ${warmJudged.p99} ms (target < ${WARM_P99_TARGET_MS} ms), ${warmErrors} errors`,
      );
    if (missed.length > 0) {
      console.log(`\n${missed.join('\n')}`);
      process.exitCode = 1;
    }
    const errors = single.errors + cold.errors + pacedColdResult.errors + warmErrors;
    printFigures('admission', {
      images: IMAGES,
      warm_p99_ms: warmJudged.p99,
      warm_p50_ms: warmJudged.p50,
      warm_p99_rounds: pacedWarmRounds.map((r) => r.result.p99).join(','),
      warm_ok: warmOk,
      cold_p99_ms: coldJudged.p99,
      cold_ok: coldOk,
      errors,
      event_loop_delay_p99_ms: worstWarm.delay.p99,
      event_loop_delay_max_ms: worstWarm.delay.max,
      cold_event_loop_delay_p99_ms: pacedColdDelay.p99,
      send_lag_p99_ms: pacedWarm.sendLagP99 ?? NaN,
      peak_rss_mib: peakMiB,
    });
  } finally {
    if (webhook !== undefined && webhook.exitCode === null) {
      const exited = new Promise((resolve) => webhook?.once('exit', resolve));
      webhook.kill('SIGTERM');
      await exited;
    }
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}
