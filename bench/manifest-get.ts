/**
 * `npm run bench`: how fast vouch's registry client fetches manifests from a
 * real Distribution registry on 127.0.0.1, next to a bare undici loop doing
 * the least work possible (GET, read the body) against the same registry in
 * the same run, and the CLI next to skopeo for one manifest fetch.
 *
 * vouch's client does more per request than the bare loop: it verifies the
 * digest of the bytes and parses and validates the manifest. The target is
 * at least 0.9 of the bare loop's throughput.
 *
 * Rounds alternate between the two clients so that drift on a busy machine
 * hits both alike; the figures are medians over the rounds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { Pool } from 'undici';
import { MANIFEST_TYPES } from '../src/oci/media-types.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { buildImage } from '../test/helpers/images.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { knob, median, printFigures } from './common.ts';

const REQUESTS_PER_ROUND = knob('BENCH_REQUESTS', 4000);
const ROUNDS = knob('BENCH_ROUNDS', 7);
const CONCURRENCY = knob('BENCH_CONCURRENCY', 16);
const CLI_RUNS = knob('BENCH_CLI_RUNS', 15);
const TARGET_RATIO = 0.9;

/** Runs `task` REQUESTS_PER_ROUND times with CONCURRENCY in flight; returns requests per second. */
async function throughput(task: () => Promise<void>): Promise<number> {
  let remaining = REQUESTS_PER_ROUND;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (remaining-- > 0) await task();
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return REQUESTS_PER_ROUND / seconds;
}

function timeCommand(command: string, args: readonly string[]): number[] {
  const times: number[] = [];
  for (let i = 0; i < CLI_RUNS; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (result.status !== 0)
      throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}

const registry = await startRegistry({ blobDescriptorCache: true });
try {
  const http = new HttpClient({ connectionsPerOrigin: CONCURRENCY });
  const client = new RegistryClient(registry.host, { http });
  const repository = client.repository('bench/app');
  const image = await buildImage(repository, { tag: 'v1', layers: 5 });
  const digest = image.descriptor.digest;
  const path = `/v2/bench/app/manifests/${digest}`;

  const pool = new Pool(registry.url, { connections: CONCURRENCY });
  const accept = MANIFEST_TYPES.join(', ');
  const bare = async () => {
    const response = await pool.request({ method: 'GET', path, headers: { accept } });
    await response.body.arrayBuffer();
    if (response.statusCode !== 200) throw new Error(`bare GET answered ${response.statusCode}`);
  };
  const vouch = async () => {
    await repository.getManifest({ digest });
  };

  // Warm up both: connections, JIT, the registry's caches.
  await throughput(bare);
  await throughput(vouch);

  const bareRates: number[] = [];
  const vouchRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    bareRates.push(await throughput(bare));
    vouchRates.push(await throughput(vouch));
  }
  await pool.close();
  await http.close();

  const bareMedian = median(bareRates);
  const vouchMedian = median(vouchRates);
  const ratio = vouchMedian / bareMedian;

  const lines = [
    `# vouch bench: manifest GET by digest against Distribution 2.8 on 127.0.0.1`,
    '',
    `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, Node ${process.version}`,
    `${ROUNDS} rounds of ${REQUESTS_PER_ROUND} requests, ${CONCURRENCY} in flight, medians`,
    '',
    '| client | requests/s (median) | ratio |',
    '|---|---:|---:|',
    `| bare undici Pool (GET + read body) | ${bareMedian.toFixed(0)} | 1.00 |`,
    `| vouch RegistryRepository.getManifest (GET + verify digest + parse) | ${vouchMedian.toFixed(0)} | ${ratio.toFixed(2)} |`,
  ];

  // One manifest fetch from the command line, process start included, next to skopeo.
  const vouchBin = ['dist/bin/vouch.js', 'manifest', `${registry.host}/bench/app@${digest}`];
  const cli: Array<[string, number]> = [
    ['vouch manifest', median(timeCommand(process.execPath, vouchBin))],
  ];
  if (existsSync('/usr/bin/skopeo')) {
    const skopeo = [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${registry.host}/bench/app@${digest}`,
    ];
    cli.push(['skopeo inspect --raw', median(timeCommand('/usr/bin/skopeo', skopeo))]);
  }
  lines.push(
    '',
    `CLI, one manifest fetch including process start (median of ${CLI_RUNS} runs):`,
    '',
    '| command | ms (median) |',
    '|---|---:|',
  );
  for (const [name, ms] of cli) lines.push(`| ${name} | ${ms.toFixed(0)} |`);

  console.log(lines.join('\n'));
  if (ratio < TARGET_RATIO) {
    console.log(
      `\nvouch reached ${ratio.toFixed(2)} of the bare loop, below the ${TARGET_RATIO} target`,
    );
    process.exitCode = 1;
  }
  printFigures('manifest-get', {
    bare_get_per_s: bareMedian,
    vouch_get_per_s: vouchMedian,
    client_vs_bare_undici: ratio,
    client_vs_bare_undici_ok: ratio >= TARGET_RATIO,
    ...Object.fromEntries(
      cli.map(([name, ms]) => [`${name.split(' ')[0] as string}_oneshot_ms`, ms]),
    ),
  });
} finally {
  await registry.stop();
}
