/**
 * decideContainersPolicy over containers/image's own fixtures, the cases of
 * signature/policy_eval_sigstore_test.go TestPRSigstoreSignedIsRunningImageAllowed
 * (and the key + Rekor cases of TestPRrSigstoreSignedIsSignatureAccepted),
 * policy_eval_simple_test.go and policy_eval_baselayer_test.go, plus
 * material loading.
 */
import assert from 'node:assert/strict';
import {
  createHash,
  generateKeyPairSync,
  type KeyObject,
  sign,
  X509Certificate,
} from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import {
  layerOfContainersSignature,
  parseContainersSignature,
} from '../formats/containers-signature.ts';
import {
  parseContainersPolicy,
  type PolicyRequirement,
} from '../formats/containers-policy/policy-json.ts';
import { BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION } from '../formats/signature-manifest.ts';
import { setPayloadBytes } from '../sigstore/rekor.ts';
import { digestOf } from '../oci/digest.ts';
import { publicKeyToPem } from '../keys/pem.ts';
import { publicGoodTrustedRoot } from '../sigstore/public-good.ts';
import { type ImageReference, parseReference } from '../oci/reference.ts';
import { type Evidence, evidenceFromLayers } from '../verify/evidence.ts';
import { type ContainersPolicyDecision, decideContainersPolicy } from './evaluate.ts';
import { prepareRequirements, type ReadFile } from './material.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures/containers-image');
const skip = existsSync(FIXTURES)
  ? false
  : `containers/image fixtures not found at ${FIXTURES} (they live outside the repository)`;

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

const PUBLIC_GOOD_LOG = 'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d';

/**
 * Fixture files by name; `rekor.pub` is a link to a file the copy lacks, so
 * it is the public-good Rekor key (which signed the key-rekor fixture's SET)
 * from the trusted root shipped with vouch.
 */
const readFile: ReadFile = async (path) => {
  if (path !== 'rekor.pub') return new Uint8Array(readFixture(path));
  const log = (await publicGoodTrustedRoot()).tlogs.find((tlog) => tlog.logId === PUBLIC_GOOD_LOG);
  assert.ok(log);
  return new TextEncoder().encode(publicKeyToPem(log.publicKey));
};

function fixtureEvidence(dir: string): Evidence {
  const digest = digestOf(readFixture(`${dir}/manifest.json`));
  const files = Array.from({ length: 9 }, (_, i) => `${dir}/signature-${i + 1}`).filter((file) =>
    existsSync(resolve(FIXTURES, file)),
  );
  const layers = files.map((file) => {
    const signature = parseContainersSignature(readFixture(file), file);
    return { layer: layerOfContainersSignature(signature), payload: signature.payload };
  });
  return evidenceFromLayers({ digest, reference: `dir:${dir}` }, layers);
}

async function decide(
  requirement: unknown,
  dir: string,
  image: string,
  useSigstoreAttachments = true,
  mutate: (evidence: Evidence) => Evidence = (evidence) => evidence,
): Promise<ContainersPolicyDecision> {
  const policy = parseContainersPolicy(
    new TextEncoder().encode(JSON.stringify({ default: [requirement] })),
  );
  const prepared = await prepareRequirements(policy.default, 'default', readFile);
  const sigstore = mutate(fixtureEvidence(dir));
  const reference: ImageReference = parseReference(image);
  return await decideContainersPolicy(prepared, {
    reference,
    digest: sigstore.image.digest,
    useSigstoreAttachments,
    sigstore,
  });
}

const SINGLE = '192.168.64.2:5000/cosign-signed-single-sample';
const KEY_1 = '192.168.64.2:5000/cosign-signed/key-1';
const keyed = (signedIdentity: unknown = { type: 'matchRepository' }, extra: object = {}) => ({
  type: 'sigstoreSigned',
  keyPath: 'cosign.pub',
  signedIdentity,
  ...extra,
});

describe(
  'decideContainersPolicy: sigstoreSigned with keys (TestPRSigstoreSignedIsRunningImageAllowed)',
  { skip },
  () => {
    it('allows a single valid signature', async () => {
      const decision = await decide(keyed(), 'dir-img-cosign-valid', SINGLE);
      assert.equal(decision.allowed, true);
      assert.equal(decision.requirements[0]?.signatures?.[0]?.dockerReference, SINGLE);
    });

    it('denies an unsigned image, one with only GPG signatures or other attachments', async () => {
      for (const [dir, image] of [
        ['dir-img-unsigned', 'testing/manifest:latest'],
        ['dir-img-cosign-other-attachment', 'testing/manifest:latest'],
      ] as const) {
        const decision = await decide(keyed(), dir, image);
        assert.equal(decision.allowed, false, dir);
        assert.match(decision.requirements[0]?.reason ?? '', /no signature exists/, dir);
      }
    });

    it('denies a valid signature for another identity, one or two of them', async () => {
      const one = await decide(keyed(), 'dir-img-cosign-valid', 'testing/manifest:notlatest');
      assert.equal(one.allowed, false);
      assert.equal(one.requirements[0]?.signatures?.[0]?.code, 'IDENTITY_MISMATCH');
      const two = await decide(keyed(), 'dir-img-cosign-valid-2', 'this/does-not:match');
      assert.equal(two.allowed, false);
      assert.match(two.requirements[0]?.reason ?? '', /None of the signatures were accepted/);
    });

    it('allows two valid signatures, and one invalid then one valid', async () => {
      assert.equal((await decide(keyed(), 'dir-img-cosign-valid-2', SINGLE)).allowed, true);
      const mixed = await decide(keyed(), 'dir-img-cosign-mixed', SINGLE);
      assert.equal(mixed.allowed, true);
      assert.deepEqual(
        mixed.requirements[0]?.signatures?.map((s) => s.accepted),
        [false, true],
      );
    });

    it('matchExact: a signature with the tag counts, another tag or a cosign (repository-only) signature does not', async () => {
      const exact = { type: 'matchExact' };
      assert.equal(
        (
          await decide(
            keyed(exact),
            'dir-img-cosign-valid-with-tag',
            '192.168.64.2:5000/skopeo-signed:tag',
          )
        ).allowed,
        true,
      );
      assert.equal(
        (
          await decide(
            keyed(exact),
            'dir-img-cosign-valid-with-tag',
            '192.168.64.2:5000/skopeo-signed:othertag',
          )
        ).allowed,
        false,
      );
      assert.equal(
        (await decide(keyed(exact), 'dir-img-cosign-valid', `${SINGLE}:latest`)).allowed,
        false,
      );
    });

    it('denies a modified manifest, and a signature by another key', async () => {
      const modified = await decide(keyed(), 'dir-img-cosign-modified-manifest', SINGLE);
      assert.equal(modified.allowed, false);
      assert.equal(modified.requirements[0]?.signatures?.[0]?.code, 'DIGEST_MISMATCH');
      const otherKey = await decide(
        { ...keyed(), keyPath: 'cosign2.pub' },
        'dir-img-cosign-valid',
        SINGLE,
      );
      assert.equal(otherKey.allowed, false);
      assert.equal(otherKey.requirements[0]?.signatures?.[0]?.code, 'SIGNATURE_INVALID');
    });

    it('denies when registries.d does not enable sigstore attachments', async () => {
      const decision = await decide(keyed(), 'dir-img-cosign-valid', SINGLE, false);
      assert.equal(decision.allowed, false);
      assert.match(decision.requirements[0]?.reason ?? '', /use-sigstore-attachments/);
    });

    it('with a Rekor key: the SET must verify; without one the bundle is not looked at', async () => {
      const rekor = { rekorPublicKeyPath: 'rekor.pub' };
      const withRekor = { ...keyed(), keyPath: 'cosign2.pub', ...rekor };
      assert.equal(
        (await decide(withRekor, 'dir-img-cosign-key-rekor-valid', KEY_1)).allowed,
        true,
      );
      const noBundle = await decide({ ...keyed(), ...rekor }, 'dir-img-cosign-valid', SINGLE);
      assert.equal(noBundle.allowed, false);
      assert.equal(noBundle.requirements[0]?.signatures?.[0]?.code, 'TLOG_MISSING');
      // A Rekor key that did not sign the SET.
      const wrongLog = await decide(
        { ...withRekor, rekorPublicKeyPath: 'cosign.pub' },
        'dir-img-cosign-key-rekor-valid',
        KEY_1,
      );
      assert.equal(wrongLog.allowed, false);
      // containers/image ignores the bundle without rekorPublicKey*: vouch's own verify would not.
      assert.equal(
        (
          await decide(
            { ...keyed(), keyPath: 'cosign2.pub' },
            'dir-img-cosign-key-rekor-valid',
            KEY_1,
          )
        ).allowed,
        true,
      );
    });

    it('accepts with any of keyPaths', async () => {
      const decision = await decide(
        { ...keyed(), keyPath: undefined, keyPaths: ['cosign2.pub', 'cosign.pub'] },
        'dir-img-cosign-valid',
        SINGLE,
      );
      assert.equal(decision.allowed, true);
      assert.equal(decision.requirements[0]?.signatures?.[0]?.key, 1);
    });
  },
);

describe(
  'decideContainersPolicy: the other requirements (policy_eval_simple_test.go, policy_eval_baselayer_test.go)',
  { skip },
  () => {
    it('insecureAcceptAnything allows, reject and signedBaseLayer deny, all are reported', async () => {
      const policy = parseContainersPolicy(
        new TextEncoder().encode(
          JSON.stringify({
            default: [
              { type: 'insecureAcceptAnything' },
              { type: 'reject' },
              { type: 'signedBaseLayer', baseLayerIdentity: { type: 'matchRepository' } },
              { type: 'signedBy', keyType: 'X509Certificates', keyPath: '/k' },
            ],
          }),
        ),
      );
      const prepared = await prepareRequirements(policy.default, 'default', readFile);
      const decision = await decideContainersPolicy(prepared, {
        reference: parseReference('example.com/app:1'),
        digest: digestOf(new Uint8Array()),
        useSigstoreAttachments: false,
      });
      assert.equal(decision.allowed, false);
      assert.deepEqual(
        decision.requirements.map((r) => r.holds),
        [true, false, false, false],
      );
      assert.match(decision.requirements[1]?.reason ?? '', /rejected by policy/);
      assert.match(decision.requirements[3]?.reason ?? '', /Unimplemented "keyType"/);
    });

    it('an empty requirement list never allows (IsRunningImageAllowed)', async () => {
      const decision = await decideContainersPolicy([], {
        reference: parseReference('a.io/b:1'),
        digest: digestOf(new Uint8Array()),
        useSigstoreAttachments: false,
      });
      assert.equal(decision.allowed, false);
    });
  },
);

describe('prepareRequirements', { skip }, () => {
  const prepare = (requirement: unknown, read: ReadFile = readFile) =>
    prepareRequirements(
      parseContainersPolicy(new TextEncoder().encode(JSON.stringify({ default: [requirement] })))
        .default as PolicyRequirement[],
      'default',
      read,
    );

  it('refuses fulcio and pki CA files without a certificate', async () => {
    for (const requirement of [
      {
        type: 'sigstoreSigned',
        fulcio: { caPath: 'cosign.pub', oidcIssuer: 'https://x', subjectEmail: 'a@b' },
        rekorPublicKeyPath: 'rekor.pub',
      },
      { type: 'sigstoreSigned', pki: { caRootsPath: 'cosign.pub', subjectEmail: 'a@b' } },
    ]) {
      await assert.rejects(
        prepare(requirement),
        expectError('invalid', 'CONTAINERS_POLICY_FILE_INVALID', 'no PEM certificate'),
      );
    }
  });

  it('refuses keys that are not keys and Rekor keys that are not ECDSA', async () => {
    await assert.rejects(
      prepare({ type: 'sigstoreSigned', keyData: Buffer.from('nonsense').toString('base64') }),
      expectError('invalid', 'CONTAINERS_POLICY_FILE_INVALID', 'default[0]'),
    );
    await assert.rejects(
      prepare({
        type: 'sigstoreSigned',
        keyPath: 'cosign.pub',
        rekorPublicKeyPath: 'some-rsa-key.pub',
      }),
      expectError('invalid', 'CONTAINERS_POLICY_FILE_INVALID', 'ECDSA'),
    );
  });

  it('reads keyDatas inline', async () => {
    const [prepared] = await prepare({
      type: 'sigstoreSigned',
      keyDatas: [
        readFixture('cosign.pub').toString('base64'),
        readFixture('cosign2.pub').toString('base64'),
      ],
    });
    assert.equal(prepared !== undefined && 'keys' in prepared ? prepared.keys.length : 0, 2);
  });
});

describe(
  'decideContainersPolicy: signedBy with GPG keys (TestPRSignedByIsRunningImageAllowed)',
  { skip },
  () => {
    async function decideGpg(
      requirement: object,
      dir: string,
      image: string,
    ): Promise<ContainersPolicyDecision> {
      const policy = parseContainersPolicy(
        new TextEncoder().encode(JSON.stringify({ default: [requirement] })),
      );
      const prepared = await prepareRequirements(policy.default, 'default', readFile);
      const files = Array.from({ length: 9 }, (_, i) => `${dir}/signature-${i + 1}`).filter(
        (file) => existsSync(resolve(FIXTURES, file)),
      );
      return await decideContainersPolicy(prepared, {
        reference: parseReference(image),
        digest: digestOf(readFixture(`${dir}/manifest.json`)),
        useSigstoreAttachments: false,
        simpleSignatures: files.map((file) => ({
          blob: new Uint8Array(readFixture(file)),
          source: file,
        })),
      });
    }
    const gpg = (extra: object = {}) => ({
      type: 'signedBy',
      keyType: 'GPGKeys',
      keyPath: 'public-key.gpg',
      signedIdentity: { type: 'matchExact' },
      ...extra,
    });
    const IMAGE = 'testing/manifest:latest';

    it('allows a valid signature, two, and one invalid then one valid', async () => {
      assert.equal((await decideGpg(gpg(), 'dir-img-valid', IMAGE)).allowed, true);
      assert.equal((await decideGpg(gpg(), 'dir-img-valid-2', IMAGE)).allowed, true);
      assert.equal((await decideGpg(gpg(), 'dir-img-mixed', IMAGE)).allowed, true);
    });

    it('denies another identity, no signature, a modified manifest and an unknown key', async () => {
      const other = await decideGpg(gpg(), 'dir-img-valid', 'testing/manifest:notlatest');
      assert.equal(other.allowed, false);
      assert.equal(
        other.requirements[0]?.signatures?.[0]?.code,
        'SIMPLE_SIGNING_IDENTITY_MISMATCH',
      );
      assert.equal((await decideGpg(gpg(), 'dir-img-unsigned', IMAGE)).allowed, false);
      const modified = await decideGpg(gpg(), 'dir-img-modified-manifest', IMAGE);
      assert.equal(modified.allowed, false);
      assert.equal(
        modified.requirements[0]?.signatures?.[0]?.code,
        'SIMPLE_SIGNING_DIGEST_MISMATCH',
      );
      const unknown = await decideGpg(gpg({ keyPath: 'public-key-2.gpg' }), 'dir-img-valid', IMAGE);
      assert.equal(unknown.allowed, false);
      assert.equal(unknown.requirements[0]?.signatures?.[0]?.code, 'GPG_KEY_UNKNOWN');
    });

    it('skips sigstore-format blobs: cosign signatures are no simple signatures', async () => {
      const decision = await decideGpg(
        gpg(),
        'dir-img-cosign-valid',
        '192.168.64.2:5000/cosign-signed-single-sample:latest',
      );
      assert.equal(decision.allowed, false);
      assert.match(decision.requirements[0]?.reason ?? '', /no signature exists/);
    });
  },
);

const FULCIO_IMAGE = '192.168.64.2:5000/cosign-signed/fulcio-rekor-1';
const fulcio = (overrides: object = {}, extra: object = {}) => ({
  type: 'sigstoreSigned',
  fulcio: {
    caPath: 'fulcio_v1.crt.pem',
    oidcIssuer: 'https://github.com/login/oauth',
    subjectEmail: 'mitr@redhat.com',
    ...overrides,
  },
  rekorPublicKeyPath: 'rekor.pub',
  signedIdentity: { type: 'matchRepository' },
  ...extra,
});

/** A Rekor key of the test's own, and its `rekorPublicKeyData`. */
function rekorKey(): { privateKey: KeyObject; data: string; logID: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return {
    privateKey,
    data: Buffer.from(publicKeyToPem(publicKey)).toString('base64'),
    logID: createHash('sha256').update(der).digest('hex'),
  };
}

/** The fixture's Rekor entry, integrated at `integratedTime`, its SET signed by `signer` under `logID`. */
function resigned(integratedTime: number, signer: KeyObject, logID: string) {
  return (evidence: Evidence): Evidence => ({
    ...evidence,
    signatures: evidence.signatures.map((signature) => {
      const bundle = JSON.parse(signature.annotations[BUNDLE_ANNOTATION] as string) as {
        Payload: { body: string; logIndex: number };
      };
      const payload = { ...bundle.Payload, integratedTime, logID };
      const set = sign('sha256', setPayloadBytes(payload), signer).toString('base64');
      return {
        ...signature,
        annotations: {
          ...signature.annotations,
          [BUNDLE_ANNOTATION]: JSON.stringify({ SignedEntryTimestamp: set, Payload: payload }),
        },
      };
    }),
  });
}

function leafOfFixture(): X509Certificate {
  const evidence = fixtureEvidence('dir-img-cosign-fulcio-rekor-valid');
  return new X509Certificate(evidence.signatures[0]?.annotations[CERTIFICATE_ANNOTATION] as string);
}

describe(
  'decideContainersPolicy: sigstoreSigned with fulcio (policy_eval_sigstore_test.go TestPRrSigstoreSignedIsSignatureAccepted fulcio cases; fulcio_cert_test.go TestFulcioTrustRootVerifyFulcioCertificateAtTime, TestVerifyRekorFulcio)',
  { skip },
  () => {
    it('allows the Fulcio-signed image (fulcio: the valid case)', async () => {
      const decision = await decide(fulcio(), 'dir-img-cosign-fulcio-rekor-valid', FULCIO_IMAGE);
      assert.equal(decision.allowed, true, decision.requirements[0]?.reason);
      assert.match(
        decision.requirements[0]?.reason ?? '',
        /Fulcio certificate for mitr@redhat\.com/,
      );
    });

    it('denies another OIDC issuer, another email, another CA', async () => {
      for (const [overrides, code, pattern] of [
        [
          { oidcIssuer: 'https://example.com' },
          'CERT_ISSUER_MISMATCH',
          /Unexpected Fulcio OIDC issuer/,
        ],
        [{ subjectEmail: 'someone@example.com' }, 'CERT_IDENTITY_MISMATCH', /Required email/],
        [
          { caPath: 'pki_root_crts.pem' },
          'CERT_CHAIN_INVALID',
          /verifying leaf certificate failed/,
        ],
      ] as const) {
        const decision = await decide(
          fulcio(overrides),
          'dir-img-cosign-fulcio-rekor-valid',
          FULCIO_IMAGE,
        );
        assert.equal(decision.allowed, false);
        assert.equal(decision.requirements[0]?.signatures?.[0]?.code, code);
        assert.match(decision.requirements[0]?.reason ?? '', pattern);
      }
    });

    it('denies a SET from a log that is not trusted, and a SET signed by another key', async () => {
      const other = rekorKey();
      const unknown = await decide(
        fulcio({}, { rekorPublicKeyPath: undefined, rekorPublicKeyData: other.data }),
        'dir-img-cosign-fulcio-rekor-valid',
        FULCIO_IMAGE,
      );
      assert.equal(unknown.allowed, false);
      assert.equal(unknown.requirements[0]?.signatures?.[0]?.code, 'TLOG_LOG_UNKNOWN');
      const time = Math.floor(new Date(leafOfFixture().validFrom).getTime() / 1000) + 60;
      const forged = await decide(
        fulcio({}, { rekorPublicKeyPath: undefined, rekorPublicKeyData: other.data }),
        'dir-img-cosign-fulcio-rekor-valid',
        FULCIO_IMAGE,
        true,
        resigned(time, rekorKey().privateKey, other.logID),
      );
      assert.equal(forged.allowed, false);
      assert.equal(forged.requirements[0]?.signatures?.[0]?.code, 'TLOG_SET_INVALID');
    });

    it('allows a SET integrated while the certificate was valid, denies one after it expired', async () => {
      const log = rekorKey();
      const leaf = leafOfFixture();
      const requirement = fulcio(
        {},
        { rekorPublicKeyPath: undefined, rekorPublicKeyData: log.data },
      );
      const during = Math.floor(new Date(leaf.validFrom).getTime() / 1000) + 60;
      const valid = await decide(
        requirement,
        'dir-img-cosign-fulcio-rekor-valid',
        FULCIO_IMAGE,
        true,
        resigned(during, log.privateKey, log.logID),
      );
      assert.equal(valid.allowed, true, valid.requirements[0]?.reason);
      const after = Math.floor(new Date(leaf.validTo).getTime() / 1000) + 60;
      const expired = await decide(
        requirement,
        'dir-img-cosign-fulcio-rekor-valid',
        FULCIO_IMAGE,
        true,
        resigned(after, log.privateKey, log.logID),
      );
      assert.equal(expired.allowed, false);
      assert.equal(expired.requirements[0]?.signatures?.[0]?.code, 'CERT_CHAIN_INVALID');
      assert.match(expired.requirements[0]?.reason ?? '', /not valid at/);
    });

    it('denies a signature without its certificate or its SET', async () => {
      for (const annotation of [CERTIFICATE_ANNOTATION, BUNDLE_ANNOTATION]) {
        const decision = await decide(
          fulcio(),
          'dir-img-cosign-fulcio-rekor-valid',
          FULCIO_IMAGE,
          true,
          (evidence) => ({
            ...evidence,
            signatures: evidence.signatures.map((signature) => ({
              ...signature,
              annotations: Object.fromEntries(
                Object.entries(signature.annotations).filter(([key]) => key !== annotation),
              ),
            })),
          }),
        );
        assert.equal(decision.allowed, false);
        assert.match(decision.requirements[0]?.reason ?? '', new RegExp(`missing ${annotation}`));
      }
    });

    it('denies the Fulcio image for another identity', async () => {
      const decision = await decide(
        fulcio(),
        'dir-img-cosign-fulcio-rekor-valid',
        'example.com/other:latest',
      );
      assert.equal(decision.allowed, false);
      assert.equal(decision.requirements[0]?.signatures?.[0]?.code, 'IDENTITY_MISMATCH');
    });
  },
);

const PKI_IMAGE = 'localhost:5000/test';
const pki = (overrides: object = {}) => ({
  type: 'sigstoreSigned',
  pki: {
    caRootsPath: 'pki_root_crts.pem',
    caIntermediatesPath: 'pki_intermediate_crts.pem',
    subjectEmail: 'qiwan@redhat.com',
    ...overrides,
  },
  signedIdentity: { type: 'matchRepository' },
});

describe(
  'decideContainersPolicy: sigstoreSigned with pki (policy_eval_sigstore_test.go TestPRrSigstoreSignedIsSignatureAccepted pki cases; pki_cert_test.go)',
  { skip },
  () => {
    it('allows the PKI-signed image', async () => {
      const decision = await decide(pki(), 'dir-img-cosign-pki-valid', PKI_IMAGE);
      assert.equal(decision.allowed, true, decision.requirements[0]?.reason);
    });

    it('denies another email SAN, a hostname the certificate lacks, another root', async () => {
      for (const [overrides, code] of [
        [{ subjectEmail: 'someone@example.com' }, 'CERT_IDENTITY_MISMATCH'],
        [{ subjectEmail: '', subjectHostname: 'example.com' }, 'CERT_IDENTITY_MISMATCH'],
        [{ caRootsPath: 'fulcio_v1.crt.pem' }, 'CERT_CHAIN_INVALID'],
      ] as const) {
        const decision = await decide(pki(overrides), 'dir-img-cosign-pki-valid', PKI_IMAGE);
        assert.equal(decision.allowed, false, JSON.stringify(overrides));
        assert.equal(
          decision.requirements[0]?.signatures?.[0]?.code,
          code,
          JSON.stringify(overrides),
        );
      }
    });
  },
);

describe(
  'decideContainersPolicy: sigstore signatures from the lookaside or API extension (docker_image_src.go GetSignaturesWithFormat; TestPRSigstoreSignedIsRunningImageAllowed over stored signatures)',
  { skip },
  () => {
    async function decideStored(
      requirement: unknown,
      dir: string,
      image: string,
      files: readonly (string | Uint8Array)[],
    ): Promise<ContainersPolicyDecision> {
      const policy = parseContainersPolicy(
        new TextEncoder().encode(JSON.stringify({ default: [requirement] })),
      );
      const prepared = await prepareRequirements(policy.default, 'default', readFile);
      return await decideContainersPolicy(prepared, {
        reference: parseReference(image),
        digest: digestOf(readFixture(`${dir}/manifest.json`)),
        useSigstoreAttachments: false,
        simpleSignatures: files.map((file) =>
          typeof file === 'string'
            ? { blob: readFixture(file), source: file }
            : { blob: file, source: '(inline)' },
        ),
      });
    }

    it('accepts a sigstore blob read from the store as an attachment', async () => {
      const decision = await decideStored(keyed(), 'dir-img-cosign-valid', SINGLE, [
        'dir-img-cosign-valid/signature-1',
      ]);
      assert.equal(decision.allowed, true, decision.requirements[0]?.reason);
      const fulcioDecision = await decideStored(
        fulcio(),
        'dir-img-cosign-fulcio-rekor-valid',
        FULCIO_IMAGE,
        ['dir-img-cosign-fulcio-rekor-valid/signature-1'],
      );
      assert.equal(fulcioDecision.allowed, true, fulcioDecision.requirements[0]?.reason);
    });

    it('skips GPG simple signatures in the store, one valid sigstore blob is enough', async () => {
      const decision = await decideStored(keyed(), 'dir-img-cosign-valid', SINGLE, [
        'image.signature',
        'dir-img-cosign-valid/signature-1',
      ]);
      assert.equal(decision.allowed, true, decision.requirements[0]?.reason);
      const gpgOnly = await decideStored(keyed(), 'dir-img-cosign-valid', SINGLE, [
        'image.signature',
      ]);
      assert.equal(gpgOnly.allowed, false);
      assert.match(gpgOnly.requirements[0]?.reason ?? '', /no signature exists/);
    });

    it('denies a stored sigstore blob signed by another key, for another image, or malformed', async () => {
      const other = await decideStored(
        keyed(undefined, { keyPath: 'cosign2.pub' }),
        'dir-img-cosign-valid',
        SINGLE,
        ['dir-img-cosign-valid/signature-1'],
      );
      assert.equal(other.allowed, false);
      assert.equal(other.requirements[0]?.signatures?.[0]?.code, 'SIGNATURE_INVALID');
      const modified = await decideStored(keyed(), 'dir-img-cosign-modified-manifest', SINGLE, [
        'dir-img-cosign-modified-manifest/signature-1',
      ]);
      assert.equal(modified.allowed, false);
      const malformed = await decideStored(keyed(), 'dir-img-cosign-valid', SINGLE, [
        new TextEncoder().encode('\x00sigstore-json\n{not json'),
      ]);
      assert.equal(malformed.allowed, false);
      assert.equal(
        malformed.requirements[0]?.signatures?.[0]?.code,
        'CONTAINERS_SIGNATURE_INVALID',
      );
    });
  },
);
