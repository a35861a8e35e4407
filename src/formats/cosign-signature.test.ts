import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isVouchError } from '../core/errors.ts';
import { digestOf, parseDigest } from '../oci/digest.ts';
import { type Descriptor, type ParsedManifest, parseManifest } from '../oci/manifest.ts';
import { OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../oci/media-types.ts';
import {
  appendSignatureLayer,
  BUNDLE_ANNOTATION,
  decodeSignatureBase64,
  digestOfSignatureTag,
  readSignatureManifest,
  SIGNATURE_ANNOTATION,
  signatureLayer,
  type SignatureImage,
  signatureTag,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type StoredSignatureImage,
  ZERO_TIME,
} from './cosign-signature.ts';
import { buildSimpleSigningPayload } from './simple-signing.ts';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

function vouchError(category: string, code: string, fragment?: string) {
  return (error: unknown): boolean => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.category, category, error.message);
    if (fragment !== undefined) assert.ok(error.message.includes(fragment), error.message);
    return true;
  };
}

// docs/formats.md "Cosign signatures", exact bytes: a real cosign v1.13.1 PUT; the registry
// answered Docker-Content-Digest sha256:7ebe8964… and Content-Length 558.
const RECORDED_LAYER: Descriptor = {
  mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
  size: 252,
  digest: parseDigest('sha256:b671489ededd1a180bd87235bba00fd83354f9c7d13b71d9f8b66a8e52965ebc'),
  annotations: {
    [SIGNATURE_ANNOTATION]:
      'MEYCIQCPH7NJAIfrB6BZN91dV0o7l/i11muXrvrAh100jDMMhAIhAPsLH0oXb2OPITXRpWBMUd3vHtz5Ks5pql2Hr6t/IJXw',
  },
};
const RECORDED_CREATED = '2023-02-17T09:25:33.91047962-08:00';
const RECORDED_CONFIG =
  '{"architecture":"","created":"2023-02-17T09:25:33.91047962-08:00","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["sha256:b671489ededd1a180bd87235bba00fd83354f9c7d13b71d9f8b66a8e52965ebc"]},"config":{}}';
const RECORDED_CONFIG_DIGEST =
  'sha256:85ad8e17d3d7c00664855c638832bd99f32d42542c2d587851410a45a7f60b95';
const RECORDED_MANIFEST =
  '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":247,"digest":"sha256:85ad8e17d3d7c00664855c638832bd99f32d42542c2d587851410a45a7f60b95"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":252,"digest":"sha256:b671489ededd1a180bd87235bba00fd83354f9c7d13b71d9f8b66a8e52965ebc","annotations":{"dev.cosignproject.cosign/signature":"MEYCIQCPH7NJAIfrB6BZN91dV0o7l/i11muXrvrAh100jDMMhAIhAPsLH0oXb2OPITXRpWBMUd3vHtz5Ks5pql2Hr6t/IJXw"}}]}';
const RECORDED_MANIFEST_DIGEST =
  'sha256:7ebe8964225fa4619b53aa35416ef0246c037e36ddf81776b21b15e1dda2262b';

const IMAGE_DIGEST = parseDigest(`sha256:${'ab'.repeat(32)}`);

function stored(image: SignatureImage): StoredSignatureImage {
  return { manifest: parseManifest(image.manifest, image.mediaType, 'test'), config: image.config };
}

function storedRaw(manifest: string, config: string): StoredSignatureImage {
  return { manifest: parseManifest(bytes(manifest), OCI_MANIFEST, 'test'), config: bytes(config) };
}

function newSignature(
  reference: string,
  signature = 'MEUCIQ==',
  annotations?: Record<string, string>,
) {
  return signatureLayer({
    payload: buildSimpleSigningPayload({
      dockerReference: reference,
      dockerManifestDigest: IMAGE_DIGEST,
    }),
    signatureBase64: signature,
    ...(annotations === undefined ? {} : { annotations }),
  });
}

function changed(result: ReturnType<typeof appendSignatureLayer>): SignatureImage {
  assert.equal(result.changed, true);
  return result.image;
}

describe('signatureTag', () => {
  test('is <alg>-<hex>.sig', () => {
    assert.equal(signatureTag(IMAGE_DIGEST), `sha256-${'ab'.repeat(32)}.sig`);
    assert.equal(digestOfSignatureTag(signatureTag(IMAGE_DIGEST)), IMAGE_DIGEST);
  });

  test('refuses sha512, whose tag would exceed 128 characters', () => {
    const digest = parseDigest(`sha512:${'cd'.repeat(64)}`);
    assert.throws(() => signatureTag(digest), vouchError('invalid', 'UNSUPPORTED_DIGEST', '139'));
  });

  test('recognises only .sig tags of well-formed digests', () => {
    for (const tag of [
      'latest',
      `sha256-${'ab'.repeat(32)}.att`,
      'sha256-abc.sig',
      `sha256-${'AB'.repeat(32)}.sig`,
    ]) {
      assert.equal(digestOfSignatureTag(tag), undefined, tag);
    }
  });
});

describe('signatureLayer', () => {
  test('describes the payload with the signature annotation', () => {
    const payload = bytes('payload');
    const layer = signatureLayer({
      payload,
      signatureBase64: 'c2ln',
      annotations: { [BUNDLE_ANNOTATION]: '{}' },
    });
    assert.deepEqual(layer.descriptor, {
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      digest: digestOf(payload),
      size: 7,
      annotations: { [BUNDLE_ANNOTATION]: '{}', [SIGNATURE_ANNOTATION]: 'c2ln' },
    });
    assert.equal(layer.blob, payload);
  });

  test('refuses a signature that readers could not decode', () => {
    for (const signatureBase64 of ['', 'c2ln=', 'c2l', '&&&&', 'c2ln====']) {
      assert.throws(
        () => signatureLayer({ payload: bytes('p'), signatureBase64 }),
        vouchError('invalid', 'INVALID_SIGNATURE_INPUT'),
        signatureBase64,
      );
    }
    assert.throws(
      () =>
        signatureLayer({
          payload: bytes('p'),
          signatureBase64: 'c2ln',
          annotations: { [SIGNATURE_ANNOTATION]: 'b3RoZXI=' },
        }),
      vouchError('invalid', 'INVALID_SIGNATURE_INPUT'),
    );
  });
});

describe('appendSignatureLayer: exact bytes', () => {
  test('reproduces a real cosign v1.13.1 PUT byte for byte (recorded creation time)', () => {
    const image = changed(
      appendSignatureLayer(undefined, RECORDED_LAYER, { created: RECORDED_CREATED }),
    );
    assert.equal(text(image.config), RECORDED_CONFIG);
    assert.equal(image.configDescriptor.digest, RECORDED_CONFIG_DIGEST);
    assert.equal(image.configDescriptor.size, 247);
    assert.equal(image.configDescriptor.mediaType, OCI_CONFIG);
    assert.equal(text(image.manifest), RECORDED_MANIFEST);
    assert.equal(image.manifestDigest, RECORDED_MANIFEST_DIGEST);
    assert.equal(image.manifest.byteLength, 558);
    assert.equal(image.mediaType, OCI_MANIFEST);
    assert.deepEqual(image.layers, [RECORDED_LAYER]);
  });

  test('writes the zero creation time by default, as cosign >= 2.2.0 does', () => {
    const image = changed(appendSignatureLayer(undefined, RECORDED_LAYER));
    assert.equal(text(image.config), RECORDED_CONFIG.replace(RECORDED_CREATED, ZERO_TIME));
    assert.equal(
      text(image.manifest),
      RECORDED_MANIFEST.replace('"size":247', `"size":${image.config.byteLength}`).replace(
        RECORDED_CONFIG_DIGEST,
        digestOf(image.config),
      ),
    );
  });

  test('normalises a recorded time as Go re-marshals it', () => {
    const image = changed(
      appendSignatureLayer(undefined, RECORDED_LAYER, {
        created: '2023-02-17T17:25:33.910479620+00:00',
      }),
    );
    assert.ok(text(image.config).includes('"created":"2023-02-17T17:25:33.91047962Z","history"'));
    assert.throws(
      () => appendSignatureLayer(undefined, RECORDED_LAYER, { created: 'yesterday' }),
      vouchError('invalid', 'INVALID_SIGNATURE_INPUT', 'RFC 3339'),
    );
  });

  test('appends to the recorded manifest keeping the first layer and the creation time', () => {
    const second = newSignature('example.com/app');
    const image = changed(
      appendSignatureLayer(storedRaw(RECORDED_MANIFEST, RECORDED_CONFIG), second.descriptor),
    );
    const expectedConfig =
      `{"architecture":"","created":"${RECORDED_CREATED}","history":[{"created":"${ZERO_TIME}"},{"created":"${ZERO_TIME}"}],` +
      `"os":"","rootfs":{"type":"layers","diff_ids":["${RECORDED_LAYER.digest}","${second.descriptor.digest}"]},"config":{}}`;
    assert.equal(text(image.config), expectedConfig);
    const firstLayer = RECORDED_MANIFEST.slice(RECORDED_MANIFEST.indexOf('"layers":[') + 10, -2);
    const expectedManifest =
      `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"${OCI_CONFIG}","size":${image.config.byteLength},"digest":"${digestOf(image.config)}"},` +
      `"layers":[${firstLayer},{"mediaType":"${SIMPLE_SIGNING_MEDIA_TYPE}","size":${second.blob.byteLength},"digest":"${second.descriptor.digest}",` +
      `"annotations":{"${SIGNATURE_ANNOTATION}":"MEUCIQ=="}}]}`;
    assert.equal(text(image.manifest), expectedManifest);
    assert.equal(image.manifestDigest, digestOf(image.manifest));
    assert.deepEqual(image.layers, [RECORDED_LAYER, second.descriptor]);
  });

  test('re-serialises a containers/image signature manifest the way ggcr does', () => {
    // containers/image writes descriptors as mediaType, digest, size and a config
    // without created or history (containers/image docker/docker_image_dest.go
    // putSignaturesToSigstoreAttachments; docs/formats.md "Cosign signatures").
    const layer = RECORDED_LAYER;
    const config = `{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":["${layer.digest}"]}}`;
    const annotations = `{"${SIGNATURE_ANNOTATION}":"${layer.annotations?.[SIGNATURE_ANNOTATION]}","z":"1","a":"2"}`;
    const manifest =
      `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"${OCI_CONFIG}","digest":"${digestOf(bytes(config))}","size":${config.length}},` +
      `"layers":[{"mediaType":"${SIMPLE_SIGNING_MEDIA_TYPE}","digest":"${layer.digest}","size":252,"annotations":${annotations}}]}`;
    const second = newSignature('example.com/app');
    const image = changed(appendSignatureLayer(storedRaw(manifest, config), second.descriptor));
    assert.equal(
      text(image.config),
      `{"architecture":"","created":"${ZERO_TIME}","history":[{"created":"${ZERO_TIME}"}],"os":"",` +
        `"rootfs":{"type":"layers","diff_ids":["${layer.digest}","${second.descriptor.digest}"]},"config":{}}`,
    );
    const written = text(image.manifest);
    assert.ok(
      written.includes(
        `{"mediaType":"${SIMPLE_SIGNING_MEDIA_TYPE}","size":252,"digest":"${layer.digest}","annotations":{"a":"2","${SIGNATURE_ANNOTATION}":"${layer.annotations?.[SIGNATURE_ANNOTATION]}","z":"1"}}`,
      ),
      written,
    );
  });

  test('keeps the fields ggcr keeps, drops subject and unknown fields as mutate.Append does', () => {
    const config = `{"architecture":"amd64","author":"me","created":"2024-01-01T00:00:00Z","history":[{"created_by":"x","empty_layer":true,"comment":"c"}],"os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{},"unknown":1,"variant":"v8"}`;
    const manifest =
      `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","artifactType":"application/x-test",` +
      `"config":{"mediaType":"${OCI_CONFIG}","digest":"${digestOf(bytes(config))}","size":${config.length}},"layers":[],` +
      `"subject":{"mediaType":"${OCI_MANIFEST}","digest":"${IMAGE_DIGEST}","size":1},"annotations":{"b":"1","a":"2"},"extra":true}`;
    const second = newSignature('example.com/app');
    const image = changed(appendSignatureLayer(storedRaw(manifest, config), second.descriptor));
    assert.equal(
      text(image.config),
      `{"architecture":"amd64","author":"me","created":"2024-01-01T00:00:00Z",` +
        `"history":[{"created":"${ZERO_TIME}","created_by":"x","comment":"c","empty_layer":true},{"created":"${ZERO_TIME}"}],` +
        `"os":"linux","rootfs":{"type":"layers","diff_ids":["${second.descriptor.digest}"]},"config":{},"variant":"v8"}`,
    );
    const written = text(image.manifest);
    assert.ok(
      written.endsWith(`],"annotations":{"a":"2","b":"1"},"artifactType":"application/x-test"}`),
      written,
    );
    assert.ok(!written.includes('subject') && !written.includes('extra'), written);
  });
});

describe('appendSignatureLayer: accumulation and idempotence', () => {
  const first = newSignature('example.com/one', 'AAAA');
  const base = changed(appendSignatureLayer(undefined, first.descriptor));

  test('the same payload and signature is not appended again', () => {
    const again = appendSignatureLayer(stored(base), first.descriptor);
    assert.equal(again.changed, false);
    assert.deepEqual(again.image.manifest, base.manifest);
    assert.equal(again.image.manifestDigest, base.manifestDigest);
    assert.deepEqual(again.image.config, base.config);
    if (!again.changed) assert.deepEqual(again.duplicate, first.descriptor);
  });

  test('another signature by the same signer over the same payload counts as a duplicate', () => {
    const resigned = newSignature('example.com/one', 'BBBB');
    const seen: string[] = [];
    const result = appendSignatureLayer(stored(base), resigned.descriptor, {
      sameSigner: (signature, existing) => {
        seen.push(Buffer.from(signature).toString('base64'));
        return existing.digest === resigned.descriptor.digest;
      },
    });
    assert.equal(result.changed, false);
    assert.deepEqual(seen, ['AAAA']);
    // Without the hook (or when it says another key made it) the signature is added.
    assert.equal(appendSignatureLayer(stored(base), resigned.descriptor).changed, true);
    assert.equal(
      appendSignatureLayer(stored(base), resigned.descriptor, { sameSigner: () => false }).changed,
      true,
    );
  });

  test('a new annotation makes it a new signature (cosign DupeDetector)', () => {
    const withBundle = newSignature('example.com/one', 'AAAA', { [BUNDLE_ANNOTATION]: '{}' });
    assert.equal(appendSignatureLayer(stored(base), withBundle.descriptor).changed, true);
  });

  test('signatures accumulate, earlier layers byte for byte', () => {
    let image = base;
    const layers = [first.descriptor];
    for (const name of ['two', 'three', 'four']) {
      const next = newSignature(`example.com/${name}`, 'CCCC');
      image = changed(appendSignatureLayer(stored(image), next.descriptor));
      layers.push(next.descriptor);
    }
    const manifest = stored(image).manifest;
    assert.equal(manifest.kind, 'image');
    if (manifest.kind === 'image') assert.deepEqual(manifest.manifest.layers, layers);
    const firstLayerJson = text(base.manifest).slice(
      text(base.manifest).indexOf('"layers":[') + 10,
      -2,
    );
    assert.ok(text(image.manifest).includes(`"layers":[${firstLayerJson},`));
    const config = JSON.parse(text(image.config)) as {
      history: unknown[];
      rootfs: { diff_ids: string[] };
    };
    assert.equal(config.history.length, 4);
    assert.deepEqual(
      config.rootfs.diff_ids,
      layers.map((l) => l.digest),
    );
  });

  test('refuses to grow past the layer cap', () => {
    const next = newSignature('example.com/two');
    assert.throws(
      () => appendSignatureLayer(stored(base), next.descriptor, { maxLayers: 1 }),
      vouchError('denied', 'TOO_MANY_SIGNATURES'),
    );
  });
});

describe('appendSignatureLayer: distrusted input', () => {
  const layer = newSignature('example.com/app').descriptor;

  test('a config that does not match its descriptor', () => {
    const base = storedRaw(RECORDED_MANIFEST, RECORDED_CONFIG.replace('"os":""', '"os":"x"'));
    assert.throws(
      () => appendSignatureLayer(base, layer),
      vouchError('denied', 'SIGNATURE_CONFIG_INVALID', RECORDED_CONFIG_DIGEST),
    );
  });

  test('a config with a run configuration or unreadable fields', () => {
    for (const [config, reason] of [
      [
        '{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{"Env":["A=1"]}}',
        'run configuration',
      ],
      ['{"architecture":1,"os":""}', 'architecture must be a string'],
      ['{"created":"yesterday"}', 'RFC 3339'],
      ['{"rootfs":{"diff_ids":["sha256:nope"]}}', 'diff_ids[0]'],
      ['{"history":{}}', 'history must be an array'],
      ['{"os":"","os":"linux"}', 'duplicate key'],
      ['[]', 'not a JSON object'],
    ] as const) {
      const manifest = `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"${OCI_CONFIG}","digest":"${digestOf(bytes(config))}","size":${bytes(config).byteLength}},"layers":[]}`;
      assert.throws(
        () => appendSignatureLayer(storedRaw(manifest, config), layer),
        vouchError('denied', 'SIGNATURE_CONFIG_INVALID', reason),
        config,
      );
    }
  });

  test('an index at the .sig tag', () => {
    const index = `{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[]}`;
    const base = { manifest: parseManifest(bytes(index), OCI_INDEX, 'test'), config: bytes('{}') };
    assert.throws(
      () => appendSignatureLayer(base, layer),
      vouchError('denied', 'SIGNATURE_MANIFEST_INVALID', 'index'),
    );
  });
});

describe('readSignatureManifest', () => {
  const sigA = newSignature('example.com/a', 'AAAA');
  const sigB = newSignature('example.com/b', 'MEYC\nIQA=\r\n');

  function manifestWith(layers: readonly object[]): ParsedManifest {
    const config = { mediaType: OCI_CONFIG, digest: digestOf(bytes('{}')), size: 2 };
    return parseManifest(
      bytes(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers })),
      OCI_MANIFEST,
      'test',
    );
  }

  test('lists the signatures and says why every other layer is not one', () => {
    const contents = readSignatureManifest(
      manifestWith([
        sigA.descriptor,
        { ...sigA.descriptor, mediaType: 'text/plain' },
        { ...sigA.descriptor, annotations: { other: 'x' } },
        { ...sigA.descriptor, annotations: { [SIGNATURE_ANNOTATION]: '' } },
        { ...sigA.descriptor, annotations: { [SIGNATURE_ANNOTATION]: 'not base64!' } },
        { ...sigA.descriptor, size: 4 * 1024 * 1024 + 1 },
        sigB.descriptor,
        { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: sigA.descriptor.digest, size: 10 },
      ]),
    );
    assert.deepEqual(
      contents.candidates.map((c) => [
        c.index,
        c.signatureBase64,
        Buffer.from(c.signature).toString('base64'),
      ]),
      [
        [0, 'AAAA', 'AAAA'],
        [6, 'MEYC\nIQA=\r\n', 'MEYCIQA='],
      ],
    );
    assert.deepEqual(contents.candidates[0]?.layer, sigA.descriptor);
    assert.deepEqual(contents.candidates[1]?.annotations, sigB.descriptor.annotations);
    assert.deepEqual(
      contents.rejected.map((r) => [r.index, r.problem]),
      [
        [1, 'not-simple-signing'],
        [2, 'missing-signature'],
        [3, 'empty-signature'],
        [4, 'invalid-base64'],
        [5, 'payload-too-large'],
        [7, 'missing-signature'],
      ],
    );
    const reasons = contents.rejected.map((r) => r.reason);
    assert.match(
      reasons[0] ?? '',
      /^layer 1 \(sha256:[0-9a-f]{64}\): media type is text\/plain, expected application\/vnd\.dev\.cosign\.simplesigning\.v1\+json$/,
    );
    assert.match(
      reasons[4] ?? '',
      /declares a 4194305-byte payload, more than the 4194304 allowed/,
    );
  });

  test('caps are configurable', () => {
    const contents = readSignatureManifest(manifestWith([sigA.descriptor]), {
      maxPayloadBytes: 10,
    });
    assert.equal(contents.candidates.length, 0);
    assert.equal(contents.rejected[0]?.problem, 'payload-too-large');
  });

  test('refuses a manifest with more layers than examined, before anything is fetched', () => {
    const layers = Array.from({ length: 1001 }, () => sigA.descriptor);
    assert.throws(
      () => readSignatureManifest(manifestWith(layers)),
      vouchError('denied', 'TOO_MANY_SIGNATURES', '1001'),
    );
    assert.throws(
      () => readSignatureManifest(manifestWith(layers.slice(0, 3)), { maxLayers: 2 }),
      vouchError('denied', 'TOO_MANY_SIGNATURES'),
    );
  });

  test('refuses an index', () => {
    const index = parseManifest(
      bytes(`{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[]}`),
      OCI_INDEX,
      'test',
    );
    assert.throws(
      () => readSignatureManifest(index),
      vouchError('denied', 'SIGNATURE_MANIFEST_INVALID'),
    );
  });

  test('reads back what appendSignatureLayer wrote', () => {
    let image: SignatureImage | undefined;
    for (const sig of [sigA, sigB]) {
      image = changed(
        appendSignatureLayer(image === undefined ? undefined : stored(image), sig.descriptor),
      );
    }
    assert.ok(image !== undefined);
    const contents = readSignatureManifest(stored(image).manifest);
    assert.deepEqual(contents.rejected, []);
    assert.deepEqual(
      contents.candidates.map((c) => c.layer),
      [sigA.descriptor, sigB.descriptor],
    );
  });
});

describe('decodeSignatureBase64', () => {
  test("follows Go's StdEncoding.DecodeString", () => {
    assert.deepEqual(decodeSignatureBase64('c2ln'), bytes('sig'));
    assert.deepEqual(decodeSignatureBase64('c2\r\nln'), bytes('sig'));
    for (const bad of ['', 'c2l', 'c2ln=', 'c2-_', 'c2ln\t', ' c2ln']) {
      assert.equal(decodeSignatureBase64(bad), undefined, bad);
    }
  });
});
