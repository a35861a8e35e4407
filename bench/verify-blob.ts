/**
 * `npm run bench`: one `vouch verify-blob --bundle` process against
 * `node -e 0` on the same Node (the built CLI, dist/bin/vouch.js).
 *
 * Two bundles of one file, made here: a key's (cosign 3 `sign-blob --key`,
 * no log entry) and a keyless one (a Fulcio certificate, a Rekor entry and a
 * TSA timestamp from the ephemeral Sigstore of
 * test/helpers/local-sigstore.ts, verified against its trusted root file).
 * `BENCH_CLI_RUNS` runs of each (default 15), interleaved; medians. Target:
 * each at most 2.0x `node -e 0`.
 *
 * The last line is one JSON object with the figures and the ratios.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '../src/keys/generate.ts';
import { privateKeyToPem, publicKeyToPem } from '../src/keys/pem.ts';
import { signBlob } from '../src/sign/blob.ts';
import { imageSigner } from '../src/sign/image-signer.ts';
import { startKeylessSigning } from '../src/sign/keyless-signing.ts';
import { keylessTrustOf } from '../src/sigstore/keyless-trust.ts';
import { parseTrustedRoot } from '../src/sigstore/trusted-root.ts';
import { readFile } from 'node:fs/promises';
import { startLocalSigstore } from '../test/helpers/local-sigstore.ts';
import { knob, median } from './common.ts';

const RUNS = knob('BENCH_CLI_RUNS', 15);
const TARGET = 2.0;
const CLI = new URL('../dist/bin/vouch.js', import.meta.url).pathname;
const SUBJECT = 'https://github.com/vouch-bench/app/.github/workflows/release.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';

function time(args: readonly string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stdout}${result.stderr}`);
  }
  return ms;
}

const loadBefore = loadavg()[0] as number;
const work = await mkdtemp(join(tmpdir(), 'vouch-bench-blob-'));
const sigstore = await startLocalSigstore();
try {
  const file = join(work, 'app.tar.gz');
  const blob = new Uint8Array(64 * 1024).fill(3);
  await writeFile(file, blob);

  const key = await generateKeyPair();
  await writeFile(join(work, 'key.pub'), publicKeyToPem(key.publicKey));
  await writeFile(join(work, 'key.pem'), privateKeyToPem(key.privateKey));
  await writeFile(
    join(work, 'key.sigstore.json'),
    (await signBlob(blob, imageSigner(key.privateKey))).bundle,
  );

  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const keyless = await startKeylessSigning({
    identityToken: `${part({ alg: 'ES256' })}.${part({ iss: ISSUER, sub: SUBJECT, aud: 'sigstore', exp: now + 600 })}.c2ln`,
    services: {
      fulcioUrl: sigstore.fulcioUrl,
      rekorUrl: sigstore.rekorUrl,
      tsaUrl: sigstore.tsaUrl,
    },
    trust: keylessTrustOf(parseTrustedRoot(await readFile(sigstore.trustedRootPath))),
  });
  await writeFile(
    join(work, 'keyless.sigstore.json'),
    (await keyless.signMessageBundle(blob)).bundle,
  );

  const env = { PATH: process.env.PATH, HOME: work };
  const commands = {
    node: ['-e', '0'],
    key: [
      CLI,
      'verify-blob',
      '--key',
      join(work, 'key.pub'),
      '--bundle',
      join(work, 'key.sigstore.json'),
      file,
    ],
    keyless: [
      CLI,
      'verify-blob',
      '--certificate-identity',
      SUBJECT,
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      sigstore.trustedRootPath,
      '--bundle',
      join(work, 'keyless.sigstore.json'),
      file,
    ],
  } as const;
  const times: Record<keyof typeof commands, number[]> = { node: [], key: [], keyless: [] };
  for (const args of Object.values(commands)) time(args, env); // warm the file cache
  for (let i = 0; i < RUNS; i++) {
    for (const [name, args] of Object.entries(commands) as [
      keyof typeof commands,
      readonly string[],
    ][]) {
      times[name].push(time(args, env));
    }
  }
  const node = median(times.node);
  const keyRatio = median(times.key) / node;
  const keylessRatio = median(times.keyless) / node;
  const verdict = (ratio: number) => (ratio <= TARGET ? 'met' : 'MISSED');
  console.log(
    [
      `# vouch bench: one vouch verify-blob --bundle process against node -e 0 (${RUNS} runs each, interleaved)`,
      '',
      `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, Node ${process.version};` +
        ` 1-minute load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after`,
      '',
      '| command | median | ratio | target |',
      '|---|---:|---:|---|',
      `| node -e 0 | ${node.toFixed(0)} ms | 1.00 | |`,
      `| vouch verify-blob --key PUB --bundle (no log entry) | ${median(times.key).toFixed(0)} ms | ${keyRatio.toFixed(2)} | <= ${TARGET}: ${verdict(keyRatio)} |`,
      `| vouch verify-blob keyless --bundle (certificate, Rekor entry, TSA) | ${median(times.keyless).toFixed(0)} ms | ${keylessRatio.toFixed(2)} | <= ${TARGET}: ${verdict(keylessRatio)} |`,
    ].join('\n'),
  );
  console.log(
    JSON.stringify({
      bench: 'verify-blob',
      node_ms: Number(node.toFixed(1)),
      key_vs_node: Number(keyRatio.toFixed(3)),
      keyless_vs_node: Number(keylessRatio.toFixed(3)),
    }),
  );
  if (keyRatio > TARGET || keylessRatio > TARGET) process.exitCode = 1;
} finally {
  await sigstore.close();
  await rm(work, { recursive: true, force: true });
}
