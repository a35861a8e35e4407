/**
 * ImagePolicy `gpg:` authorities end to end: images in a real Distribution
 * registry (which does not advertise the signature extension), GPG simple
 * signatures made with openpgp.ts `signMessage` and stored with
 * `writeSimpleSignature` in a file:// lookaside that a registries.d
 * directory names, decided by `vouch policy evaluate` / `check` with
 * `--registries.d`, and by the admission webhook.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { signMessage } from '../src/formats/simple-signing/openpgp.ts';
import { buildAtomicSignaturePayload } from '../src/formats/simple-signing/payload.ts';
import { parseRegistriesD } from '../src/formats/simple-signing/registries-d.ts';
import type { Digest } from '../src/oci/digest.ts';
import { parseReference } from '../src/oci/reference.ts';
import { Stores } from '../src/registry/open.ts';
import { writeSimpleSignature } from '../src/simple-signing/signature-stores.ts';
import { admit, podSpec, reviewOf, startWebhook } from './helpers/admission.ts';
import { NO_DOCKER_CONFIG, runVouch } from './helpers/cli.ts';
import { buildImage } from './helpers/images.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

interface Decision {
  readonly image: string;
  readonly result: string;
  readonly reason: string;
  readonly authorities: ReadonlyArray<{
    authority: string;
    kind: string;
    status: string;
    counted: boolean;
    code?: string;
    message: string;
    signers?: string[];
  }>;
}

async function newKey() {
  const { privateKey } = await openpgp.generateKey({
    userIDs: [{ name: 'vouch test', email: 'test@example.com' }],
    format: 'object',
  });
  return {
    signing: { fingerprint: privateKey.getFingerprint().toUpperCase(), privateKey },
    armored: privateKey.toPublic().armor(),
    binary: privateKey.toPublic().write(),
  };
}

describe('vouch policy with gpg authorities', () => {
  let tmp: string;
  let registry: RunningRegistry;
  let stores: Stores;
  let policyFile: string;
  let registriesD: string;
  let env: Record<string, string>;
  let trusted: Awaited<ReturnType<typeof newKey>>;
  let other: Awaited<ReturnType<typeof newKey>>;
  const digests = new Map<string, Digest>();
  const vouch = (...args: string[]) => runVouch(args, { env });
  const image = (repository: string) => `${registry.host}/${repository}:v1`;

  /** Pushes `repository:v1` (`layers` makes a distinct manifest) and returns its digest. */
  async function push(repository: string, layers = 1): Promise<Digest> {
    const opened = await stores.openImage(image(repository));
    const built = await buildImage(opened.store, { tag: 'v1', layers });
    digests.set(repository, built.descriptor.digest);
    return built.descriptor.digest;
  }

  /** Signs `digest` as `signedReference` with `key` into the lookaside of `repository`. */
  function sign(
    repository: string,
    digest: Digest,
    signedReference: string,
    key: Awaited<ReturnType<typeof newKey>>,
  ): Promise<void> {
    return signAs(repository, digest, digest, signedReference, key);
  }

  /** A signature of `signed` stored as `repository`'s signature for `digest`. */
  async function signAs(
    repository: string,
    digest: Digest,
    signed: Digest,
    signedReference: string,
    key: Awaited<ReturnType<typeof newKey>>,
  ): Promise<void> {
    const payload = buildAtomicSignaturePayload({
      dockerManifestDigest: signed,
      dockerReference: signedReference,
    });
    const blob = await signMessage(payload, key.signing);
    const opened = await stores.openImage(image(repository));
    await writeSimpleSignature(opened.store, parseReference(image(repository)), digest, blob, {
      registriesD: parseRegistriesD(
        await readFile(join(registriesD, 'local.yaml'), 'utf8'),
        'local.yaml',
      ),
      builtinLookaside: pathToFileURL(join(tmp, 'unused')).href,
    });
  }

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vouch-policy-gpg-'));
    registry = await startRegistry();
    stores = new Stores({});
    env = { DOCKER_CONFIG: NO_DOCKER_CONFIG, HOME: tmp, VOUCH_CACHE_DIR: join(tmp, 'cache') };
    [trusted, other] = await Promise.all([newKey(), newKey()]);
    registriesD = join(tmp, 'registries.d');
    await mkdir(registriesD, { recursive: true });
    await writeFile(
      join(registriesD, 'local.yaml'),
      `docker:\n  ${registry.host}:\n    lookaside: ${pathToFileURL(join(tmp, 'sigstore')).href}\n`,
    );
    await mkdir(join(tmp, 'policy', 'keys'), { recursive: true });
    await writeFile(join(tmp, 'policy', 'keys', 'trusted.gpg'), trusted.binary);

    // Signed by the trusted key, as itself.
    await sign('gpg/app', await push('gpg/app'), image('gpg/app'), trusted);
    // Signed by another key.
    await sign('gpg/other', await push('gpg/other'), image('gpg/other'), other);
    // The trusted key signed another manifest digest, stored under this image's.
    const elsewhere = await push('gpg/elsewhere', 2);
    await signAs('gpg/digest', await push('gpg/digest'), elsewhere, image('gpg/digest'), trusted);
    // A moved tag: the trusted key signed this digest as another tag.
    await sign('gpg/moved', await push('gpg/moved'), `${registry.host}/gpg/moved:v0`, trusted);

    policyFile = join(tmp, 'policy', 'policy.yaml');
    await writeFile(
      policyFile,
      `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  release:
    gpg:
      keyPaths: [keys/trusted.gpg]
  inline:
    gpg:
      keyData: |
${trusted.armored
  .trim()
  .split('\n')
  .map((line) => `        ${line}`)
  .join('\n')}
      signedIdentity: { type: matchRepository }
rules:
  - name: gpg
    images: ["${registry.host}/gpg/app", "${registry.host}/gpg/other", "${registry.host}/gpg/digest", "${registry.host}/gpg/moved"]
    authorities: [release]
  - name: repository
    images: ["${registry.host}/gpg/**"]
    authorities: [inline]
`,
    );
  });

  after(async () => {
    await stores?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  async function evaluate(...images: string[]) {
    const run = await vouch(
      'policy',
      'evaluate',
      '--policy',
      policyFile,
      '--registries.d',
      registriesD,
      '-o',
      'json',
      ...images,
    );
    const report = JSON.parse(run.stdout) as { allowed: boolean; images: Decision[] };
    return { run, report };
  }

  it('evaluate: allows the image the trusted key signed, naming the key', async () => {
    const { run, report } = await evaluate(image('gpg/app'));
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const [decision] = report.images;
    assert.equal(decision?.result, 'allowed');
    assert.deepEqual(
      decision.authorities.map((a) => [a.authority, a.kind, a.status, a.counted, a.signers]),
      [['release', 'gpg', 'verified', true, [trusted.signing.fingerprint]]],
    );
  });

  it('evaluate: denies a signature by another key, another digest, another identity', async () => {
    const { run, report } = await evaluate(
      image('gpg/other'),
      image('gpg/digest'),
      image('gpg/moved'),
    );
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.deepEqual(
      report.images.map((d) => [d.result, d.authorities[0]?.status, d.authorities[0]?.code]),
      [
        ['denied', 'denied', 'GPG_KEY_UNKNOWN'],
        ['denied', 'denied', 'SIMPLE_SIGNING_DIGEST_MISMATCH'],
        ['denied', 'denied', 'SIMPLE_SIGNING_IDENTITY_MISMATCH'],
      ],
      JSON.stringify(report, null, 2),
    );
  });

  it('evaluate: matchRepository accepts the moved tag; no signature is denied', async () => {
    const unsigned = `${registry.host}/gpg/unsigned:v1`;
    await push('gpg/unsigned');
    const moved = `${registry.host}/gpg/moved-too:v1`;
    await sign(
      'gpg/moved-too',
      await push('gpg/moved-too'),
      `${registry.host}/gpg/moved-too:v0`,
      trusted,
    );
    const { report } = await evaluate(moved, unsigned);
    assert.deepEqual(
      report.images.map((d) => [d.result, d.authorities[0]?.code ?? d.authorities[0]?.status]),
      [
        ['allowed', 'verified'],
        ['denied', 'GPG_SIGNATURE_MISSING'],
      ],
      JSON.stringify(report, null, 2),
    );
  });

  it('check: decides the images of a manifest', async () => {
    const manifest = join(tmp, 'pod.yaml');
    await writeFile(
      manifest,
      `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: a, image: "${image('gpg/app')}"}\n    - {name: b, image: "${image('gpg/other')}"}\n`,
    );
    const run = await vouch(
      'policy',
      'check',
      '--policy',
      policyFile,
      '--registries.d',
      registriesD,
      '-f',
      manifest,
    );
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /gpg\/app:v1.*allowed/);
    assert.match(run.stdout, /gpg\/other:v1.*DENIED.*GPG_KEY_UNKNOWN/);
  });

  it('refuses an invalid gpg authority with its path', async () => {
    const bad = join(tmp, 'policy', 'bad.yaml');
    await writeFile(
      bad,
      `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  release:
    gpg:
      keyPaths: [keys/missing.gpg]
      signedIdentity: { type: remapIdentity, prefix: a, signedPrefix: b }
rules:
  - name: gpg
    images: ["${registry.host}/gpg/**"]
    authorities: [release]
`,
    );
    const run = await vouch('policy', 'evaluate', '--policy', bad, image('gpg/app'));
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(
      run.stderr,
      /authorities\.release\.gpg\.signedIdentity\.type.*remapIdentity is not supported/,
    );
    // A keyring file without OpenPGP keys fails the load, not each check.
    await writeFile(join(tmp, 'policy', 'keys', 'not-a-keyring.gpg'), 'hello\n');
    const garbage = join(tmp, 'policy', 'garbage.yaml');
    await writeFile(
      garbage,
      `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  release:
    gpg:
      keyPaths: [keys/not-a-keyring.gpg]
rules:
  - name: gpg
    images: ["${registry.host}/gpg/**"]
    authorities: [release]
`,
    );
    const refused = await vouch('policy', 'evaluate', '--policy', garbage, image('gpg/app'));
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /authorities\.release\.gpg.*not-a-keyring\.gpg/);
  });

  it('admission: admits the signed image, refuses the one another key signed', async () => {
    const certs = join(tmp, 'certs');
    const cert = await runVouch(
      ['admission', 'cert', '--dns', 'localhost', '--dns', '127.0.0.1', '--out-dir', certs],
      { env },
    );
    assert.equal(cert.code, 0, cert.stderr);
    const ca = await readFile(join(certs, 'ca.crt'), 'utf8');
    const webhook = await startWebhook(
      [
        '--policy',
        policyFile,
        '--registries.d',
        registriesD,
        '--tls-cert',
        join(certs, 'tls.crt'),
        '--tls-key',
        join(certs, 'tls.key'),
      ],
      tmp,
    );
    try {
      const pod = (images: string[]) =>
        reviewOf({ group: '', version: 'v1', kind: 'Pod' }, { kind: 'Pod', spec: podSpec(images) });
      const allowed = await admit(webhook.port, ca, '/validate', pod([image('gpg/app')]));
      assert.equal(allowed.allowed, true, JSON.stringify(allowed));
      const refused = await admit(webhook.port, ca, '/validate', pod([image('gpg/other')]));
      assert.equal(refused.allowed, false);
      assert.match(refused.status?.message ?? '', /rule gpg/);
    } finally {
      await webhook.stop();
    }
  });
});
