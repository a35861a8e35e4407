/**
 * The ephemeral Sigstore of test/helpers/local-sigstore.ts, driven by the
 * Sigstore project's own clients: @sigstore/sign builds bundles against it
 * over HTTP from its signing config, and @sigstore/verify checks them
 * against its trusted root. Without faults both verify, timestamps
 * included; each fault makes exactly the check it targets fail.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type Bundle, bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { SigningConfig, TrustedRoot } from '@sigstore/protobuf-specs';
import { bundleBuilderFromSigningConfig, InternalError } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, VerificationError, Verifier } from '@sigstore/verify';
import {
  type FulcioFault,
  type LocalSigstore,
  type RekorFault,
  startLocalSigstore,
  type TsaFault,
} from './helpers/local-sigstore.ts';

const ISSUER = 'https://token.actions.githubusercontent.com';
const SUBJECT = 'https://github.com/vouch-test/app/.github/workflows/release.yml@refs/heads/main';
const ARTIFACT = Buffer.from('the image manifest, say');
const STATEMENT = Buffer.from(
  JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'app', digest: { sha256: 'a'.repeat(64) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {},
  }),
);
const IN_TOTO = 'application/vnd.in-toto+json';

/** An unsigned JWT: @sigstore/mock's Fulcio decodes the claims without checking a signature. */
function identityToken(): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: ISSUER, sub: SUBJECT, aud: 'sigstore', iat: now, exp: now + 600 })}.`;
}

type Kind = 'messageSignature' | 'dsseEnvelope';

/** Signs with @sigstore/sign configured only by the written signing config; one quick retry. */
async function build(local: LocalSigstore, kind: Kind): Promise<Bundle> {
  const config = SigningConfig.fromJSON(
    JSON.parse(await readFile(local.signingConfigPath, 'utf8')),
  );
  const builder = bundleBuilderFromSigningConfig({
    signingConfig: config,
    identityProvider: { getToken: () => Promise.resolve(identityToken()) },
    bundleType: kind,
    fetchOptions: { timeout: 10_000, retry: { retries: 1, minTimeout: 5, maxTimeout: 5 } },
  });
  const bundle =
    kind === 'messageSignature'
      ? await builder.create({ data: ARTIFACT })
      : await builder.create({ data: STATEMENT, type: IN_TOTO });
  // What a client would store and read back.
  return bundleFromJSON(JSON.parse(JSON.stringify(bundleToJSON(bundle))));
}

/** @sigstore/verify with `root`: one SCT, one log entry, and every timestamp there is (TSA and SET). */
function verify(bundle: Bundle, root: unknown, timestamps: number) {
  const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root)), {
    ctlogThreshold: 1,
    tlogThreshold: 1,
    timestampThreshold: timestamps,
  });
  const artifact = bundle.content.$case === 'messageSignature' ? ARTIFACT : undefined;
  return verifier.verify(toSignedEntity(bundle, artifact), {
    subjectAlternativeName: SUBJECT,
    extensions: { issuer: ISSUER },
  });
}

async function rootFile(local: LocalSigstore): Promise<unknown> {
  return JSON.parse(await readFile(local.trustedRootPath, 'utf8'));
}

function verificationFails(code: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof VerificationError, `not a VerificationError: ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  };
}

function buildFails(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof InternalError, `not an InternalError: ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, /\(503\) service unavailable/);
    return true;
  };
}

describe('local Sigstore over HTTP', () => {
  let local: LocalSigstore;
  before(async () => {
    local = await startLocalSigstore();
  });
  after(() => local.close());

  const reset = (): void => {
    local.faults = {};
    Object.assign(local.requests, { fulcio: 0, rekor: 0, tsa: 0 });
  };

  it('writes a signing config in protobuf-specs spelling, naming its own URLs', async () => {
    const written = JSON.parse(await readFile(local.signingConfigPath, 'utf8')) as unknown;
    assert.deepEqual(written, local.signingConfig);
    // Every field survives the round trip: none is misspelled or dropped.
    assert.deepEqual(SigningConfig.toJSON(SigningConfig.fromJSON(written)), written);
    const config = SigningConfig.fromJSON(written);
    assert.equal(config.mediaType, 'application/vnd.dev.sigstore.signingconfig.v0.2+json');
    assert.deepEqual(
      [config.caUrls, config.rekorTlogUrls, config.tsaUrls].map((s) => s.map((u) => u.url)),
      [[local.fulcioUrl], [local.rekorUrl], [local.tsaUrl]],
    );
    for (const url of [local.fulcioUrl, local.rekorUrl, local.tsaUrl ?? '']) {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\//);
    }
    const root = TrustedRoot.fromJSON(await rootFile(local));
    assert.deepEqual(
      [root.certificateAuthorities, root.ctlogs, root.tlogs, root.timestampAuthorities].map(
        (list) => list.length,
      ),
      [1, 1, 1, 1],
    );
    assert.equal(root.tlogs[0]?.baseUrl, local.rekorUrl);
  });

  for (const kind of ['messageSignature', 'dsseEnvelope'] as const) {
    it(`signs a ${kind} bundle that verifies with the written trusted root, TSA timestamp included`, async () => {
      reset();
      const bundle = await build(local, kind);
      assert.deepEqual(local.requests, { fulcio: 1, rekor: 1, tsa: 1 });
      const { tlogEntries, timestampVerificationData } = bundle.verificationMaterial;
      assert.equal(tlogEntries.length, 1);
      assert.equal(
        tlogEntries[0]?.kindVersion?.kind,
        kind === 'messageSignature' ? 'hashedrekord' : 'dsse',
      );
      assert.equal(timestampVerificationData?.rfc3161Timestamps.length, 1);

      const root = await rootFile(local);
      const signer = verify(bundle, root, 2);
      assert.equal(signer.identity?.subjectAlternativeName, SUBJECT);
      // The TSA timestamp counts only because the root names the TSA.
      assert.throws(
        () => verify(bundle, { ...(root as object), timestampAuthorities: [] }, 2),
        verificationFails('TIMESTAMP_ERROR', /timestamp could not be verified/),
      );
    });
  }

  // @sigstore/verify checks timestamps, then the certificate's chain, then
  // its SCTs, then the log entry's inclusion, then its body, and the
  // signature last: the error says how far a faulty answer got.
  const verificationFaults: ReadonlyArray<{
    readonly fault: { fulcio?: FulcioFault; rekor?: RekorFault; tsa?: TsaFault };
    readonly code: string;
    readonly message: Record<Kind, RegExp>;
  }> = [
    {
      fault: { fulcio: 'other-key' },
      code: 'SIGNATURE_ERROR',
      message: { messageSignature: /signature/, dsseEnvelope: /signature/ },
    },
    {
      fault: { fulcio: 'bad-sct' },
      code: 'CERTIFICATE_ERROR',
      message: { messageSignature: /SCT verification/, dsseEnvelope: /SCT verification/ },
    },
    {
      fault: { fulcio: 'unknown-ca' },
      code: 'CERTIFICATE_ERROR',
      message: { messageSignature: /certificate chain/, dsseEnvelope: /certificate chain/ },
    },
    {
      fault: { rekor: 'other-artifact' },
      code: 'TLOG_BODY_ERROR',
      message: { messageSignature: /digest mismatch/, dsseEnvelope: /payload hash mismatch/ },
    },
    {
      fault: { rekor: 'bad-set' },
      code: 'TLOG_INCLUSION_PROMISE_ERROR',
      message: { messageSignature: /inclusion promise/, dsseEnvelope: /inclusion promise/ },
    },
    {
      fault: { tsa: 'other-hash' },
      code: 'TIMESTAMP_ERROR',
      message: { messageSignature: /could not be verified/, dsseEnvelope: /could not be verified/ },
    },
  ];
  for (const { fault, code, message } of verificationFaults) {
    for (const kind of ['messageSignature', 'dsseEnvelope'] as const) {
      it(`${JSON.stringify(fault)}: a ${kind} bundle is built but fails verification (${code})`, async () => {
        reset();
        local.faults = fault;
        const bundle = await build(local, kind);
        assert.deepEqual(local.requests, { fulcio: 1, rekor: 1, tsa: 1 });
        const root = await rootFile(local);
        assert.throws(() => verify(bundle, root, 2), verificationFails(code, message[kind]));
      });
    }
  }

  const unavailable: ReadonlyArray<{
    readonly fault: { fulcio?: FulcioFault; rekor?: RekorFault; tsa?: TsaFault };
    readonly code: string;
    readonly requests: LocalSigstore['requests'];
  }> = [
    // One retry each; nothing is logged or timestamped without a certificate.
    {
      fault: { fulcio: 'unavailable' },
      code: 'CA_CREATE_SIGNING_CERTIFICATE_ERROR',
      requests: { fulcio: 2, rekor: 0, tsa: 0 },
    },
    // The witnesses run side by side: the TSA is still asked.
    {
      fault: { rekor: 'unavailable' },
      code: 'TLOG_CREATE_ENTRY_ERROR',
      requests: { fulcio: 1, rekor: 2, tsa: 1 },
    },
    {
      fault: { tsa: 'unavailable' },
      code: 'TSA_CREATE_TIMESTAMP_ERROR',
      requests: { fulcio: 1, rekor: 1, tsa: 2 },
    },
  ];
  for (const { fault, code, requests } of unavailable) {
    it(`${JSON.stringify(fault)}: building fails with the 503 (${code})`, async () => {
      reset();
      local.faults = fault;
      await assert.rejects(build(local, 'messageSignature'), buildFails(code));
      assert.deepEqual(local.requests, requests);
    });
  }

  it('answers 404 off its endpoints, 405 to other methods, 413 to oversized bodies', async () => {
    reset();
    const post = (path: string, body: string | Buffer = '{}') =>
      fetch(`${local.url}${path}`, { method: 'POST', body });
    assert.equal((await post('/api/v2/signingCert')).status, 404);
    assert.equal((await post('/rekor/api/v2/signingCert')).status, 404);
    assert.equal((await post('/fulcio/api/v1/log/entries')).status, 404);
    assert.deepEqual(local.requests, { fulcio: 0, rekor: 0, tsa: 0 });
    const get = await fetch(`${local.rekorUrl}/api/v1/log/entries`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const big = await post('/rekor/api/v1/log/entries', Buffer.alloc(5 * 1024 * 1024, 0x20));
    assert.equal(big.status, 413);
    // Also when no length is declared up front (chunked).
    let chunks = 6;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (chunks-- > 0) controller.enqueue(Buffer.alloc(1024 * 1024, 0x20));
        else controller.close();
      },
    });
    const chunked = await fetch(`${local.rekorUrl}/api/v1/log/entries`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    const bad = await post('/rekor/api/v1/log/entries', JSON.stringify({ kind: 'intoto' }));
    assert.equal(bad.status, 400);
    assert.deepEqual(local.requests, { fulcio: 0, rekor: 4, tsa: 0 });
  });
});

describe('local Sigstore without a TSA', () => {
  it('names no TSA and signs bundles that verify by their SET alone', async () => {
    const local = await startLocalSigstore({ tsa: false });
    try {
      assert.equal(local.tsaUrl, undefined);
      assert.equal('tsaUrls' in local.signingConfig, false);
      assert.equal('tsaConfig' in local.signingConfig, false);
      assert.deepEqual(
        (local.trustedRoot as { timestampAuthorities: unknown[] }).timestampAuthorities,
        [],
      );
      const bundle = await build(local, 'dsseEnvelope');
      assert.deepEqual(local.requests, { fulcio: 1, rekor: 1, tsa: 0 });
      assert.equal(
        bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length,
        0,
      );
      verify(bundle, await rootFile(local), 1);
      assert.equal(
        (await fetch(`${local.url}/tsa/api/v1/timestamp`, { method: 'POST' })).status,
        404,
      );
    } finally {
      await local.close();
    }
  });
});

describe('local Sigstore close()', () => {
  it('frees its port and removes its files', async () => {
    const local = await startLocalSigstore();
    await build(local, 'messageSignature'); // leaves a kept-alive connection behind
    const port = Number(new URL(local.url).port);
    await local.close();
    await assert.rejects(fetch(`${local.url}/fulcio/api/v2/signingCert`, { method: 'POST' }));
    await assert.rejects(readFile(local.trustedRootPath));
    // The port can be bound again.
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await local.close(); // idempotent
  });
});
