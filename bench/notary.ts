/**
 * `npm run bench`, Docker Content Trust part (issues 5 and 15): `vouch verify
 * --notary` of one tag as a whole process, next to `notary lookup` of the
 * same tag, against a real notary-server and Distribution registry on
 * 127.0.0.1; 100 tags of one repository in one `vouch verify --notary` run
 * next to 100 sequential `notary lookup` runs; and the in-process cost of
 * resolving a tag from metadata already fetched (the pure TUF update plus
 * docker's tag lookup).
 *
 * Both CLIs run with a warm trust directory (the usual case: the root was
 * trusted on first use earlier). Both then fetch the timestamp and, when it
 * lists the snapshot they hold, answer from their caches; vouch verifies the
 * cached files again (signatures, expiry, hashes) and then checks that the
 * registry serves the signed manifest for each tag, which notary lookup does
 * not. Runs alternate between the two and two floors (`node -e 0`, and
 * `vouch --version`: the bundled CLI's entry alone), so drift on a busy
 * machine hits all alike; figures are medians. Target (issue 15): one tag at most 3x `notary
 * lookup`; the script exits 1 when it is missed. The 100 tags are reported
 * only.
 *
 * Knobs: BENCH_CLI_RUNS (one-tag runs of each), BENCH_ROUNDS (in-process
 * rounds), BENCH_DCT_TAGS (tags in targets, and tags named in the batch
 * run), BENCH_DCT_BATCH_RUNS, BENCH_DCT_RESOLUTIONS. The last line is one
 * JSON object of the figures.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestHex } from '../src/oci/digest.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { fetchNotaryMetadata } from '../src/dct/gather.ts';
import { NotaryServer } from '../src/dct/notary-server.ts';
import { updateTrustedMetadata } from '../src/dct/update.ts';
import { signedTag } from '../src/dct/verify-notary.ts';
import { buildImage } from '../test/helpers/images.ts';
import { NOTARY_PASSPHRASES, NotaryCli, startNotaryServer } from '../test/helpers/notary.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { knob, median, printFigures } from './common.ts';

const CLI_RUNS = knob('BENCH_CLI_RUNS', 15);
const TAGS = knob('BENCH_DCT_TAGS', 100);
const BATCH_RUNS = knob('BENCH_DCT_BATCH_RUNS', 5);
const RESOLUTIONS = knob('BENCH_DCT_RESOLUTIONS', 2000);
const ROUNDS = knob('BENCH_ROUNDS', 7);
const ONESHOT_TARGET = 3;

function timeOnce(command: string, args: readonly string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

if (!existsSync('/usr/bin/notary-server') || !existsSync('/usr/bin/notary')) {
  console.log(
    '# vouch bench: Docker Content Trust\n\nskipped: notary-server and notary are not installed',
  );
  process.exit(0);
}

const [registry, notary] = await Promise.all([
  startRegistry({ blobDescriptorCache: true }),
  startNotaryServer(),
]);
const scratch = await mkdtemp(join(tmpdir(), 'vouch-bench-notary-'));
const publisher = await NotaryCli.create(notary.url);
const http = new HttpClient({ retries: 0 });
try {
  const gun = `${registry.host}/bench/dct`;
  const store = new RegistryClient(registry.host, { http }).repository('bench/dct');
  const image = (await buildImage(store, { tag: 'v1' })).descriptor;
  // The same manifest under every tag the batch run names, so vouch's
  // registry check of each tag passes.
  const manifest = await store.getManifest({ digest: image.digest });
  for (let i = 0; i < TAGS; i++) await store.putManifest(manifest.bytes, image.mediaType, `t${i}`);
  await publisher.run(['init', '-p', gun]);
  // TAGS targets, so targets.json is the size of a real repository's.
  for (let i = 0; i < TAGS; i++) {
    await publisher.run([
      'addhash',
      gun,
      `t${i}`,
      String(image.size),
      '--sha256',
      digestHex(image.digest),
    ]);
  }
  await publisher.run([
    'addhash',
    '-p',
    gun,
    'v1',
    String(image.size),
    '--sha256',
    digestHex(image.digest),
  ]);

  // Whole process, warm trust directories, interleaved.
  const vouchTrust = join(scratch, 'vouch-trust');
  const notaryTrust = await NotaryCli.create(notary.url);
  const vouchArgs = [
    'dist/bin/vouch.js',
    'verify',
    '--notary',
    '--notary-server',
    notary.url,
    '--trust-dir',
    vouchTrust,
    `${gun}:v1`,
  ];
  const notaryArgs = ['-d', notaryTrust.trustDir, '-s', notary.url, 'lookup', gun, 'v1'];
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: scratch,
    DOCKER_CONFIG: join(scratch, 'docker'),
    ...NOTARY_PASSPHRASES,
  };
  timeOnce(process.execPath, vouchArgs, env);
  timeOnce('/usr/bin/notary', notaryArgs, env);
  // With them, two floors: Node starting and doing nothing, and the bundled
  // CLI starting and printing its version (its entry, no command).
  const vouchTimes: number[] = [];
  const notaryTimes: number[] = [];
  const nodeTimes: number[] = [];
  const versionTimes: number[] = [];
  for (let i = 0; i < CLI_RUNS; i++) {
    vouchTimes.push(timeOnce(process.execPath, vouchArgs, env));
    notaryTimes.push(timeOnce('/usr/bin/notary', notaryArgs, env));
    nodeTimes.push(timeOnce(process.execPath, ['-e', '0'], env));
    versionTimes.push(timeOnce(process.execPath, ['dist/bin/vouch.js', '--version'], env));
  }
  const vouchMs = median(vouchTimes);
  const notaryMs = median(notaryTimes);
  const nodeMs = median(nodeTimes);
  const versionMs = median(versionTimes);

  // TAGS tags of the repository: one vouch run naming them all, against a
  // notary lookup per tag, one after another (notary lookup takes one tag).
  const tags = Array.from({ length: TAGS }, (_, i) => `t${i}`);
  const vouchBatchArgs = [...vouchArgs.slice(0, -1), ...tags.map((tag) => `${gun}:${tag}`)];
  const notaryLookups = () => {
    const start = process.hrtime.bigint();
    for (const tag of tags) timeOnce('/usr/bin/notary', [...notaryArgs.slice(0, -1), tag], env);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const vouchBatchTimes: number[] = [];
  const notaryBatchTimes: number[] = [];
  for (let i = 0; i < BATCH_RUNS; i++) {
    vouchBatchTimes.push(timeOnce(process.execPath, vouchBatchArgs, env));
    notaryBatchTimes.push(notaryLookups());
  }
  await notaryTrust.remove();
  const vouchBatchMs = median(vouchBatchTimes);
  const notaryBatchMs = median(notaryBatchTimes);
  const oneshotRatio = vouchMs / notaryMs;
  const oneshotOk = oneshotRatio <= ONESHOT_TARGET;
  const spread = (values: readonly number[]) =>
    `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;

  // In process: the metadata fetched once, then resolved again and again.
  const server = new NotaryServer({ url: new URL(notary.url), http });
  const trusted = { targets: new Map<string, Uint8Array>() };
  const fetched = await fetchNotaryMetadata(server, gun, trusted);
  const resolve = () =>
    signedTag(updateTrustedMetadata(trusted, fetched, { gun, now: Date.now() }), 'v1');
  for (let i = 0; i < 200; i++) resolve(); // JIT warm-up
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < RESOLUTIONS; i++) resolve();
    rates.push(RESOLUTIONS / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  const repository = updateTrustedMetadata(trusted, fetched, { gun, now: Date.now() });
  const lookups = 100_000;
  const lookupStart = process.hrtime.bigint();
  for (let i = 0; i < lookups; i++) signedTag(repository, `t${i % TAGS}`);
  const lookupRate = lookups / (Number(process.hrtime.bigint() - lookupStart) / 1e9);

  console.log(
    [
      '# vouch bench: Docker Content Trust against notary-server 0.7.0 on 127.0.0.1',
      '',
      `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, Node ${process.version}`,
      `repository: ${TAGS + 1} tags in targets, published by the notary CLI (root, targets, snapshot keys local; timestamp on the server)`,
      '',
      `One tag, whole process, warm trust directory (median of ${CLI_RUNS} interleaved runs):`,
      '',
      '| command | ms (median) | range | ratio | target |',
      '|---|---:|---:|---:|---|',
      `| notary lookup | ${notaryMs.toFixed(0)} | ${spread(notaryTimes)} | 1.00 | |`,
      `| vouch verify --notary (bundled CLI) | ${vouchMs.toFixed(0)} | ${spread(vouchTimes)} | ${oneshotRatio.toFixed(2)} | <= ${ONESHOT_TARGET}: ${oneshotOk ? 'met' : 'MISSED'} |`,
      `| floor: node -e 0 | ${nodeMs.toFixed(0)} | ${spread(nodeTimes)} | ${(nodeMs / notaryMs).toFixed(2)} | |`,
      `| floor: vouch --version (bundled CLI) | ${versionMs.toFixed(0)} | ${spread(versionTimes)} | ${(versionMs / notaryMs).toFixed(2)} | |`,
      '',
      `${TAGS} tags of one repository, warm trust directories (median of ${BATCH_RUNS} interleaved runs):`,
      '',
      '| command | ms (median) | range | ratio |',
      '|---|---:|---:|---:|',
      `| ${TAGS} sequential notary lookup runs | ${notaryBatchMs.toFixed(0)} | ${spread(notaryBatchTimes)} | 1.00 |`,
      `| one vouch verify --notary run naming ${TAGS} tags | ${vouchBatchMs.toFixed(0)} | ${spread(vouchBatchTimes)} | ${(vouchBatchMs / notaryBatchMs).toFixed(2)} |`,
      '',
      'In process, metadata already fetched (no I/O):',
      '',
      '| operation | per second (median) |',
      '|---|---:|',
      `| full update (root, timestamp, snapshot, targets: parse + verify signatures) + tag lookup | ${median(rates).toFixed(0)} |`,
      `| tag lookup on a verified repository (signedTag) | ${lookupRate.toFixed(0)} |`,
    ].join('\n'),
  );
  if (!oneshotOk) {
    console.log(
      `\nmissed: vouch verify --notary took ${oneshotRatio.toFixed(2)}x notary lookup, above the ${ONESHOT_TARGET}x target`,
    );
    process.exitCode = 1;
  }
  printFigures('notary', {
    notary_lookup_ms: notaryMs,
    oneshot_ms: vouchMs,
    oneshot_vs_notary_lookup: oneshotRatio,
    oneshot_vs_notary_lookup_ok: oneshotOk,
    node_ms: nodeMs,
    node_vs_notary_lookup: nodeMs / notaryMs,
    vouch_version_ms: versionMs,
    vouch_version_vs_notary_lookup: versionMs / notaryMs,
    tags: TAGS,
    notary_lookups_ms: notaryBatchMs,
    vouch_tags_ms: vouchBatchMs,
    tags_vouch_vs_notary_lookups: vouchBatchMs / notaryBatchMs,
    full_updates_per_s: median(rates),
    tag_lookups_per_s: lookupRate,
  });
} finally {
  await http.close();
  await Promise.all([
    registry.stop(),
    notary.stop(),
    publisher.remove(),
    rm(scratch, { recursive: true, force: true }),
  ]);
}
