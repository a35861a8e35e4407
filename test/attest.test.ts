/**
 * Attestations end to end against a real Distribution 2.8 registry (and an
 * OCI layout): `vouch attest` then `vouch verify-attestation` and
 * `vouch download`, run in-process. The attacks are written by hand into the
 * `.att` manifests the way an attacker with push access would: a genuine
 * attestation of another image copied here, an envelope whose statement was
 * altered after signing, and attestations of another type than the one asked
 * for (CVE-2022-35929).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasCode } from '../src/core/errors.ts';
import { attestationTag, PREDICATE_TYPE_ANNOTATION } from '../src/formats/cosign-attestation.ts';
import {
  appendSignatureLayer,
  attachmentTag,
  SIGNATURE_ANNOTATION,
  type StoredSignatureImage,
} from '../src/formats/cosign-signature.ts';
import { DSSE_ENVELOPE_MEDIA_TYPE, encodeEnvelope, parseEnvelope } from '../src/formats/dsse.ts';
import { parseStatement, STATEMENT_TYPE_V1 } from '../src/formats/in-toto.ts';
import { PREDICATE_TYPES } from '../src/formats/predicate-types.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { createKeySigner } from '../src/keys/signer.ts';
import { type Digest, digestHex, digestOf } from '../src/oci/digest.ts';
import { type Descriptor, parseManifest } from '../src/oci/manifest.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { openLayout } from '../src/registry/layout.ts';
import type { ImageStore } from '../src/registry/store.ts';
import { attestImages } from '../src/sign/attest.ts';
import { type CliRun, runVouch } from './helpers/cli.ts';
import { buildImage, putBytes } from './helpers/images.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const SPDX = PREDICATE_TYPES.spdxjson as string;
const CYCLONEDX = PREDICATE_TYPES.cyclonedx as string;
const SLSA1 = PREDICATE_TYPES.slsaprovenance1 as string;

const SBOM = {
  spdxVersion: 'SPDX-2.3',
  name: 'app',
  packages: [{ name: 'busybox', versionInfo: '1.36' }],
};
const BOM = { bomFormat: 'CycloneDX', specVersion: '1.5', components: [] };

interface Manifest {
  readonly layers: readonly Descriptor[];
}

interface VerifyAttestationJson {
  readonly ok: boolean;
  readonly predicateType: string;
  readonly images: ReadonlyArray<{
    readonly status: string;
    readonly digest: string | null;
    readonly verified: ReadonlyArray<{
      readonly predicateType: string;
      readonly statement: unknown;
    }>;
    readonly rejected: ReadonlyArray<{
      readonly code: string;
      readonly message: string;
      readonly predicateType?: string;
    }>;
    readonly error: { readonly code: string } | null;
  }>;
}

async function attachmentManifest(
  store: ImageStore,
  digest: Digest,
  suffix: 'att' | 'sig',
): Promise<Manifest> {
  const manifest = await store.getManifest({ tag: attachmentTag(digest, suffix) });
  assert.equal(manifest.kind, 'image');
  return manifest.manifest as Manifest;
}

/** Appends a layer (with its blob) to the `.att` manifest of `digest`, as an attacker with push access could. */
async function appendRaw(
  store: ImageStore,
  digest: Digest,
  layer: Descriptor,
  blob: Uint8Array,
): Promise<void> {
  const tag = attestationTag(digest);
  let base: StoredSignatureImage | undefined;
  try {
    const manifest = await store.getManifest({ tag });
    if (manifest.kind !== 'image') throw new Error('not an image');
    base = { manifest, config: await store.readBlob(manifest.manifest.config, 1 << 20) };
  } catch (error) {
    if (!hasCode(error, 'MANIFEST_UNKNOWN')) throw error;
  }
  const result = appendSignatureLayer(base, layer, { allowDuplicates: true });
  assert.ok(result.changed);
  await putBytes(store, layer.mediaType, blob);
  await putBytes(store, result.image.configDescriptor.mediaType, result.image.config);
  await store.putManifest(result.image.manifest, result.image.mediaType, tag);
}

function statements(run: CliRun): Array<Record<string, unknown>> {
  return JSON.parse(run.stdout) as Array<Record<string, unknown>>;
}

describe('vouch attest, verify-attestation, download', () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let tmp: string;
  let env: Record<string, string | undefined>;
  let key: string;
  let pub: string;
  let otherPub: string;
  let sbomFile: string;
  let bomFile: string;
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = createKeySigner(pair.privateKey);

  const vouch = (...args: string[]) => runVouch(args, { env });

  async function image(repo: string, tag = 'v1') {
    const store = client.repository(repo);
    const built = await buildImage(store, { tag, layers: 1, layerSize: 64 });
    return { store, digest: built.descriptor.digest, ref: `${registry.host}/${repo}:${tag}` };
  }

  before(async () => {
    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });
    tmp = await mkdtemp(join(tmpdir(), 'vouch-attest-test-'));
    env = { DOCKER_CONFIG: join(tmp, 'docker-config') };
    key = join(tmp, 'key.pem');
    pub = join(tmp, 'key.pub');
    otherPub = join(tmp, 'other.pub');
    sbomFile = join(tmp, 'sbom.spdx.json');
    bomFile = join(tmp, 'bom.cdx.json');
    await writeFile(key, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await writeFile(pub, publicKeyToPem(pair.publicKey));
    await writeFile(otherPub, publicKeyToPem(generateKeyPairSync('ed25519').publicKey));
    await writeFile(sbomFile, JSON.stringify(SBOM, null, 2));
    await writeFile(bomFile, JSON.stringify(BOM));
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('attests as cosign stores it, and verify-attestation prints the verified statement', async () => {
    const { store, digest, ref } = await image('att/roundtrip');
    const attest = await vouch(
      'attest',
      '--key',
      key,
      '--type',
      'spdxjson',
      '--predicate',
      sbomFile,
      ref,
    );
    assert.equal(attest.code, 0, attest.stderr);
    assert.ok(
      attest.stdout.includes(`${registry.host}/att/roundtrip:sha256-${digestHex(digest)}.att`),
      attest.stdout,
    );

    const manifest = await attachmentManifest(store, digest, 'att');
    assert.equal(manifest.layers.length, 1);
    const layer = manifest.layers[0] as Descriptor;
    assert.equal(layer.mediaType, DSSE_ENVELOPE_MEDIA_TYPE);
    assert.deepEqual(layer.annotations, {
      [SIGNATURE_ANNOTATION]: '',
      [PREDICATE_TYPE_ANNOTATION]: SPDX,
    });
    const envelope = parseEnvelope(await store.readBlob(layer, 1 << 20));
    const statement = parseStatement(envelope.payload);
    assert.equal(statement.type, STATEMENT_TYPE_V1);
    assert.deepEqual(statement.subjects, [
      { name: `${registry.host}/att/roundtrip`, digest: { sha256: digestHex(digest) } },
    ]);

    const run = await vouch('verify-attestation', '--key', pub, '--type', 'spdxjson', ref);
    assert.equal(run.code, 0, run.stderr);
    const [printed, ...rest] = statements(run);
    assert.equal(rest.length, 0);
    assert.equal(printed?.predicateType, SPDX);
    assert.deepEqual(printed?.predicate, SBOM);
    assert.deepEqual(printed?.subject, [
      { name: `${registry.host}/att/roundtrip`, digest: { sha256: digestHex(digest) } },
    ]);
    assert.ok(run.stderr.includes(`${ref}: verified`), run.stderr);

    const json = await vouch(
      'verify-attestation',
      '--key',
      pub,
      '--type',
      SPDX,
      ref,
      '--output',
      'json',
    );
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as VerifyAttestationJson;
    assert.equal(report.ok, true);
    assert.equal(report.images[0]?.digest, digest);
    assert.equal(report.images[0]?.verified[0]?.predicateType, SPDX);
  });

  it('an attestation of another type fails --type with exit 1 and names what was found (CVE-2022-35929)', async () => {
    const { ref } = await image('att/othertype');
    assert.equal(
      (await vouch('attest', '--key', key, '--type', 'spdxjson', '--predicate', sbomFile, ref))
        .code,
      0,
    );
    const run = await vouch('verify-attestation', '--key', pub, '--type', 'cyclonedx', ref);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(statements(run), []);
    assert.ok(run.stderr.includes('PREDICATE_TYPE_MISMATCH'), run.stderr);
    assert.ok(run.stderr.includes(`valid attestations of other types: ${SPDX}`), run.stderr);
    const json = JSON.parse(
      (await vouch('verify-attestation', '--key', pub, '--type', 'cyclonedx', ref, '-o', 'json'))
        .stdout,
    ) as VerifyAttestationJson;
    assert.equal(json.images[0]?.error?.code, 'NO_VALID_ATTESTATION');
    assert.deepEqual(
      json.images[0]?.rejected.map((r) => [r.code, r.predicateType]),
      [['PREDICATE_TYPE_MISMATCH', SPDX]],
    );
  });

  it('an attestation of another image copied into this .att manifest is DIGEST_MISMATCH', async () => {
    const a = await image('att/replay', 'a');
    const b = await image('att/replay', 'b');
    assert.equal(
      (await vouch('attest', '--key', key, '--type', 'spdxjson', '--predicate', sbomFile, a.ref))
        .code,
      0,
    );
    const genuine = (await attachmentManifest(a.store, a.digest, 'att')).layers[0] as Descriptor;
    await appendRaw(b.store, b.digest, genuine, await a.store.readBlob(genuine, 1 << 20));
    const run = await vouch('verify-attestation', '--key', pub, '--type', 'spdxjson', b.ref);
    assert.equal(run.code, 1, run.stderr);
    assert.ok(run.stderr.includes('DIGEST_MISMATCH'), run.stderr);
    assert.ok(run.stderr.includes(a.digest), run.stderr);
  });

  it('a wrong key, or an envelope altered after signing, is SIGNATURE_INVALID', async () => {
    const { store, digest, ref } = await image('att/tamper');
    assert.equal(
      (await vouch('attest', '--key', key, '--type', 'spdxjson', '--predicate', sbomFile, ref))
        .code,
      0,
    );
    const wrongKey = await vouch(
      'verify-attestation',
      '--key',
      otherPub,
      '--type',
      'spdxjson',
      ref,
    );
    assert.equal(wrongKey.code, 1);
    assert.ok(wrongKey.stderr.includes('SIGNATURE_INVALID'), wrongKey.stderr);

    // Swap in another predicate, keep the signature: the layer an attacker would push.
    const genuine = (await attachmentManifest(store, digest, 'att')).layers[0] as Descriptor;
    const envelope = parseEnvelope(await store.readBlob(genuine, 1 << 20));
    const altered = new TextEncoder().encode(
      new TextDecoder().decode(envelope.payload).replace('"1.36"', '"6.66"'),
    );
    assert.notDeepEqual(altered, envelope.payload);
    const forged = encodeEnvelope({ ...envelope, payload: altered });
    const forgedLayer = { ...genuine, digest: digestOf(forged), size: forged.byteLength };
    // Replace the genuine one: rebuild the .att manifest with only the forged layer.
    await store.deleteManifest((await store.resolve({ tag: attestationTag(digest) })).digest);
    await appendRaw(store, digest, forgedLayer, forged);
    const run = await vouch('verify-attestation', '--key', pub, '--type', 'spdxjson', ref);
    assert.equal(run.code, 1, run.stderr);
    assert.ok(run.stderr.includes('SIGNATURE_INVALID'), run.stderr);
    assert.deepEqual(statements(run), []);
  });

  it('attestations of different types accumulate; the same one again changes nothing; --replace swaps its type', async () => {
    const { store, digest, ref } = await image('att/accumulate');
    const spdx = await vouch(
      'attest',
      '--key',
      key,
      '--type',
      'spdxjson',
      '--predicate',
      sbomFile,
      ref,
    );
    const cdx = await vouch(
      'attest',
      '--key',
      key,
      '--type',
      'cyclonedx',
      '--predicate',
      bomFile,
      ref,
    );
    assert.equal(spdx.code + cdx.code, 0, spdx.stderr + cdx.stderr);
    const first = await attachmentManifest(store, digest, 'att');
    assert.deepEqual(
      first.layers.map((l) => l.annotations?.[PREDICATE_TYPE_ANNOTATION]),
      [SPDX, CYCLONEDX],
    );

    const again = await vouch(
      'attest',
      '--key',
      key,
      '--type',
      'spdxjson',
      '--predicate',
      sbomFile,
      ref,
      '-o',
      'json',
    );
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).images[0].attestations[0].outcome, 'unchanged');
    assert.equal((await attachmentManifest(store, digest, 'att')).layers.length, 2);

    for (const [type, expected] of [
      ['spdxjson', SBOM],
      ['cyclonedx', BOM],
    ] as const) {
      const run = await vouch('verify-attestation', '--key', pub, '--type', type, ref);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(
        statements(run).map((s) => s.predicate),
        [expected],
      );
      assert.ok(run.stderr.includes('not counted: PREDICATE_TYPE_MISMATCH'), run.stderr);
    }

    const newer = join(tmp, 'sbom-2.json');
    await writeFile(newer, JSON.stringify({ ...SBOM, name: 'app-2' }));
    const replaced = await vouch(
      'attest',
      '--key',
      key,
      '--type',
      'spdxjson',
      '--predicate',
      newer,
      '--replace',
      ref,
    );
    assert.equal(replaced.code, 0, replaced.stderr);
    const after = await attachmentManifest(store, digest, 'att');
    assert.deepEqual(
      after.layers.map((l) => l.annotations?.[PREDICATE_TYPE_ANNOTATION]),
      [SPDX, CYCLONEDX],
    );
    assert.equal(after.layers[1]?.digest, first.layers[1]?.digest);
    const run = await vouch('verify-attestation', '--key', pub, '--type', 'spdxjson', ref);
    assert.deepEqual(
      statements(run).map((s) => (s.predicate as { name: string }).name),
      ['app-2'],
    );
  });

  it('concurrent attesters of one image do not lose each other', async () => {
    const { store, digest } = await image('att/concurrent');
    const request = { store, target: { digest }, subjectName: `${registry.host}/att/concurrent` };
    const runs = [
      SPDX,
      CYCLONEDX,
      SLSA1,
      'https://example.com/a/v1',
      'https://example.com/b/v1',
    ].map((predicateType) =>
      attestImages([request], {
        signer,
        predicateType,
        predicate: { type: predicateType },
        settleMs: 50,
      }),
    );
    const results = (await Promise.all(runs)).flat();
    assert.ok(
      results.every((r) => r.ok),
      JSON.stringify(results),
    );
    const types = (await attachmentManifest(store, digest, 'att')).layers.map(
      (l) => l.annotations?.[PREDICATE_TYPE_ANNOTATION],
    );
    assert.equal(types.length, 5, String(types));
  });

  it('download writes raw envelopes labelled UNVERIFIED, or only verified ones with --key', async () => {
    const { store, digest, ref } = await image('att/download');
    await vouch('attest', '--key', key, '--type', 'spdxjson', '--predicate', sbomFile, ref);
    await vouch('attest', '--key', key, '--type', 'cyclonedx', '--predicate', bomFile, ref);

    const raw = await vouch('download', 'attestation', ref);
    assert.equal(raw.code, 0, raw.stderr);
    const lines = raw.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    const layers = (await attachmentManifest(store, digest, 'att')).layers;
    assert.equal(
      `${lines[0]}`,
      new TextDecoder().decode(await store.readBlob(layers[0] as Descriptor, 1 << 20)),
    );
    assert.match(raw.stderr, /2 attestations .* UNVERIFIED/);

    const typed = await vouch('download', 'attestation', '--type', 'cyclonedx', ref);
    assert.equal(typed.stdout.trimEnd().split('\n').length, 1);
    assert.match(typed.stderr, /UNVERIFIED/);

    const file = join(tmp, 'verified.jsonl');
    const verified = await vouch(
      'download',
      'attestation',
      '--key',
      pub,
      '--type',
      'spdxjson',
      '--output-file',
      file,
      ref,
    );
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.stdout, '');
    assert.match(
      verified.stderr,
      /1 attestation of type https:\/\/spdx\.dev\/Document .* VERIFIED with .*key\.pub to /,
    );
    const written = (await readFile(file, 'utf8')).trimEnd().split('\n');
    assert.equal(written.length, 1);
    assert.equal(
      parseStatement(parseEnvelope(new TextEncoder().encode(written[0])).payload).predicateType,
      SPDX,
    );

    const wrong = await vouch('download', 'attestation', '--key', otherPub, ref);
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stdout, '');
    assert.match(wrong.stderr, /SIGNATURE_INVALID/);

    // SBOMs: the verified SBOM attestation's predicate with --key ...
    const sbom = await vouch('download', 'sbom', '--key', pub, ref);
    assert.equal(sbom.code, 0, sbom.stderr);
    assert.deepEqual(
      sbom.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
      [SBOM, BOM],
    );
    assert.match(sbom.stderr, /VERIFIED/);
    // ... and cosign's legacy .sbom attachment without, labelled UNVERIFIED.
    const none = await vouch('download', 'sbom', ref);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no SBOM attached/);
    const document = new TextEncoder().encode('{"spdxVersion":"SPDX-2.3"}\n');
    const blob = await putBytes(store, 'text/spdx+json', document);
    const config = await putBytes(
      store,
      'application/vnd.oci.image.config.v1+json',
      new TextEncoder().encode('{}'),
    );
    const manifest = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config,
        layers: [blob],
      }),
    );
    await store.putManifest(
      manifest,
      'application/vnd.oci.image.manifest.v1+json',
      attachmentTag(digest, 'sbom'),
    );
    const legacy = await vouch('download', 'sbom', ref);
    assert.equal(legacy.code, 0, legacy.stderr);
    assert.equal(legacy.stdout, '{"spdxVersion":"SPDX-2.3"}\n');
    assert.match(legacy.stderr, /text\/spdx\+json.*UNVERIFIED/);
  });

  it('works the same on an OCI layout', async () => {
    const path = join(tmp, 'layout');
    const store = await openLayout(path, { create: true });
    const built = await buildImage(store, { tag: '1.0', layers: 1, layerSize: 64 });
    const ref = `oci:${path}:1.0`;
    const attest = await vouch(
      'attest',
      '--key',
      key,
      '--type',
      'slsaprovenance1',
      '--predicate',
      sbomFile,
      ref,
    );
    assert.equal(attest.code, 0, attest.stderr);
    const run = await vouch('verify-attestation', '--key', pub, '--type', SLSA1, ref);
    assert.equal(run.code, 0, run.stderr);
    const [statement] = statements(run);
    assert.deepEqual(statement?.subject, [
      { name: `oci:${path}`, digest: { sha256: digestHex(built.descriptor.digest) } },
    ]);
    const other = await vouch('verify-attestation', '--key', pub, '--type', 'vuln', ref);
    assert.equal(other.code, 1);
    const manifest = await store.getManifest({ tag: attestationTag(built.descriptor.digest) });
    assert.equal(parseManifest(manifest.bytes, manifest.mediaType, 'test').kind, 'image');
  });

  it('refuses bad input before anything is written (exit 2)', async () => {
    const { store, digest, ref } = await image('att/usage');
    const notJson = join(tmp, 'not.json');
    await writeFile(notJson, '{"a":1,"a":2}');
    const cases: Array<[string[], string]> = [
      [['attest', '--key', key, '--predicate', sbomFile, ref], 'needs --type'],
      [
        ['attest', '--key', key, '--type', 'spdxjsn', '--predicate', sbomFile, ref],
        'unknown predicate type',
      ],
      [['attest', '--key', key, '--type', 'custom', '--predicate', sbomFile, ref], '--type custom'],
      [
        ['attest', '--key', key, '--type', 'spdxjson', '--predicate', notJson, ref],
        'duplicate key',
      ],
      [
        [
          'attest',
          '--key',
          key,
          '--type',
          'spdxjson',
          '--predicate',
          join(tmp, 'missing.json'),
          ref,
        ],
        'cannot read',
      ],
      [['verify-attestation', '--key', pub, ref], 'needs --type'],
      [['download', 'signature', ref], 'attestation or sbom'],
    ];
    for (const [args, fragment] of cases) {
      const run = await vouch(...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.ok(run.stderr.includes(fragment), `${args.join(' ')}: ${run.stderr}`);
    }
    await assert.rejects(store.getManifest({ tag: attestationTag(digest) }), (error: unknown) =>
      hasCode(error, 'MANIFEST_UNKNOWN'),
    );
  });
});
