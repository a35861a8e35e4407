/**
 * Bytes the admission webhook allocates per AdmissionReview on the warm path
 * (issue 15: about 35 KB, to be halved, for fewer young-generation
 * collections and a shorter warm tail), measured through the whole server:
 * HTTPS, keep-alive connections, the request listener, the verifier's caches
 * and the log lines formatted and batched as `vouch admission serve` does.
 *
 * The webhook runs in this process (`startAdmissionWebhook`) against a real
 * Distribution registry holding one image signed with a key, under a policy
 * like bench/admission.ts's (verify the key's signature, pin the digest), so
 * every measured review is a tag cache hit and a verification cache hit: no
 * registry traffic. The load comes from a second process (this script with
 * `--load`): BENCH_REQUESTS (20,000) reviews of the same shape, each with its
 * own uid and name, over BENCH_CONNECTIONS (4) keep-alive connections, closed
 * loop. Only this process is measured.
 *
 * Allocation is read from V8 across garbage collections: `v8.GCProfiler`
 * records the used heap before and after each collection, so the bytes
 * allocated over a window are the growth between collections summed
 * (`allocatedBytes`). Each of BENCH_ROUNDS (5) windows is one load run; the
 * median is reported, with the webhook process's CPU time per review beside
 * it (on a shared machine, only indicative). BENCH_ALLOC_PROFILE=FILE writes a sampling heap
 * profile of one more run (collected objects included; open it in Chrome
 * DevTools) to see where the bytes go. Last line: JSON (`alloc_per_review_bytes`).
 */
import { spawn } from 'node:child_process';
import { writeFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { Pool } from 'undici';
import { createWebhookCertificate } from '../src/admission/certificate.ts';
import { logLine } from '../src/admission/log.ts';
import { startAdmissionWebhook } from '../src/admission/server.ts';
import { BatchedLines } from '../src/cli/batched-lines.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { Stores } from '../src/registry/open.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { keyPolicy, podReview } from './admission-fixtures.ts';
import { cosignSignTags, knob, median, printFigures, pushImages, tagOf } from './common.ts';

const REQUESTS = knob('BENCH_REQUESTS', 20_000);
const CONNECTIONS = knob('BENCH_CONNECTIONS', 4);
const ROUNDS = knob('BENCH_ROUNDS', 5);

interface LoadConfig {
  readonly origin: string;
  readonly ca: string;
  readonly image: string;
  readonly requests: number;
  readonly connections: number;
  /** Prefix of the uids, so each run's reviews differ from the last's. */
  readonly run: string;
}

/** The load generator (its own process): every review must be answered 200 and allowed. */
async function load(config: LoadConfig): Promise<void> {
  const pool = new Pool(config.origin, {
    connections: config.connections,
    connect: { ca: config.ca, servername: 'localhost' },
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: config.connections }, async () => {
      while (next < config.requests) {
        const i = next++;
        const response = await pool.request({
          path: '/validate?timeout=10s',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: podReview(config.image, `${config.run}-${i}`, `pod-${i}`),
        });
        const text = await response.body.text();
        if (response.statusCode !== 200 || !text.includes('"allowed":true')) {
          throw new Error(`review ${i} answered ${response.statusCode}: ${text}`);
        }
      }
    }),
  );
  await pool.close();
}

/**
 * The bytes allocated on the V8 heap over a GCProfiler window that started
 * at `usedAtStart` and ended at `usedAtEnd`: each collection's "before"
 * less the previous "after" (or the start), plus the growth since the last.
 */
export function allocatedBytes(
  usedAtStart: number,
  collections: readonly { before: number; after: number }[],
  usedAtEnd: number,
): number {
  let total = 0;
  let last = usedAtStart;
  for (const { before, after } of collections) {
    total += before - last;
    last = after;
  }
  return total + usedAtEnd - last;
}

async function runLoad(work: string, config: LoadConfig): Promise<void> {
  const file = join(work, `load-${config.run}.json`);
  await writeFile(file, JSON.stringify(config));
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--load', file], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the load generator exited ${String(code)}`);
}

/** One measured run: bytes allocated in this process per review, and the young and full collections. */
async function measured(work: string, config: LoadConfig) {
  const profiler = new GCProfiler();
  const usedAtStart = getHeapStatistics().used_heap_size;
  const cpuAtStart = process.cpuUsage();
  profiler.start();
  await runLoad(work, config);
  const usedAtEnd = getHeapStatistics().used_heap_size;
  const cpu = process.cpuUsage(cpuAtStart);
  const statistics = profiler.stop()?.statistics ?? [];
  const collections = statistics.map((gc) => ({
    before: gc.beforeGC.heapStatistics.usedHeapSize,
    after: gc.afterGC.heapStatistics.usedHeapSize,
  }));
  const young = statistics.filter(
    (gc) => gc.gcType === 'Scavenge' || gc.gcType === 'MinorMarkSweep',
  ).length;
  return {
    perReview: allocatedBytes(usedAtStart, collections, usedAtEnd) / config.requests,
    cpuMicroseconds: (cpu.user + cpu.system) / config.requests,
    young,
    full: statistics.length - young,
  };
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'vouch-bench-admission-alloc-'));
  const registry = await startRegistry();
  const stores = new Stores({ http: { transport: 'undici' } });
  let webhook: Awaited<ReturnType<typeof startAdmissionWebhook>> | undefined;
  try {
    const repository = stores.client(registry.host).repository('bench/app');
    await pushImages(repository, 1, 1);
    const key = await cosignSignTags(registry.host, 'bench/app', 1);
    await writeFile(join(work, 'release.pub'), publicKeyToPem(key.publicKey));
    await writeFile(join(work, 'policy.yaml'), keyPolicy(registry.host));
    const certs = await createWebhookCertificate({
      names: ['localhost', '127.0.0.1'],
      outDir: join(work, 'certs'),
    });
    const ca = await readFile(certs.caCert, 'utf8');
    // As `vouch admission serve` logs (src/cli/commands/admission.ts), into a sink.
    let logged = 0;
    const lines = new BatchedLines(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          logged += chunk.length;
          done();
        },
      }),
    );
    webhook = await startAdmissionWebhook({
      policyFile: join(work, 'policy.yaml'),
      tls: { certFile: certs.cert, keyFile: certs.key },
      host: '127.0.0.1',
      port: 0,
      gather: { stores },
      log: (entry) => lines.write(logLine(entry, new Date())),
      // No tag is due for a background refresh while measuring.
      cache: { tagTtlMs: 3_600_000 },
    });
    const config = (run: string, requests = REQUESTS): LoadConfig => ({
      origin: `https://127.0.0.1:${webhook?.port}`,
      ca,
      image: `${registry.host}/bench/app:${tagOf(0)}`,
      requests,
      connections: CONNECTIONS,
      run,
    });
    // Caches filled, code compiled, before the first window.
    await runLoad(work, config('warm-up', Math.min(REQUESTS, 5_000)));
    const { metrics } = webhook;
    const misses = () =>
      metrics.cacheMisses.value({ cache: 'tag' }) +
      metrics.cacheMisses.value({ cache: 'verification' });
    const missesBefore = misses();
    const runs = [];
    for (let round = 0; round < ROUNDS; round++)
      runs.push(await measured(work, config(`r${round}`)));
    if (misses() !== missesBefore) throw new Error('a measured review missed a cache');
    const profileFile = process.env.BENCH_ALLOC_PROFILE;
    if (profileFile !== undefined && profileFile !== '') {
      const session = new Session();
      session.connect();
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 128,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      await runLoad(work, config('profile'));
      const { profile } = await session.post('HeapProfiler.stopSampling');
      await writeFile(profileFile, JSON.stringify(profile));
      session.disconnect();
    }
    lines.flush();
    const perReview = median(runs.map((r) => r.perReview));
    console.log(
      [
        `# Bytes the webhook allocates per AdmissionReview, warm (cache hits), through HTTPS keep-alive`,
        '',
        `${ROUNDS} runs of ${REQUESTS} reviews over ${CONNECTIONS} connections; ${logged} log bytes written`,
        `per run (bytes/review): ${runs.map((r) => r.perReview.toFixed(0)).join(', ')}`,
        `collections per run (young/full): ${runs.map((r) => `${r.young}/${r.full}`).join(', ')}`,
        `webhook CPU per review (µs, user + system): ${runs.map((r) => r.cpuMicroseconds.toFixed(0)).join(', ')}`,
        '',
        `median: ${(perReview / 1024).toFixed(1)} KiB per review`,
      ].join('\n'),
    );
    printFigures('admission-alloc', {
      requests: REQUESTS,
      alloc_per_review_bytes: Math.round(perReview),
      young_gcs_per_1000_reviews: (median(runs.map((r) => r.young)) * 1000) / REQUESTS,
      cpu_us_per_review: median(runs.map((r) => r.cpuMicroseconds)),
    });
  } finally {
    await webhook?.close();
    await stores.close();
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--load') {
  await load(JSON.parse(await readFile(process.argv[3] as string, 'utf8')) as LoadConfig);
} else {
  await main();
}
