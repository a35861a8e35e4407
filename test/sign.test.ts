/**
 * Signing against a real Distribution 2.8 registry on 127.0.0.1 and OCI
 * layouts in a temp dir: the `.sig` manifest has exactly cosign's shape, the
 * payload binds the digest, the signature verifies with the public key,
 * re-signing is idempotent, keys accumulate, indexes sign recursively, and
 * concurrent signers, in one process or in several, never lose each other's
 * signatures.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  appendSignatureLayer,
  readSignatureManifest,
  type SignatureCandidate,
  signatureLayer,
  signatureTag,
} from '../src/formats/cosign-signature.ts';
import { cosignDockerReference, parseSimpleSigningPayload } from '../src/formats/simple-signing.ts';
import { encryptCosignKey } from '../src/keys/cosign-key.ts';
import { generateKeyPair, type KeyPair } from '../src/keys/generate.ts';
import { createKeySigner, type Signer, verifySignature } from '../src/keys/signer.ts';
import { type Digest, digestHex } from '../src/oci/digest.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import { OCI_MANIFEST } from '../src/oci/media-types.ts';
import { copyImage } from '../src/registry/copy.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { OCILayoutStore, openLayout } from '../src/registry/layout.ts';
import type { ImageStore, ManifestTarget } from '../src/registry/store.ts';
import { parseSignedIdentity } from '../src/sign/identity.ts';
import { type SignEvent, type SignRequest, signImage, signImages } from '../src/sign/sign.ts';
import { main } from '../src/cli/main.ts';
import { expectError } from './helpers/assertions.ts';
import { type CliRun, runVouch } from './helpers/cli.ts';
import { startHostileRegistry } from './helpers/hostile-registry.ts';
import { buildImage, buildIndex, putBytes } from './helpers/images.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const CHILD = new URL('./helpers/sign-child.ts', import.meta.url).pathname;
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** The signatures stored for `digest`: the manifest, its candidates and their payloads. */
async function readSignatures(store: ImageStore, digest: Digest) {
  const manifest = await store.getManifest({ tag: signatureTag(digest) });
  const { candidates, rejected } = readSignatureManifest(manifest);
  assert.deepEqual(rejected, [], 'every layer is a signature');
  const payloads = await Promise.all(
    candidates.map((candidate) => store.readBlob(candidate.layer, candidate.layer.size)),
  );
  return { manifest, candidates, payloads };
}

/** Which of `keys` made each candidate signature (index into keys, or -1). */
function signersOf(
  candidates: readonly SignatureCandidate[],
  payloads: readonly Uint8Array[],
  keys: readonly KeyPair[],
): number[] {
  return candidates.map((candidate, i) =>
    keys.findIndex((key) =>
      verifySignature(key.publicKey, payloads[i] as Uint8Array, candidate.signature),
    ),
  );
}

/** Delegates to a store, recording every call; `compareAndSetTag` only if the store has it. */
class RecordingStore implements ImageStore {
  readonly calls: string[] = [];
  readonly inner: ImageStore;
  readonly location: string;
  constructor(inner: ImageStore) {
    this.inner = inner;
    this.location = inner.location;
  }
  #note(method: string, target?: ManifestTarget | Descriptor | string) {
    const what =
      target === undefined
        ? ''
        : typeof target === 'string'
          ? target
          : 'tag' in target
            ? target.tag
            : target.digest;
    this.calls.push(`${method} ${what}`.trim());
  }
  resolve(target: ManifestTarget) {
    this.#note('resolve', target);
    return this.inner.resolve(target);
  }
  getManifest(target: ManifestTarget) {
    this.#note('getManifest', target);
    return this.inner.getManifest(target);
  }
  putManifest(bytes: Uint8Array, mediaType: string, tag?: string) {
    this.#note('putManifest', tag);
    return this.inner.putManifest(bytes, mediaType, tag);
  }
  deleteManifest(digest: Digest) {
    return this.inner.deleteManifest(digest);
  }
  listTags() {
    return this.inner.listTags();
  }
  hasBlob(descriptor: Descriptor) {
    return this.inner.hasBlob(descriptor);
  }
  getBlob(descriptor: Descriptor) {
    this.#note('getBlob', descriptor);
    return this.inner.getBlob(descriptor);
  }
  readBlob(descriptor: Descriptor, maxBytes: number) {
    this.#note('readBlob', descriptor);
    return this.inner.readBlob(descriptor, maxBytes);
  }
  putBlob(descriptor: Descriptor, content: AsyncIterable<Uint8Array>) {
    this.#note('putBlob', descriptor);
    return this.inner.putBlob(descriptor, content);
  }
  referrers(digest: Digest, artifactType?: string) {
    return this.inner.referrers(digest, artifactType);
  }
}

/** A signature manifest signed by `key` for `digest`, built as another cosign would. */
async function foreignSignatureManifest(
  store: ImageStore,
  digest: Digest,
  signer: Signer,
): Promise<{ bytes: Uint8Array; mediaType: string }> {
  const payload = new TextEncoder().encode(
    `{"critical":{"identity":{"docker-reference":"elsewhere/app"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
  );
  const signature = Buffer.from(await signer.sign(payload)).toString('base64');
  const layer = signatureLayer({ payload, signatureBase64: signature });
  const appended = appendSignatureLayer(undefined, layer.descriptor);
  await putBytes(store, layer.descriptor.mediaType, payload);
  await putBytes(store, appended.image.configDescriptor.mediaType, appended.image.config);
  return { bytes: appended.image.manifest, mediaType: appended.image.mediaType };
}

interface ChildOutcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts one signing child per key, releases them together, and waits for all. */
async function signInProcesses(argsPerChild: readonly string[][]): Promise<ChildOutcome[]> {
  const children = argsPerChild.map((args) =>
    spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  const outcomes = children.map(
    (child) =>
      new Promise<ChildOutcome>((resolve, reject) => {
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr }));
      }),
  );
  // Wait until every child has loaded, then start them all at once.
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          const lines = createInterface({ input: child.stdout });
          lines.once('line', (line) => {
            lines.close();
            if (line === 'ready') resolve();
            else reject(new Error(`child said ${line}`));
          });
          child.once('close', () => reject(new Error('child exited before it was ready')));
        }),
    ),
  );
  for (const child of children) child.stdin.end('go\n');
  return Promise.all(outcomes);
}

describe('signing', () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let tmp: string;
  let keys: KeyPair[];
  let signers: Signer[];

  before(async () => {
    [registry, tmp, keys] = await Promise.all([
      startRegistry(),
      mkdtemp(join(tmpdir(), 'vouch-sign-test-')),
      Promise.all(Array.from({ length: 5 }, () => generateKeyPair('ecdsa-p256'))),
    ]);
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });
    signers = keys.map((key) => createKeySigner(key.privateKey));
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  const request = (store: ImageStore, target: ManifestTarget, reference?: string): SignRequest => ({
    store,
    target,
    dockerReference:
      reference ??
      (store instanceof OCILayoutStore
        ? store.location
        : cosignDockerReference({
            registry: registry.host,
            repository: store.location.slice(registry.host.length + 1),
          })),
  });

  it("stores the signature of the tag's digest with exactly cosign's manifest, config and payload", async () => {
    const store = client.repository('sign/shape');
    const image = await buildImage(store, { tag: 'v1' });
    const digest = image.descriptor.digest;
    const result = await signImage(request(store, { tag: 'v1' }), { signer: signers[0] as Signer });

    const tag = `sha256-${digestHex(digest)}.sig`;
    assert.equal(result.digest, digest);
    assert.equal(result.mediaType, OCI_MANIFEST);
    assert.equal(result.signatures.length, 1);
    const [signature] = result.signatures;
    assert.equal(signature?.outcome, 'signed');
    assert.equal(signature?.tag, tag);
    assert.equal(signature?.location, `${registry.host}/sign/shape:${tag}`);
    assert.equal(signature?.attempts, 1);

    const { manifest, candidates, payloads } = await readSignatures(store, digest);
    assert.equal(manifest.digest, signature?.signatureManifest);
    assert.equal(manifest.mediaType, OCI_MANIFEST);
    assert.equal(candidates.length, 1);
    const [candidate] = candidates as [SignatureCandidate];
    const payload = payloads[0] as Uint8Array;
    assert.equal(
      text(payload),
      `{"critical":{"identity":{"docker-reference":"${registry.host}/sign/shape"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
    );
    const parsed = parseSimpleSigningPayload(payload);
    assert.equal(parsed.dockerManifestDigest, digest);
    assert.equal(candidate.signatureBase64, signature?.signature);
    assert.ok(verifySignature(keys[0]?.publicKey as never, payload, candidate.signature));
    assert.ok(!verifySignature(keys[1]?.publicKey as never, payload, candidate.signature));

    // Byte for byte what cosign >= 2.2 writes (docs/formats.md "Cosign signatures").
    if (manifest.kind !== 'image') throw new Error('expected an image manifest');
    const config = await store.readBlob(manifest.manifest.config, 4096);
    assert.equal(
      text(config),
      `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${candidate.layer.digest}"]},"config":{}}`,
    );
    assert.equal(
      text(manifest.bytes),
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":${config.byteLength},"digest":"${manifest.manifest.config.digest}"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":${payload.byteLength},"digest":"${candidate.layer.digest}","annotations":{"dev.cosignproject.cosign/signature":"${candidate.signatureBase64}"}}]}`,
    );
    // The image itself is untouched; only the .sig tag was added.
    assert.deepEqual((await store.listTags()).sort(), [tag, 'v1'].sort());
  });

  it('is idempotent for one key and accumulates one layer per key, keeping earlier layers as they were', async () => {
    const store = client.repository('sign/accumulate');
    const image = await buildImage(store, { tag: 'v1' });
    const digest = image.descriptor.digest;
    const options = { signer: signers[0] as Signer };
    const first = await signImage(request(store, { tag: 'v1' }), options);
    const again = await signImage(request(store, { digest }), options);
    assert.equal(again.signatures[0]?.outcome, 'unchanged');
    assert.equal(again.signatures[0]?.attempts, 0);
    assert.equal(again.signatures[0]?.signatureManifest, first.signatures[0]?.signatureManifest);
    const unchanged = await store.resolve({ tag: signatureTag(digest) });
    assert.equal(unchanged.digest, first.signatures[0]?.signatureManifest);

    const second = await signImage(request(store, { tag: 'v1' }), { signer: signers[1] as Signer });
    assert.equal(second.signatures[0]?.outcome, 'signed');
    const { manifest, candidates, payloads } = await readSignatures(store, digest);
    assert.equal(manifest.digest, second.signatures[0]?.signatureManifest);
    assert.deepEqual(signersOf(candidates, payloads, keys), [0, 1]);
    const before = await store.getManifest({
      digest: first.signatures[0]?.signatureManifest as Digest,
    });
    if (before.kind !== 'image' || manifest.kind !== 'image') throw new Error('image manifests');
    assert.deepEqual(manifest.manifest.layers[0], before.manifest.layers[0]);
    // The same payload signed by two keys is one blob.
    assert.equal(candidates[0]?.layer.digest, candidates[1]?.layer.digest);
  });

  it('records annotations as cosign does (sorted, Go escaping) and a chosen identity', async () => {
    const store = client.repository('sign/annotations');
    const image = await buildImage(store, { tag: 'v1' });
    const identity = parseSignedIdentity('registry.example.com/team/app:1.0');
    const result = await signImage(request(store, { tag: 'v1' }, identity), {
      signer: signers[0] as Signer,
      annotations: { zeta: 'last', alpha: 'a<b>&c', 'with=equals': 'x=y' },
    });
    const { payloads } = await readSignatures(store, result.digest);
    assert.equal(
      text(payloads[0] as Uint8Array),
      `{"critical":{"identity":{"docker-reference":"registry.example.com/team/app:1.0"},"image":{"docker-manifest-digest":"${image.descriptor.digest}"},"type":"cosign container image signature"},"optional":{"alpha":"a\\u003cb\\u003e\\u0026c","with=equals":"x=y","zeta":"last"}}`,
    );
    assert.equal(parseSignedIdentity('ubuntu'), 'index.docker.io/library/ubuntu');
    assert.throws(
      () => parseSignedIdentity(`app@${image.descriptor.digest}`),
      expectError('invalid', 'INVALID_IDENTITY'),
    );
  });

  it('signs a digest without fetching it, and a tag with one resolve', async () => {
    const inner = client.repository('sign/no-fetch');
    const image = await buildImage(inner, { tag: 'v1' });
    const digest = image.descriptor.digest;
    const byDigest = new RecordingStore(inner);
    await signImage(request(byDigest, { digest }), { signer: signers[0] as Signer });
    assert.ok(
      byDigest.calls.every((call) => !call.endsWith(digest)),
      `the image was fetched: ${byDigest.calls.join(', ')}`,
    );
    const byTag = new RecordingStore(inner);
    await signImage(request(byTag, { tag: 'v1' }), { signer: signers[1] as Signer });
    assert.deepEqual(
      byTag.calls.filter((call) => call.endsWith(' v1')),
      ['resolve v1'],
    );
  });

  it('signs an index, and with recursive every platform manifest too', async () => {
    const store = client.repository('sign/index');
    const index = await buildIndex(store, { tag: 'v1', architectures: ['amd64', 'arm64'] });
    const only = await signImage(request(store, { tag: 'v1' }), { signer: signers[0] as Signer });
    assert.deepEqual(
      only.signatures.map((s) => s.digest),
      [index.descriptor.digest],
    );
    await assert.rejects(
      store.resolve({ tag: signatureTag(index.children[0]?.descriptor.digest as Digest) }),
      expectError('invalid', 'MANIFEST_UNKNOWN'),
    );

    const events: SignEvent[] = [];
    const all = await signImage(request(store, { tag: 'v1' }), {
      signer: signers[0] as Signer,
      recursive: true,
      onEvent: (event) => events.push(event),
    });
    assert.deepEqual(
      all.signatures.map((s) => [s.digest, s.outcome, s.platform?.architecture]),
      [
        [index.descriptor.digest, 'unchanged', undefined],
        [index.children[0]?.descriptor.digest, 'signed', 'amd64'],
        [index.children[1]?.descriptor.digest, 'signed', 'arm64'],
      ],
    );
    assert.deepEqual(
      events.filter((e) => e.type === 'resolved'),
      [
        {
          type: 'resolved',
          image: `${store.location}:v1`,
          digest: index.descriptor.digest,
          manifests: 3,
        },
      ],
    );
    for (const child of index.children) {
      const { candidates, payloads } = await readSignatures(store, child.descriptor.digest);
      assert.equal(candidates.length, 1);
      assert.equal(
        parseSimpleSigningPayload(payloads[0] as Uint8Array).dockerManifestDigest,
        child.descriptor.digest,
      );
      assert.deepEqual(signersOf(candidates, payloads, keys), [0]);
    }
  });

  it('signs with ECDSA P-384 over SHA-256, as cosign verify and containers/image check it', async () => {
    const store = client.repository('sign/p384');
    await buildImage(store, { tag: 'v1' });
    const key = await generateKeyPair('ecdsa-p384');
    const result = await signImage(request(store, { tag: 'v1' }), {
      signer: createKeySigner(key.privateKey, { hash: 'sha256' }),
    });
    const { candidates, payloads } = await readSignatures(store, result.digest);
    assert.ok(
      verifySignature(
        key.publicKey,
        payloads[0] as Uint8Array,
        candidates[0]?.signature as Uint8Array,
        {
          hash: 'sha256',
        },
      ),
    );
  });

  it('signs many images in one call with one signer, reporting each, and keeps going past a failure', async () => {
    const store = client.repository('sign/many');
    const images = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        buildImage(store, { tag: `t${i}`, layers: 1, layerSize: 16 }),
      ),
    );
    let signatures = 0;
    const countingSigner: Signer = {
      publicKey: (signers[2] as Signer).publicKey,
      sign: (data) => {
        signatures++;
        return (signers[2] as Signer).sign(data);
      },
    };
    const events: SignEvent[] = [];
    const requests = [
      ...images.map((_, i) => request(store, { tag: `t${i}` })),
      request(store, { tag: 'missing' }),
    ];
    const results = await signImages(requests, {
      signer: countingSigner,
      concurrency: 6,
      onEvent: (event) => events.push(event),
    });
    assert.equal(results.length, 25);
    images.forEach((image, i) => {
      const result = results[i];
      assert.ok(result?.ok, `t${i} signed`);
      assert.equal(result.digest, image.descriptor.digest);
      assert.equal(result.image, `${store.location}:t${i}`);
    });
    const failed = results[24];
    assert.ok(failed !== undefined && !failed.ok);
    expectError('invalid', 'MANIFEST_UNKNOWN', 'missing')(failed.error);
    assert.equal(signatures, 24);
    assert.equal(events.filter((e) => e.type === 'signed').length, 24);
    assert.equal(events.filter((e) => e.type === 'failed').length, 1);
    const spot = await readSignatures(store, images[17]?.descriptor.digest as Digest);
    assert.deepEqual(signersOf(spot.candidates, spot.payloads, keys), [2]);
  });

  it('keeps both signatures when two calls in one process sign one image at once', async () => {
    const store = client.repository('sign/in-process');
    const image = await buildImage(store, { tag: 'v1' });
    const results = await Promise.all(
      [0, 1, 2].map((k) =>
        signImage(request(client.repository('sign/in-process'), { tag: 'v1' }), {
          signer: signers[k] as Signer,
        }),
      ),
    );
    assert.ok(results.every((r) => r.signatures[0]?.outcome === 'signed'));
    const { candidates, payloads } = await readSignatures(store, image.descriptor.digest);
    assert.deepEqual(signersOf(candidates, payloads, keys).sort(), [0, 1, 2]);
  });

  it('appends again a signature that a late concurrent write replaced after it was confirmed', async () => {
    const inner = client.repository('sign/late-writer');
    const image = await buildImage(inner, { tag: 'v1' });
    const tag = signatureTag(image.descriptor.digest);
    const foreign = await foreignSignatureManifest(
      inner,
      image.descriptor.digest,
      signers[4] as Signer,
    );
    let written = false;
    let clobbered = false;
    // Another writer whose PUT (based on an empty tag) lands just after our confirmation.
    const store = new (class extends RecordingStore {
      override async putManifest(bytes: Uint8Array, mediaType: string, t?: string) {
        const result = await super.putManifest(bytes, mediaType, t);
        if (t === tag) written = true;
        return result;
      }
      override async resolve(target: ManifestTarget) {
        const answer = await super.resolve(target);
        if (written && !clobbered && 'tag' in target && target.tag === tag) {
          clobbered = true;
          await inner.putManifest(foreign.bytes, foreign.mediaType, tag);
        }
        return answer;
      }
    })(inner);
    const events: SignEvent[] = [];
    const result = await signImage(request(store, { tag: 'v1' }), {
      signer: signers[0] as Signer,
      settleMs: 20,
      onEvent: (event) => events.push(event),
    });
    assert.ok(clobbered);
    assert.ok(events.some((e) => e.type === 'settling'));
    assert.equal(result.signatures[0]?.attempts, 2);
    const { manifest, candidates, payloads } = await readSignatures(inner, image.descriptor.digest);
    assert.equal(manifest.digest, result.signatures[0]?.signatureManifest);
    assert.deepEqual(signersOf(candidates, payloads, keys), [4, 0]);
  });

  it('gives up with SIGNATURE_CONFLICT, naming the image, when the tag keeps moving', async () => {
    const inner = client.repository('sign/conflict');
    const image = await buildImage(inner, { tag: 'v1' });
    const tag = signatureTag(image.descriptor.digest);
    const foreign = await foreignSignatureManifest(
      inner,
      image.descriptor.digest,
      signers[4] as Signer,
    );
    // Every re-resolve before the PUT sees a tag that moved since the read.
    let moves = 0;
    const store = new (class extends RecordingStore {
      override async resolve(target: ManifestTarget) {
        if ('tag' in target && target.tag === tag) {
          moves++;
          return {
            mediaType: OCI_MANIFEST,
            digest: `sha256:${String(moves).padStart(64, '0')}` as Digest,
            size: 2,
          };
        }
        return super.resolve(target);
      }
    })(inner);
    await inner.putManifest(foreign.bytes, foreign.mediaType, tag);
    const conflicts: SignEvent[] = [];
    const [result] = await signImages([request(store, { tag: 'v1' })], {
      signer: signers[0] as Signer,
      maxAttempts: 3,
      onEvent: (event) => event.type === 'conflict' && conflicts.push(event),
    });
    assert.ok(result !== undefined && !result.ok);
    expectError('unavailable', 'SIGNATURE_CONFLICT', `${inner.location}:v1`)(result.error);
    assert.equal(moves, 3);
    assert.equal(conflicts.length, 2);
    assert.ok(!store.calls.includes(`putManifest ${tag}`), 'never wrote over a moved tag');
    const { candidates } = await readSignatures(inner, image.descriptor.digest);
    assert.equal(candidates.length, 1, 'the stored signature is intact');
  });

  it('keeps every signature when five processes sign one registry image at once', async () => {
    const store = client.repository('sign/processes');
    const image = await buildImage(store, { tag: 'v1' });
    const keyFiles = await writeKeyFiles('registry', keys);
    const outcomes = await signInProcesses(
      keyFiles.map((file) => ['registry', registry.host, 'sign/processes', 'v1', file]),
    );
    for (const outcome of outcomes) assert.equal(outcome.code, 0, outcome.stdout + outcome.stderr);
    const { candidates, payloads } = await readSignatures(store, image.descriptor.digest);
    assert.deepEqual(signersOf(candidates, payloads, keys).sort(), [0, 1, 2, 3, 4]);
  });

  it('keeps every signature when five processes sign one layout image at once', async () => {
    const path = join(tmp, 'processes-layout');
    const layout = await openLayout(path, { create: true });
    const image = await buildImage(layout, { tag: 'v1' });
    const keyFiles = await writeKeyFiles('layout', keys);
    const outcomes = await signInProcesses(keyFiles.map((file) => ['layout', path, 'v1', file]));
    for (const outcome of outcomes) assert.equal(outcome.code, 0, outcome.stdout + outcome.stderr);
    const { candidates, payloads } = await readSignatures(layout, image.descriptor.digest);
    assert.deepEqual(signersOf(candidates, payloads, keys).sort(), [0, 1, 2, 3, 4]);
  });

  async function writeKeyFiles(name: string, pairs: readonly KeyPair[]): Promise<string[]> {
    const dir = join(tmp, `keys-${name}`);
    await mkdir(dir, { recursive: true });
    return Promise.all(
      pairs.map(async (pair, i) => {
        const file = join(dir, `key-${i}.pem`);
        await writeFile(file, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }), {
          mode: 0o600,
        });
        return file;
      }),
    );
  }

  it('stores layout signatures under the ref name sha256-<hex>.sig, which copy carries to a registry unchanged', async () => {
    const path = join(tmp, 'layout');
    const layout = await openLayout(path, { create: true });
    const index = await buildIndex(layout, { tag: '1.0' });
    const result = await signImage(request(layout, { tag: '1.0' }), {
      signer: signers[3] as Signer,
      recursive: true,
    });
    assert.equal(result.signatures.length, 3);
    const tags = await layout.listTags();
    for (const manifest of [index, ...index.children]) {
      assert.ok(tags.includes(signatureTag(manifest.descriptor.digest)));
    }
    const { candidates, payloads } = await readSignatures(layout, index.descriptor.digest);
    assert.deepEqual(signersOf(candidates, payloads, keys), [3]);
    assert.equal(
      parseSimpleSigningPayload(payloads[0] as Uint8Array).dockerReference,
      `oci:${path}`,
    );

    const again = await signImage(request(layout, { tag: '1.0' }), {
      signer: signers[3] as Signer,
    });
    assert.equal(again.signatures[0]?.outcome, 'unchanged');

    const tag = signatureTag(index.descriptor.digest);
    const destination = client.repository('sign/from-layout');
    const copied = await copyImage(layout, { tag }, destination, { tag });
    assert.equal(copied.descriptor.digest, result.signatures[0]?.signatureManifest);
    const there = await readSignatures(destination, index.descriptor.digest);
    assert.deepEqual(signersOf(there.candidates, there.payloads, keys), [3]);
  });

  describe('vouch sign', () => {
    let keyFile: string;
    let env: Record<string, string | undefined>;

    before(async () => {
      keyFile = join(tmp, 'cosign.key');
      await writeFile(
        keyFile,
        await encryptCosignKey((keys[0] as KeyPair).privateKey, 'correct horse', {
          scryptCost: 32768,
        }),
        { mode: 0o600 },
      );
      env = {
        DOCKER_CONFIG: join(tmp, 'no-docker-config'),
        VOUCH_PASSWORD: 'correct horse',
      };
    });

    interface JsonOutput {
      readonly ok: boolean;
      readonly images: ReadonlyArray<{
        readonly image: string;
        readonly ok: boolean;
        readonly digest?: string;
        readonly signatures: ReadonlyArray<{ digest: string; outcome: string; location: string }>;
        readonly error?: { category: string; code: string; message: string };
      }>;
    }
    const json = (run: CliRun) => JSON.parse(run.stdout) as JsonOutput;

    it('signs registry images and a layout by digest, printing the digest and where the signature is', async () => {
      const store = client.repository('cli/app');
      const image = await buildImage(store, { tag: '1.0' });
      const index = await buildIndex(store, { tag: 'multi' });
      const layoutPath = join(tmp, 'cli-layout');
      const layout = await openLayout(layoutPath, { create: true });
      const local = await buildImage(layout, { tag: 'v1' });
      const ref = `${registry.host}/cli/app`;

      const run = await runVouch(
        [
          'sign',
          '--key',
          keyFile,
          '-a',
          'build=42',
          `${ref}:1.0`,
          `${ref}:multi`,
          `oci:${layoutPath}:v1`,
        ],
        { env },
      );
      assert.equal(run.code, 0, run.stderr);
      const sig = (digest: Digest) => signatureTag(digest);
      assert.equal(
        run.stdout,
        [
          `${ref}:1.0: signed`,
          `  ${image.descriptor.digest}: signed, stored in ${ref}:${sig(image.descriptor.digest)}`,
          `${ref}:multi: signed`,
          `  ${index.descriptor.digest}: signed, stored in ${ref}:${sig(index.descriptor.digest)}`,
          `oci:${layoutPath}:v1: signed`,
          `  ${local.descriptor.digest}: signed, stored in oci:${layoutPath}:${sig(local.descriptor.digest)}`,
          '',
        ].join('\n'),
      );
      assert.match(run.stderr, /multi is a multi-platform index; only the index was signed/);
      assert.match(
        run.stderr,
        /3 image\(s\): 3 signature\(s\) stored, 0 already present, 0 image\(s\) failed/,
      );
      const { payloads } = await readSignatures(store, image.descriptor.digest);
      const payload = parseSimpleSigningPayload(payloads[0] as Uint8Array);
      assert.equal(payload.dockerReference, ref);
      assert.deepEqual({ ...payload.optional }, { build: '42' });
      const { payloads: localPayloads } = await readSignatures(layout, local.descriptor.digest);
      assert.equal(
        parseSimpleSigningPayload(localPayloads[0] as Uint8Array).dockerReference,
        `oci:${layoutPath}`,
      );

      const again = await runVouch(
        ['sign', '--key', keyFile, '-o', 'json', '--recursive', '-a', 'build=42', `${ref}:multi`],
        { env },
      );
      assert.equal(again.code, 0, again.stderr);
      const output = json(again);
      assert.equal(output.ok, true);
      assert.deepEqual(
        output.images[0]?.signatures.map((s) => [s.digest, s.outcome]),
        [
          [index.descriptor.digest, 'unchanged'],
          [index.children[0]?.descriptor.digest, 'signed'],
          [index.children[1]?.descriptor.digest, 'signed'],
        ],
      );
    });

    it('records --signed-identity instead of the location', async () => {
      const layoutPath = join(tmp, 'cli-identity');
      const layout = await openLayout(layoutPath, { create: true });
      const local = await buildImage(layout, { tag: 'v1' });
      const run = await runVouch(
        [
          'sign',
          '--key',
          keyFile,
          '--signed-identity',
          'registry.example.com/app',
          `oci:${layoutPath}:v1`,
        ],
        { env },
      );
      assert.equal(run.code, 0, run.stderr);
      const { payloads } = await readSignatures(layout, local.descriptor.digest);
      assert.equal(
        parseSimpleSigningPayload(payloads[0] as Uint8Array).dockerReference,
        'registry.example.com/app',
      );
    });

    it('refuses a wrong password with exit 2 and writes nothing', async () => {
      const store = client.repository('cli/wrong-password');
      const image = await buildImage(store, { tag: '1.0' });
      const tagsBefore = await store.listTags();
      const run = await runVouch(
        ['sign', '--key', keyFile, `${registry.host}/cli/wrong-password:1.0`],
        {
          env: { ...env, VOUCH_PASSWORD: 'wrong' },
        },
      );
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /password/i);
      assert.equal(run.stdout, '');
      assert.deepEqual(await store.listTags(), tagsBefore);
      await assert.rejects(
        store.resolve({ tag: signatureTag(image.descriptor.digest) }),
        expectError('invalid', 'MANIFEST_UNKNOWN'),
      );
    });

    it('rejects bad annotations, identities and images with exit 2 before reading the key', async () => {
      const noKey = join(tmp, 'does-not-exist.key');
      const image = `${registry.host}/cli/app:1.0`;
      for (const args of [
        ['-a', 'noequals', image],
        ['-a', '=value', image],
        ['-a', 'k=1', '-a', 'k=1', image],
        ['--signed-identity', `x@sha256:${'a'.repeat(64)}`, image],
        [`oci:${join(tmp, 'cli-layout')}`],
        ['--concurrency', '0', image],
        [],
      ]) {
        const run = await runVouch(['sign', '--key', noKey, ...args], { env });
        assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
        assert.doesNotMatch(run.stderr, /does-not-exist/, args.join(' '));
      }
      // Without --key, sign is keyless: with no token source it stops before any request.
      const noKeyFlag = await runVouch(['sign', image], { env });
      assert.equal(noKeyFlag.code, 2);
      assert.match(noKeyFlag.stderr, /needs an OIDC identity token/);
      assert.match(noKeyFlag.stderr, /--key KEY/);
      const both = await runVouch(['sign', '--key', noKey, '--identity-token', 'x.y.z', image], {
        env,
      });
      assert.equal(both.code, 2);
      assert.match(both.stderr, /--identity-token is for keyless signing/);
    });

    it('reports each image and exits 2 when an image does not exist, 3 when the registry refuses', async () => {
      const store = client.repository('cli/partial');
      const image = await buildImage(store, { tag: '1.0' });
      const run = await runVouch(
        [
          'sign',
          '--key',
          keyFile,
          '-o',
          'json',
          `${registry.host}/cli/partial:1.0`,
          `${registry.host}/cli/partial:nope`,
        ],
        { env },
      );
      assert.equal(run.code, 2, run.stderr);
      const output = json(run);
      assert.equal(output.ok, false);
      assert.equal(output.images[0]?.ok, true);
      assert.equal(output.images[0]?.digest, image.descriptor.digest);
      assert.equal(output.images[1]?.ok, false);
      assert.equal(output.images[1]?.error?.code, 'MANIFEST_UNKNOWN');
      assert.match(run.stderr, /cli\/partial:nope/);

      // A registry that refuses everything: could not sign (3), reported per image.
      const refusing = await startHostileRegistry((_req, res) => {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"DENIED","message":"no"}]}');
      });
      try {
        const down = await runVouch(['sign', '--key', keyFile, `${refusing.host}/app:1.0`], {
          env,
        });
        assert.equal(down.code, 3, down.stderr);
        assert.match(down.stdout, /app:1\.0: NOT SIGNED/);
        assert.match(down.stderr, /403/);
      } finally {
        await refusing.stop();
      }
    });

    it('draws progress on a terminal and clears it', async () => {
      const store = client.repository('cli/progress');
      await buildImage(store, { tag: '1.0' });
      let stderr = '';
      const terminal = Object.assign(
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            stderr += chunk.toString();
            callback();
          },
        }),
        { isTTY: true, columns: 80 },
      );
      const code = await main(['sign', '--key', keyFile, `${registry.host}/cli/progress:1.0`], {
        env,
        stdin: Readable.from([]),
        stdout: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
        stderr: terminal,
      });
      assert.equal(code, 0, stderr);
      assert.match(stderr, /signing: \d+\/1 manifest\(s\)/);
      assert.ok(stderr.endsWith('\r\x1b[K'), JSON.stringify(stderr));
    });

    it('accepts a plain PEM key, and a note warns about cosign-style comma lists', async () => {
      const store = client.repository('cli/pem');
      await buildImage(store, { tag: '1.0' });
      const pemFile = join(tmp, 'plain.pem');
      await writeFile(
        pemFile,
        (keys[1] as KeyPair).privateKey.export({ format: 'pem', type: 'pkcs8' }),
        {
          mode: 0o600,
        },
      );
      const run = await runVouch(
        ['sign', '--key', pemFile, '-a', 'a=1,b=2', `${registry.host}/cli/pem:1.0`],
        { env: { DOCKER_CONFIG: env.DOCKER_CONFIG } },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /one annotation "a" with the value "1,b=2"/);
    });
  });

  it('refuses bad options before any I/O', async () => {
    const store = new RecordingStore(client.repository('sign/options'));
    const signer = signers[0] as Signer;
    await assert.rejects(
      signImages([request(store, { tag: 'v1' })], { signer, concurrency: 0 }),
      expectError('invalid', 'INVALID_OPTION'),
    );
    await assert.rejects(
      signImages([request(store, { tag: 'v1' }, '')], { signer }),
      expectError('invalid', 'INVALID_SIGNATURE_INPUT'),
    );
    await assert.rejects(
      signImages([request(store, { tag: 'v1' })], {
        signer,
        annotations: { n: 1 as unknown as string },
      }),
      expectError('invalid', 'INVALID_ANNOTATION'),
    );
    assert.deepEqual(store.calls, []);
  });
});
