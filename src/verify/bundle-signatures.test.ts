/**
 * Deciding on Sigstore bundle referrers is pure: these tests build bundle
 * evidence in memory (bundles signed with throwaway keys) and check how
 * bundles count as attestations (`evaluateAttestations`) and as cosign 3
 * signatures (`evaluateBundleSignatures`), and every reason they do not.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { IN_TOTO_PAYLOAD_TYPE, preAuthEncoding } from '../formats/dsse.ts';
import { buildSignStatement, buildStatement } from '../formats/in-toto.ts';
import { PREDICATE_TYPES } from '../formats/predicate-types.ts';
import {
  BUNDLE_V03_MEDIA_TYPE,
  buildDsseBundle,
  COSIGN_SIGN_PREDICATE_TYPE,
} from '../formats/sigstore-bundle.ts';
import { parseBundle } from '../formats/sigstore-bundle-reader.ts';
import { createKeySigner, type Signer } from '../keys/signer.ts';
import { type Digest, digestOf, parseDigest } from '../oci/digest.ts';
import { parseReference } from '../oci/reference.ts';
import { evaluateAttestations } from './attestation-evaluate.ts';
import type { BundleEvidence, BundleReferrerEvidence } from './bundle-evidence.ts';
import { evaluateBundleSignatures } from './bundle-signatures.ts';

const IMAGE = parseDigest(`sha256:${'ab'.repeat(32)}`);
const OTHER_IMAGE = parseDigest(`sha256:${'cd'.repeat(32)}`);
const SPDX = PREDICATE_TYPES.spdxjson as string;
const key = createKeySigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
const stranger = createKeySigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
const image = { digest: IMAGE, reference: 'registry.example.com/app:1' };

async function referrer(
  index: number,
  statement: Uint8Array,
  signer: Signer = key,
): Promise<BundleReferrerEvidence> {
  const sig = await signer.sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement));
  const bytes = buildDsseBundle({
    envelope: {
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      payload: statement,
      signatures: [{ sig, keyid: '' }],
    },
    publicKeyHint: '',
  });
  const layer = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    digest: digestOf(bytes),
    size: bytes.byteLength,
  };
  return {
    index,
    referrer: digestOf(new TextEncoder().encode(`referrer ${index}`)),
    layer,
    annotations: {},
    bundle: parseBundle(bytes),
  };
}

const attestation = (digest: Digest = IMAGE, predicateType = SPDX) =>
  buildStatement({ subjectName: 'registry.example.com/app', digest, predicateType, predicate: {} });
const signature = (digest: Digest = IMAGE, annotations: Record<string, string> = {}) =>
  buildSignStatement({ digest, predicateType: COSIGN_SIGN_PREDICATE_TYPE, annotations });

function evidence(bundles: readonly BundleReferrerEvidence[]): BundleEvidence {
  return {
    image,
    referrersLocation: 'registry.example.com/app@sha256:ab (referrers)',
    bundles,
    rejectedReferrers: [
      {
        index: 9,
        referrer: IMAGE,
        problem: 'subject-mismatch',
        reason: 'referrer 9: another image',
      },
    ],
  };
}

describe('bundles as attestations', () => {
  test('counts a bundle of the type asked for and says it came from a referrer; rejects the rest', async () => {
    const bundles = [
      await referrer(0, attestation()),
      await referrer(1, attestation(OTHER_IMAGE)),
      await referrer(2, attestation(), stranger),
      await referrer(3, attestation(IMAGE, 'https://example.com/other')),
    ];
    const verdict = evaluateAttestations(
      {
        image,
        attestationLocation: 'x.att',
        attestations: [],
        rejectedLayers: [],
        bundles: evidence(bundles),
      },
      { keys: [key.publicKey] },
      { predicateType: SPDX },
    );
    assert.deepEqual(
      verdict.verified.map((v) => [v.index, v.source.form, v.predicateType]),
      [[0, 'bundle', SPDX]],
    );
    assert.deepEqual(
      verdict.rejected.map((r) => [r.index, r.reason.code]),
      [
        [1, 'DIGEST_MISMATCH'],
        [2, 'SIGNATURE_INVALID'],
        [3, 'PREDICATE_TYPE_MISMATCH'],
        [9, 'LAYER_INVALID'],
      ],
    );
    const [first] = verdict.verified;
    assert.ok(first?.source.form === 'bundle');
    assert.equal(first.source.referrer, bundles[0]?.referrer);
    assert.equal(first.source.material, 'public-key');
    assert.equal(first.source.tlogEntries, 0);
  });
});

describe('evaluateBundleSignatures', () => {
  test('a sign/v1 statement about this image signed by the key counts; attestations are left out', async () => {
    const verdict = evaluateBundleSignatures(
      evidence([await referrer(0, signature()), await referrer(1, attestation())]),
      { keys: [key.publicKey] },
    );
    assert.deepEqual(
      verdict.verified.map((v) => v.index),
      [0],
    );
    assert.deepEqual(
      verdict.rejected.map((r) => [r.index, r.reason.code]),
      [[9, 'LAYER_INVALID']],
    );
  });

  test('an attestation that fails verification is left out of the signature report too', async () => {
    const verdict = evaluateBundleSignatures(
      evidence([
        await referrer(0, attestation(), stranger),
        await referrer(1, signature(), stranger),
      ]),
      { keys: [key.publicKey] },
    );
    assert.equal(verdict.verified.length, 0);
    assert.deepEqual(
      verdict.rejected.map((r) => [r.index, r.reason.code]),
      [
        [1, 'SIGNATURE_INVALID'],
        [9, 'LAYER_INVALID'],
      ],
    );
  });

  test('another image, another key, and each policy a bundle cannot meet are named', async () => {
    const bundles = evidence([
      await referrer(0, signature(OTHER_IMAGE)),
      await referrer(1, signature(), stranger),
      await referrer(2, signature(IMAGE, { env: 'prod' })),
    ]);
    const trust = { keys: [key.publicKey] };
    const codes = (policy: Parameters<typeof evaluateBundleSignatures>[2]) => {
      const verdict = evaluateBundleSignatures(bundles, trust, policy);
      return {
        verified: verdict.verified.map((v) => v.index),
        rejected: verdict.rejected.filter((r) => r.index < 9).map((r) => [r.index, r.reason.code]),
      };
    };
    assert.deepEqual(codes({}), {
      verified: [2],
      rejected: [
        [0, 'DIGEST_MISMATCH'],
        [1, 'SIGNATURE_INVALID'],
      ],
    });
    assert.deepEqual(codes({ annotations: { env: 'prod' } }).verified, [2]);
    assert.deepEqual(codes({ annotations: { env: 'dev' } }).rejected.at(-1), [
      2,
      'ANNOTATION_MISMATCH',
    ]);
    assert.deepEqual(
      codes({
        identityRule: {
          rule: { type: 'exactRepository', dockerRepository: 'registry.example.com/app' },
          intended: parseReference('registry.example.com/app'),
        },
      }).rejected.at(-1),
      [2, 'IDENTITY_MISMATCH'],
    );
    assert.deepEqual(codes({ requireTlog: true }).rejected.at(-1), [2, 'TLOG_MISSING']);
  });

  test('a bundle holding a message signature is never a signature or an attestation', async () => {
    const base = await referrer(0, signature());
    const json = JSON.parse(new TextDecoder().decode(base.bundle.json));
    delete json.dsseEnvelope;
    json.messageSignature = {
      messageDigest: { algorithm: 'SHA2_256', digest: Buffer.alloc(32).toString('base64') },
      signature: Buffer.from('sig').toString('base64'),
    };
    const bundle = parseBundle(new TextEncoder().encode(JSON.stringify(json)));
    const verdict = evaluateBundleSignatures(evidence([{ ...base, bundle }]), {
      keys: [key.publicKey],
    });
    assert.equal(verdict.verified.length, 0);
    assert.deepEqual(
      verdict.rejected.map((r) => r.reason.code),
      ['ENVELOPE_INVALID', 'LAYER_INVALID'],
    );
  });
});
