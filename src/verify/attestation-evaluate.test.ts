/**
 * `evaluateAttestations` is pure: these tests build `.att` layers in memory
 * (envelopes signed with throwaway keys) and check each reason an
 * attestation does not count, CVE-2022-35929 (another type never satisfies
 * the type asked for) first among them.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { attestationLayer } from '../formats/cosign-attestation.ts';
import { SIMPLE_SIGNING_MEDIA_TYPE } from '../formats/cosign-signature.ts';
import { encodeEnvelope, IN_TOTO_PAYLOAD_TYPE, preAuthEncoding } from '../formats/dsse.ts';
import { buildStatement } from '../formats/in-toto.ts';
import { PREDICATE_TYPES } from '../formats/predicate-types.ts';
import { createKeySigner, type Signer } from '../keys/signer.ts';
import { type Digest, digestOf, parseDigest } from '../oci/digest.ts';
import { evaluateAttestations } from './attestation-evaluate.ts';
import { type AttestationEvidence, attestationEvidenceFromLayers } from './attestation-evidence.ts';
import type { LayerWithPayload } from './evidence.ts';

const IMAGE = parseDigest(`sha256:${'ab'.repeat(32)}`);
const OTHER_IMAGE = parseDigest(`sha256:${'cd'.repeat(32)}`);
const SPDX = PREDICATE_TYPES.spdxjson as string;
const CYCLONEDX = PREDICATE_TYPES.cyclonedx as string;

const ecdsa = createKeySigner(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
const ed25519 = createKeySigner(generateKeyPairSync('ed25519').privateKey);
const stranger = createKeySigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);

interface LayerOptions {
  readonly signers?: readonly Signer[];
  readonly digest?: Digest;
  readonly predicateType?: string;
  readonly payloadType?: string;
  readonly statement?: Uint8Array;
  /** Changes the envelope after signing. */
  readonly tamper?: (envelope: { payload: Uint8Array; payloadType: string }) => void;
}

async function layer(options: LayerOptions = {}): Promise<LayerWithPayload> {
  const predicateType = options.predicateType ?? SPDX;
  const statement =
    options.statement ??
    buildStatement({
      subjectName: 'registry.example.com/app',
      digest: options.digest ?? IMAGE,
      predicateType,
      predicate: { spdxVersion: 'SPDX-2.3' },
    });
  const payloadType = options.payloadType ?? IN_TOTO_PAYLOAD_TYPE;
  const pae = preAuthEncoding(payloadType, statement);
  const signatures = [];
  for (const signer of options.signers ?? [ecdsa])
    signatures.push({ sig: await signer.sign(pae), keyid: '' });
  const envelope = { payloadType, payload: statement, signatures };
  options.tamper?.(envelope);
  const built = attestationLayer({ envelope: encodeEnvelope(envelope), predicateType });
  return { layer: built.descriptor, payload: built.blob };
}

function evidence(layers: readonly LayerWithPayload[]): AttestationEvidence {
  return attestationEvidenceFromLayers(
    { digest: IMAGE, reference: 'registry.example.com/app:1' },
    layers,
  );
}

const trust = (...signers: Signer[]): { keys: KeyObject[] } => ({
  keys: signers.map((s) => s.publicKey),
});

describe('evaluateAttestations', () => {
  test('an attestation of the type asked for, signed by a trusted key, about this image, counts', async () => {
    const verdict = evaluateAttestations(evidence([await layer()]), trust(ed25519, ecdsa), {
      predicateType: SPDX,
    });
    assert.equal(verdict.rejected.length, 0);
    assert.equal(verdict.verified.length, 1);
    const [verified] = verdict.verified;
    assert.equal(verified?.key, 1);
    assert.equal(verified?.predicateType, SPDX);
    assert.equal(verified?.statement.predicateType, SPDX);
    assert.deepEqual(JSON.parse(JSON.stringify(verified?.statement.subject)), [
      { name: 'registry.example.com/app', digest: { sha256: 'ab'.repeat(32) } },
    ]);
  });

  test('CVE-2022-35929: a valid attestation of another type never satisfies the type asked for', async () => {
    const verdict = evaluateAttestations(
      evidence([await layer({ predicateType: SPDX })]),
      trust(ecdsa),
      {
        predicateType: CYCLONEDX,
      },
    );
    assert.equal(verdict.verified.length, 0);
    const [rejected] = verdict.rejected;
    assert.equal(rejected?.reason.code, 'PREDICATE_TYPE_MISMATCH');
    assert.equal(rejected?.key, 0);
    assert.equal(rejected?.predicateType, SPDX);
    assert.match(
      rejected?.reason.message ?? '',
      /of type https:\/\/spdx\.dev\/Document, not of the type asked for/,
    );
  });

  test('the unsigned predicateType annotation is not believed', async () => {
    // A genuine SPDX attestation relabelled as CycloneDX in the layer annotation.
    const spdx = await layer({ predicateType: SPDX });
    const relabelled = {
      layer: {
        ...spdx.layer,
        annotations: { ...spdx.layer.annotations, predicateType: CYCLONEDX },
      },
      payload: spdx.payload,
    };
    const verdict = evaluateAttestations(evidence([relabelled]), trust(ecdsa), {
      predicateType: CYCLONEDX,
    });
    assert.equal(verdict.verified.length, 0);
    assert.equal(verdict.rejected[0]?.reason.code, 'PREDICATE_TYPE_MISMATCH');
  });

  test('null asks for any type (listing), each statement reporting its own', async () => {
    const verdict = evaluateAttestations(
      evidence([await layer({ predicateType: SPDX }), await layer({ predicateType: CYCLONEDX })]),
      trust(ecdsa),
      { predicateType: null },
    );
    assert.deepEqual(
      verdict.verified.map((v) => v.predicateType),
      [SPDX, CYCLONEDX],
    );
  });

  test('an attestation of another image (a replayed layer) is DIGEST_MISMATCH', async () => {
    const verdict = evaluateAttestations(
      evidence([await layer({ digest: OTHER_IMAGE })]),
      trust(ecdsa),
      {
        predicateType: SPDX,
      },
    );
    assert.equal(verdict.verified.length, 0);
    assert.equal(verdict.rejected[0]?.reason.code, 'DIGEST_MISMATCH');
    assert.equal(verdict.rejected[0]?.key, 0);
    assert.ok(verdict.rejected[0]?.reason.message.includes(OTHER_IMAGE));
  });

  test('another key, or an altered payload or payload type, is SIGNATURE_INVALID', async () => {
    const statement = buildStatement({
      subjectName: 'r/a',
      digest: IMAGE,
      predicateType: SPDX,
      predicate: { spdxVersion: 'SPDX-2.3' },
    });
    const altered = buildStatement({
      subjectName: 'r/a',
      digest: IMAGE,
      predicateType: SPDX,
      predicate: { spdxVersion: 'SPDX-2.2' },
    });
    const verdict = evaluateAttestations(
      evidence([
        await layer({ signers: [stranger] }),
        await layer({ statement, tamper: (e) => (e.payload = altered) }),
        await layer({ statement, tamper: (e) => (e.payloadType = 'application/json') }),
      ]),
      trust(ecdsa, ed25519),
      { predicateType: SPDX },
    );
    assert.equal(verdict.verified.length, 0);
    assert.deepEqual(
      verdict.rejected.map((r) => r.reason.code),
      ['SIGNATURE_INVALID', 'SIGNATURE_INVALID', 'SIGNATURE_INVALID'],
    );
    assert.ok(verdict.rejected.every((r) => r.key === undefined));
  });

  test('one good signature among several is enough; the keyid hint is ignored', async () => {
    const built = await layer({ signers: [stranger, ed25519] });
    const verdict = evaluateAttestations(evidence([built]), trust(ed25519), {
      predicateType: SPDX,
    });
    assert.equal(verdict.verified[0]?.key, 0);
  });

  test('a signed envelope of another payload type is PAYLOAD_TYPE_MISMATCH', async () => {
    const verdict = evaluateAttestations(
      evidence([await layer({ payloadType: 'application/vnd.example+json' })]),
      trust(ecdsa),
      { predicateType: SPDX },
    );
    assert.equal(verdict.rejected[0]?.reason.code, 'PAYLOAD_TYPE_MISMATCH');
  });

  test('a signed statement that does not parse strictly is STATEMENT_INVALID', async () => {
    const doubled = new TextEncoder().encode(
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"${'ab'.repeat(32)}"}}],"predicateType":"${CYCLONEDX}","predicateType":"${SPDX}"}`,
    );
    const verdict = evaluateAttestations(
      evidence([await layer({ statement: doubled })]),
      trust(ecdsa),
      {
        predicateType: SPDX,
      },
    );
    assert.equal(verdict.rejected[0]?.reason.code, 'STATEMENT_INVALID');
    assert.match(verdict.rejected[0]?.reason.message ?? '', /duplicate key "predicateType"/);
  });

  test('layers that are not envelopes are ENVELOPE_INVALID or LAYER_INVALID, never counted', async () => {
    const good = await layer();
    const garbage = new TextEncoder().encode('{"payloadType":');
    const notJson = {
      layer: { ...good.layer, digest: digestOf(garbage), size: garbage.byteLength },
      payload: garbage,
    };
    const simpleSigning = {
      layer: { ...good.layer, mediaType: SIMPLE_SIGNING_MEDIA_TYPE },
      payload: good.payload,
    };
    const corrupt = { layer: good.layer, payload: new Uint8Array(good.payload.byteLength) };
    const verdict = evaluateAttestations(
      evidence([notJson, simpleSigning, corrupt, good]),
      trust(ecdsa),
      {
        predicateType: SPDX,
      },
    );
    assert.deepEqual(
      verdict.rejected.map((r) => [r.index, r.reason.code, r.problem]),
      [
        [0, 'ENVELOPE_INVALID', undefined],
        [1, 'LAYER_INVALID', 'not-dsse-envelope'],
        [2, 'LAYER_INVALID', 'payload-invalid'],
      ],
    );
    assert.deepEqual(
      verdict.verified.map((v) => v.index),
      [3],
    );
  });

  test('needs at least one key and a real predicate type', async () => {
    const input = evidence([await layer()]);
    assert.throws(
      () => evaluateAttestations(input, { keys: [] }, { predicateType: SPDX }),
      expectError('invalid', 'NO_TRUSTED_KEYS'),
    );
    assert.throws(
      () => evaluateAttestations(input, trust(ecdsa), { predicateType: '' }),
      expectError('invalid', 'INVALID_PREDICATE_TYPE'),
    );
  });
});
