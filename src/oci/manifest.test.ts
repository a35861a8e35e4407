import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isVouchError } from '../core/errors.ts';
import { digestOf } from './digest.ts';
import { describeManifest, parseDescriptor, parseManifest } from './manifest.ts';
import {
  DOCKER_CONFIG,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_V1,
  DOCKER_MANIFEST_V1_SIGNED,
  OCI_ARTIFACT_MANIFEST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
} from './media-types.ts';

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const D1 = digestOf(Buffer.from('one'));
const D2 = digestOf(Buffer.from('two'));
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

const config = { mediaType: OCI_CONFIG, digest: D1, size: 10 };
const layer = { mediaType: LAYER, digest: D2, size: 20 };
const ociManifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] };
const ociIndex = {
  schemaVersion: 2,
  mediaType: OCI_INDEX,
  manifests: [
    {
      mediaType: OCI_MANIFEST,
      digest: D1,
      size: 500,
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
    },
  ],
};

function invalidManifest(text?: string) {
  return (error: unknown): boolean => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, 'MANIFEST_INVALID', error.message);
    assert.equal(error.category, 'denied');
    assert.ok(error.message.includes('test-source'), `names where: ${error.message}`);
    if (text !== undefined) assert.ok(error.message.includes(text), error.message);
    return true;
  };
}

function rejects(document: unknown, contentType: string | undefined, text?: string) {
  const bytes = typeof document === 'string' ? Buffer.from(document) : encode(document);
  assert.throws(() => parseManifest(bytes, contentType, 'test-source'), invalidManifest(text));
}

describe('parseManifest: valid documents', () => {
  test('an OCI image manifest', () => {
    const bytes = encode({ ...ociManifest, annotations: { 'org.example': 'yes' } });
    const parsed = parseManifest(bytes, OCI_MANIFEST, 'test-source');
    assert.equal(parsed.kind, 'image');
    assert.equal(parsed.mediaType, OCI_MANIFEST);
    assert.equal(parsed.digest, digestOf(bytes));
    assert.equal(parsed.bytes, bytes, 'the bytes are kept, not re-serialised');
    if (parsed.kind !== 'image') return;
    assert.deepEqual(parsed.manifest.config, config);
    assert.deepEqual(parsed.manifest.layers, [layer]);
    assert.deepEqual(parsed.manifest.annotations, { 'org.example': 'yes' });
  });

  test('a Docker schema 2 manifest', () => {
    const bytes = encode({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { ...config, mediaType: DOCKER_CONFIG },
      layers: [{ ...layer, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }],
    });
    const parsed = parseManifest(bytes, `${DOCKER_MANIFEST}; charset=utf-8`, 'test-source');
    assert.equal(parsed.kind, 'image');
    assert.equal(parsed.mediaType, DOCKER_MANIFEST);
  });

  test('an OCI index with platforms', () => {
    const bytes = encode(ociIndex);
    const parsed = parseManifest(bytes, OCI_INDEX, 'test-source');
    assert.equal(parsed.kind, 'index');
    if (parsed.kind !== 'index') return;
    assert.deepEqual(parsed.manifest.manifests[0]?.platform, {
      architecture: 'arm64',
      os: 'linux',
      variant: 'v8',
    });
  });

  test('a Docker manifest list', () => {
    const bytes = encode({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST_LIST,
      manifests: [{ mediaType: DOCKER_MANIFEST, digest: D1, size: 1 }],
    });
    const parsed = parseManifest(bytes, DOCKER_MANIFEST_LIST, 'test-source');
    assert.equal(parsed.kind, 'index');
    assert.equal(parsed.mediaType, DOCKER_MANIFEST_LIST);
  });

  test('the digest is of the exact bytes: whitespace and key order change it', () => {
    const compact = Buffer.from(JSON.stringify(ociManifest));
    const pretty = Buffer.from(JSON.stringify(ociManifest, null, 2));
    const trailing = Buffer.from(`${JSON.stringify(ociManifest)}\n`);
    const { schemaVersion, ...rest } = ociManifest;
    const reordered = Buffer.from(JSON.stringify({ ...rest, schemaVersion }));
    const digests = [compact, pretty, trailing, reordered].map((bytes) => {
      const parsed = parseManifest(bytes, OCI_MANIFEST, 'test-source');
      assert.equal(parsed.digest, digestOf(bytes));
      assert.deepEqual(Buffer.from(parsed.bytes), bytes);
      return parsed.digest;
    });
    assert.equal(new Set(digests).size, 4);
  });

  test('without mediaType, a known content type decides', () => {
    const { mediaType: _, ...bare } = ociManifest;
    const parsed = parseManifest(encode(bare), DOCKER_MANIFEST, 'test-source');
    assert.equal(parsed.mediaType, DOCKER_MANIFEST);
  });

  test('without mediaType or a known content type, the shape decides', () => {
    const { mediaType: _m, ...bareManifest } = ociManifest;
    const { mediaType: _i, ...bareIndex } = ociIndex;
    assert.equal(parseManifest(encode(bareManifest), undefined, 'x').mediaType, OCI_MANIFEST);
    assert.equal(parseManifest(encode(bareIndex), 'application/json', 'x').kind, 'index');
  });

  test('a generic content type does not contradict the declared mediaType', () => {
    for (const contentType of ['application/json', 'text/plain', 'application/octet-stream']) {
      assert.equal(
        parseManifest(encode(ociIndex), contentType, 'test-source').mediaType,
        OCI_INDEX,
      );
    }
  });

  test('the content type is compared without parameters and case', () => {
    const parsed = parseManifest(
      encode(ociManifest),
      ' Application/VND.oci.image.manifest.v1+json ; charset=utf-8',
      'test-source',
    );
    assert.equal(parsed.mediaType, OCI_MANIFEST);
  });

  test('subject, artifactType and descriptor extras are kept', () => {
    const bytes = encode({
      ...ociManifest,
      artifactType: 'application/vnd.example.sbom',
      subject: { mediaType: OCI_MANIFEST, digest: D2, size: 3 },
      layers: [
        {
          ...layer,
          urls: ['https://example.com/layer'],
          data: 'aGk=',
          artifactType: 'application/vnd.example.thing',
          annotations: { a: 'b' },
        },
      ],
    });
    const parsed = parseManifest(bytes, OCI_MANIFEST, 'test-source');
    if (parsed.kind !== 'image') assert.fail('expected an image');
    assert.equal(parsed.manifest.artifactType, 'application/vnd.example.sbom');
    assert.equal(parsed.manifest.subject?.digest, D2);
    assert.deepEqual(parsed.manifest.layers[0]?.urls, ['https://example.com/layer']);
    assert.equal(parsed.manifest.layers[0]?.data, 'aGk=');
  });

  test('a platform with os.version and os.features', () => {
    const platform = {
      architecture: 'amd64',
      os: 'windows',
      'os.version': '10.0.17763.1040',
      'os.features': ['win32k'],
    };
    const bytes = encode({
      ...ociIndex,
      manifests: [{ mediaType: OCI_MANIFEST, digest: D1, size: 1, platform }],
    });
    const parsed = parseManifest(bytes, OCI_INDEX, 'test-source');
    if (parsed.kind !== 'index') assert.fail('expected an index');
    assert.deepEqual(parsed.manifest.manifests[0]?.platform, platform);
  });
});

describe('parseManifest: refusals', () => {
  test('not JSON, not UTF-8, or not an object', () => {
    rejects('<html>', OCI_MANIFEST, 'JSON');
    rejects('', OCI_MANIFEST, 'JSON');
    assert.throws(
      () => parseManifest(Uint8Array.from([0x7b, 0xff, 0x7d]), OCI_MANIFEST, 'test-source'),
      invalidManifest('UTF-8'),
    );
    rejects([ociManifest], OCI_MANIFEST, 'object');
    rejects(null, OCI_MANIFEST, 'object');
    rejects('"a string"', OCI_MANIFEST, 'object');
    rejects('2', OCI_MANIFEST, 'object');
  });

  test('Docker schema 1, by schemaVersion or by media type', () => {
    rejects({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }, undefined, 'schema 1');
    rejects({ ...ociManifest, mediaType: DOCKER_MANIFEST_V1 }, undefined, 'schema 1');
    rejects({ ...ociManifest, mediaType: DOCKER_MANIFEST_V1_SIGNED }, undefined, 'schema 1');
  });

  test('schemaVersion other than the number 2', () => {
    for (const schemaVersion of [undefined, '2', 3, 2.5, null]) {
      rejects({ ...ociManifest, schemaVersion }, OCI_MANIFEST, 'schemaVersion');
    }
  });

  test('a content type that disagrees with the declared mediaType', () => {
    rejects(ociManifest, DOCKER_MANIFEST, DOCKER_MANIFEST);
    rejects(ociManifest, OCI_INDEX, 'served as');
    rejects(ociIndex, OCI_MANIFEST, 'served as');
  });

  test('a mediaType that is not a string, not a media type, or not a manifest', () => {
    rejects({ ...ociManifest, mediaType: 42 }, undefined, 'mediaType');
    rejects({ ...ociManifest, mediaType: 'not a media type' }, undefined, 'mediaType');
    rejects({ ...ociManifest, mediaType: `${OCI_MANIFEST}; x=y` }, undefined, 'mediaType');
    rejects({ ...ociManifest, mediaType: OCI_CONFIG }, undefined, 'unsupported');
  });

  test('an artifactType that is not a media type', () => {
    rejects({ ...ociManifest, artifactType: 7 }, undefined, 'artifactType');
    rejects({ ...ociIndex, artifactType: 'nope' }, undefined, 'artifactType');
  });

  test('an index with layers or config, an image with manifests', () => {
    rejects({ ...ociIndex, layers: [] }, undefined, 'index');
    rejects({ ...ociIndex, config }, undefined, 'index');
    rejects({ ...ociManifest, manifests: [] }, undefined, 'image manifest');
  });

  test('missing or malformed lists', () => {
    const { layers: _l, ...noLayers } = ociManifest;
    rejects(noLayers, undefined, 'layers');
    rejects({ ...ociManifest, layers: {} }, undefined, 'layers');
    const { manifests: _m, ...noManifests } = ociIndex;
    rejects(noManifests, OCI_INDEX, 'manifests');
    rejects({ ...ociIndex, manifests: 'x' }, undefined, 'manifests');
    const { config: _c, ...noConfig } = ociManifest;
    rejects(noConfig, undefined, 'config');
  });

  test('annotations that are not an object of strings', () => {
    rejects({ ...ociManifest, annotations: ['a'] }, undefined, 'annotations');
    rejects({ ...ociManifest, annotations: 'a=b' }, undefined, 'annotations');
    rejects({ ...ociManifest, annotations: { a: 1 } }, undefined, 'annotations["a"]');
    rejects({ ...ociIndex, annotations: { a: null } }, undefined, 'annotations');
    rejects(
      { ...ociManifest, layers: [{ ...layer, annotations: { n: true } }] },
      undefined,
      'layers[0].annotations',
    );
  });

  test('a bad subject', () => {
    rejects({ ...ociManifest, subject: 'sha256:abc' }, undefined, 'subject');
    rejects(
      { ...ociIndex, subject: { ...layer, digest: 'sha256:abc' } },
      undefined,
      'subject.digest',
    );
  });

  test('a bad descriptor is named by its path', () => {
    rejects(
      { ...ociManifest, layers: [layer, { ...layer, size: -1 }] },
      undefined,
      'layers[1].size',
    );
    rejects(
      { ...ociManifest, config: { ...config, digest: 'md5:abc' } },
      undefined,
      'config.digest',
    );
    rejects(
      { ...ociIndex, manifests: [{ ...ociIndex.manifests[0], platform: { os: 'linux' } }] },
      undefined,
      'manifests[0].platform',
    );
  });
});

describe('parseManifest: the pre-release OCI artifact manifest', () => {
  const envelope = { mediaType: 'application/jose+json', digest: D2, size: 2070 };
  const subject = { mediaType: OCI_MANIFEST, digest: D1, size: 500 };
  const artifact = {
    mediaType: OCI_ARTIFACT_MANIFEST,
    artifactType: 'application/vnd.cncf.notary.signature',
    blobs: [envelope],
    subject,
    annotations: { 'io.cncf.notary.x509chain.thumbprint#S256': '[]' },
  };

  test('read as oras-go and notation-go read it: blobs, subject, annotations, its own artifactType', () => {
    const bytes = encode(artifact);
    const parsed = parseManifest(bytes, OCI_ARTIFACT_MANIFEST, 'test-source');
    assert.equal(parsed.kind, 'artifact');
    assert.equal(parsed.mediaType, OCI_ARTIFACT_MANIFEST);
    assert.equal(parsed.digest, digestOf(bytes));
    assert.deepEqual(parsed.manifest, artifact);
    assert.deepEqual(describeManifest(parsed), {
      mediaType: OCI_ARTIFACT_MANIFEST,
      digest: digestOf(bytes),
      size: bytes.byteLength,
      artifactType: 'application/vnd.cncf.notary.signature',
      annotations: artifact.annotations,
    });
    // Found by its declared mediaType when the store does not say (a layout read by digest).
    assert.equal(parseManifest(bytes, undefined, 'test-source').kind, 'artifact');
  });

  test('blobs, subject and annotations may be absent (omitempty); unknown fields are ignored', () => {
    const { blobs: _b, subject: _s, annotations: _a, ...bare } = artifact;
    const parsed = parseManifest(
      encode({ ...bare, 'org.example.extra': [1] }),
      undefined,
      'test-source',
    );
    assert.equal(parsed.kind, 'artifact');
    assert.deepEqual(parsed.manifest, { ...bare, blobs: [] });
  });

  test('wrong types and missing artifactType are refused', () => {
    rejects({ ...artifact, artifactType: undefined }, OCI_ARTIFACT_MANIFEST, 'artifactType');
    rejects({ ...artifact, artifactType: 7 }, OCI_ARTIFACT_MANIFEST, 'artifactType');
    rejects({ ...artifact, blobs: envelope }, OCI_ARTIFACT_MANIFEST, 'blobs');
    rejects({ ...artifact, blobs: [{ ...envelope, size: '2070' }] }, undefined, 'blobs[0].size');
    rejects(
      { ...artifact, blobs: [{ ...envelope, digest: 'sha256:abc' }] },
      undefined,
      'blobs[0].digest',
    );
    rejects(
      { ...artifact, blobs: [{ ...envelope, mediaType: 'jose' }] },
      undefined,
      'blobs[0].mediaType',
    );
    rejects({ ...artifact, subject: 'sha256:abc' }, undefined, 'subject');
    rejects({ ...artifact, annotations: { a: 1 } }, undefined, 'annotations');
  });

  test('image-manifest or index fields in an artifact manifest are a mix-and-match attempt', () => {
    rejects({ ...artifact, config: subject }, undefined, 'config');
    rejects({ ...artifact, layers: [envelope] }, undefined, 'layers');
    rejects({ ...artifact, manifests: [subject] }, undefined, 'manifests');
    rejects(artifact, OCI_MANIFEST, 'served as');
    rejects(ociManifest, OCI_ARTIFACT_MANIFEST, 'served as');
  });
});

describe('parseDescriptor', () => {
  const fail = (problem: string) => new Error(problem);
  const good = { mediaType: LAYER, digest: D1, size: 0 };
  const bad = (value: unknown, text: string) =>
    assert.throws(
      () => parseDescriptor(value, 'd', fail),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.ok(error.message.includes(text), `${error.message} should mention ${text}`);
        return true;
      },
    );

  test('the minimal valid descriptor, size 0 and the largest safe size', () => {
    assert.deepEqual(parseDescriptor(good, 'd', fail), good);
    const large = { ...good, size: Number.MAX_SAFE_INTEGER };
    assert.deepEqual(parseDescriptor(large, 'd', fail), large);
  });

  test('unknown fields are dropped', () => {
    assert.deepEqual(parseDescriptor({ ...good, extra: { x: 1 } }, 'd', fail), good);
  });

  test('not an object', () => {
    for (const value of [null, undefined, 'x', 1, [good]]) bad(value, 'd must be an object');
  });

  test('mediaType missing, empty, with parameters, or not a string', () => {
    for (const mediaType of [undefined, '', 'text', 'a/b; charset=utf-8', 'a/b c', 3, '/b', 'a/']) {
      bad({ ...good, mediaType }, 'd.mediaType');
    }
  });

  test('digest missing, malformed, unsupported, or not a string', () => {
    for (const digest of [
      undefined,
      '',
      D1.toUpperCase(),
      D1.slice(0, -1),
      `${D1}0`,
      `sha384:${'a'.repeat(96)}`,
      `md5:${'a'.repeat(32)}`,
      123,
    ]) {
      bad({ ...good, digest }, 'd.digest');
    }
  });

  test('size negative, fractional, too large, or not a number', () => {
    for (const size of [undefined, -1, 1.5, 0.1, 2 ** 53, 1e300, '10', null, true]) {
      bad({ ...good, size }, 'd.size');
    }
  });

  test('urls, data, artifactType of the wrong type', () => {
    bad({ ...good, urls: 'https://x' }, 'd.urls');
    bad({ ...good, urls: [1] }, 'd.urls');
    bad({ ...good, data: 5 }, 'd.data');
    bad({ ...good, artifactType: 'nope' }, 'd.artifactType');
    bad({ ...good, artifactType: 5 }, 'd.artifactType');
  });

  test('platform fields of the wrong type', () => {
    const platform = { architecture: 'amd64', os: 'linux' };
    bad({ ...good, platform: 'linux/amd64' }, 'd.platform');
    bad({ ...good, platform: { os: 'linux' } }, 'd.platform');
    bad({ ...good, platform: { architecture: 'amd64', os: 1 } }, 'd.platform');
    bad({ ...good, platform: { ...platform, variant: 8 } }, 'd.platform.variant');
    bad({ ...good, platform: { ...platform, 'os.version': 10 } }, 'os.version');
    bad({ ...good, platform: { ...platform, 'os.features': 'sse4' } }, 'os.features');
    bad({ ...good, platform: { ...platform, 'os.features': [1] } }, 'os.features');
  });
});

describe('describeManifest', () => {
  test("an image's artifact type is its config's media type unless it declares one", () => {
    const bytes = encode(ociManifest);
    const parsed = parseManifest(bytes, undefined, 'x');
    assert.deepEqual(describeManifest(parsed), {
      mediaType: OCI_MANIFEST,
      digest: digestOf(bytes),
      size: bytes.byteLength,
      artifactType: OCI_CONFIG,
    });
    const typed = parseManifest(
      encode({
        ...ociManifest,
        artifactType: 'application/vnd.example.sig',
        annotations: { k: 'v' },
      }),
      undefined,
      'x',
    );
    assert.equal(describeManifest(typed).artifactType, 'application/vnd.example.sig');
    assert.deepEqual(describeManifest(typed).annotations, { k: 'v' });
  });

  test('an index without an artifact type has none', () => {
    const parsed = parseManifest(encode(ociIndex), undefined, 'x');
    assert.equal('artifactType' in describeManifest(parsed), false);
  });
});

describe('parseManifest: nesting depth', () => {
  const MiB = 1024 * 1024;
  /** An OCI manifest whose extra field `x` holds `text`. */
  const withExtra = (text: string) =>
    Buffer.from(`${JSON.stringify(ociManifest).slice(0, -1)},"x":${text}}`);

  test(
    '4 MiB of nested arrays is refused at the 65th level, before anything is built',
    { timeout: 30_000 },
    () => {
      // Unbalanced on purpose: a parser that built the arrays first would fail on
      // the missing brackets at the end; the refusal names the depth and its offset.
      const bytes = withExtra('['.repeat(4 * MiB));
      // The manifest is level 1 and `x` starts where `withExtra('')` has its last brace.
      const offset = withExtra('').length - 1 + 63;
      assert.throws(
        () => parseManifest(bytes, OCI_MANIFEST, 'test-source'),
        invalidManifest(`nesting deeper than 64 at offset ${offset}`),
      );
    },
  );

  test('a balanced 4 MiB nest in an unknown field is refused too', () => {
    const half = 2 * MiB;
    rejects(
      withExtra(`${'['.repeat(half)}${']'.repeat(half)}`).toString(),
      OCI_MANIFEST,
      'nesting deeper than 64',
    );
  });

  test('64 levels are read; the manifest itself is level 1', () => {
    assert.equal(
      parseManifest(withExtra(`${'['.repeat(63)}${']'.repeat(63)}`), OCI_MANIFEST, 'x').kind,
      'image',
    );
    rejects(
      withExtra(`${'{"a":'.repeat(64)}1${'}'.repeat(64)}`).toString(),
      OCI_MANIFEST,
      'nesting deeper than 64',
    );
  });

  test('brackets inside strings do not count', () => {
    const text = JSON.stringify({ ...ociManifest, annotations: { a: '[[[{{{"\\'.repeat(100) } });
    assert.equal(parseManifest(Buffer.from(text), OCI_MANIFEST, 'x').kind, 'image');
  });
});
