/**
 * Keyless signing end to end against an ephemeral Sigstore on 127.0.0.1
 * (Fulcio, Rekor v1 and a TSA from @sigstore/mock's handlers over HTTP,
 * test/helpers/local-sigstore.ts) and a real Distribution registry:
 *
 * - images signed in both storage forms verify with `vouch verify` and,
 *   independently, with @sigstore/verify over the bytes the registry holds;
 * - every way a service can lie is refused before anything is stored, and
 *   the services after the one that lied are never asked;
 * - a registry refusing the write after Rekor logged says the entry exists
 *   and the image is unsigned.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { hasCode, isVouchError } from '../src/core/errors.ts';
import { readSignatureManifest, signatureTag } from '../src/formats/cosign-signature.ts';
import { decodePemBlocks } from '../src/keys/pem.ts';
import type { Digest } from '../src/oci/digest.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import type { ImageStore } from '../src/registry/store.ts';
import { attestImages } from '../src/sign/attest.ts';
import { signImagesAsBundles } from '../src/sign/attest-bundle.ts';
import { type KeylessSigning, startKeylessSigning } from '../src/sign/keyless-signing.ts';
import { signImages } from '../src/sign/sign.ts';
import { keylessTrustOf } from '../src/sigstore/keyless-trust.ts';
import { verifyBundle } from '../src/sigstore/keyless.ts';
import { parseTrustedRoot } from '../src/sigstore/trusted-root.ts';
import { NO_DOCKER_CONFIG, runVouch } from './helpers/cli.ts';
import { buildImage } from './helpers/images.ts';
import { type LocalSigstore, startLocalSigstore } from './helpers/local-sigstore.ts';
import {
  GITHUB_ACTIONS_ISSUER,
  type GithubActionsTokenService,
  githubActionsClaims,
  startGithubActionsTokenService,
  startOidcIssuer,
  type TestOidcIssuer,
} from './helpers/oidc-issuer.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';
import { startTokenIssuer, type TokenIssuer } from './helpers/token-issuer.ts';

const ISSUER = 'https://token.actions.githubusercontent.com';
const SUBJECT = 'https://github.com/vouch-test/app/.github/workflows/release.yml@refs/heads/main';

/** An unsigned JWT: @sigstore/mock's Fulcio decodes the claims without checking a signature. */
function identityToken(): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: ISSUER, sub: SUBJECT, aud: 'sigstore', iat: now, exp: now + 600 })}.`;
}

describe('keyless signing against a local Sigstore and a real registry', () => {
  let sigstore: LocalSigstore;
  let registry: RunningRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let root: ReturnType<typeof parseTrustedRoot>;

  const start = (overrides: { tsa?: boolean } = {}): Promise<KeylessSigning> =>
    startKeylessSigning({
      identityToken: identityToken(),
      services: {
        fulcioUrl: sigstore.fulcioUrl,
        rekorUrl: sigstore.rekorUrl,
        ...(overrides.tsa === false ? {} : { tsaUrl: sigstore.tsaUrl }),
      },
      trust: keylessTrustOf(root),
      retries: 0,
    });

  const newImage = async (name: string): Promise<{ store: ImageStore; digest: Digest }> => {
    const store = client.repository(`keyless/${name}`);
    const image = await buildImage(store, { tag: 'v1' });
    return { store, digest: image.descriptor.digest };
  };

  const sigTagExists = async (store: ImageStore, digest: Digest): Promise<boolean> => {
    try {
      await store.getManifest({ tag: signatureTag(digest) });
      return true;
    } catch (error) {
      if (isVouchError(error)) return false;
      throw error;
    }
  };

  before(async () => {
    [sigstore, registry] = await Promise.all([startLocalSigstore(), startRegistry()]);
    root = parseTrustedRoot(await readFile(sigstore.trustedRootPath));
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });
  });
  after(async () => {
    await http?.close();
    await Promise.all([sigstore?.close(), registry?.stop()]);
  });

  it('signs several images with one certificate, stored as cosign does, and vouch verify accepts them', async () => {
    const images = await Promise.all(['a', 'b', 'c'].map((name) => newImage(name)));
    const fulcioBefore = sigstore.requests.fulcio;
    const keyless = await start();
    assert.equal(keyless.certificate.claims.subject, SUBJECT);
    assert.equal(keyless.certificate.claims.issuer, ISSUER);
    const results = await signImages(
      images.map(({ store, digest }) => ({
        store,
        target: { digest },
        dockerReference: store.location,
      })),
      { signer: keyless.signer, keyless },
    );
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, true, true],
    );
    assert.equal(sigstore.requests.fulcio - fulcioBefore, 1, 'one certificate for the run');

    for (const { store, digest } of images) {
      const manifest = await store.getManifest({ tag: signatureTag(digest) });
      const { candidates } = readSignatureManifest(manifest);
      assert.equal(candidates.length, 1);
      const annotations = candidates[0]?.layer.annotations ?? {};
      for (const key of [
        'dev.cosignproject.cosign/signature',
        'dev.sigstore.cosign/certificate',
        'dev.sigstore.cosign/chain',
        'dev.sigstore.cosign/bundle',
        'dev.sigstore.cosign/rfc3161timestamp',
      ]) {
        assert.ok(annotations[key], `${key} is set`);
      }
      const run = await runVouch([
        'verify',
        '--certificate-identity',
        SUBJECT,
        '--certificate-oidc-issuer',
        ISSUER,
        '--trusted-root',
        sigstore.trustedRootPath,
        `${store.location}@${digest}`,
      ]);
      assert.equal(run.code, 0, run.stderr + run.stdout);

      // Independently: @sigstore/verify over the stored layer, as a v0.1 bundle built here.
      const layer = candidates[0]?.layer;
      assert.ok(layer);
      const payload = await store.readBlob(layer, layer.size);
      const rekor = JSON.parse(annotations['dev.sigstore.cosign/bundle'] as string);
      const body = JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString());
      const [leaf] = decodePemBlocks(annotations['dev.sigstore.cosign/certificate'] as string);
      const tsa = JSON.parse(annotations['dev.sigstore.cosign/rfc3161timestamp'] as string);
      const bundle = bundleFromJSON({
        mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
        verificationMaterial: {
          x509CertificateChain: {
            certificates: [{ rawBytes: Buffer.from(leaf?.bytes ?? []).toString('base64') }],
          },
          tlogEntries: [
            {
              logIndex: String(rekor.Payload.logIndex),
              logId: { keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64') },
              kindVersion: { kind: body.kind, version: body.apiVersion },
              integratedTime: String(rekor.Payload.integratedTime),
              inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
              canonicalizedBody: rekor.Payload.body,
            },
          ],
          timestampVerificationData: {
            rfc3161Timestamps: [{ signedTimestamp: tsa.SignedRFC3161Timestamp }],
          },
        },
        messageSignature: {
          messageDigest: {
            algorithm: 'SHA2_256',
            digest: Buffer.from(digestHexOf(layer.digest), 'hex').toString('base64'),
          },
          signature: annotations['dev.cosignproject.cosign/signature'],
        },
      });
      const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot)), {
        tlogThreshold: 1,
        ctlogThreshold: 1,
        timestampThreshold: 2,
      });
      const signer = verifier.verify(toSignedEntity(bundle, Buffer.from(payload)));
      assert.equal(signer.identity?.subjectAlternativeName, SUBJECT);
    }
  });

  it('signs as a Sigstore bundle referrer that @sigstore/verify accepts as stored', async () => {
    const { store, digest } = await newImage('bundle');
    const keyless = await start();
    const [result] = await signImagesAsBundles([{ store, target: { digest } }], {
      signer: keyless.signer,
      keyless,
    });
    assert.ok(result?.ok, result?.ok === false ? result.error.message : '');
    const referrer = result.attestation;
    const manifest = await store.getManifest({ digest: referrer.referrer });
    const layer = JSON.parse(Buffer.from(manifest.bytes).toString()).layers[0];
    const bytes = await store.readBlob(layer, layer.size);
    const bundle = bundleFromJSON(JSON.parse(Buffer.from(bytes).toString()));
    assert.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot)), {
      tlogThreshold: 1,
      ctlogThreshold: 1,
      timestampThreshold: 2,
    });
    const signer = verifier.verify(toSignedEntity(bundle));
    assert.equal(signer.identity?.subjectAlternativeName, SUBJECT);

    const run = await runVouch([
      'verify',
      '--certificate-identity',
      SUBJECT,
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      sigstore.trustedRootPath,
      `${store.location}@${digest}`,
    ]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
  });

  it('signs a bundle timestamped but not logged (--tlog-upload=false); refuses a classic layer so', async () => {
    const rekorBefore = sigstore.requests.rekor;
    const keyless = await startKeylessSigning({
      identityToken: identityToken(),
      services: { fulcioUrl: sigstore.fulcioUrl, tsaUrl: sigstore.tsaUrl },
      trust: keylessTrustOf(root),
      retries: 0,
    });
    const signed = await keyless.signMessageBundle(new TextEncoder().encode('a blob'));
    assert.equal(sigstore.requests.rekor, rekorBefore, 'nothing logged');
    const bundle = JSON.parse(new TextDecoder().decode(signed.bundle));
    assert.deepEqual(bundle.verificationMaterial.tlogEntries ?? [], []);
    assert.equal(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
    // By default an unlogged keyless signature does not count.
    const strict = verifyBundle(
      bundleFromJSON(bundle),
      new TextEncoder().encode('a blob'),
      keylessTrustOf(root),
      { subject: { exact: SUBJECT }, issuer: { exact: ISSUER } },
    );
    assert.equal(strict.ok === false && strict.code, 'TLOG_MISSING');
    await assert.rejects(keyless.signPayload(new TextEncoder().encode('{}')), (error) =>
      hasCode(error, 'INVALID_OPTION'),
    );
  });

  it('attests as a classic .att layer logged as dsse, which vouch verify-attestation accepts', async () => {
    const { store, digest } = await newImage('attest');
    const keyless = await start();
    const [result] = await attestImages(
      [{ store, target: { digest }, subjectName: store.location }],
      {
        signer: keyless.signer,
        keyless,
        predicateType: 'https://slsa.dev/provenance/v1',
        predicate: { builder: { id: 'test' } },
      },
    );
    assert.ok(result?.ok, result?.ok === false ? result.error.message : '');
    const run = await runVouch([
      'verify-attestation',
      '--certificate-identity',
      SUBJECT,
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      sigstore.trustedRootPath,
      '--type',
      'https://slsa.dev/provenance/v1',
      `${store.location}@${digest}`,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout)[0].predicate.builder.id, 'test');
  });

  it('refuses a token with no certifiable subject without quoting it, before Fulcio is asked', async () => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const token = `${part({ alg: 'none' })}.${part({ iss: ISSUER, email: 'a@example.com', email_verified: false, aud: 'sigstore', exp: now + 600 })}.`;
    const fulcioBefore = sigstore.requests.fulcio;
    await assert.rejects(
      startKeylessSigning({
        identityToken: token,
        services: { fulcioUrl: sigstore.fulcioUrl, rekorUrl: sigstore.rekorUrl },
        trust: keylessTrustOf(root),
        retries: 0,
      }),
      (error) =>
        hasCode(error, 'IDENTITY_TOKEN_INVALID') &&
        !(error as Error).message.includes(token.split('.')[1] as string),
    );
    assert.equal(sigstore.requests.fulcio, fulcioBefore);
  });

  for (const [fault, code] of [
    ['other-key', 'SIGNING_CERTIFICATE_INVALID'],
    ['bad-sct', 'SIGNING_CERTIFICATE_SCT_INVALID'],
    ['unknown-ca', 'SIGNING_CERTIFICATE_UNTRUSTED'],
    ['unavailable', 'FULCIO_UNAVAILABLE'],
  ] as const) {
    it(`refuses Fulcio's ${fault} answer before Rekor is asked (${code})`, async () => {
      const before = { ...sigstore.requests };
      sigstore.faults.fulcio = fault;
      try {
        await assert.rejects(start(), (error) => hasCode(error, code));
      } finally {
        delete sigstore.faults.fulcio;
      }
      assert.equal(sigstore.requests.fulcio - before.fulcio, 1);
      assert.equal(sigstore.requests.rekor, before.rekor, 'Rekor is never asked');
      assert.equal(sigstore.requests.tsa, before.tsa, 'the TSA is never asked');
    });
  }

  for (const [service, fault, code] of [
    ['rekor', 'other-artifact', 'TLOG_ENTRY_INVALID'],
    ['rekor', 'bad-set', 'TLOG_ENTRY_INVALID'],
    ['rekor', 'unavailable', 'REKOR_UNAVAILABLE'],
    ['tsa', 'other-hash', 'TIMESTAMP_INVALID'],
    ['tsa', 'unavailable', 'TSA_UNAVAILABLE'],
  ] as const) {
    it(`stores nothing when ${service} answers ${fault} (${code})`, async () => {
      const { store, digest } = await newImage(`${service}-${fault}`);
      const keyless = await start();
      if (service === 'rekor') sigstore.faults.rekor = fault;
      else sigstore.faults.tsa = fault;
      let results;
      try {
        results = await signImages(
          [{ store, target: { digest }, dockerReference: store.location }],
          { signer: keyless.signer, keyless },
        );
      } finally {
        delete sigstore.faults.rekor;
        delete sigstore.faults.tsa;
      }
      const [result] = results;
      assert.equal(result?.ok, false);
      assert.ok(result?.ok === false && hasCode(result.error, code), String(result));
      assert.equal(await sigTagExists(store, digest), false, 'no signature manifest was written');
    });
  }

  it('says the entry was logged and the image is unsigned when the registry refuses the write', async () => {
    const issuer: TokenIssuer = await startTokenIssuer({
      users: { alice: 'pa55word' },
      anonymous: 'pull',
    });
    const locked = await startRegistry({ auth: { kind: 'token', issuer } });
    const lockedHttp = new HttpClient({ retries: 0 });
    try {
      const writer = new RegistryClient(locked.host, {
        http: lockedHttp,
        credentials: async () => ({ username: 'alice', password: 'pa55word' }),
      });
      const image = await buildImage(writer.repository('keyless/locked'), { tag: 'v1' });
      const reader = new RegistryClient(locked.host, { http: lockedHttp });
      const store = reader.repository('keyless/locked');
      const rekorBefore = sigstore.requests.rekor;
      const keyless = await start({ tsa: false });
      const [result] = await signImages(
        [{ store, target: { digest: image.descriptor.digest }, dockerReference: store.location }],
        { signer: keyless.signer, keyless, maxAttempts: 1 },
      );
      assert.equal(result?.ok, false);
      assert.equal(sigstore.requests.rekor - rekorBefore, 1, 'the signature was logged');
      const message = result?.ok === false ? result.error.message : '';
      assert.match(message, /logged \(http:\/\/127\.0\.0\.1:\d+\/rekor index \d+\)/);
      assert.match(message, /the image is unsigned/);
      assert.equal(await sigTagExists(store, image.descriptor.digest), false);
    } finally {
      await lockedHttp.close();
      await Promise.all([locked.stop(), issuer.stop()]);
    }
  });
});

function digestHexOf(digest: string): string {
  return digest.slice('sha256:'.length);
}

describe('vouch sign and attest without --key', () => {
  let sigstore: LocalSigstore;
  let registry: RunningRegistry;
  let oidc: TestOidcIssuer;
  let actions: GithubActionsTokenService;
  let http: HttpClient;
  let client: RegistryClient;
  const env = { DOCKER_CONFIG: NO_DOCKER_CONFIG };

  const serviceFlags = () => [
    '--fulcio-url',
    sigstore.fulcioUrl,
    '--rekor-url',
    sigstore.rekorUrl,
    '--timestamp-server-url',
    sigstore.tsaUrl ?? '',
    '--trusted-root',
    sigstore.trustedRootPath,
  ];
  const verifyFlags = (subject: string, issuer: string) => [
    '--certificate-identity',
    subject,
    '--certificate-oidc-issuer',
    issuer,
    '--trusted-root',
    sigstore.trustedRootPath,
  ];
  const newImage = async (name: string): Promise<string> => {
    const store = client.repository(`cli-keyless/${name}`);
    await buildImage(store, { tag: 'v1' });
    return `${registry.host}/cli-keyless/${name}:v1`;
  };

  before(async () => {
    [sigstore, registry, oidc] = await Promise.all([
      startLocalSigstore(),
      startRegistry(),
      startOidcIssuer({ clientId: 'sigstore' }),
    ]);
    actions = await startGithubActionsTokenService({
      mint: (audience) => oidc.mintToken(githubActionsClaims(audience)),
    });
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });
  });
  after(async () => {
    await http?.close();
    await Promise.all([sigstore?.close(), registry?.stop(), oidc?.stop(), actions?.stop()]);
  });

  it('signs with --identity-token @FILE, says who it signed as, never prints the token', async () => {
    const image = await newImage('flag');
    // @sigstore/mock's Fulcio certifies `sub` (real Fulcio, an email issuer's `email`).
    const token = oidc.mintToken({
      sub: 'dev@example.com',
      email: 'dev@example.com',
      email_verified: true,
    });
    const dir = await mkdtemp(join(tmpdir(), 'vouch-token-'));
    try {
      await writeFile(join(dir, 'token'), token);
      const run = await runVouch(
        [
          'sign',
          '--identity-token',
          `@${join(dir, 'token')}`,
          ...serviceFlags(),
          '-o',
          'json',
          image,
        ],
        { env },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(`signed as dev@example\\.com \\(issuer ${oidc.url.replace(/[.]/g, '\\.')}\\)`),
      );
      for (const part of token.split('.')) {
        assert.ok(
          !run.stderr.includes(part) && !run.stdout.includes(part),
          'the token is never printed',
        );
      }
      const verified = await runVouch(
        ['verify', ...verifyFlags('dev@example.com', oidc.url), image],
        {
          env,
        },
      );
      assert.equal(verified.code, 0, verified.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("signs in a GitHub Actions job with the runner's ambient token (audience sigstore)", async () => {
    const image = await newImage('actions');
    const run = await runVouch(
      [
        'sign',
        '--signing-config',
        sigstore.signingConfigPath,
        '--trusted-root',
        sigstore.trustedRootPath,
        image,
      ],
      {
        env: {
          ...env,
          ACTIONS_ID_TOKEN_REQUEST_URL: actions.requestUrl,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: actions.requestToken,
        },
      },
    );
    assert.equal(run.code, 0, run.stderr);
    const [request] = actions.requests;
    assert.deepEqual(request?.audiences, ['sigstore']);
    assert.equal(request?.authorization, `bearer ${actions.requestToken}`);
    assert.ok(!run.stderr.includes(actions.requestToken));
    const subject = String(githubActionsClaims('sigstore').sub);
    assert.match(run.stderr, /signed as repo:octo\/app:ref:refs\/heads\/main/);
    const verified = await runVouch(
      ['verify', ...verifyFlags(subject, GITHUB_ACTIONS_ISSUER), image],
      {
        env,
      },
    );
    assert.equal(verified.code, 0, verified.stderr);
  });

  it('attests keylessly from $SIGSTORE_ID_TOKEN, as a bundle referrer with --bundle-format', async () => {
    const image = await newImage('attest');
    const dir = await mkdtemp(join(tmpdir(), 'vouch-predicate-'));
    try {
      const predicate = join(dir, 'provenance.json');
      await writeFile(predicate, JSON.stringify({ buildDefinition: { buildType: 'test' } }));
      const token = oidc.mintToken({
        sub: 'ci@example.com',
        email: 'ci@example.com',
        email_verified: true,
      });
      for (const form of [[], ['--bundle-format']]) {
        const run = await runVouch(
          [
            'attest',
            ...form,
            '--type',
            'slsaprovenance1',
            '--predicate',
            predicate,
            ...serviceFlags(),
            image,
          ],
          { env: { ...env, SIGSTORE_ID_TOKEN: token } },
        );
        assert.equal(run.code, 0, run.stderr);
      }
      const verified = await runVouch(
        [
          'verify-attestation',
          ...verifyFlags('ci@example.com', oidc.url),
          '--type',
          'slsaprovenance1',
          '-o',
          'json',
          image,
        ],
        { env },
      );
      assert.equal(verified.code, 0, verified.stderr);
      const sources = JSON.parse(verified.stdout).images[0].verified.map(
        (a: { source: { form: string } }) => a.source.form,
      );
      assert.deepEqual([...new Set(sources)].sort(), ['att', 'bundle']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sign-blob --tlog-upload=false: timestamped, not logged; verify-blob accepts it only with --insecure-ignore-tlog', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vouch-unlogged-'));
    try {
      const file = join(dir, 'app.tar.gz');
      const bundle = join(dir, 'app.sigstore.json');
      await writeFile(file, 'an artifact');
      const token = oidc.mintToken({
        sub: 'dev@example.com',
        email: 'dev@example.com',
        email_verified: true,
      });
      const rekorBefore = sigstore.requests.rekor;
      const signed = await runVouch(
        [
          'sign-blob',
          '--identity-token',
          token,
          '--fulcio-url',
          sigstore.fulcioUrl,
          '--timestamp-server-url',
          sigstore.tsaUrl ?? '',
          '--tlog-upload=false',
          '--trusted-root',
          sigstore.trustedRootPath,
          '--bundle',
          bundle,
          file,
        ],
        { env },
      );
      assert.equal(signed.code, 0, signed.stderr);
      assert.equal(sigstore.requests.rekor, rekorBefore, 'nothing was logged');
      const verify = (...extra: string[]) =>
        runVouch(
          [
            'verify-blob',
            ...verifyFlags('dev@example.com', oidc.url),
            ...extra,
            '--bundle',
            bundle,
            '-o',
            'json',
            file,
          ],
          { env },
        );
      const strict = await verify();
      assert.equal(strict.code, 1, strict.stderr);
      assert.equal(JSON.parse(strict.stdout).error.code, 'TLOG_MISSING');
      const relaxed = await verify('--insecure-ignore-tlog');
      assert.equal(relaxed.code, 0, relaxed.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  for (const [name, claims, code] of [
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 3600 }, 'IDENTITY_TOKEN_EXPIRED'],
    ['a token for another audience', { aud: 'someone-else' }, 'IDENTITY_TOKEN_AUDIENCE'],
  ] as const) {
    it(`refuses ${name} before Fulcio is asked, with exit 2`, async () => {
      const image = await newImage(code.toLowerCase().replaceAll('_', '-'));
      const before = sigstore.requests.fulcio;
      const run = await runVouch(
        [
          'sign',
          '--identity-token',
          oidc.mintToken(claims),
          ...serviceFlags(),
          '-o',
          'json',
          image,
        ],
        { env },
      );
      assert.equal(run.code, 2, run.stderr);
      assert.equal(JSON.parse(run.stdout).error.code, code);
      assert.equal(sigstore.requests.fulcio, before, 'Fulcio is never asked');
    });
  }
});
