/**
 * `npm run bench`, Notary Project part: notation verification of N images
 * beside cosign key-based verification of the same images, against a real
 * Distribution registry on 127.0.0.1, and one `vouch notation verify` as a
 * whole process.
 *
 * 1. Push N small distinct images (one shared layer, a config of their own)
 *    as `bench/notation:img-NNNN`.
 * 2. Sign each with notation's JWS envelope (an ECDSA P-256 key and a
 *    self-signed code-signing certificate made by openssl: a chain of one,
 *    as `notation cert generate-test` makes), stored as a referrer in the
 *    form notation 1.3 writes (config media type); Distribution 2.8 has no
 *    referrers API, so the client keeps the fallback tag `sha256-<hex>`.
 *    Sign the same images with cosign (`signImages`, a fresh ECDSA P-256
 *    key). Both untimed.
 * 3. Alternate rounds of `verifyNotationImages` over all N (trust policy
 *    level strict with revocation skipped, the certificate in trust store
 *    `ca:bench`, one statement for the repository) and rounds of
 *    `verifyImages` over all N with the cosign key; one process, undici
 *    transport, each call's default concurrency. Target: notation at least
 *    0.9 x the cosign rate (medians).
 * 4. CLI: `node dist/bin/vouch.js notation verify --trust-policy F
 *    --trust-store DIR IMAGE` interleaved with `node -e 0`; target median at
 *    most 2.5x.
 *
 * Every figure is printed before the script exits 1 for a missed target;
 * the last line is one JSON object of the figures.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { createLimiter } from '../src/core/concurrency.ts';
import { signatureTag } from '../src/formats/cosign-signature.ts';
import { parseTrustPolicy } from '../src/formats/notation/trust-policy.ts';
import { buildJws } from '../src/formats/notation/jws.ts';
import { notationKeySigner } from '../src/formats/notation/signature.ts';
import { buildNotationSignatureManifest } from '../src/formats/notation/signature-manifest.ts';
import { readTrustStoreIn } from '../src/notation/trust-store.ts';
import { verifyNotationImages } from '../src/notation/verify.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import { OCI_MANIFEST } from '../src/oci/media-types.ts';
import { referrersTag } from '../src/registry/referrers-tag.ts';
import { Stores } from '../src/registry/open.ts';
import { DEFAULT_VERIFY_CONCURRENCY } from '../src/registry/http.ts';
import { putBytes } from '../test/helpers/images.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import {
  alternatingRounds,
  bareRequester,
  cosignKeyRound,
  cosignSignTags,
  knob,
  median,
  pushImages,
  rate,
  run,
  seconds,
  tagOf,
} from './common.ts';

const encoder = new TextEncoder();

const IMAGES = knob('BENCH_IMAGES', 1000);
const ROUNDS = knob('BENCH_ROUNDS', 5);
const CLI_RUNS = knob('BENCH_CLI_RUNS', 15);
const CONCURRENCY = 16;
const REPOSITORY = 'bench/notation';
const STORE = 'bench';
const RATIO_TARGET = 0.9;
const CLI_TARGET = 2.5;

/**
 * A self-signed code-signing certificate on a P-256 key, meeting notation's
 * leaf requirements (notation-core-go x509/codesigning_cert_validations.go):
 * not a CA, digitalSignature, extended key usage codeSigning.
 */
function makeCertificate(dir: string) {
  const keyFile = join(dir, 'bench.key');
  const certFile = join(dir, 'bench.crt');
  run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-subj',
    '/C=US/ST=WA/L=Seattle/O=vouch/CN=vouch bench',
    '-days',
    '2',
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature',
    '-addext',
    'extendedKeyUsage=codeSigning',
  ]);
  return { keyFile, certFile };
}

const benchStart = process.hrtime.bigint();
const loadBefore = loadavg()[0] as number;
const registry = await startRegistry({ blobDescriptorCache: true });
const work = await mkdtemp(join(tmpdir(), 'vouch-bench-notation-'));
try {
  const setup = new Stores({ http: { transport: 'undici', connectionsPerOrigin: CONCURRENCY } });
  const repository = setup.client(registry.host).repository(REPOSITORY);

  // 1. N distinct images sharing one layer.
  let start = process.hrtime.bigint();
  const subjects = await pushImages(repository, IMAGES, CONCURRENCY);
  const pushSeconds = seconds(start);
  const images = subjects.map((_, i) => `${registry.host}/${REPOSITORY}:${tagOf(i)}`);

  // 2a. A notation signature on each (untimed).
  start = process.hrtime.bigint();
  const { keyFile, certFile } = makeCertificate(work);
  const privateKey = createPrivateKey(await readFile(keyFile));
  const certificate = new Uint8Array(new X509Certificate(await readFile(certFile)).raw);
  const signer = notationKeySigner(privateKey);
  const limit = createLimiter(CONCURRENCY);
  /** Per image: the signature manifest's digest and the envelope's, for the bare loop. */
  const signatureParts = subjects.map(() => ({ manifest: '', envelope: '' }));
  await Promise.all(
    subjects.map((subject, i) =>
      limit(async () => {
        const envelope = await buildJws({
          targetArtifact: subject,
          certificateChain: [certificate],
          signingTime: new Date(),
          signingAgent: 'vouch-bench/1.0',
          signer,
        });
        const parts = buildNotationSignatureManifest({
          subject,
          envelope,
          envelopeMediaType: 'application/jose+json',
        });
        await putBytes(repository, parts.config.descriptor.mediaType, parts.config.bytes);
        await putBytes(repository, parts.layer.descriptor.mediaType, parts.layer.bytes);
        // A manifest with a subject: putManifest adds it to the fallback tag.
        const pushed = await repository.putManifest(parts.manifest, OCI_MANIFEST);
        signatureParts[i] = { manifest: pushed.digest, envelope: parts.layer.descriptor.digest };
      }),
    ),
  );
  const notationSignSeconds = seconds(start);

  // 2b. A cosign signature on each, with a fresh key (untimed).
  start = process.hrtime.bigint();
  const cosignKey = await cosignSignTags(registry.host, REPOSITORY, subjects.length);
  const cosignSignSeconds = seconds(start);
  await setup.close();

  // The trust policy and trust store, as files (the CLI reads them) and parsed.
  const storeRoot = join(work, 'truststore');
  const storeDir = join(storeRoot, 'x509', 'ca', STORE);
  await mkdir(storeDir, { recursive: true });
  await writeFile(join(storeDir, 'bench.crt'), await readFile(certFile));
  const policyFile = join(work, 'trustpolicy.json');
  const policyBytes = encoder.encode(
    JSON.stringify({
      version: '1.0',
      trustPolicies: [
        {
          name: 'bench',
          registryScopes: [`${registry.host}/${REPOSITORY}`],
          signatureVerification: { level: 'strict', override: { revocation: 'skip' } },
          trustStores: [`ca:${STORE}`],
          trustedIdentities: ['*'],
        },
      ],
    }),
  );
  await writeFile(policyFile, policyBytes);
  const policy = parseTrustPolicy(policyBytes, { source: policyFile });

  // 3. Verification, alternating.
  const notationRound = async (): Promise<number> => {
    // A fresh client each round, as one process verifying N images would have;
    // the trust store is read in each call, as each process reads it.
    const stores = new Stores({ http: { transport: 'undici' } });
    const begin = process.hrtime.bigint();
    const results = await verifyNotationImages(stores, images, {
      policy,
      readTrustStore: (store) => readTrustStoreIn(storeRoot, store),
    });
    const perSecond = images.length / seconds(begin);
    await stores.close();
    const bad = results.filter((result) => result.status !== 'verified');
    if (bad.length > 0) {
      throw new Error(
        `notation: ${bad.length} images not verified; first: ${bad[0]?.error?.message ?? JSON.stringify(bad[0]?.verdict)}`,
      );
    }
    return perSecond;
  };
  const [notationRates, cosignRates] = await alternatingRounds(ROUNDS, notationRound, () =>
    cosignKeyRound(images, cosignKey.publicKey),
  );

  // 3b. The requests alone: a bare undici loop sending what each verification
  // needs, at each verifier's default concurrency. cosign: the tag, the .sig
  // manifest (the payload is rebuilt, no blob GET). notation: the tag, the
  // fallback index, the signature manifest, the envelope blob. Their ratio
  // bounds notation_vs_cosign whatever the verifier's own work costs.
  const pool = new Pool(registry.url, { connections: CONCURRENCY });
  const bare = bareRequester(pool);
  const manifests = (reference: string) => `/v2/${REPOSITORY}/manifests/${reference}`;
  const bareCosign = () =>
    rate(IMAGES, DEFAULT_VERIFY_CONCURRENCY, async (i) => {
      await bare('HEAD', manifests(tagOf(i)));
      await bare('GET', manifests(signatureTag((subjects[i] as Descriptor).digest)));
    });
  const bareNotation = () =>
    rate(IMAGES, DEFAULT_VERIFY_CONCURRENCY, async (i) => {
      const parts = signatureParts[i] as { manifest: string; envelope: string };
      await bare('HEAD', manifests(tagOf(i)));
      await bare('GET', manifests(referrersTag((subjects[i] as Descriptor).digest)));
      await bare('GET', manifests(parts.manifest));
      await bare('GET', `/v2/${REPOSITORY}/blobs/${parts.envelope}`);
    });
  const [bareNotationRates, bareCosignRates] = await alternatingRounds(
    ROUNDS,
    bareNotation,
    bareCosign,
  );
  await pool.close();
  const bareNotationMedian = median(bareNotationRates);
  const bareCosignMedian = median(bareCosignRates);
  const bareRatio = bareNotationMedian / bareCosignMedian;
  const notationMedian = median(notationRates);
  const cosignMedian = median(cosignRates);
  const ratio = notationMedian / cosignMedian;

  // 4. One `vouch notation verify` as a whole process, interleaved with `node -e 0`.
  const env = {
    ...process.env,
    DOCKER_CONFIG: join(work, 'docker'),
    NOTATION_CONFIG: join(work, 'notation'),
    VOUCH_CACHE_DIR: join(work, 'cache'),
  };
  const cliArgs = [
    'dist/bin/vouch.js',
    'notation',
    'verify',
    '--trust-policy',
    policyFile,
    '--trust-store',
    storeRoot,
    images[0] as string,
  ];
  const check = run(process.execPath, cliArgs, env);
  if (!check.stdout.includes(': verified')) {
    throw new Error(`vouch notation verify said:\n${check.stdout}`);
  }
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

  const pass = (ok: boolean) => (ok ? 'pass' : 'MISSED');
  const ratioOk = ratio >= RATIO_TARGET;
  const cliOk = cliRatio <= CLI_TARGET;
  const rounds = (values: readonly number[]) => values.map((v) => v.toFixed(0)).join(', ');
  const lines = [
    `# vouch bench: notation and cosign verification of ${IMAGES} images against Distribution 2.8 on 127.0.0.1`,
    '',
    `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, Node ${process.version};` +
      ` 1-minute load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after;` +
      ` ${seconds(benchStart).toFixed(0)} s in all`,
    `setup (untimed): ${IMAGES} images pushed in ${pushSeconds.toFixed(1)} s; notation JWS signatures` +
      ` (P-256, self-signed code-signing certificate, fallback tag) in ${notationSignSeconds.toFixed(1)} s;` +
      ` cosign signatures (P-256 key) in ${cosignSignSeconds.toFixed(1)} s`,
    '',
    `Library, one process, undici transport, each call's default concurrency, images named by tag;`,
    `${ROUNDS} rounds of verifyNotationImages (strict, revocation skipped, trust store ca:${STORE})`,
    `alternating with ${ROUNDS} rounds of verifyImages with the cosign key. Medians:`,
    '',
    '| measure | median | rounds | ratio | target |',
    '|---|---:|---|---:|---|',
    `| cosign verifyImages, key | ${cosignMedian.toFixed(0)} images/s | ${rounds(cosignRates)} | 1.00 | |`,
    `| notation verifyNotationImages | ${notationMedian.toFixed(0)} images/s | ${rounds(notationRates)} | ${ratio.toFixed(2)} | >= ${RATIO_TARGET}: ${pass(ratioOk)} |`,
    `| bare undici loop, cosign's requests (2) | ${bareCosignMedian.toFixed(0)} images/s | ${rounds(bareCosignRates)} | 1.00 | |`,
    `| bare undici loop, notation's requests (4) | ${bareNotationMedian.toFixed(0)} images/s | ${rounds(bareNotationRates)} | ${bareRatio.toFixed(2)} | the ceiling of the ratio above |`,
    `| notation verifyNotationImages vs its bare loop | | | ${(notationMedian / bareNotationMedian).toFixed(2)} | |`,
    '',
    `CLI, one image by tag, whole process (${CLI_RUNS} runs of each, interleaved):`,
    '',
    '| command | median | ratio | target |',
    '|---|---:|---:|---|',
    `| node -e 0 | ${nodeMedian.toFixed(0)} ms | 1.00 | |`,
    `| vouch notation verify --trust-policy F --trust-store DIR IMAGE | ${cliMedian.toFixed(0)} ms | ${cliRatio.toFixed(2)} | <= ${CLI_TARGET}: ${pass(cliOk)} |`,
  ];
  console.log(lines.join('\n'));

  const missed: string[] = [];
  if (!ratioOk)
    missed.push(
      `missed: notation verification reached ${ratio.toFixed(2)} of cosign's rate, below the ${RATIO_TARGET} target` +
        ` (${notationMedian.toFixed(0)} images/s where ${(RATIO_TARGET * cosignMedian).toFixed(0)} were needed)`,
    );
  if (!cliOk)
    missed.push(
      `missed: vouch notation verify took ${cliRatio.toFixed(2)}x node -e 0, above the ${CLI_TARGET}x target` +
        ` (${cliMedian.toFixed(0)} ms where at most ${(CLI_TARGET * nodeMedian).toFixed(0)} ms were allowed)`,
    );
  if (missed.length > 0) {
    console.log(`\n${missed.join('\n')}`);
    process.exitCode = 1;
  }
  console.log(
    JSON.stringify({
      bench: 'notation',
      images: IMAGES,
      rounds: ROUNDS,
      notation_images_per_s: Math.round(notationMedian),
      cosign_images_per_s: Math.round(cosignMedian),
      notation_vs_cosign: Number(ratio.toFixed(3)),
      notation_vs_cosign_ok: ratioOk,
      bare_notation_vs_bare_cosign: Number(bareRatio.toFixed(3)),
      notation_vs_bare_notation_loop: Number((notationMedian / bareNotationMedian).toFixed(3)),
      oneshot_ms: Math.round(cliMedian),
      node_ms: Math.round(nodeMedian),
      oneshot_vs_node: Number(cliRatio.toFixed(3)),
      oneshot_vs_node_ok: cliOk,
      load_before: Number(loadBefore.toFixed(2)),
      load_after: Number((loadavg()[0] as number).toFixed(2)),
    }),
  );
} finally {
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}
