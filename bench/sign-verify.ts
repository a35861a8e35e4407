/**
 * `npm run bench`, second part: signing and verifying 1,000 images against a
 * real Distribution registry on 127.0.0.1, and one `vouch verify` as a whole
 * process.
 *
 * 1. Push N small distinct images (one shared layer, a config of their own)
 *    as `bench/app:img-NNNN`. Sign and verify 50 others in a repository of
 *    their own through a counting proxy (untimed), to count the requests one
 *    signature and one verification make.
 * 2. Signing: `signImages` over all N in one call (library, undici, default
 *    concurrency, registry settle check included). Each round uses a fresh
 *    key on unsigned images: between rounds the `.sig` manifests are deleted
 *    (untimed), so every round does the same work.
 *    The same N images are pushed to `bench/keyless` and signed keylessly
 *    there (bench/keyless-images.ts: a certificate, a payload signature and
 *    a log entry of an ephemeral Sigstore per image; untimed).
 * 3. Verification: `verifyImages` over all N by tag in one process (library,
 *    undici, default concurrency), alternating with rounds of a bare undici
 *    `Pool` GETting the same images' manifests by digest, 16 in flight,
 *    rounds of a bare loop sending exactly the requests of a verification,
 *    rounds of keyless `verifyImages` over the N keyless images with a
 *    `CertificateTrust` built once (from the second pass on, each
 *    certificate has been verified before with it, and is not chained and
 *    SCT-checked again: sigstore/verified-leaf-cache.ts), and rounds with a
 *    `CertificateTrust` built for the round (every certificate seen for the
 *    first time; reported, not judged). Targets (issue 15): verification rate at
 *    least 1.2x the bare verification-shaped loop, keyless at least 0.8x
 *    key-based.
 * 4. CLI: `node dist/bin/vouch.js verify --key PUB IMAGE` (one image, so the
 *    CLI picks the node:http transport) interleaved with `node -e 0` on the
 *    same Node; target median at most 2.0x. Peak RSS of the same command,
 *    reported by the process itself at exit; target under 100 MiB.
 *
 * Knobs: BENCH_IMAGES, BENCH_ROUNDS (sign and verify rounds, unless
 * BENCH_SIGN_ROUNDS / BENCH_VERIFY_ROUNDS say otherwise), BENCH_CLI_RUNS,
 * BENCH_REQUESTS, BENCH_CONCURRENCY. Every figure is printed, the last line
 * a JSON object of them, before the script exits 1 for a missed target.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { createLimiter } from '../src/core/concurrency.ts';
import { signatureTag } from '../src/formats/cosign-signature.ts';
import { generateKeyPair } from '../src/keys/generate.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import type { Digest } from '../src/oci/digest.ts';
import { Stores } from '../src/registry/open.ts';
import { imageSigner } from '../src/sign/image-signer.ts';
import { type SignResult, signImages } from '../src/sign/sign.ts';
import { DEFAULT_VERIFY_CONCURRENCY } from '../src/registry/http.ts';
import { verifyImages } from '../src/verify/verify.ts';
import { benchCertificateTrust, keylessSetup, pushKeylessSignatures } from './keyless-images.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import {
  bareRequester,
  knob,
  median,
  printFigures,
  pushImages,
  rate,
  run,
  seconds,
  tagOf,
} from './common.ts';

const IMAGES = knob('BENCH_IMAGES', 1000);
const SIGN_ROUNDS = knob('BENCH_SIGN_ROUNDS', knob('BENCH_ROUNDS', 3));
const VERIFY_ROUNDS = knob('BENCH_VERIFY_ROUNDS', knob('BENCH_ROUNDS', 5));
const GET_REQUESTS = knob('BENCH_REQUESTS', 2000);
const CONCURRENCY = knob('BENCH_CONCURRENCY', 16);
const CLI_RUNS = knob('BENCH_CLI_RUNS', 15);
const RSS_RUNS = 5;
const REPOSITORY = 'bench/app';
const KEYLESS_REPOSITORY = 'bench/keyless';
/** Images signed and verified through the counting proxy, in a repository of their own. */
const COUNT_IMAGES = 50;
const COUNT_REPOSITORY = 'bench/count';
const KEYLESS_COUNT_REPOSITORY = 'bench/keyless-count';
/** verifyImages' default. */
const VERIFY_CONCURRENCY = DEFAULT_VERIFY_CONCURRENCY;
/** Issue 15's targets: verification against the bare loop sending the same requests, keyless against key-based, one process against `node -e 0`. */
const VERIFY_TARGET = 1.2;
const KEYLESS_TARGET = 0.8;
const CLI_TARGET = 2.0;
const RSS_TARGET_MIB = 100;

/**
 * A plain HTTP proxy on 127.0.0.1 that forwards to the registry and counts
 * the requests it sees, by method and kind of path.
 */
async function countingProxy(target: string) {
  const counts = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    const kind =
      path === '/v2/'
        ? '/v2/ (ping)'
        : /\/manifests\/sha256:/.test(path)
          ? 'manifest by digest'
          : /\/manifests\//.test(path)
            ? 'manifest by tag'
            : /\/blobs\//.test(path)
              ? 'blob'
              : 'other';
    const key = `${req.method} ${kind}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const upstream = http.request(
      `${target}${path}`,
      { method: req.method, headers: req.headers, agent },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    counts,
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Signs `count` images of `repository` on `host` with a fresh key, in one call; checks all were newly signed. */
async function signAll(host: string, repository: string, count: number) {
  const key = await generateKeyPair();
  const stores = new Stores({ http: { transport: 'undici' } });
  const store = stores.client(host).repository(repository);
  const begin = process.hrtime.bigint();
  const results: SignResult[] = await signImages(
    Array.from({ length: count }, (_, i) => ({
      store,
      target: { tag: tagOf(i) },
      dockerReference: `${host}/${repository}`,
    })),
    { signer: imageSigner(key.privateKey) },
  );
  const elapsed = seconds(begin);
  await stores.close();
  const signed = results.filter(
    (result) => result.ok && result.signatures[0]?.outcome === 'signed',
  ).length;
  if (signed !== count) {
    const failed = results.find((result) => !result.ok);
    throw new Error(
      `signing: ${signed} of ${count} newly signed${failed && !failed.ok ? `; first failure: ${failed.error.message}` : ''}`,
    );
  }
  const signatureManifests = results.map(
    (result) => result.signatures[0]?.signatureManifest as Digest,
  );
  return { key, rate: count / elapsed, signatureManifests };
}

/** Request counts by kind, sorted, with the total less the one ping per client. */
function summarise(counts: ReadonlyMap<string, number>, images: number) {
  const rows = [...counts].sort(([a], [b]) => a.localeCompare(b));
  const pings = counts.get('GET /v2/ (ping)') ?? 0;
  const total = [...counts.values()].reduce((sum, n) => sum + n, 0) - pings;
  return { rows, total, images, perImage: total / images };
}

const benchStart = process.hrtime.bigint();
const loadBefore = loadavg()[0] as number;
const registry = await startRegistry({ blobDescriptorCache: true });
const work = await mkdtemp(join(tmpdir(), 'vouch-bench-'));
try {
  const setup = new Stores({ http: { transport: 'undici', connectionsPerOrigin: CONCURRENCY } });
  const repository = setup.client(registry.host).repository(REPOSITORY);

  // 1. N distinct images sharing one layer.
  const start = process.hrtime.bigint();
  const digests = (await pushImages(repository, IMAGES, CONCURRENCY)).map((d) => d.digest);
  const pushSeconds = seconds(start);
  const images = digests.map((_, i) => `${registry.host}/${REPOSITORY}:${tagOf(i)}`);

  // The same images, signed keylessly in a repository of their own (untimed).
  const keylessStart = process.hrtime.bigint();
  const keyless = await keylessSetup();
  const keylessRepository = setup.client(registry.host).repository(KEYLESS_REPOSITORY);
  const keylessDigests = (await pushImages(keylessRepository, IMAGES, CONCURRENCY)).map(
    (d) => d.digest,
  );
  await pushKeylessSignatures(
    keyless,
    keylessRepository,
    `${registry.host}/${KEYLESS_REPOSITORY}`,
    keylessDigests,
    CONCURRENCY,
  );
  const keylessSetupSeconds = seconds(keylessStart);
  const keylessImages = keylessDigests.map(
    (_, i) => `${registry.host}/${KEYLESS_REPOSITORY}:${tagOf(i)}`,
  );

  // Requests per signature and per verification, counted through a proxy
  // on a separate small repository (untimed).
  const proxy = await countingProxy(registry.url);
  await pushImages(
    setup.client(registry.host).repository(COUNT_REPOSITORY),
    COUNT_IMAGES,
    CONCURRENCY,
  );
  proxy.counts.clear();
  const counted = await signAll(proxy.host, COUNT_REPOSITORY, COUNT_IMAGES);
  const signRequests = summarise(proxy.counts, COUNT_IMAGES);
  proxy.counts.clear();
  {
    const stores = new Stores({ http: { transport: 'undici' } });
    const proxied = Array.from(
      { length: COUNT_IMAGES },
      (_, i) => `${proxy.host}/${COUNT_REPOSITORY}:${tagOf(i)}`,
    );
    const results = await verifyImages(stores, proxied, {
      trust: { keys: [counted.key.publicKey] },
    });
    await stores.close();
    const bad = results.filter((result) => result.status !== 'verified');
    if (bad.length > 0) throw new Error(`${bad.length} images not verified through the proxy`);
  }
  const verifyRequests = summarise(proxy.counts, COUNT_IMAGES);
  proxy.counts.clear();
  {
    // Signed for the proxy's name, as the keyless images are for the
    // registry's: the payload names the repository it is verified in.
    const keylessCountRepository = setup.client(registry.host).repository(KEYLESS_COUNT_REPOSITORY);
    const keylessCountDigests = (
      await pushImages(keylessCountRepository, COUNT_IMAGES, CONCURRENCY)
    ).map((d) => d.digest);
    await pushKeylessSignatures(
      keyless,
      keylessCountRepository,
      `${proxy.host}/${KEYLESS_COUNT_REPOSITORY}`,
      keylessCountDigests,
      CONCURRENCY,
    );
    proxy.counts.clear();
    const stores = new Stores({ http: { transport: 'undici' } });
    const proxied = keylessCountDigests.map(
      (_, i) => `${proxy.host}/${KEYLESS_COUNT_REPOSITORY}:${tagOf(i)}`,
    );
    const results = await verifyImages(stores, proxied, { trust: benchCertificateTrust(keyless) });
    await stores.close();
    const bad = results.filter((result) => result.status !== 'verified');
    if (bad.length > 0)
      throw new Error(`${bad.length} keyless images not verified through the proxy`);
  }
  const keylessRequests = summarise(proxy.counts, COUNT_IMAGES);
  await proxy.close();

  // 2. Signing: a fresh key per round on unsigned images; between rounds the
  // signature manifests are deleted (which also removes their tags), untimed.
  const limit = createLimiter(CONCURRENCY);
  const signRates: number[] = [];
  let signed: Awaited<ReturnType<typeof signAll>> | undefined;
  for (let round = 0; round < SIGN_ROUNDS; round++) {
    if (signed !== undefined) {
      await Promise.all(
        signed.signatureManifests.map((digest) => limit(() => repository.deleteManifest(digest))),
      );
    }
    signed = await signAll(registry.host, REPOSITORY, IMAGES);
    signRates.push(signed.rate);
  }
  if (signed === undefined) throw new Error('BENCH_SIGN_ROUNDS must be at least 1');
  const keys = [signed.key.publicKey];

  // 3. Verification, alternating with the two bare loops.
  const pool = new Pool(registry.url, { connections: CONCURRENCY });
  const bareRequest = bareRequester(pool);
  const manifestPath = (reference: string) => `/v2/${REPOSITORY}/manifests/${reference}`;
  const payloads = signed.signatureManifests.map(() => '');
  {
    // The payload digests, for the bare verification-shaped loop.
    const stores = new Stores({ http: { transport: 'undici' } });
    const store = stores.client(registry.host).repository(REPOSITORY);
    await Promise.all(
      signed.signatureManifests.map((digest, i) =>
        limit(async () => {
          const manifest = await store.getManifest({ digest });
          if (manifest.kind !== 'image') throw new Error(`${digest} is not an image manifest`);
          payloads[i] = (manifest.manifest.layers[0] as { digest: string }).digest;
        }),
      ),
    );
    await stores.close();
  }
  const getRound = (total = GET_REQUESTS) =>
    rate(total, CONCURRENCY, (i) =>
      bareRequest('GET', manifestPath(digests[i % IMAGES] as Digest)),
    );
  // What verifying by tag asks of the registry, and nothing else.
  const bareVerifyRound = (total = IMAGES) =>
    rate(total, VERIFY_CONCURRENCY, async (n) => {
      const i = n % IMAGES;
      await bareRequest('HEAD', manifestPath(tagOf(i)));
      await bareRequest('GET', manifestPath(signatureTag(digests[i] as Digest)));
      await bareRequest('GET', `/v2/${REPOSITORY}/blobs/${payloads[i]}`);
    });
  const verifyRound = async (
    names: readonly string[],
    trust: Parameters<typeof verifyImages>[2]['trust'],
  ): Promise<number> => {
    // A fresh client each round, as one process verifying N images would have.
    const stores = new Stores({ http: { transport: 'undici' } });
    const begin = process.hrtime.bigint();
    const results = await verifyImages(stores, names, { trust });
    const perSecond = names.length / seconds(begin);
    await stores.close();
    const bad = results.filter((result) => result.status !== 'verified');
    if (bad.length > 0) {
      throw new Error(`${bad.length} images not verified; first: ${JSON.stringify(bad[0])}`);
    }
    return perSecond;
  };
  // Keyless trust as one process builds it: the trusted root parsed and its
  // material decoded once, for every round.
  const certificateTrust = benchCertificateTrust(keyless);
  // Warm up all four (connections, JIT, the registry's caches); the
  // verification passes read every image's signature once.
  await verifyRound(images, { keys });
  await verifyRound(keylessImages, certificateTrust);
  await getRound(500);
  await bareVerifyRound(200);
  const getRates: number[] = [];
  const bareVerifyRates: number[] = [];
  const verifyRates: number[] = [];
  const keylessRates: number[] = [];
  const firstSightRates: number[] = [];
  for (let round = 0; round < VERIFY_ROUNDS; round++) {
    getRates.push(await getRound());
    bareVerifyRates.push(await bareVerifyRound());
    verifyRates.push(await verifyRound(images, { keys }));
    keylessRates.push(await verifyRound(keylessImages, certificateTrust));
    // A CertificateTrust of its own (the root parsed again, so new trust
    // material): none of the certificates has been seen with it, as in a
    // process verifying each image once.
    firstSightRates.push(await verifyRound(keylessImages, benchCertificateTrust(keyless)));
  }
  await pool.close();
  await setup.close();

  const getMedian = median(getRates);
  const bareVerifyMedian = median(bareVerifyRates);
  const verifyMedian = median(verifyRates);
  const requestsPerVerification = verifyRequests.perImage;
  const ceiling = getMedian / requestsPerVerification;
  const verifyRatio = verifyMedian / bareVerifyMedian;
  const keylessMedian = median(keylessRates);
  const keylessRatio = keylessMedian / verifyMedian;
  const firstSightMedian = median(firstSightRates);
  const signMedian = median(signRates);

  // 4. One `vouch verify` as a whole process, interleaved with `node -e 0`.
  const pubFile = join(work, 'bench.pub');
  await writeFile(pubFile, publicKeyToPem(signed.key.publicKey));
  const dockerConfig = join(work, 'docker');
  const env = { ...process.env, DOCKER_CONFIG: dockerConfig };
  const cliArgs = ['dist/bin/vouch.js', 'verify', '--key', pubFile, images[0] as string];
  const check = run(process.execPath, cliArgs, env);
  if (!check.stdout.includes(': verified')) throw new Error(`vouch verify said:\n${check.stdout}`);
  run(process.execPath, ['-e', '0'], env);
  const cliTimes: number[] = [];
  const nodeTimes: number[] = [];
  for (let i = 0; i < CLI_RUNS; i++) {
    cliTimes.push(run(process.execPath, cliArgs, env).ms);
    nodeTimes.push(run(process.execPath, ['-e', '0'], env).ms);
  }
  const cliMedian = median(cliTimes);
  const nodeMedian = median(nodeTimes);
  const cliRatio = cliMedian / nodeMedian;
  // Peak RSS of the process's own memory at exit: VmHWM from /proc/self/status
  // (KiB). Not getrusage's ru_maxrss: it survives exec, so a child forked from
  // this (large) bench process reports the bench's size, not its own.
  const rssHook = `data:text/javascript,process.on('exit',()=>process.stderr.write('maxRSS='+/VmHWM:\\s+(\\d+)/.exec(process.getBuiltinModule('node:fs').readFileSync('/proc/self/status','utf8'))[1]+'\\n'))`;
  const rssKiB: number[] = [];
  for (let i = 0; i < RSS_RUNS; i++) {
    const { stderr } = run(process.execPath, ['--import', rssHook, ...cliArgs], env);
    const found = /maxRSS=(\d+)/.exec(stderr);
    if (found === null) throw new Error(`no maxRSS reported:\n${stderr}`);
    rssKiB.push(Number(found[1]));
  }
  const rssMiB = Math.max(...rssKiB) / 1024;

  const pass = (ok: boolean) => (ok ? 'pass' : 'MISSED');
  const verifyOk = verifyRatio >= VERIFY_TARGET;
  const keylessOk = keylessRatio >= KEYLESS_TARGET;
  const cliOk = cliRatio <= CLI_TARGET;
  const rssOk = rssMiB < RSS_TARGET_MIB;
  const rounds = (values: readonly number[]) => values.map((v) => v.toFixed(0)).join(', ');
  const countRows = (summary: ReturnType<typeof summarise>) => [
    ...summary.rows.map(([name, n]) => `| ${name} | ${n} | ${(n / summary.images).toFixed(2)} |`),
    `| total, less the one ping per client | ${summary.total} | ${summary.perImage.toFixed(2)} |`,
  ];
  const lines = [
    `# vouch bench: sign and verify ${IMAGES} images against Distribution 2.8 on 127.0.0.1`,
    '',
    `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, Node ${process.version};` +
      ` 1-minute load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after;` +
      ` ${seconds(benchStart).toFixed(0)} s in all`,
    `setup: ${IMAGES} images (one shared 1 KiB layer, a config each) pushed in ${pushSeconds.toFixed(1)} s, ${CONCURRENCY} in flight`,
    '',
    `Requests per image, counted through a proxy while signing and then verifying ${COUNT_IMAGES} other images by tag:`,
    '',
    '| signing: request | count | per image |',
    '|---|---:|---:|',
    ...countRows(signRequests),
    '',
    '| verification: request | count | per image |',
    '|---|---:|---:|',
    ...countRows(verifyRequests),
    '',
    `Verifying ${keylessRequests.images} of the keyless images by tag, counted the same way:`,
    '',
    '| keyless verification: request | count | per image |',
    '|---|---:|---:|',
    ...countRows(keylessRequests),
    '',
    `Keyless setup: the same ${IMAGES} images pushed to ${KEYLESS_REPOSITORY}, each signed with a certificate, signature and log entry of its own`,
    `from an ephemeral Sigstore (@sigstore/mock), in ${keylessSetupSeconds.toFixed(1)} s (untimed).`,
    '',
    `Library, one process, undici transport, default concurrency (${VERIFY_CONCURRENCY}), images named by tag.`,
    `Signing: ${SIGN_ROUNDS} round(s) of one signImages call over all ${IMAGES}, each with a fresh key on unsigned images`,
    `(the 100 ms settle check included). Verification: ${VERIFY_ROUNDS} rounds of one verifyImages call over all ${IMAGES},`,
    `alternating with ${VERIFY_ROUNDS} rounds of ${GET_REQUESTS} bare manifest GETs (${CONCURRENCY} in flight) and ${VERIFY_ROUNDS} rounds of the bare`,
    `verification-shaped loop (HEAD tag, GET .sig, GET payload per image, ${VERIFY_CONCURRENCY} images in flight) and ${VERIFY_ROUNDS} rounds of`,
    `keyless verifyImages over the keyless images (one CertificateTrust for all rounds, so from the second pass on`,
    `each certificate has been verified before: sigstore/verified-leaf-cache.ts), and ${VERIFY_ROUNDS} rounds of the same with a`,
    `CertificateTrust built for the round (every certificate seen for the first time). Medians:`,
    '',
    '| measure | median | rounds | ratio | target |',
    '|---|---:|---|---:|---|',
    `| bare undici Pool: manifest GET by digest | ${getMedian.toFixed(0)} req/s | ${rounds(getRates)} | | |`,
    `| ceiling: GET rate / ${requestsPerVerification.toFixed(2)} requests per verification | ${ceiling.toFixed(0)} images/s | | 1.00 | |`,
    `| bare undici Pool: the requests of a verification | ${bareVerifyMedian.toFixed(0)} images/s | ${rounds(bareVerifyRates)} | ${(bareVerifyMedian / ceiling).toFixed(2)} | |`,
    `| vouch verifyImages | ${verifyMedian.toFixed(0)} images/s | ${rounds(verifyRates)} | ${(verifyMedian / ceiling).toFixed(2)} | |`,
    `| vouch verifyImages / bare verification loop | | | ${verifyRatio.toFixed(2)} | >= ${VERIFY_TARGET}: ${pass(verifyOk)} |`,
    `| vouch verifyImages, keyless | ${keylessMedian.toFixed(0)} images/s | ${rounds(keylessRates)} | ${(keylessMedian / ceiling).toFixed(2)} | |`,
    `| keyless / key verifyImages | | | ${keylessRatio.toFixed(2)} | >= ${KEYLESS_TARGET}: ${pass(keylessOk)} |`,
    `| vouch verifyImages, keyless, certificates seen for the first time | ${firstSightMedian.toFixed(0)} images/s | ${rounds(firstSightRates)} | ${(firstSightMedian / ceiling).toFixed(2)} | |`,
    `| keyless first sight / key verifyImages | | | ${(firstSightMedian / verifyMedian).toFixed(2)} | none |`,
    `| vouch signImages | ${signMedian.toFixed(0)} images/s | ${rounds(signRates)} | | none |`,
    '',
    `CLI, one image by tag, whole process (${CLI_RUNS} runs of each, interleaved; one image, so node:http transport):`,
    '',
    '| command | median | ratio | target |',
    '|---|---:|---:|---|',
    `| node -e 0 | ${nodeMedian.toFixed(0)} ms | 1.00 | |`,
    `| vouch verify --key PUB IMAGE | ${cliMedian.toFixed(0)} ms | ${cliRatio.toFixed(2)} | <= ${CLI_TARGET}: ${pass(cliOk)} |`,
    `| vouch verify, peak RSS (highest of ${RSS_RUNS} runs) | ${rssMiB.toFixed(1)} MiB | | < ${RSS_TARGET_MIB} MiB: ${pass(rssOk)} |`,
  ];
  console.log(lines.join('\n'));

  const missed: string[] = [];
  if (!verifyOk)
    missed.push(
      `missed: verification reached ${verifyRatio.toFixed(2)} of the bare loop sending the same requests, below the ${VERIFY_TARGET} target` +
        ` (${verifyMedian.toFixed(0)} images/s where ${(VERIFY_TARGET * bareVerifyMedian).toFixed(0)} were needed)`,
    );
  if (!keylessOk)
    missed.push(
      `missed: keyless verification reached ${keylessRatio.toFixed(2)} of key-based, below the ${KEYLESS_TARGET} target` +
        ` (${keylessMedian.toFixed(0)} images/s where ${(KEYLESS_TARGET * verifyMedian).toFixed(0)} were needed)`,
    );
  if (!cliOk)
    missed.push(
      `missed: vouch verify took ${cliRatio.toFixed(2)}x node -e 0, above the ${CLI_TARGET}x target` +
        ` (${cliMedian.toFixed(0)} ms where at most ${(CLI_TARGET * nodeMedian).toFixed(0)} ms were allowed)`,
    );
  if (!rssOk)
    missed.push(
      `missed: vouch verify peaked at ${rssMiB.toFixed(1)} MiB, above the ${RSS_TARGET_MIB} MiB target`,
    );
  if (missed.length > 0) {
    console.log(`\n${missed.join('\n')}`);
    process.exitCode = 1;
  }
  printFigures('sign-verify', {
    images: IMAGES,
    verify_rounds: VERIFY_ROUNDS,
    bare_get_per_s: getMedian,
    bare_verify_loop_images_per_s: bareVerifyMedian,
    verify_images_per_s: verifyMedian,
    keyless_images_per_s: keylessMedian,
    sign_images_per_s: signMedian,
    requests_per_verification: requestsPerVerification,
    verify_vs_ceiling: verifyMedian / ceiling,
    verify_vs_bare_loop: verifyRatio,
    verify_vs_bare_loop_ok: verifyOk,
    keyless_vs_key: keylessRatio,
    keyless_vs_key_ok: keylessOk,
    keyless_first_sight_images_per_s: firstSightMedian,
    keyless_first_sight_vs_key: firstSightMedian / verifyMedian,
    oneshot_ms: cliMedian,
    node_ms: nodeMedian,
    oneshot_vs_node: cliRatio,
    oneshot_vs_node_ok: cliOk,
    peak_rss_mib: rssMiB,
    peak_rss_ok: rssOk,
    load_before: loadBefore,
    load_after: loadavg()[0] as number,
  });
} finally {
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}
