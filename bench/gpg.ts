/**
 * `npm run bench`, GPG simple signing part (issue 14): one `vouch verify
 * --containers-policy` beside `skopeo standalone-verify` of the same
 * signature, and GPG verification of N images beside cosign key-based
 * verification of the same images, against a real Distribution registry on
 * 127.0.0.1.
 *
 * 1. Push N small distinct images as `bench/gpg:img-NNNN`.
 * 2. A throwaway GNUPGHOME with a fresh key (`gpg --quick-gen-key`, RSA
 *    3072, no passphrase); its public key exported for policy.json and its
 *    secret key read by the library. Each image is GPG-signed by the library
 *    (the atomic container signature payload, an OpenPGP signed message)
 *    into a file:// lookaside that registries.d names; the same images are
 *    signed with cosign (`signImages`, a fresh ECDSA P-256 key). Untimed.
 * 3. Alternate rounds of `verifyContainersPolicyImages` over all N (a
 *    policy.json whose scope for the repository is `signedBy` GPGKeys with
 *    the key file) and rounds of `verifyImages` over all N with the cosign
 *    key; one process, undici transport, each call's default concurrency.
 *    Target: GPG at least 0.8 x the cosign rate (medians).
 * 4. CLI: `node dist/bin/vouch.js verify --containers-policy POLICY
 *    --registries.d DIR IMAGE` interleaved with `skopeo standalone-verify
 *    MANIFEST REFERENCE FINGERPRINT SIGNATURE` of the same image's manifest
 *    and signature (skopeo reads the key from the GNUPGHOME). Target: vouch's
 *    median at most 3x skopeo's. Interleaved with them, two floors: `node -e
 *    0`, and node importing openpgp.js alone.
 *
 * Every figure is printed before the script exits 1 for a missed target;
 * the last line is one JSON object of the figures.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyContainersPolicyImages } from '../src/containers-policy/verify.ts';
import { createLimiter } from '../src/core/concurrency.ts';
import { parseContainersPolicy } from '../src/formats/containers-policy/policy-json.ts';
import { readSigningKey, signMessage } from '../src/formats/simple-signing/openpgp.ts';
import { buildAtomicSignaturePayload } from '../src/formats/simple-signing/payload.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import { parseImageSpec, Stores } from '../src/registry/open.ts';
import { loadRegistriesD } from '../src/simple-signing/registries-d-files.ts';
import { writeSimpleSignature } from '../src/simple-signing/signature-stores.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import {
  alternatingRounds,
  cosignKeyRound,
  cosignSignTags,
  knob,
  median,
  printFigures,
  pushImages,
  run,
  seconds,
  tagOf,
} from './common.ts';

const IMAGES = knob('BENCH_IMAGES', 1000);
const ROUNDS = knob('BENCH_ROUNDS', 5);
const CLI_RUNS = knob('BENCH_CLI_RUNS', 15);
const CONCURRENCY = 16;
const REPOSITORY = 'bench/gpg';
const RATIO_TARGET = 0.8;
const CLI_TARGET = 3;

const benchStart = process.hrtime.bigint();
const loadBefore = loadavg()[0] as number;
const registry = await startRegistry({ blobDescriptorCache: true });
const work = await mkdtemp(join(tmpdir(), 'vouch-bench-gpg-'));
try {
  const setup = new Stores({ http: { transport: 'undici', connectionsPerOrigin: CONCURRENCY } });
  const repository = setup.client(registry.host).repository(REPOSITORY);

  // 1. N distinct images sharing one layer.
  let start = process.hrtime.bigint();
  const subjects = await pushImages(repository, IMAGES, CONCURRENCY);
  const pushSeconds = seconds(start);
  const images = subjects.map((_, i) => `${registry.host}/${REPOSITORY}:${tagOf(i)}`);

  // 2a. A throwaway GPG key; the public key for policy.json, the secret key for signing.
  const gnupgHome = join(work, 'gnupg');
  await mkdir(gnupgHome, { mode: 0o700 });
  const gpgEnv = { ...process.env, GNUPGHOME: gnupgHome, HOME: work };
  const gpg = (args: readonly string[]) => run('gpg', ['--batch', ...args], gpgEnv);
  gpg([
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    '',
    '--quick-gen-key',
    'vouch bench <bench@example.com>',
    'rsa3072',
    'sign',
    'never',
  ]);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(
    gpg(['--with-colons', '--list-keys']).stdout,
  )?.[1];
  if (fingerprint === undefined) throw new Error('gpg made no key');
  const exportKey = (secret: boolean) =>
    run(
      'sh',
      [
        '-c',
        `gpg --batch --pinentry-mode loopback --passphrase '' ${secret ? '--export-secret-keys' : '--export'} ${fingerprint} | base64 -w0`,
      ],
      gpgEnv,
    ).stdout;
  const keyFile = join(work, 'bench-pubkey.gpg');
  await writeFile(keyFile, Buffer.from(exportKey(false), 'base64'));
  const signingKey = await readSigningKey(
    new Uint8Array(Buffer.from(exportKey(true), 'base64')),
    'the bench key',
  );

  // registries.d: a file:// lookaside for the registry; policy.json: signedBy for the repository.
  const lookaside = join(work, 'lookaside');
  await mkdir(lookaside);
  const registriesDDir = join(work, 'registries.d');
  await mkdir(registriesDDir);
  await writeFile(
    join(registriesDDir, 'bench.yaml'),
    `docker:\n  ${registry.host}:\n    lookaside: file://${lookaside}\n`,
  );
  const registriesD = await loadRegistriesD(registriesDDir);
  const builtinLookaside = `file://${join(work, 'builtin-sigstore')}`;
  const policyFile = join(work, 'policy.json');
  const policyBytes = new TextEncoder().encode(
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          [`${registry.host}/${REPOSITORY}`]: [
            { type: 'signedBy', keyType: 'GPGKeys', keyPath: keyFile },
          ],
        },
      },
    }),
  );
  await writeFile(policyFile, policyBytes);
  const policy = parseContainersPolicy(policyBytes, policyFile);

  // 2b. A GPG signature on each image, written to the lookaside (untimed).
  start = process.hrtime.bigint();
  const signaturePaths: string[] = [];
  {
    const limit = createLimiter(CONCURRENCY);
    const timestamp = Math.floor(Date.now() / 1000);
    await Promise.all(
      subjects.map((subject, i) =>
        limit(async () => {
          const spec = parseImageSpec(images[i] as string);
          if (spec.kind !== 'registry') throw new Error('not a registry image');
          const store = await setup.open(spec);
          const payload = buildAtomicSignaturePayload({
            dockerManifestDigest: subject.digest,
            dockerReference: `${registry.host}/${REPOSITORY}:${tagOf(i)}`,
            creator: 'vouch bench',
            timestamp,
          });
          const blob = await signMessage(payload, signingKey);
          const written = await writeSimpleSignature(store, spec.reference, subject.digest, blob, {
            registriesD,
            builtinLookaside,
          });
          if (written.kind !== 'lookaside') throw new Error(`signature went to ${written.kind}`);
          signaturePaths[i] = written.path;
        }),
      ),
    );
  }
  const gpgSignSeconds = seconds(start);

  // 2c. A cosign signature on each, with a fresh key (untimed).
  start = process.hrtime.bigint();
  const cosignKey = await cosignSignTags(registry.host, REPOSITORY, subjects.length);
  const cosignSignSeconds = seconds(start);

  // The first image's manifest bytes, for skopeo standalone-verify.
  const manifestFile = join(work, 'manifest.json');
  const first = await repository.getManifest({ digest: (subjects[0] as Descriptor).digest });
  await writeFile(manifestFile, first.bytes);
  await setup.close();

  // 3. Verification, alternating.
  const gpgRound = async (): Promise<number> => {
    // A fresh client each round, as one process verifying N images would have.
    const stores = new Stores({ http: { transport: 'undici' } });
    const begin = process.hrtime.bigint();
    const results = await verifyContainersPolicyImages(stores, images, {
      policy,
      registriesD,
      simpleSigning: { builtinLookaside },
    });
    const perSecond = images.length / seconds(begin);
    await stores.close();
    const bad = results.filter((result) => result.status !== 'verified');
    if (bad.length > 0) {
      throw new Error(
        `gpg: ${bad.length} images not verified; first: ${bad[0]?.error?.message ?? JSON.stringify(bad[0])}`,
      );
    }
    return perSecond;
  };
  const [gpgRates, cosignRates] = await alternatingRounds(ROUNDS, gpgRound, () =>
    cosignKeyRound(images, cosignKey.publicKey),
  );
  const gpgMedian = median(gpgRates);
  const cosignMedian = median(cosignRates);
  const ratio = gpgMedian / cosignMedian;

  // 4. One `vouch verify --containers-policy` as a whole process, interleaved with skopeo.
  const env = {
    ...gpgEnv,
    DOCKER_CONFIG: join(work, 'docker'),
    VOUCH_CACHE_DIR: join(work, 'cache'),
  };
  const vouchArgs = [
    'dist/bin/vouch.js',
    'verify',
    '--containers-policy',
    policyFile,
    '--registries.d',
    registriesDDir,
    images[0] as string,
  ];
  const skopeoArgs = [
    'standalone-verify',
    manifestFile,
    `${registry.host}/${REPOSITORY}:${tagOf(0)}`,
    fingerprint,
    signaturePaths[0] as string,
  ];
  const check = run(process.execPath, vouchArgs, env);
  if (!check.stdout.includes(': allowed')) {
    throw new Error(`vouch verify --containers-policy said:\n${check.stdout}`);
  }
  const skopeoCheck = run('skopeo', skopeoArgs, env);
  if (!skopeoCheck.stdout.includes('Signature verified')) {
    throw new Error(`skopeo standalone-verify said:\n${skopeoCheck.stdout}`);
  }
  // Two floors no Node program verifying with openpgp.js goes below: Node
  // starting, and Node starting and loading openpgp.js (the library the issue
  // asks verification to use; its module evaluation dominates vouch's time).
  const nodeArgs = ['-e', '0'];
  const openpgpArgs = ['--input-type=module', '-e', "import 'openpgp';"];
  const vouchTimes: number[] = [];
  const skopeoTimes: number[] = [];
  const nodeTimes: number[] = [];
  const openpgpTimes: number[] = [];
  for (let i = 0; i < CLI_RUNS; i++) {
    vouchTimes.push(run(process.execPath, vouchArgs, env).ms);
    skopeoTimes.push(run('skopeo', skopeoArgs, env).ms);
    nodeTimes.push(run(process.execPath, nodeArgs, env).ms);
    openpgpTimes.push(run(process.execPath, openpgpArgs, env).ms);
  }
  const vouchMedian = median(vouchTimes);
  const skopeoMedian = median(skopeoTimes);
  const nodeMedian = median(nodeTimes);
  const openpgpMedian = median(openpgpTimes);
  const cliRatio = vouchMedian / skopeoMedian;

  const pass = (ok: boolean) => (ok ? 'pass' : 'MISSED');
  const ratioOk = ratio >= RATIO_TARGET;
  const cliOk = cliRatio <= CLI_TARGET;
  const rounds = (values: readonly number[]) => values.map((v) => v.toFixed(0)).join(', ');
  const lines = [
    `# vouch bench: GPG simple signing and cosign verification of ${IMAGES} images against Distribution 2.8 on 127.0.0.1`,
    '',
    `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, Node ${process.version};` +
      ` 1-minute load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after;` +
      ` ${seconds(benchStart).toFixed(0)} s in all`,
    `setup (untimed): ${IMAGES} images pushed in ${pushSeconds.toFixed(1)} s; GPG signatures` +
      ` (RSA 3072, file:// lookaside) in ${gpgSignSeconds.toFixed(1)} s;` +
      ` cosign signatures (P-256 key) in ${cosignSignSeconds.toFixed(1)} s`,
    '',
    `Library, one process, undici transport, each call's default concurrency, images named by tag;`,
    `${ROUNDS} rounds of verifyContainersPolicyImages (signedBy GPGKeys) alternating with`,
    `${ROUNDS} rounds of verifyImages with the cosign key. Medians:`,
    '',
    '| measure | median | rounds | ratio | target |',
    '|---|---:|---|---:|---|',
    `| cosign verifyImages, key | ${cosignMedian.toFixed(0)} images/s | ${rounds(cosignRates)} | 1.00 | |`,
    `| GPG verifyContainersPolicyImages | ${gpgMedian.toFixed(0)} images/s | ${rounds(gpgRates)} | ${ratio.toFixed(2)} | >= ${RATIO_TARGET}: ${pass(ratioOk)} |`,
    '',
    `CLI, one image, whole process (${CLI_RUNS} runs of each, interleaved):`,
    '',
    '| command | median | ratio | target |',
    '|---|---:|---:|---|',
    `| skopeo standalone-verify MANIFEST REF FPR SIG | ${skopeoMedian.toFixed(0)} ms | 1.00 | |`,
    `| vouch verify --containers-policy P --registries.d D IMAGE | ${vouchMedian.toFixed(0)} ms | ${cliRatio.toFixed(2)} | <= ${CLI_TARGET}: ${pass(cliOk)} |`,
    `| floor: node -e 0 | ${nodeMedian.toFixed(0)} ms | ${(nodeMedian / skopeoMedian).toFixed(2)} | |`,
    `| floor: node, import 'openpgp' | ${openpgpMedian.toFixed(0)} ms | ${(openpgpMedian / skopeoMedian).toFixed(2)} | |`,
  ];
  console.log(lines.join('\n'));

  const missed: string[] = [];
  if (!ratioOk)
    missed.push(
      `missed: GPG verification reached ${ratio.toFixed(2)} of cosign's rate, below the ${RATIO_TARGET} target` +
        ` (${gpgMedian.toFixed(0)} images/s where ${(RATIO_TARGET * cosignMedian).toFixed(0)} were needed)`,
    );
  if (!cliOk)
    missed.push(
      `missed: vouch verify --containers-policy took ${cliRatio.toFixed(2)}x skopeo standalone-verify, above the ${CLI_TARGET}x target` +
        ` (${vouchMedian.toFixed(0)} ms where at most ${(CLI_TARGET * skopeoMedian).toFixed(0)} ms were allowed)`,
    );
  if (missed.length > 0) {
    console.log(`\n${missed.join('\n')}`);
    process.exitCode = 1;
  }
  printFigures('gpg', {
    images: IMAGES,
    rounds: ROUNDS,
    cli_runs: CLI_RUNS,
    gpg_images_per_s: gpgMedian,
    cosign_images_per_s: cosignMedian,
    gpg_vs_cosign: ratio,
    gpg_vs_cosign_ok: ratioOk,
    oneshot_ms: vouchMedian,
    skopeo_ms: skopeoMedian,
    oneshot_vs_skopeo: cliRatio,
    oneshot_vs_skopeo_ok: cliOk,
    node_ms: nodeMedian,
    openpgp_import_ms: openpgpMedian,
    openpgp_floor_vs_skopeo: openpgpMedian / skopeoMedian,
    load_before: loadBefore,
    load_after: loadavg()[0] as number,
  });
} finally {
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}
