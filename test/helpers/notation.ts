/**
 * Keys, certificates and sign requests for Notary Project envelope tests,
 * made fresh in each test process (no network, no fixtures needed).
 */
import { generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createRootCertificate } from '../../src/formats/notary/certificate.ts';
import {
  type NotationKeySignRequest,
  notationKeySigner,
} from '../../src/formats/notation/signature.ts';

export type TestKeyKind = 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'p256' | 'p384' | 'p521';

export interface TestKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** A DER certificate of `publicKey` (self-issued, signed by a throwaway CA key). */
  readonly certificate: Uint8Array;
}

const issuer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keys = new Map<string, TestKey>();

/** A DER certificate for `publicKey`; its own signature is by an unrelated key (envelopes never check it). */
export function certificateFor(publicKey: KeyObject): Uint8Array {
  const pem = createRootCertificate(issuer.privateKey, publicKey, {
    gun: 'vouch-notation-test',
    now: Date.UTC(2025, 0, 1),
  });
  return new Uint8Array(new X509Certificate(pem).raw);
}

/** One key of each kind per process (RSA 4096 takes a while to make). */
export function testKey(kind: TestKeyKind): TestKey {
  const cached = keys.get(kind);
  if (cached !== undefined) return cached;
  const curves: Readonly<Record<string, string>> = { p256: 'P-256', p384: 'P-384', p521: 'P-521' };
  const pair = kind.startsWith('rsa-')
    ? generateKeyPairSync('rsa', { modulusLength: Number(kind.slice(4)) })
    : generateKeyPairSync('ec', { namedCurve: curves[kind] ?? '' });
  const key = { ...pair, certificate: certificateFor(pair.publicKey) };
  keys.set(kind, key);
  return key;
}

export const TARGET = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: 'sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9',
  size: 517,
} as const;

/** A request signed by `kind`'s key over TARGET, at a fixed time. */
export function signRequest(
  kind: TestKeyKind = 'p256',
  overrides: Partial<NotationKeySignRequest> = {},
): NotationKeySignRequest {
  const key = testKey(kind);
  return {
    targetArtifact: TARGET,
    certificateChain: [key.certificate],
    signingTime: new Date('2025-02-17T08:17:09.750Z'),
    signingAgent: 'vouch-test/1.0',
    signer: notationKeySigner(key.privateKey),
    ...overrides,
  };
}

/**
 * The notation CLI fixtures (/work/shared/fixtures/notation, outside the
 * repository): looked for beside the checkout and beside the directory
 * holding it (a worktree), or undefined when absent.
 */
export function notationFixtures(): string | undefined {
  const root = resolve(import.meta.dirname, '../..');
  return [
    resolve(root, '../shared/fixtures/notation'),
    resolve(root, '../../shared/fixtures/notation'),
  ].find((dir) => existsSync(join(dir, 'config/localkeys/e2e.key')));
}

/** Copies `from` (the fixtures are read-only) to `to`, writable. */
export async function copyWritable(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true });
  await makeWritable(to);
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(path);
    else await chmod(path, 0o644);
  }
}
