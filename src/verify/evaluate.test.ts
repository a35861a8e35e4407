/**
 * `evaluate` is pure: these tests build evidence in memory. The real cosign
 * and containers/image signatures in ../shared/fixtures/containers-image
 * (containers/image signature/fixtures; expected outcomes in its README) must
 * pass and fail exactly as listed there, with the specific reason; the rest
 * covers the checks the fixtures do not reach.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import {
  layerOfContainersSignature,
  parseContainersSignature,
} from '../formats/containers-signature.ts';
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE } from '../formats/cosign-signature.ts';
import { buildSimpleSigningPayload } from '../formats/simple-signing.ts';
import type { IdentityRule } from '../formats/containers-policy/policy-json.ts';
import { requiredIdentityRule } from '../formats/containers-policy/signed-identity.ts';
import { parsePublicKeyPem } from '../keys/pem.ts';
import { type Digest, digestOf } from '../oci/digest.ts';
import { parseReference } from '../oci/reference.ts';
import { publicGoodTrustedRoot } from '../sigstore/public-good.ts';
import type { TransparencyLog } from '../sigstore/trusted-root.ts';
import { evaluate, type Policy, type Verdict } from './evaluate.ts';
import { type Evidence, evidenceFromLayers, type LayerWithPayload } from './evidence.ts';

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

function fixtureKey(name: string): KeyObject {
  return parsePublicKeyPem(readFixture(name), { source: name });
}

/** A `dir-img-*` folder as evidence: manifest.json gives the digest, signature-N the layers. */
function fixtureEvidence(dir: string, signatureFiles?: readonly string[]): Evidence {
  const digest = digestOf(readFixture(`${dir}/manifest.json`));
  const files =
    signatureFiles ??
    Array.from({ length: 9 }, (_, i) => `${dir}/signature-${i + 1}`).filter((file) =>
      existsSync(resolve(FIXTURES, file)),
    );
  const layers = files.map((file) => {
    const signature = parseContainersSignature(readFixture(file), file);
    return { layer: layerOfContainersSignature(signature), payload: signature.payload };
  });
  return evidenceFromLayers({ digest, reference: `dir:${dir}` }, layers);
}

const SINGLE = '192.168.64.2:5000/cosign-signed-single-sample';
const WITH_TAG = '192.168.64.2:5000/skopeo-signed:tag';

function codes(verdict: Verdict): string[] {
  return verdict.rejected.map((r) => r.reason.code);
}

describe('evaluate: containers/image fixtures', { skip }, () => {
  const cosignPub = () => fixtureKey('cosign.pub');
  const cosign2Pub = () => fixtureKey('cosign2.pub');
  // The key-rekor signature carries a bundle of rekor.sigstore.dev (tlog.test.ts checks it).
  let tlogs: readonly TransparencyLog[] = [];
  before(async () => {
    tlogs = (await publicGoodTrustedRoot()).tlogs;
  });

  test('dir-img-cosign-valid verifies with cosign.pub, identity reported', () => {
    const evidence = fixtureEvidence('dir-img-cosign-valid');
    const verdict = evaluate(evidence, { keys: [cosignPub()] });
    assert.equal(verdict.digest, evidence.image.digest);
    assert.deepEqual(verdict.rejected, []);
    assert.equal(verdict.verified.length, 1);
    const [signature] = verdict.verified;
    assert.equal(signature?.dockerReference, SINGLE);
    assert.equal(signature?.key, 0);
    assert.equal(signature?.index, 0);
    assert.equal(signature?.annotations, null);
    assert.equal(signature?.layer, evidence.signatures[0]?.layer.digest);
  });

  test('dir-img-cosign-valid-2: both signatures verify', () => {
    const verdict = evaluate(fixtureEvidence('dir-img-cosign-valid-2'), { keys: [cosignPub()] });
    assert.deepEqual(
      verdict.verified.map((s) => s.index),
      [0, 1],
    );
    assert.deepEqual(verdict.rejected, []);
  });

  test('dir-img-cosign-mixed: signature-1 fails (other key), signature-2 verifies', () => {
    const verdict = evaluate(fixtureEvidence('dir-img-cosign-mixed'), { keys: [cosignPub()] });
    assert.deepEqual(
      verdict.verified.map((s) => s.index),
      [1],
    );
    assert.deepEqual(codes(verdict), ['SIGNATURE_INVALID']);
    assert.equal(verdict.rejected[0]?.index, 0);
    assert.equal(verdict.rejected[0]?.key, undefined);
  });

  test('dir-img-cosign-valid-with-tag verifies; containers/image payload (tag, creator, timestamp)', () => {
    const evidence = fixtureEvidence('dir-img-cosign-valid-with-tag');
    const verdict = evaluate(evidence, { keys: [cosignPub()] });
    assert.equal(verdict.verified.length, 1);
    assert.equal(verdict.verified[0]?.dockerReference, WITH_TAG);
    assert.deepEqual(
      { ...verdict.verified[0]?.annotations },
      {
        creator: 'containers/image 5.21.2-dev',
        timestamp: 1657296609,
      },
    );
  });

  test('dir-img-cosign-valid-with-tag: matchExact on the tagged identity, matchRepository on the repository', () => {
    const evidence = fixtureEvidence('dir-img-cosign-valid-with-tag');
    const keys = [cosignPub()];
    const with_ = (identity: string) => evaluate(evidence, { keys }, requiring(identity));
    assert.equal(with_(WITH_TAG).verified.length, 1, 'matchExact with :tag');
    assert.equal(with_('192.168.64.2:5000/skopeo-signed').verified.length, 1, 'matchRepository');

    const otherTag = with_('192.168.64.2:5000/skopeo-signed:othertag');
    assert.deepEqual(codes(otherTag), ['IDENTITY_MISMATCH']);
    assert.equal(otherTag.rejected[0]?.key, 0, 'a genuine signature, for another identity');
    assert.match(otherTag.rejected[0]?.reason.message ?? '', /skopeo-signed:othertag/);
    assert.deepEqual(codes(with_('192.168.64.2:5000/other')), ['IDENTITY_MISMATCH']);
    assert.deepEqual(codes(with_('192.168.64.2:5001/skopeo-signed')), ['IDENTITY_MISMATCH']);
  });

  test("dir-img-cosign-valid: cosign's repository-only identity passes matchRepository, not matchExact", () => {
    const evidence = fixtureEvidence('dir-img-cosign-valid');
    const keys = [cosignPub()];
    const repo = evaluate(evidence, { keys }, requiring(SINGLE));
    assert.equal(repo.verified.length, 1);
    const exact = evaluate(evidence, { keys }, requiring(`${SINGLE}:latest`));
    assert.deepEqual(codes(exact), ['IDENTITY_MISMATCH']);
    assert.match(
      exact.rejected[0]?.reason.message ?? '',
      /not accepted by exactReference .*:latest/,
    );
  });

  test('dir-img-cosign-modified-manifest: DIGEST_MISMATCH (a genuine signature for another manifest)', () => {
    const evidence = fixtureEvidence('dir-img-cosign-modified-manifest');
    const verdict = evaluate(evidence, { keys: [cosignPub()] });
    assert.deepEqual(verdict.verified, []);
    assert.deepEqual(codes(verdict), ['DIGEST_MISMATCH']);
    assert.equal(verdict.rejected[0]?.key, 0);
    const message = verdict.rejected[0]?.reason.message ?? '';
    assert.ok(message.includes('sha256:634a8f35'), message);
    assert.ok(message.includes(evidence.image.digest), message);
  });

  test('dir-img-cosign-manifest-digest-error: a schema1 manifest never matches', () => {
    const verdict = evaluate(fixtureEvidence('dir-img-cosign-manifest-digest-error'), {
      keys: [cosignPub()],
    });
    assert.deepEqual(verdict.verified, []);
    assert.deepEqual(codes(verdict), ['DIGEST_MISMATCH']);
  });

  test('dir-img-cosign-other-attachment: rejected, not a simple-signing attachment', () => {
    const verdict = evaluate(fixtureEvidence('dir-img-cosign-other-attachment'), {
      keys: [cosignPub()],
    });
    assert.deepEqual(verdict.verified, []);
    assert.deepEqual(codes(verdict), ['LAYER_INVALID']);
    assert.equal(verdict.rejected[0]?.problem, 'not-simple-signing');
    assert.match(verdict.rejected[0]?.reason.message ?? '', /text\/plain/);
  });

  test('unknown key: the valid signature checked with cosign2.pub is SIGNATURE_INVALID', () => {
    const verdict = evaluate(fixtureEvidence('dir-img-cosign-valid'), { keys: [cosign2Pub()] });
    assert.deepEqual(verdict.verified, []);
    assert.deepEqual(codes(verdict), ['SIGNATURE_INVALID']);
  });

  test('unknown-cosign-key.signature with cosign.pub is SIGNATURE_INVALID', () => {
    const evidence = fixtureEvidence('dir-img-cosign-valid', ['unknown-cosign-key.signature']);
    const verdict = evaluate(evidence, { keys: [cosignPub()] });
    assert.deepEqual(verdict.verified, []);
    assert.deepEqual(codes(verdict), ['SIGNATURE_INVALID']);
  });

  test('dir-img-cosign-key-rekor-valid: the signature verifies by key with cosign2.pub', () => {
    const evidence = fixtureEvidence('dir-img-cosign-key-rekor-valid');
    assert.ok(evidence.signatures[0]?.annotations['dev.sigstore.cosign/bundle'] !== undefined);
    const verdict = evaluate(evidence, { keys: [cosign2Pub()], tlogs });
    assert.equal(verdict.verified.length, 1);
    assert.equal(verdict.verified[0]?.dockerReference, '192.168.64.2:5000/cosign-signed/key-1');
    assert.deepEqual(codes(evaluate(evidence, { keys: [cosignPub()], tlogs })), [
      'SIGNATURE_INVALID',
    ]);
  });

  test('several keys: any one verifying is enough, and the verdict says which', () => {
    const evidence = fixtureEvidence('dir-img-cosign-key-rekor-valid');
    const verdict = evaluate(evidence, { keys: [cosignPub(), cosign2Pub()], tlogs });
    assert.equal(verdict.verified[0]?.key, 1);
  });

  test('required annotations: compared as exact strings, as cosign does', () => {
    const keys = [cosignPub()];
    const tagged = fixtureEvidence('dir-img-cosign-valid-with-tag');
    const need = (annotations: Policy['annotations']) =>
      evaluate(tagged, { keys }, annotations === undefined ? {} : { annotations });
    assert.equal(need({ creator: 'containers/image 5.21.2-dev' }).verified.length, 1);
    const number = need({ timestamp: '1657296609' });
    assert.deepEqual(codes(number), ['ANNOTATION_MISMATCH'], 'a signed number is not the string');
    assert.match(number.rejected[0]?.reason.message ?? '', /signed value is 1657296609/);
    const absent = evaluate(
      fixtureEvidence('dir-img-cosign-valid'),
      { keys },
      {
        annotations: { env: 'prod' },
      },
    );
    assert.deepEqual(codes(absent), ['ANNOTATION_MISMATCH']);
    assert.match(absent.rejected[0]?.reason.message ?? '', /"env"="prod" is not signed/);
  });
});

describe('evaluate: synthetic evidence', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ed25519');
  const digest = digestOf(new TextEncoder().encode('{"an":"image manifest"}'));

  function signedLayer(
    payload: Uint8Array,
    key: KeyObject = privateKey,
    annotations: Record<string, string> = {},
  ): LayerWithPayload {
    const hash = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
    const signature = sign(hash, payload, { key, dsaEncoding: 'der' }).toString('base64');
    return {
      layer: {
        mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
        digest: digestOf(payload),
        size: payload.byteLength,
        annotations: { ...annotations, [SIGNATURE_ANNOTATION]: signature },
      },
      payload,
    };
  }

  const payloadFor = (imageDigest: Digest, annotations?: Record<string, string>) =>
    buildSimpleSigningPayload({
      dockerReference: '127.0.0.1:5000/app',
      dockerManifestDigest: imageDigest,
      ...(annotations === undefined ? {} : { annotations }),
    });

  const evidence = (layers: readonly LayerWithPayload[]) =>
    evidenceFromLayers({ digest, reference: 'test' }, layers);

  test('each check gives its own reason, in layer order', () => {
    const altered = signedLayer(payloadFor(digest));
    const corrupted: LayerWithPayload = {
      ...altered,
      layer: {
        ...altered.layer,
        annotations: { [SIGNATURE_ANNOTATION]: Buffer.alloc(70, 1).toString('base64') },
      },
    };
    const layers = [
      signedLayer(payloadFor(digest)),
      corrupted,
      signedLayer(new TextEncoder().encode('{"critical":{}}')),
      signedLayer(payloadFor(digestOf(new Uint8Array([1])))),
      signedLayer(payloadFor(digest, { env: 'dev' })),
      signedLayer(payloadFor(digest), other.privateKey),
      { ...signedLayer(payloadFor(digest)), layer: { ...altered.layer, annotations: {} } },
    ];
    const verdict = evaluate(
      evidence(layers),
      { keys: [publicKey, other.publicKey] },
      { annotations: {} },
    );
    assert.deepEqual(
      verdict.verified.map((s) => [s.index, s.key]),
      [
        [0, 0],
        [4, 0],
        [5, 1],
      ],
    );
    assert.deepEqual(
      verdict.rejected.map((r) => [r.index, r.reason.code, r.key]),
      [
        [1, 'SIGNATURE_INVALID', undefined],
        [2, 'PAYLOAD_INVALID', 0],
        [3, 'DIGEST_MISMATCH', 0],
        [6, 'LAYER_INVALID', undefined],
      ],
    );
    const required = evaluate(
      evidence(layers),
      { keys: [publicKey] },
      {
        annotations: { env: 'prod' },
      },
    );
    assert.equal(required.verified.length, 0);
    const byIndex = new Map(required.rejected.map((r) => [r.index, r.reason]));
    assert.equal(byIndex.get(4)?.code, 'ANNOTATION_MISMATCH');
    assert.match(byIndex.get(4)?.message ?? '', /signed value is "dev"/);
    assert.equal(byIndex.get(0)?.code, 'ANNOTATION_MISMATCH');
    assert.equal(byIndex.get(5)?.code, 'SIGNATURE_INVALID');
  });

  test('a payload that does not match its layer descriptor is LAYER_INVALID', () => {
    const layer = signedLayer(payloadFor(digest));
    const swapped = { layer: layer.layer, payload: payloadFor(digest, { x: 'y' }) };
    const verdict = evaluate(evidence([swapped]), { keys: [publicKey] });
    assert.deepEqual(codes(verdict), ['LAYER_INVALID']);
    assert.equal(verdict.rejected[0]?.problem, 'payload-invalid');
  });

  test('no signatures: nothing verified, nothing rejected', () => {
    assert.deepEqual(evaluate(evidence([]), { keys: [publicKey] }), {
      digest,
      verified: [],
      rejected: [],
    });
  });

  test('without keys nothing can verify: invalid input', () => {
    assert.throws(
      () => evaluate(evidence([]), { keys: [] }),
      expectError('invalid', 'NO_TRUSTED_KEYS'),
    );
  });

  test('identityRule: the docker-reference is matched by the containers-policy.json rule', () => {
    const signedFor = (dockerReference: string) =>
      signedLayer(buildSimpleSigningPayload({ dockerReference, dockerManifestDigest: digest }));
    const layers = [signedFor('127.0.0.1:5000/app:v1'), signedFor('127.0.0.1:5000/other:v1')];
    const under = (rule: IdentityRule, image: string) =>
      evaluate(
        evidence(layers),
        { keys: [publicKey] },
        { identityRule: { rule, intended: parseReference(image) } },
      );
    const exact = under({ type: 'matchRepoDigestOrExact' }, '127.0.0.1:5000/app:v1');
    assert.deepEqual(
      exact.verified.map((s) => s.dockerReference),
      ['127.0.0.1:5000/app:v1'],
    );
    assert.deepEqual(
      exact.rejected.map((r) => [r.index, r.reason.code, r.key]),
      [[1, 'IDENTITY_MISMATCH', 0]],
    );
    assert.match(
      exact.rejected[0]?.reason.message ?? '',
      /"127\.0\.0\.1:5000\/other:v1" is not accepted by matchRepoDigestOrExact for 127\.0\.0\.1:5000\/app:v1/,
    );
    // Another tag of the same repository: not the exact reference.
    assert.equal(
      under({ type: 'matchRepoDigestOrExact' }, '127.0.0.1:5000/app:v2').verified.length,
      0,
    );
    assert.equal(under({ type: 'matchRepository' }, '127.0.0.1:5000/app:v2').verified.length, 1);
    const pinned = under(
      { type: 'exactRepository', dockerRepository: '127.0.0.1:5000/other' },
      '127.0.0.1:5000/app:v1',
    );
    assert.deepEqual(
      pinned.verified.map((s) => s.index),
      [1],
    );
  });

  test('more layers than the cap: the whole manifest is refused', () => {
    const layer = signedLayer(payloadFor(digest));
    assert.throws(
      () =>
        evidenceFromLayers({ digest, reference: 'test' }, [layer, layer, layer], { maxLayers: 2 }),
      expectError('denied', 'TOO_MANY_SIGNATURES'),
    );
  });
});

/** The policy `vouch verify --signed-identity IDENTITY` evaluates with. */
function requiring(identity: string): Policy {
  const required = parseReference(identity);
  return { identityRule: { rule: requiredIdentityRule(required), intended: required } };
}
