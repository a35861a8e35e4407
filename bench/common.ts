/**
 * What the benchmarks share: medians, timing, a child process run with its
 * wall time, and the N small distinct images (one shared layer, a config of
 * their own) they sign and verify.
 */
import { spawnSync } from 'node:child_process';
import { createLimiter } from '../src/core/concurrency.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import type { Pool } from 'undici';
import { MANIFEST_TYPES, OCI_MANIFEST } from '../src/oci/media-types.ts';
import type { RegistryRepository } from '../src/registry/distribution.ts';
import type { KeyObject } from 'node:crypto';
import { generateKeyPair, type KeyPair } from '../src/keys/generate.ts';
import { Stores } from '../src/registry/open.ts';
import { imageSigner } from '../src/sign/image-signer.ts';
import { signImages } from '../src/sign/sign.ts';
import { verifyImages } from '../src/verify/verify.ts';
import { putBytes } from '../test/helpers/images.ts';

/**
 * A size knob from the environment: a whole number of at least `least`, or
 * `fallback` when unset. The shared ones are `BENCH_IMAGES`, `BENCH_ROUNDS`
 * and `BENCH_CLI_RUNS`; the defaults are the full sizes `npm run bench` runs.
 */
export function knob(name: string, fallback: number, least = 1): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < least) {
    throw new Error(`${name} must be a whole number of at least ${least}, not ${text}`);
  }
  return value;
}

/**
 * The last line of every bench script: one JSON object with its figures and
 * ratios (`bench` names the script), so a run can be compared by a program.
 * Ratios and milliseconds are rounded to 3 decimals.
 */
export function printFigures(bench: string, figures: Record<string, number | boolean | string>) {
  const rounded = Object.fromEntries(
    Object.entries(figures).map(([key, value]) => [
      key,
      typeof value === 'number' ? Math.round(value * 1000) / 1000 : value,
    ]),
  );
  console.log(JSON.stringify({ bench, ...rounded }));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Seconds since `start` (a `process.hrtime.bigint()`). */
export function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs `command` to the end; its wall time in ms and its output. Throws when it fails. */
export function run(command: string, args: readonly string[], env?: NodeJS.ProcessEnv) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`,
    );
  }
  return { ms, stdout: result.stdout, stderr: result.stderr };
}

/** Runs `task(i)` for i in [0, total) with `inFlight` at once; returns tasks per second. */
export async function rate(total: number, inFlight: number, task: (i: number) => Promise<void>) {
  let next = 0;
  const begin = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) await task(next++);
    }),
  );
  return total / seconds(begin);
}

/**
 * A request as a bare loop sends it through `pool`: manifests accepted in
 * every form vouch reads, the body read whole, anything but 200 an error.
 * undici closes the connection after a HEAD unless told not to (reset); the
 * bare loop keeps it, as the least work possible.
 */
export function bareRequester(pool: Pool) {
  const accept = MANIFEST_TYPES.join(', ');
  return async (method: 'GET' | 'HEAD', path: string): Promise<void> => {
    const response = await pool.request({ method, path, headers: { accept }, reset: false });
    await response.body.arrayBuffer();
    if (response.statusCode !== 200)
      throw new Error(`bare ${method} ${path} answered ${response.statusCode}`);
  };
}

/** The tag of image `i`: `img-NNNN`. */
export const tagOf = (i: number) => `img-${String(i).padStart(4, '0')}`;

const encoder = new TextEncoder();

/** Pushes `count` distinct images sharing one layer as `tagOf(i)`, `inFlight` at a time; their descriptors. */
export async function pushImages(
  repository: RegistryRepository,
  count: number,
  inFlight: number,
): Promise<Descriptor[]> {
  const layer = await putBytes(
    repository,
    'application/vnd.oci.image.layer.v1.tar+gzip',
    new Uint8Array(1024).fill(7),
  );
  const limit = createLimiter(inFlight);
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      limit(async () => {
        const config = await putBytes(
          repository,
          'application/vnd.oci.image.config.v1+json',
          encoder.encode(
            JSON.stringify({
              architecture: 'amd64',
              os: 'linux',
              config: { Labels: { 'bench.image': String(i) } },
              rootfs: { type: 'layers', diff_ids: [layer.digest] },
            }),
          ),
        );
        const manifest = encoder.encode(
          JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }),
        );
        const pushed = await repository.putManifest(manifest, OCI_MANIFEST, tagOf(i));
        return { mediaType: OCI_MANIFEST, digest: pushed.digest, size: manifest.byteLength };
      }),
    ),
  );
}

/**
 * One round of cosign key verification of `images` with a fresh `Stores`
 * (undici), in images per second: the reference the other signature
 * families are measured against. Throws unless every image verified.
 */
export async function cosignKeyRound(
  images: readonly string[],
  publicKey: KeyObject,
): Promise<number> {
  const stores = new Stores({ http: { transport: 'undici' } });
  const begin = process.hrtime.bigint();
  const results = await verifyImages(stores, images, { trust: { keys: [publicKey] } });
  const perSecond = images.length / seconds(begin);
  await stores.close();
  const bad = results.filter((result) => result.status !== 'verified');
  if (bad.length > 0) {
    throw new Error(`cosign: ${bad.length} images not verified; first: ${JSON.stringify(bad[0])}`);
  }
  return perSecond;
}

/**
 * `rounds` rounds of `a` and `b`, alternating, after one warm-up of each
 * (connections, JIT, the registry's caches): the rates of each.
 */
export async function alternatingRounds(
  rounds: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<[number[], number[]]> {
  await a();
  await b();
  const ratesA: number[] = [];
  const ratesB: number[] = [];
  for (let round = 0; round < rounds; round++) {
    ratesA.push(await a());
    ratesB.push(await b());
  }
  return [ratesA, ratesB];
}

/**
 * Signs images `tagOf(0..count-1)` of `host/repository` with cosign and a
 * fresh key (the reference signature the other families are compared
 * with); returns the key pair. Throws if any image was not signed.
 */
export async function cosignSignTags(
  host: string,
  repository: string,
  count: number,
): Promise<KeyPair> {
  const key = await generateKeyPair();
  const stores = new Stores({ http: { transport: 'undici' } });
  const store = stores.client(host).repository(repository);
  const results = await signImages(
    Array.from({ length: count }, (_, i) => ({
      store,
      target: { tag: tagOf(i) },
      dockerReference: `${host}/${repository}`,
    })),
    { signer: imageSigner(key.privateKey) },
  );
  await stores.close();
  const failed = results.filter((result) => !result.ok);
  if (failed.length > 0) throw new Error(`cosign signing: ${failed.length} failed`);
  return key;
}
