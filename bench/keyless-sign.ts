/**
 * `npm run bench`: keyless signing against key-based signing of the same
 * images, against a real Distribution registry and an ephemeral Sigstore
 * (Fulcio, Rekor v1 and a TSA from @sigstore/mock's handlers over HTTP on
 * 127.0.0.1, test/helpers/local-sigstore.ts).
 *
 * N images (default 100, `BENCH_KEYLESS_IMAGES`) are pushed once. Each
 * round signs all of them in one `signImages` call, alternating:
 * - key-based: a fresh P-256 key;
 * - keyless: `startKeylessSigning` (one identity token, one Fulcio
 *   certificate, checked), then every image signed with it: one Rekor entry
 *   and one TSA timestamp per image, each verified before it is stored.
 * Between rounds the `.sig` manifests are deleted (untimed), so every round
 * does the same work. Target: keyless at least 0.5 of key-based throughput
 * (medians of `BENCH_ROUNDS` rounds, default 5).
 *
 * The Sigstore runs in a child process (bench/local-sigstore-process.ts), so
 * its CPU work is not counted against vouch's event loop.
 *
 * The last line is one JSON object with the figures and the ratio.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { signatureTag } from '../src/formats/cosign-signature.ts';
import { generateKeyPair } from '../src/keys/generate.ts';
import type { Digest } from '../src/oci/digest.ts';
import { OCI_MANIFEST } from '../src/oci/media-types.ts';
import { Stores } from '../src/registry/open.ts';
import { imageSigner } from '../src/sign/image-signer.ts';
import { startKeylessSigning } from '../src/sign/keyless-signing.ts';
import { type SignOptions, signImages } from '../src/sign/sign.ts';
import { keylessTrustOf } from '../src/sigstore/keyless-trust.ts';
import { parseTrustedRoot } from '../src/sigstore/trusted-root.ts';
import { putBytes } from '../test/helpers/images.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { knob, median } from './common.ts';

const IMAGES = knob('BENCH_KEYLESS_IMAGES', Math.min(100, knob('BENCH_IMAGES', 100)));
const ROUNDS = knob('BENCH_ROUNDS', 5);
const TARGET = 0.5;
const REPOSITORY = 'bench/keyless-sign';
const encoder = new TextEncoder();

function identityToken(): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({
    iss: 'https://token.actions.githubusercontent.com',
    sub: 'https://github.com/vouch-bench/app/.github/workflows/release.yml@refs/heads/main',
    aud: 'sigstore',
    iat: now,
    exp: now + 600,
  })}.`;
}

interface SigstoreProcess {
  readonly fulcioUrl: string;
  readonly rekorUrl: string;
  readonly tsaUrl: string;
  readonly trustedRootPath: string;
  stop(): void;
}

async function startSigstoreProcess(): Promise<SigstoreProcess> {
  const child = spawn(
    process.execPath,
    [new URL('./local-sigstore-process.ts', import.meta.url).pathname],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const line = (await lines.next()).value as string | undefined;
  if (line === undefined) throw new Error('the local Sigstore process did not start');
  return { ...JSON.parse(line), stop: () => child.stdin.end() };
}

const loadBefore = loadavg()[0] as number;
const [sigstore, registry] = await Promise.all([startSigstoreProcess(), startRegistry()]);
const stores = new Stores({ http: { transport: 'undici' } });
try {
  const store = stores.client(registry.host).repository(REPOSITORY);
  const layer = await putBytes(
    store,
    'application/vnd.oci.image.layer.v1.tar+gzip',
    new Uint8Array(1024).fill(7),
  );
  const digests: Digest[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const config = await putBytes(
      store,
      'application/vnd.oci.image.config.v1+json',
      encoder.encode(JSON.stringify({ architecture: 'amd64', os: 'linux', bench: i })),
    );
    const manifest = encoder.encode(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }),
    );
    digests.push((await store.putManifest(manifest, OCI_MANIFEST, `img-${i}`)).digest);
  }
  const requests = digests.map((digest) => ({
    store,
    target: { digest },
    dockerReference: `${registry.host}/${REPOSITORY}`,
  }));
  const trust = keylessTrustOf(parseTrustedRoot(await readFile(sigstore.trustedRootPath)));

  const signAll = async (options: () => Promise<SignOptions>): Promise<number> => {
    const begin = process.hrtime.bigint();
    const results = await signImages(requests, await options());
    const elapsed = Number(process.hrtime.bigint() - begin) / 1e9;
    const failed = results.find((result) => !result.ok);
    if (failed !== undefined && !failed.ok) throw failed.error;
    for (const digest of digests) {
      const tag = await store.resolve({ tag: signatureTag(digest) });
      await store.deleteManifest(tag.digest);
    }
    return IMAGES / elapsed;
  };

  const keyRates: number[] = [];
  const keylessRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    keyRates.push(
      await signAll(async () => ({ signer: imageSigner((await generateKeyPair()).privateKey) })),
    );
    keylessRates.push(
      await signAll(async () => {
        const keyless = await startKeylessSigning({
          identityToken: identityToken(),
          services: {
            fulcioUrl: sigstore.fulcioUrl,
            rekorUrl: sigstore.rekorUrl,
            tsaUrl: sigstore.tsaUrl,
          },
          trust,
        });
        return { signer: keyless.signer, keyless };
      }),
    );
  }
  const key = median(keyRates);
  const keyless = median(keylessRates);
  const ratio = keyless / key;
  const ok = ratio >= TARGET;
  const rounds = (rates: number[]) => rates.map((r) => r.toFixed(0)).join(', ');
  console.log(
    [
      `# vouch bench: keyless signing of ${IMAGES} images against Distribution 2.8 and a local Sigstore on 127.0.0.1`,
      '',
      `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, Node ${process.version};` +
        ` 1-minute load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after`,
      `${ROUNDS} rounds of one signImages call over all ${IMAGES} images each, alternating; a keyless round asks` +
        ` Fulcio once and Rekor and the TSA once per image (the Sigstore in a child process).`,
      '',
      '| signing | median | rounds | ratio | target |',
      '|---|---:|---|---:|---|',
      `| key-based (fresh P-256 key) | ${key.toFixed(0)} images/s | ${rounds(keyRates)} | 1.00 | |`,
      `| keyless (Fulcio once, Rekor + TSA per image, verified) | ${keyless.toFixed(0)} images/s | ${rounds(keylessRates)} | ${ratio.toFixed(2)} | >= ${TARGET}: ${ok ? 'met' : 'MISSED'} |`,
    ].join('\n'),
  );
  console.log(
    JSON.stringify({
      bench: 'keyless-sign',
      images: IMAGES,
      key_images_per_s: Number(key.toFixed(1)),
      keyless_images_per_s: Number(keyless.toFixed(1)),
      keyless_sign_vs_key: Number(ratio.toFixed(3)),
    }),
  );
  if (!ok) process.exitCode = 1;
} finally {
  await stores.close();
  sigstore.stop();
  await registry.stop();
}
