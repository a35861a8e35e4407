/**
 * evaluate.ts without I/O: signatures made here (a throwaway PKI by the
 * openssl CLI, test/helpers/notation-pki.ts), evidence built by hand, and
 * each of notation's checks under each action — enforced, logged, skipped —
 * with the revocation answers planned, given, missing or bad.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { EXT, type Issued, TestPki } from '../../test/helpers/notation-pki.ts';
import { invalid } from '../core/errors.ts';
import { buildJws } from '../formats/notation/jws.ts';
import type { ChainRevocation } from '../formats/notation/revocation-result.ts';
import { type NotationKeySignRequest, notationKeySigner } from '../formats/notation/signature.ts';
import {
  buildNotationSignatureManifest,
  parseNotationSignatureManifest,
} from '../formats/notation/signature-manifest.ts';
import { verifyTimestamp } from '../formats/notation/timestamp.ts';
import { parseTrustPolicy } from '../formats/notation/trust-policy.ts';
import { parseCertificate } from '../formats/notation/x509.ts';
import type { Digest } from '../oci/digest.ts';
import { OCI_MANIFEST } from '../oci/media-types.ts';
import {
  evaluateNotation,
  type NotationTrust,
  type NotationVerdict,
  planNotationRevocation,
  type TrustStoreContents,
  verifiesTimestamps,
} from './evaluate.ts';
import type { NotationEvidence, NotationSignatureEvidence } from './evidence.ts';

const IMAGE = {
  mediaType: OCI_MANIFEST,
  digest: 'sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9' as Digest,
  size: 517,
};
const HOUR = 3600_000;
const NOW = new Date();

interface Statement {
  level?: string;
  override?: Record<string, string>;
  verifyTimestamp?: string;
  trustStores?: string[];
  trustedIdentities?: string[];
}

function trustOf(statement: Statement, stores: Record<string, TrustStoreContents>): NotationTrust {
  const document = parseTrustPolicy(
    new TextEncoder().encode(
      JSON.stringify({
        version: '1.0',
        trustPolicies: [
          {
            name: 'test',
            registryScopes: ['*'],
            signatureVerification: {
              level: statement.level ?? 'strict',
              ...(statement.override === undefined ? {} : { override: statement.override }),
              ...(statement.verifyTimestamp === undefined
                ? {}
                : { verifyTimestamp: statement.verifyTimestamp }),
            },
            trustStores: statement.trustStores ?? ['ca:test'],
            trustedIdentities: statement.trustedIdentities ?? ['*'],
          },
        ],
      }),
    ),
  );
  return {
    statement: document.trustPolicies[0] as NotationTrust['statement'],
    trustStores: new Map(Object.entries(stores)),
  };
}

const holding = (...issued: Issued[]): TrustStoreContents => ({
  ok: true,
  certificates: issued.map((cert) => parseCertificate(cert.der)),
});

function evidenceOf(
  signatures: readonly { envelope: Uint8Array }[],
  extra: Partial<NotationEvidence> = {},
): NotationEvidence {
  return {
    image: { reference: 'registry.test/app:1', descriptor: IMAGE },
    referrersLocation: 'registry.test/app@sha256:b847 (referrers)',
    signatures: signatures.map(({ envelope }, index): NotationSignatureEvidence => {
      const parts = buildNotationSignatureManifest({
        subject: IMAGE,
        envelope,
        envelopeMediaType: 'application/jose+json',
      });
      return { index, manifest: parseNotationSignatureManifest(parts.manifest), envelope };
    }),
    rejected: [],
    untrusted: [],
    notExamined: 0,
    ...extra,
  };
}

const OK: ChainRevocation = { result: 'ok', certificates: [] };
/** What verify.ts gives the evaluation for a statement with a tsa store. */
const TIMESTAMPS = { verifyTimestamp };

/** Every planned revocation answered `answer` (null: none answered), then the verdict. */
function decide(
  evidence: NotationEvidence,
  trust: NotationTrust,
  answer: ChainRevocation | null = OK,
  now = NOW,
): NotationVerdict {
  const answers = new Map(
    answer === null
      ? []
      : planNotationRevocation(evidence, trust, now, TIMESTAMPS).map((request) => [
          request.key,
          answer,
        ]),
  );
  return evaluateNotation(evidence, trust, answers, now, TIMESTAMPS);
}

const outcomes = (verdict: NotationVerdict, index = 0) =>
  Object.fromEntries(
    (verdict.results[index]?.checks ?? []).map((check) => [check.check, check.outcome]),
  );

describe('evaluateNotation', () => {
  let pki: TestPki;
  let root: Issued;
  let leaf: Issued;
  let otherRoot: Issued;
  let expiredLeaf: Issued;
  let tsaRoot: Issued;
  let tsa: Issued;

  async function sign(
    signer: Issued,
    chain: readonly Issued[],
    overrides: Partial<NotationKeySignRequest> = {},
  ): Promise<{ envelope: Uint8Array }> {
    const key = createPrivateKey(await readFile(signer.keyFile));
    const envelope = await buildJws({
      targetArtifact: IMAGE,
      certificateChain: chain.map((cert) => cert.der),
      signingTime: new Date(),
      signer: notationKeySigner(key),
      ...overrides,
    });
    return { envelope };
  }

  /** A JWS with this protected header (beside alg, cty), hand-made: buildJws writes notary.x509 only. */
  async function handMadeJws(
    signer: Issued,
    chain: readonly Issued[],
    protectedHeader: Record<string, unknown>,
  ): Promise<Uint8Array> {
    const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
    const header = b64url(
      JSON.stringify({
        alg: 'ES256',
        cty: 'application/vnd.cncf.notary.payload.v1+json',
        ...protectedHeader,
      }),
    );
    const payload = b64url(JSON.stringify({ targetArtifact: IMAGE }));
    const key = createPrivateKey(await readFile(signer.keyFile));
    const signature = await notationKeySigner(key)(
      new TextEncoder().encode(`${header}.${payload}`),
    );
    return new TextEncoder().encode(
      JSON.stringify({
        payload,
        protected: header,
        header: { x5c: chain.map((cert) => Buffer.from(cert.der).toString('base64')) },
        signature: b64url(signature),
      }),
    );
  }

  const seconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

  /** A JWS whose protected header has a critical `io.cncf.notary.verificationPlugin`. */
  const pluginJws = (signer: Issued, chain: readonly Issued[]) =>
    handMadeJws(signer, chain, {
      crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.verificationPlugin'],
      'io.cncf.notary.signingScheme': 'notary.x509',
      'io.cncf.notary.signingTime': seconds(new Date()),
      'io.cncf.notary.verificationPlugin': 'com.example.plugin',
    });

  /** A `notary.x509.signingAuthority` JWS, authentically signed at `time`. */
  const signingAuthorityJws = (signer: Issued, chain: readonly Issued[], time: Date) =>
    handMadeJws(signer, chain, {
      crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.authenticSigningTime'],
      'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority',
      'io.cncf.notary.authenticSigningTime': seconds(time),
    });

  before(async () => {
    pki = await TestPki.create();
    root = await pki.certificate('root', {
      subject: '/C=US/ST=WA/O=Acme/CN=Root',
      extensions: EXT.root,
      notBefore: new Date(NOW.getTime() - 100 * HOUR),
    });
    leaf = await pki.certificate('leaf', {
      subject: '/C=US/ST=WA/L=Seattle/O=Acme/CN=Signer',
      issuer: root,
      extensions: EXT.codeSigning,
    });
    otherRoot = await pki.certificate('other', {
      subject: '/C=US/ST=WA/O=Other/CN=Other Root',
      extensions: EXT.root,
    });
    expiredLeaf = await pki.certificate('expired', {
      subject: '/C=US/ST=WA/O=Acme/CN=Expired',
      issuer: root,
      extensions: EXT.codeSigning,
      notBefore: new Date(NOW.getTime() - 48 * HOUR),
      notAfter: new Date(NOW.getTime() - 10 * HOUR),
    });
    tsaRoot = await pki.certificate('tsa-root', {
      subject: '/C=US/O=TSA/CN=TSA Root',
      extensions: EXT.root,
    });
    tsa = await pki.certificate('tsa', {
      subject: '/C=US/O=TSA/CN=TSA',
      issuer: tsaRoot,
      extensions: EXT.timestamping,
      notBefore: new Date(NOW.getTime() - 72 * HOUR),
    });
  });

  after(async () => {
    await pki?.cleanup();
  });

  it('strict: a signature chaining to a ca store verifies, every check passed', async () => {
    const evidence = evidenceOf([await sign(leaf, [leaf, root])]);
    const trust = trustOf({}, { 'ca:test': holding(root) });
    const plan = planNotationRevocation(evidence, trust, NOW);
    assert.deepEqual(
      plan.map((request) => [request.purpose, request.chain.length]),
      [['codeSigning', 2]],
    );
    const verdict = decide(evidence, trust);
    assert.equal(verdict.error, undefined);
    assert.equal(verdict.verified?.index, 0);
    assert.deepEqual(outcomes(verdict), {
      integrity: 'passed',
      authenticity: 'passed',
      expiry: 'passed',
      authenticTimestamp: 'passed',
      revocation: 'passed',
    });
    assert.equal(verdict.verified?.signer?.subject, 'CN=Signer,O=Acme,L=Seattle,ST=WA,C=US');
    assert.equal(verdict.verified?.signer?.trustAnchor, 'CN=Root,O=Acme,ST=WA,C=US');
  });

  it('revocation: revoked is denied, unknown is unavailable, and permissive only logs them', async () => {
    const evidence = evidenceOf([await sign(leaf, [leaf, root])]);
    const strict = trustOf({}, { 'ca:test': holding(root) });
    const revoked = decide(evidence, strict, {
      result: 'revoked',
      certificates: [],
      problem: {
        index: 0,
        subject: 'CN=Signer',
        message: 'revoked according to OCSP http://ocsp.test',
      },
    });
    assert.equal(revoked.results[0]?.failure?.code, 'NOTATION_REVOKED');
    assert.equal(revoked.error?.code, 'NOTATION_NO_VALID_SIGNATURE');
    assert.equal(revoked.error?.category, 'denied');
    // No answer at all: the status could not be checked.
    const unknown = decide(evidence, strict, null);
    assert.equal(unknown.results[0]?.failure?.code, 'NOTATION_REVOCATION_UNAVAILABLE');
    assert.equal(unknown.error?.code, 'NOTATION_REVOCATION_UNAVAILABLE');
    assert.equal(unknown.error?.category, 'unavailable');
    const permissive = decide(
      evidence,
      trustOf({ level: 'permissive' }, { 'ca:test': holding(root) }),
      null,
    );
    assert.equal(permissive.error, undefined);
    assert.deepEqual(
      permissive.verified?.warnings.map((w) => w.code),
      ['NOTATION_REVOCATION_UNAVAILABLE'],
    );
  });

  it('revocation overridden to skip: nothing is planned, the check is skipped', async () => {
    const evidence = evidenceOf([await sign(leaf, [leaf, root])]);
    const trust = trustOf({ override: { revocation: 'skip' } }, { 'ca:test': holding(root) });
    assert.deepEqual(planNotationRevocation(evidence, trust, NOW), []);
    const verdict = evaluateNotation(evidence, trust, new Map(), NOW);
    assert.equal(verdict.error, undefined);
    assert.equal(outcomes(verdict).revocation, 'skipped');
  });

  it('an untrusted signer: strict stops at authenticity, audit logs it and goes on', async () => {
    const evidence = evidenceOf([
      await sign(leaf, [leaf, root], { expiry: new Date(Date.now() + 1000) }),
    ]);
    const later = new Date(Date.now() + 10_000);
    const strict = decide(evidence, trustOf({}, { 'ca:test': holding(otherRoot) }), OK, later);
    assert.equal(strict.results[0]?.failure?.code, 'NOTATION_AUTHENTICITY_FAILED');
    assert.match(
      strict.results[0]?.failure?.message ?? '',
      /not produced by a trusted signer.*ca:test/,
    );
    assert.deepEqual(outcomes(strict), {
      integrity: 'passed',
      authenticity: 'failed',
      expiry: 'not-run',
      authenticTimestamp: 'not-run',
      revocation: 'not-run',
    });
    const audit = decide(
      evidence,
      trustOf({ level: 'audit' }, { 'ca:test': holding(otherRoot) }),
      OK,
      later,
    );
    assert.equal(audit.error, undefined);
    // notation-go's order: expiry is checked before the authentic timestamp.
    assert.deepEqual(
      audit.verified?.warnings.map((w) => w.check),
      ['authenticity', 'expiry'],
    );
  });

  it('trusted identities: a subset of the leaf subject matches, another does not', async () => {
    const evidence = evidenceOf([await sign(leaf, [leaf, root])]);
    const stores = { 'ca:test': holding(root) };
    const matching = decide(
      evidence,
      trustOf({ trustedIdentities: ['x509.subject:C=US,ST=WA,O=Acme'] }, stores),
    );
    assert.equal(matching.error, undefined);
    const other = decide(
      evidence,
      trustOf({ trustedIdentities: ['x509.subject:C=US,ST=WA,O=Acme,CN=Someone'] }, stores),
    );
    assert.equal(other.results[0]?.failure?.code, 'NOTATION_AUTHENTICITY_FAILED');
    assert.match(
      other.results[0]?.failure?.message ?? '',
      /does not match the X.509 trusted identities "x509.subject:C=US,ST=WA,O=Acme,CN=Someone"/,
    );
    const plugin = decide(evidence, trustOf({ trustedIdentities: ['plugin.id:someone'] }, stores));
    assert.match(
      plugin.results[0]?.failure?.message ?? '',
      /no x509 trusted identities are configured/,
    );
  });

  it('a certificate expired now, no tsa store: authenticTimestamp fails (strict) or is logged', async () => {
    const evidence = evidenceOf([await sign(expiredLeaf, [expiredLeaf, root])]);
    const strict = decide(evidence, trustOf({}, { 'ca:test': holding(root) }));
    assert.equal(strict.results[0]?.failure?.code, 'NOTATION_AUTHENTIC_TIMESTAMP_FAILED');
    assert.match(
      strict.results[0]?.failure?.message ?? '',
      /the verification time .* is after the certificate "CN=Expired,O=Acme,ST=WA,C=US" expired/,
    );
    const permissive = decide(
      evidence,
      trustOf({ level: 'permissive' }, { 'ca:test': holding(root) }),
    );
    assert.equal(permissive.error, undefined);
    assert.deepEqual(
      permissive.verified?.warnings.map((w) => w.check),
      ['authenticTimestamp'],
    );
  });

  it('a tsa store: a verified timestamp within the chain validity decides, its TSA chain checked for revocation', async () => {
    const timestamp = (signature: Uint8Array) =>
      pki.timestampToken(tsa, signature, { chain: [tsaRoot] });
    const stamped = evidenceOf([await sign(expiredLeaf, [expiredLeaf, root], { timestamp })]);
    const stores = { 'ca:test': holding(root), 'tsa:test': holding(tsaRoot) };
    const trust = trustOf({ trustStores: ['ca:test', 'tsa:test'] }, stores);
    // The checks stop at the timestamp, so no revocation is asked for.
    assert.deepEqual(planNotationRevocation(stamped, trust, NOW, TIMESTAMPS), []);
    const verdict = decide(stamped, trust);
    // openssl stamps the time it runs, after this leaf expired: outside its validity.
    assert.equal(verdict.results[0]?.failure?.code, 'NOTATION_AUTHENTIC_TIMESTAMP_FAILED');
    assert.match(
      verdict.results[0]?.failure?.message ?? '',
      /timestamp may be after the certificate "CN=Expired/,
    );

    const good = evidenceOf([await sign(leaf, [leaf, root], { timestamp })]);
    const plan = planNotationRevocation(good, trust, NOW, TIMESTAMPS);
    assert.deepEqual(plan.map((request) => request.purpose).sort(), [
      'codeSigning',
      'timestamping',
    ]);
    const verified = decide(good, trust);
    assert.equal(verified.error, undefined, verified.results[0]?.failure?.message);
    assert.equal(verified.verified?.signer?.timestamp?.tsa, 'CN=TSA,O=TSA,C=US');
    // The TSA chain's revocation is checked even though it is the timestamp's, and revoked fails it.
    const tsaRequest = planNotationRevocation(good, trust, NOW, TIMESTAMPS).find(
      (r) => r.purpose === 'timestamping',
    );
    assert.ok(tsaRequest !== undefined);
    const answers = new Map(
      planNotationRevocation(good, trust, NOW, TIMESTAMPS).map((r) => [r.key, OK]),
    );
    answers.set(tsaRequest.key, {
      result: 'revoked',
      certificates: [],
      problem: { index: 0, subject: 'CN=TSA', message: 'revoked' },
    });
    const revoked = evaluateNotation(good, trust, answers, NOW, TIMESTAMPS);
    assert.equal(revoked.results[0]?.failure?.code, 'NOTATION_AUTHENTIC_TIMESTAMP_FAILED');
    assert.match(
      revoked.results[0]?.failure?.message ?? '',
      /timestamping certificate with subject "CN=TSA" is revoked/,
    );

    // verify.ts gives the verifier for such a statement; without one the timestamp is not
    // taken on trust.
    assert.equal(verifiesTimestamps(trust.statement), true);
    const answered = new Map(
      planNotationRevocation(good, trust, NOW, TIMESTAMPS).map((r) => [r.key, OK]),
    );
    const unverified = evaluateNotation(good, trust, answered, NOW);
    assert.equal(unverified.results[0]?.failure?.code, 'NOTATION_AUTHENTIC_TIMESTAMP_FAILED');
    assert.match(unverified.results[0]?.failure?.message ?? '', /no timestamp verifier was given/);

    const unstamped = evidenceOf([await sign(leaf, [leaf, root])]);
    const missing = decide(unstamped, trust);
    assert.match(
      missing.results[0]?.failure?.message ?? '',
      /no timestamp countersignature was found/,
    );
    // afterCertExpiry: the chain has not expired, so no timestamp is needed.
    const after = decide(
      unstamped,
      trustOf({ trustStores: ['ca:test', 'tsa:test'], verifyTimestamp: 'afterCertExpiry' }, stores),
    );
    assert.equal(after.error, undefined);
  });

  it('signingAuthority: a signingAuthority store, the authentic signing time within the chain validity', async () => {
    const during = new Date(NOW.getTime() - 20 * HOUR);
    const evidence = evidenceOf([
      { envelope: await signingAuthorityJws(expiredLeaf, [expiredLeaf, root], during) },
    ]);
    const trust = trustOf(
      { trustStores: ['signingAuthority:test'] },
      { 'signingAuthority:test': holding(root) },
    );
    const [request] = planNotationRevocation(evidence, trust, NOW);
    // The revocation check is told the authentic signing time.
    assert.equal(request?.signingTime?.getTime(), Math.floor(during.getTime() / 1000) * 1000);
    const verdict = decide(evidence, trust);
    // Expired now, but it was valid when the signing authority vouched for the time.
    assert.equal(verdict.error, undefined, verdict.results[0]?.failure?.message);
    assert.equal(verdict.verified?.signer?.signingScheme, 'notary.x509.signingAuthority');

    const before = new Date(NOW.getTime() - 60 * HOUR);
    const early = evidenceOf([
      { envelope: await signingAuthorityJws(expiredLeaf, [expiredLeaf, root], before) },
    ]);
    const refused = decide(early, trust).results[0]?.failure;
    assert.equal(refused?.code, 'NOTATION_AUTHENTIC_TIMESTAMP_FAILED');
    assert.match(
      refused?.message ?? '',
      /the authentic signing time .* is before the certificate "CN=Expired,O=Acme,ST=WA,C=US" is valid/,
    );
    // A ca store does not vouch for signingAuthority signatures.
    const caOnly = decide(evidence, trustOf({}, { 'ca:test': holding(root) }));
    assert.equal(caOnly.results[0]?.failure?.code, 'NOTATION_AUTHENTICITY_FAILED');
    assert.match(
      caOnly.results[0]?.failure?.message ?? '',
      /names no signingAuthority trust store/,
    );
  });

  it('integrity: another image, user metadata, an unreadable envelope, a critical plugin attribute', async () => {
    const trust = trustOf({ level: 'audit' }, { 'ca:test': holding(root) });
    const other = evidenceOf([
      await sign(leaf, [leaf, root], { targetArtifact: { ...IMAGE, size: 518 } }),
    ]);
    const mismatch = decide(other, trust);
    assert.equal(mismatch.results[0]?.failure?.code, 'NOTATION_INTEGRITY_FAILED');
    assert.match(mismatch.results[0]?.failure?.message ?? '', /518 bytes\), not for the image/);

    const annotated = evidenceOf([
      await sign(leaf, [leaf, root], {
        targetArtifact: { ...IMAGE, annotations: { env: 'prod' } },
      }),
    ]);
    const answers = new Map(planNotationRevocation(annotated, trust, NOW).map((r) => [r.key, OK]));
    assert.equal(
      evaluateNotation(annotated, trust, answers, NOW, { userMetadata: { env: 'prod' } }).error,
      undefined,
    );
    const wrong = evaluateNotation(annotated, trust, answers, NOW, {
      userMetadata: { env: 'dev' },
    });
    assert.equal(wrong.results[0]?.failure?.code, 'NOTATION_USER_METADATA_MISMATCH');

    const [stored] = evidenceOf([await sign(leaf, [leaf, root])]).signatures;
    assert.ok(stored !== undefined);
    const garbage = evidenceOf([], {
      signatures: [{ ...stored, envelope: new TextEncoder().encode('{"payload":"x"}') }],
    });
    const unreadable = decide(garbage, trust).results[0]?.failure;
    assert.equal(unreadable?.code, 'NOTATION_INTEGRITY_FAILED');
    assert.match(
      unreadable?.message ?? '',
      /unable to verify the signature: invalid Notary Project JWS envelope/,
    );

    const plugin = evidenceOf([{ envelope: await pluginJws(leaf, [leaf, root]) }]);
    const critical = decide(plugin, trust).results[0]?.failure;
    assert.equal(critical?.code, 'NOTATION_UNSUPPORTED_CRITICAL_ATTRIBUTE');
    assert.match(critical?.message ?? '', /"io.cncf.notary.verificationPlugin"/);
  });

  it('trust stores that could not be read fail the signatures that need them, as invalid', async () => {
    const evidence = evidenceOf([await sign(leaf, [leaf, root])]);
    const broken = {
      ok: false,
      error: invalid(
        'NOTATION_TRUST_STORE_NOT_FOUND',
        'the trust store "test" of type "ca" does not exist',
      ),
    } as const;
    const strict = decide(evidence, trustOf({}, { 'ca:test': broken }));
    assert.equal(strict.error?.code, 'NOTATION_TRUST_STORE_NOT_FOUND');
    assert.equal(strict.error?.category, 'invalid');
    const audit = decide(evidence, trustOf({ level: 'audit' }, { 'ca:test': broken }));
    assert.equal(audit.error, undefined);
    assert.match(audit.verified?.warnings[0]?.message ?? '', /does not exist/);
    // A broken tsa store does not matter while no timestamp is needed.
    const tsaBroken = decide(
      evidence,
      trustOf(
        { trustStores: ['ca:test', 'tsa:test'], verifyTimestamp: 'afterCertExpiry' },
        { 'ca:test': holding(root), 'tsa:test': broken },
      ),
    );
    assert.equal(tsaBroken.error, undefined);
  });

  it('the image: any one signature suffices; none, rejected, untrusted and not examined ones are reported', async () => {
    const trust = trustOf({}, { 'ca:test': holding(root) });
    const good = await sign(leaf, [leaf, root]);
    const bad = await sign(leaf, [leaf, root], { targetArtifact: { ...IMAGE, size: 1 } });
    const both = decide(evidenceOf([bad, good]), trust);
    assert.equal(both.verified?.index, 1);
    assert.equal(both.results[0]?.verified, false);

    const none = decide(evidenceOf([]), trust);
    assert.equal(none.error?.code, 'NOTATION_NO_SIGNATURES');
    const digest = `sha256:${'a'.repeat(64)}` as Digest;
    const rejectedOnly = decide(
      evidenceOf([], {
        rejected: [{ index: 0, digest, problem: 'missing', reason: 'signature 0: blob not found' }],
        untrusted: [{ index: 1, digest, thumbprints: ['b'.repeat(64)] }],
        notExamined: 3,
      }),
      trust,
    );
    assert.deepEqual(
      rejectedOnly.results.map((r) => r.failure?.code),
      ['NOTATION_INTEGRITY_FAILED', 'NOTATION_AUTHENTICITY_FAILED'],
    );
    assert.equal(rejectedOnly.error?.code, 'NOTATION_TOO_MANY_SIGNATURES');
    assert.match(rejectedOnly.error?.message ?? '', /3 more signatures were not examined/);
  });
});
