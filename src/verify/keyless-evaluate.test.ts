/**
 * Keyless verification through `evaluate` and `evaluateAttestations`:
 *
 * - the real public-good signature from containers/image's fixtures
 *   (`dir-img-cosign-fulcio-rekor-valid`: mitr@redhat.com, issued by
 *   https://github.com/login/oauth, logged in rekor.sigstore.dev) verifies
 *   with the trusted root shipped with vouch, offline; altered copies fail
 *   with the code of the failed check;
 * - signatures and attestations minted by an ephemeral Sigstore
 *   (test/helpers/keyless.ts) fail one check at a time: a certificate used
 *   outside its validity, an SCT of an unknown CT log, a certificate of
 *   another CA, a log entry naming another certificate (the binding
 *   @sigstore/verify does not check), claims that do not match.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  CHAINGUARD_IDENTITY,
  createKeylessSigstore,
  GITHUB_ISSUER,
  issueCertificate,
  type KeylessSigstore,
  keylessTrustedRootJson,
  mintKeylessAttestation,
  mintKeylessSignature,
  type TrustedParts,
} from '../../test/helpers/keyless.ts';
import { hasCode } from '../core/errors.ts';
import { attestationLayer } from '../formats/cosign-attestation.ts';
import {
  layerOfContainersSignature,
  parseContainersSignature,
} from '../formats/containers-signature.ts';
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  signatureLayer,
} from '../formats/cosign-signature.ts';
import { buildStatement } from '../formats/in-toto.ts';
import { PREDICATE_TYPES } from '../formats/predicate-types.ts';
import { buildSimpleSigningPayload } from '../formats/simple-signing.ts';
import { type Digest, digestOf, parseDigest } from '../oci/digest.ts';
import {
  type CertificateIdentity,
  exactly,
  matchingRegexp,
} from '../sigstore/certificate-identity.ts';
import { type KeylessTrust, keylessTrustOf } from '../sigstore/keyless-trust.ts';
import { publicGoodTrustedRoot } from '../sigstore/public-good.ts';
import { parseTrustedRoot } from '../sigstore/trusted-root.ts';
import { evaluateAttestations } from './attestation-evaluate.ts';
import { certificateTrust } from './certificate-trust.ts';
import { attestationEvidenceFromLayers } from './attestation-evidence.ts';
import { type CertificateTrust, evaluate, type Verdict } from './evaluate.ts';
import { evidenceFromLayers, type LayerWithPayload } from './evidence.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures/containers-image');
const skip = existsSync(FIXTURES)
  ? false
  : `containers/image fixtures not found at ${FIXTURES} (they live outside the repository)`;
const FULCIO = 'dir-img-cosign-fulcio-rekor-valid';
const MITR: CertificateIdentity = {
  subject: exactly('mitr@redhat.com'),
  issuer: exactly('https://github.com/login/oauth'),
};

/** The copy stores git symlinks as text files holding the link target; follow them. */
function readFixture(path: string): Buffer {
  let file = resolve(FIXTURES, path);
  for (let hops = 0; hops < 4; hops++) {
    const content = readFileSync(file);
    const asText = content.toString('latin1');
    if (content.byteLength < 256 && /^\.\.?\/[\w./-]+$/.test(asText)) {
      file = resolve(dirname(file), asText);
      continue;
    }
    return content;
  }
  throw new Error(`symlink loop at ${path}`);
}

function only(verdict: Verdict | ReturnType<typeof evaluateAttestations>) {
  assert.deepEqual(verdict.verified, []);
  assert.equal(verdict.rejected.length, 1);
  return (verdict.rejected[0] as (typeof verdict.rejected)[number]).reason;
}

describe('keyless evaluate: the public-good fixture', { skip }, () => {
  let publicGood: KeylessTrust;
  let digest: Digest;

  /** The fixture's layer, with `change` applied to its annotations and payload. */
  function fixture(
    change: (annotations: Record<string, string>) => void = () => {},
    payload?: (bytes: Buffer) => Buffer,
  ): LayerWithPayload {
    const signature = parseContainersSignature(readFixture(`${FULCIO}/signature-1`));
    const annotations = { ...signature.annotations };
    change(annotations);
    const bytes = payload?.(Buffer.from(signature.payload)) ?? signature.payload;
    const layer = layerOfContainersSignature({ ...signature, payload: bytes, annotations });
    return { layer, payload: bytes };
  }
  const check = (layer: LayerWithPayload, identity: CertificateIdentity = MITR) =>
    evaluate(
      evidenceFromLayers({ digest, reference: 'test' }, [layer]),
      certificateTrust(identity, publicGood),
    );

  before(async () => {
    publicGood = keylessTrustOf(await publicGoodTrustedRoot());
    digest = digestOf(readFixture(`${FULCIO}/manifest.json`));
  });

  test('verifies for mitr@redhat.com / github.com/login/oauth, reporting who, when and where', () => {
    const verdict = check(fixture());
    assert.deepEqual(verdict.rejected, []);
    const [signature] = verdict.verified;
    assert.ok(signature?.certificate !== undefined);
    assert.equal(signature.key, undefined);
    assert.equal(signature.certificate.claims.subject, 'mitr@redhat.com');
    assert.equal(signature.certificate.claims.issuer, 'https://github.com/login/oauth');
    assert.equal(signature.certificate.signingTime, 1674247893);
    assert.equal(signature.tlog?.logUrl, 'https://rekor.sigstore.dev');
    assert.equal(signature.tlog?.logIndex, 11605770);
    assert.equal(signature.dockerReference, '192.168.64.2:5000/cosign-signed/fulcio-rekor-1');
  });

  test('an anchored regexp matching the whole identity verifies', () => {
    const verdict = check(fixture(), { ...MITR, subject: matchingRegexp('[a-z]+@redhat\\.com') });
    assert.equal(verdict.verified.length, 1);
  });

  test('another identity: CERT_IDENTITY_MISMATCH naming both', () => {
    const reason = only(check(fixture(), { ...MITR, subject: exactly('someone@redhat.com') }));
    assert.equal(reason.code, 'CERT_IDENTITY_MISMATCH');
    assert.match(reason.message, /"mitr@redhat\.com".*"someone@redhat\.com" is required/);
  });

  test('a regexp that would match only unanchored: CERT_IDENTITY_MISMATCH', () => {
    for (const pattern of ['redhat\\.com', 'mitr@', 'mitr@redhat\\.co']) {
      const reason = only(check(fixture(), { ...MITR, subject: matchingRegexp(pattern) }));
      assert.equal(reason.code, 'CERT_IDENTITY_MISMATCH', pattern);
    }
  });

  test('another issuer, exact or by regexp: CERT_ISSUER_MISMATCH', () => {
    for (const issuer of [
      exactly(GITHUB_ISSUER),
      exactly('https://github.com/login/oauth/'),
      matchingRegexp('https://github\\.com'),
    ]) {
      const reason = only(check(fixture(), { ...MITR, issuer }));
      assert.equal(reason.code, 'CERT_ISSUER_MISMATCH');
      assert.match(reason.message, /"https:\/\/github\.com\/login\/oauth"/);
    }
  });

  test('a swapped certificate (another real Fulcio certificate of the same person): not counted', () => {
    const other = readFixture('fulcio-cert').toString('latin1');
    const reason = only(check(fixture((a) => (a[CERTIFICATE_ANNOTATION] = other))));
    // Issued weeks before this signature was logged, so it fails at the validity check first.
    assert.equal(reason.code, 'CERT_EXPIRED');
    assert.match(reason.message, /valid from 2022-12-12.*made at 2023-01-20T20:51:33/);
  });

  test('a broken SET (integrated time moved): TLOG_SET_INVALID', () => {
    const reason = only(
      check(
        fixture((a) => {
          const bundle = JSON.parse(a[BUNDLE_ANNOTATION] as string);
          bundle.Payload.integratedTime += 1;
          a[BUNDLE_ANNOTATION] = JSON.stringify(bundle);
        }),
      ),
    );
    assert.equal(reason.code, 'TLOG_SET_INVALID');
  });

  test('a tampered payload (one byte of the signed identity): TLOG_BINDING_MISMATCH', () => {
    const reason = only(
      check(
        fixture(undefined, (bytes) =>
          Buffer.from(bytes.toString('latin1').replace('fulcio-rekor-1', 'fulcio-rekor-2')),
        ),
      ),
    );
    assert.equal(reason.code, 'TLOG_BINDING_MISMATCH');
  });

  test('no certificate (a key signature) never counts keylessly: CERT_MISSING', () => {
    const reason = only(check(fixture((a) => delete a[CERTIFICATE_ANNOTATION])));
    assert.equal(reason.code, 'CERT_MISSING');
  });

  test('no Rekor bundle: TLOG_MISSING', () => {
    const reason = only(check(fixture((a) => delete a[BUNDLE_ANNOTATION])));
    assert.equal(reason.code, 'TLOG_MISSING');
  });
});

describe('keyless trust material', () => {
  test('a trusted root whose CA has no validFor.start is refused: TRUSTED_ROOT_INVALID', async () => {
    const sigstore = await createKeylessSigstore();
    const json = keylessTrustedRootJson({
      cas: [sigstore],
      ctlogs: [sigstore],
      tlogs: [sigstore],
      start: null,
    } satisfies TrustedParts);
    assert.throws(
      () => keylessTrustOf(parseTrustedRoot(Buffer.from(json), 'root.json'), 'root.json'),
      (error) =>
        hasCode(error, 'TRUSTED_ROOT_INVALID') &&
        /certificateAuthorities\[0\]\.validFor\.start is missing/.test(error.message),
    );
  });

  test('built once per trusted root', async () => {
    const root = await publicGoodTrustedRoot();
    assert.equal(keylessTrustOf(root), keylessTrustOf(root));
  });
});

describe('keyless evaluate: an ephemeral Sigstore', () => {
  const IMAGE = parseDigest(`sha256:${'ab'.repeat(32)}`);
  const SPDX = PREDICATE_TYPES.spdxjson as string;
  const CHAINGUARD: CertificateIdentity = {
    subject: exactly(CHAINGUARD_IDENTITY),
    issuer: exactly(GITHUB_ISSUER),
  };
  const signer = {
    subject: CHAINGUARD_IDENTITY,
    issuer: GITHUB_ISSUER,
    github: { trigger: 'push', repository: 'chainguard-images/images', ref: 'refs/heads/main' },
  };
  const payload = buildSimpleSigningPayload({
    dockerReference: 'registry.example.com/app',
    dockerManifestDigest: IMAGE,
  });
  const statement = buildStatement({
    subjectName: 'registry.example.com/app',
    digest: IMAGE,
    predicateType: SPDX,
    predicate: { spdxVersion: 'SPDX-2.3' },
  });
  let sigstore: KeylessSigstore;
  let other: KeylessSigstore;

  const trustOf = (parts: KeylessSigstore | TrustedParts, identity = CHAINGUARD) =>
    certificateTrust(
      identity,
      keylessTrustOf(parseTrustedRoot(Buffer.from(keylessTrustedRootJson(parts)))),
    );
  const signatureVerdict = (
    minted: Awaited<ReturnType<typeof mintKeylessSignature>>,
    trust: CertificateTrust,
  ) => {
    const built = signatureLayer({
      payload: minted.blob,
      signatureBase64: minted.signatureBase64,
      annotations: minted.annotations,
    });
    return evaluate(
      evidenceFromLayers({ digest: IMAGE, reference: 'test' }, [
        { layer: built.descriptor, payload: built.blob },
      ]),
      trust,
    );
  };
  const attestationVerdict = (
    minted: Awaited<ReturnType<typeof mintKeylessAttestation>>,
    trust: CertificateTrust,
    predicateType: string = SPDX,
  ) => {
    const built = attestationLayer({
      envelope: minted.blob,
      predicateType: SPDX,
      annotations: minted.annotations,
    });
    return evaluateAttestations(
      attestationEvidenceFromLayers({ digest: IMAGE, reference: 'test' }, [
        { layer: built.descriptor, payload: built.blob },
      ]),
      trust,
      { predicateType },
    );
  };

  before(async () => {
    sigstore = await createKeylessSigstore();
    other = await createKeylessSigstore();
  });

  test('a keyless signature verifies, with its claims and log entry', async () => {
    const verdict = signatureVerdict(
      await mintKeylessSignature(sigstore, signer, payload),
      trustOf(sigstore, {
        ...CHAINGUARD,
        github: { trigger: 'push', ref: 'refs/heads/main' },
      }),
    );
    assert.deepEqual(verdict.rejected, []);
    const claims = verdict.verified[0]?.certificate?.claims;
    assert.deepEqual(claims, {
      subject: CHAINGUARD_IDENTITY,
      issuer: GITHUB_ISSUER,
      github: signer.github,
    });
    assert.equal(verdict.verified[0]?.tlog?.logUrl, 'https://rekor.keyless.test.invalid');
  });

  test('a GitHub workflow claim that differs: CERT_CLAIM_MISMATCH', async () => {
    const reason = only(
      signatureVerdict(
        await mintKeylessSignature(sigstore, signer, payload),
        trustOf(sigstore, { ...CHAINGUARD, github: { trigger: 'pull_request' } }),
      ),
    );
    assert.equal(reason.code, 'CERT_CLAIM_MISMATCH');
    assert.match(reason.message, /trigger .* is "push", but "pull_request" is required/);
  });

  test('a certificate outside its validity at signing time: CERT_EXPIRED', async () => {
    const early = await createKeylessSigstore({ caClock: new Date(Date.now() - 3_600_000) });
    const reason = only(
      signatureVerdict(await mintKeylessSignature(early, signer, payload), trustOf(early)),
    );
    assert.equal(reason.code, 'CERT_EXPIRED');
    assert.match(reason.message, /the certificate is valid from .* but the signature was made at/);
  });

  test('an SCT from a CT log the trust root does not name: SCT_INVALID', async () => {
    const reason = only(
      signatureVerdict(
        await mintKeylessSignature(sigstore, signer, payload),
        trustOf({ cas: [sigstore], ctlogs: [other], tlogs: [sigstore] }),
      ),
    );
    assert.equal(reason.code, 'SCT_INVALID');
  });

  test('a certificate from another CA: CERT_CHAIN_INVALID', async () => {
    const reason = only(
      signatureVerdict(
        await mintKeylessSignature(sigstore, signer, payload),
        trustOf({ cas: [other], ctlogs: [sigstore], tlogs: [sigstore] }),
      ),
    );
    assert.equal(reason.code, 'CERT_CHAIN_INVALID');
  });

  test('logged in a log the trust root does not name: TLOG_LOG_UNKNOWN', async () => {
    const reason = only(
      signatureVerdict(
        await mintKeylessSignature(sigstore, signer, payload, { log: other }),
        trustOf(sigstore),
      ),
    );
    assert.equal(reason.code, 'TLOG_LOG_UNKNOWN');
  });

  test('a log entry naming another certificate (binding bypass): CERT_BINDING_MISMATCH', async () => {
    const decoy = await issueCertificate(sigstore, signer);
    const reason = only(
      signatureVerdict(
        await mintKeylessSignature(sigstore, signer, payload, { entryCertificatePem: decoy.pem }),
        trustOf(sigstore),
      ),
    );
    assert.equal(reason.code, 'CERT_BINDING_MISMATCH');
  });

  test('a keyless signature for another image still fails the payload check: DIGEST_MISMATCH', async () => {
    const elsewhere = buildSimpleSigningPayload({
      dockerReference: 'registry.example.com/app',
      dockerManifestDigest: `sha256:${'cd'.repeat(32)}`,
    });
    const reason = only(
      signatureVerdict(await mintKeylessSignature(sigstore, signer, elsewhere), trustOf(sigstore)),
    );
    assert.equal(reason.code, 'DIGEST_MISMATCH');
  });

  for (const kind of ['dsse', 'intoto'] as const) {
    test(`a keyless attestation logged as ${kind} 0.0.1 verifies`, async () => {
      const verdict = attestationVerdict(
        await mintKeylessAttestation(sigstore, signer, statement, kind),
        trustOf(sigstore),
      );
      assert.deepEqual(verdict.rejected, []);
      assert.equal(verdict.verified[0]?.certificate?.claims.subject, CHAINGUARD_IDENTITY);
      assert.equal(verdict.verified[0]?.predicateType, SPDX);
    });

    test(`${kind} 0.0.1 entry naming another certificate: CERT_BINDING_MISMATCH`, async () => {
      const decoy = await issueCertificate(sigstore, signer);
      const reason = only(
        attestationVerdict(
          await mintKeylessAttestation(sigstore, signer, statement, kind, {
            entryCertificatePem: decoy.pem,
          }),
          trustOf(sigstore),
        ),
      );
      assert.equal(reason.code, 'CERT_BINDING_MISMATCH');
    });

    test(`${kind}: an attestation of another type never satisfies --type`, async () => {
      const reason = only(
        attestationVerdict(
          await mintKeylessAttestation(sigstore, signer, statement, kind),
          trustOf(sigstore),
          PREDICATE_TYPES.cyclonedx as string,
        ),
      );
      assert.equal(reason.code, 'PREDICATE_TYPE_MISMATCH');
    });
  }

  test('intoto 0.0.1 with a broken SET: TLOG_SET_INVALID', async () => {
    const minted = await mintKeylessAttestation(sigstore, signer, statement, 'intoto');
    const bundle = JSON.parse(minted.annotations[BUNDLE_ANNOTATION] as string);
    bundle.Payload.logIndex += 1;
    minted.annotations[BUNDLE_ANNOTATION] = JSON.stringify(bundle);
    const reason = only(attestationVerdict(minted, trustOf(sigstore)));
    assert.equal(reason.code, 'TLOG_SET_INVALID');
  });

  test('an attestation for another identity: CERT_IDENTITY_MISMATCH', async () => {
    const reason = only(
      attestationVerdict(
        await mintKeylessAttestation(sigstore, signer, statement, 'dsse'),
        trustOf(sigstore, { ...CHAINGUARD, subject: exactly(`${CHAINGUARD_IDENTITY}x`) }),
      ),
    );
    assert.equal(reason.code, 'CERT_IDENTITY_MISMATCH');
  });
});
