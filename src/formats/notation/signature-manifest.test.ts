import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { expectError } from '../../../test/helpers/assertions.ts';
import { signRequest, TARGET, testKey } from '../../../test/helpers/notation.ts';
import { parseDigest } from '../../oci/digest.ts';
import { buildCose } from './cose.ts';
import { buildJws } from './jws.ts';
import {
  buildNotationSignatureManifest,
  certificateThumbprints,
  NOTATION_ARTIFACT_TYPE,
  parseNotationSignatureManifest,
} from './signature-manifest.ts';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

const SUBJECT = {
  mediaType: TARGET.mediaType,
  digest: parseDigest(TARGET.digest),
  size: TARGET.size,
};
const JWS = await buildJws(signRequest('p256'));
const THUMBPRINT = sha256(testKey('p256').certificate);
const EMPTY = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

const LEGACY = buildNotationSignatureManifest({
  subject: SUBJECT,
  envelope: JWS,
  envelopeMediaType: 'application/jose+json',
});

const manifestJson = () => JSON.parse(text(LEGACY.manifest)) as Record<string, unknown>;
const edited = (mutate: (m: Record<string, unknown>) => void) => {
  const m = manifestJson();
  mutate(m);
  return bytes(JSON.stringify(m));
};
const refused = (fragment?: string) => expectError('denied', 'NOTATION_MANIFEST_INVALID', fragment);

describe('buildNotationSignatureManifest', () => {
  test('writes notation 1.3’s form: config media type, then layers, subject, annotations', () => {
    const layer = `{"mediaType":"application/jose+json","digest":"sha256:${sha256(JWS)}","size":${JWS.byteLength}}`;
    assert.equal(
      text(LEGACY.manifest),
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
        `"config":{"mediaType":"application/vnd.cncf.notary.signature","digest":"${EMPTY}","size":2},` +
        `"layers":[${layer}],` +
        `"subject":{"mediaType":"${TARGET.mediaType}","digest":"${TARGET.digest}","size":517},` +
        `"annotations":{"io.cncf.notary.x509chain.thumbprint#S256":"[\\"${THUMBPRINT}\\"]",` +
        `"org.opencontainers.image.created":"2025-02-17T08:17:09Z"}}`,
    );
    assert.deepEqual(LEGACY.descriptor, {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${sha256(LEGACY.manifest)}`,
      size: LEGACY.manifest.byteLength,
      annotations: {
        'io.cncf.notary.x509chain.thumbprint#S256': `["${THUMBPRINT}"]`,
        'org.opencontainers.image.created': '2025-02-17T08:17:09Z',
      },
      artifactType: NOTATION_ARTIFACT_TYPE,
    });
    assert.equal(text(LEGACY.config.bytes), '{}');
    assert.equal(LEGACY.config.descriptor.digest, EMPTY);
    assert.equal(LEGACY.layer.bytes, JWS);
  });

  test('writes the artifactType form on request, with oras-go’s empty config (data e30=)', async () => {
    const cose = await buildCose(signRequest('p384'));
    const built = buildNotationSignatureManifest({
      subject: SUBJECT,
      envelope: cose,
      envelopeMediaType: 'application/cose',
      form: 'artifact-type',
    });
    assert.match(
      text(built.manifest),
      new RegExp(
        '^\\{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1\\+json",' +
          '"artifactType":"application/vnd.cncf.notary.signature",' +
          `"config":\\{"mediaType":"application/vnd.oci.empty.v1\\+json","digest":"${EMPTY}","size":2,"data":"e30="\\},` +
          '"layers":\\[\\{"mediaType":"application/cose",',
      ),
    );
    const parsed = parseNotationSignatureManifest(built.manifest);
    assert.equal(parsed.form, 'artifact-type');
    assert.equal(parsed.envelopeMediaType, 'application/cose');
    assert.deepEqual(parsed.thumbprints, certificateThumbprints([testKey('p384').certificate]));
  });

  test('adds a plugin’s annotations, under the thumbprints and time notation sets itself', () => {
    const built = buildNotationSignatureManifest({
      subject: SUBJECT,
      envelope: JWS,
      envelopeMediaType: 'application/jose+json',
      annotations: {
        'com.example.kms': 'key-1',
        'io.cncf.notary.x509chain.thumbprint#S256': '["forged"]',
        'org.opencontainers.image.created': '1999-01-01T00:00:00Z',
      },
    });
    const parsed = parseNotationSignatureManifest(built.manifest);
    assert.equal(parsed.annotations['com.example.kms'], 'key-1');
    assert.deepEqual(parsed.thumbprints, [THUMBPRINT]);
    assert.equal(parsed.annotations['org.opencontainers.image.created'], '2025-02-17T08:17:09Z');
    assert.deepEqual(built.descriptor.annotations, parsed.annotations);
  });

  test('refuses an envelope that does not parse, and a subject that is not a descriptor', () => {
    assert.throws(
      () =>
        buildNotationSignatureManifest({
          subject: SUBJECT,
          envelope: JWS,
          envelopeMediaType: 'application/cose',
        }),
      expectError('invalid', 'INVALID_NOTATION_INPUT', 'does not parse'),
    );
    assert.throws(
      () =>
        buildNotationSignatureManifest({
          subject: { ...SUBJECT, digest: 'sha256:xyz' as never },
          envelope: JWS,
          envelopeMediaType: 'application/jose+json',
        }),
      expectError('invalid', 'INVALID_NOTATION_INPUT', 'subject.digest'),
    );
  });
});

describe('parseNotationSignatureManifest', () => {
  test('reads the form notation 1.3 writes', () => {
    const parsed = parseNotationSignatureManifest(LEGACY.manifest, {
      contentType: 'application/vnd.oci.image.manifest.v1+json',
      subject: SUBJECT,
    });
    assert.equal(parsed.form, 'config-media-type');
    assert.equal(parsed.digest, LEGACY.descriptor.digest);
    assert.equal(parsed.size, LEGACY.manifest.byteLength);
    assert.deepEqual(parsed.envelope, LEGACY.layer.descriptor);
    assert.equal(parsed.envelopeMediaType, 'application/jose+json');
    assert.deepEqual(parsed.subject, SUBJECT);
    assert.deepEqual(parsed.thumbprints, [THUMBPRINT]);
    assert.equal(parsed.annotations['org.opencontainers.image.created'], '2025-02-17T08:17:09Z');
  });

  test('reads the pre-release artifact manifest notation-go still reads', () => {
    const artifact = bytes(
      JSON.stringify({
        mediaType: 'application/vnd.oci.artifact.manifest.v1+json',
        artifactType: NOTATION_ARTIFACT_TYPE,
        blobs: [LEGACY.layer.descriptor],
        subject: SUBJECT,
        annotations: {
          'io.cncf.notary.x509chain.thumbprint#S256': `["${THUMBPRINT.toUpperCase()}"]`,
        },
      }),
    );
    const parsed = parseNotationSignatureManifest(artifact);
    assert.equal(parsed.form, 'artifact-manifest');
    assert.deepEqual(parsed.envelope, LEGACY.layer.descriptor);
    assert.deepEqual(parsed.thumbprints, [THUMBPRINT]);
  });

  test('a manifest without annotations has no thumbprints', () => {
    const parsed = parseNotationSignatureManifest(edited((m) => void delete m.annotations));
    assert.equal(parsed.thumbprints, undefined);
    assert.deepEqual(parsed.annotations, {});
  });

  const layers = (m: Record<string, unknown>) => m.layers as Record<string, unknown>[];
  const config = (m: Record<string, unknown>) => m.config as Record<string, unknown>;
  const thumbprints = (value: string) =>
    edited(
      (m) =>
        void ((m.annotations as Record<string, string>)[
          'io.cncf.notary.x509chain.thumbprint#S256'
        ] = value),
    );
  const cases: [string, Uint8Array, string][] = [
    ['not JSON', bytes('{'), 'strict JSON'],
    [
      'a duplicate key',
      bytes(
        text(LEGACY.manifest).replace(
          '{"schemaVersion":2,',
          '{"schemaVersion":2,"schemaVersion":2,',
        ),
      ),
      'duplicate',
    ],
    [
      'a Docker manifest',
      edited((m) => void (m.mediaType = 'application/vnd.docker.distribution.manifest.v2+json')),
      'mediaType',
    ],
    [
      'an index',
      edited((m) => void (m.mediaType = 'application/vnd.oci.image.index.v1+json')),
      'mediaType',
    ],
    ['no mediaType', edited((m) => void delete m.mediaType), 'mediaType'],
    ['schemaVersion 1', edited((m) => void (m.schemaVersion = 1)), 'schemaVersion'],
    ['manifests beside layers', edited((m) => void (m.manifests = [])), 'manifests'],
    [
      'an ordinary image',
      edited((m) => void (config(m).mediaType = 'application/vnd.oci.image.config.v1+json')),
      'no artifactType',
    ],
    [
      'another artifact type',
      edited((m) => void (m.artifactType = 'application/vnd.dev.sigstore.bundle.v0.3+json')),
      'artifactType',
    ],
    [
      'the artifact type with the notation config',
      edited((m) => void (m.artifactType = NOTATION_ARTIFACT_TYPE)),
      'config must be application/vnd.oci.empty.v1+json',
    ],
    ['no subject', edited((m) => void delete m.subject), 'subject'],
    [
      'a case variant of subject',
      edited((m) => void ((m.Subject = m.subject), delete m.subject)),
      'case variant',
    ],
    ['no layers', edited((m) => void (m.layers = [])), 'exactly 1'],
    ['two layers', edited((m) => void (m.layers = [layers(m)[0], layers(m)[0]])), 'exactly 1'],
    [
      'a tar layer (notation e2e-invalid-signature)',
      edited(
        (m) =>
          void (layers(m)[0] = {
            ...layers(m)[0],
            mediaType: 'application/vnd.oci.image.layer.v1.tar',
          }),
      ),
      'neither application/jose+json',
    ],
    [
      'a layer digest that is not one',
      edited((m) => void (layers(m)[0] = { ...layers(m)[0], digest: 'sha256:00' })),
      'digest',
    ],
    [
      'an envelope over 32 MiB',
      edited((m) => void (layers(m)[0] = { ...layers(m)[0], size: 32 * 1024 * 1024 + 1 })),
      'not fetched',
    ],
    [
      'an annotation that is not a string',
      edited((m) => void ((m.annotations as Record<string, unknown>).x = 1)),
      'annotations',
    ],
    ['thumbprints that are not JSON', thumbprints('[abc'), 'not a JSON array'],
    ['thumbprints that are not an array', thumbprints(`"${THUMBPRINT}"`), 'must be an array'],
    ['no thumbprints', thumbprints('[]'), 'lists 0'],
    ['a short thumbprint', thumbprints(`["${THUMBPRINT.slice(1)}"]`), '64 hex'],
    ['a thumbprint that is not hex', thumbprints(`["${'g'.repeat(64)}"]`), '64 hex'],
    ['a nested thumbprint list', thumbprints(`[["${THUMBPRINT}"]]`), 'nesting'],
    [
      'an artifact manifest of another type',
      bytes(
        JSON.stringify({
          mediaType: 'application/vnd.oci.artifact.manifest.v1+json',
          artifactType: 'x/y',
          blobs: [],
          subject: SUBJECT,
        }),
      ),
      'artifactType',
    ],
    [
      'an artifact manifest with layers',
      bytes(
        JSON.stringify({
          mediaType: 'application/vnd.oci.artifact.manifest.v1+json',
          artifactType: NOTATION_ARTIFACT_TYPE,
          blobs: [LEGACY.layer.descriptor],
          layers: [],
          subject: SUBJECT,
        }),
      ),
      'has no "layers"',
    ],
    ...(
      [
        ['without blobs', undefined, 'blobs'],
        ['with no blob', [], 'blobs has 0 entries'],
        ['with two blobs', [LEGACY.layer.descriptor, LEGACY.layer.descriptor], 'blobs has 2'],
        ['whose blobs is not an array', LEGACY.layer.descriptor, 'blobs'],
      ] as const
    ).map(([what, blobs, fragment]): [string, Uint8Array, string] => [
      `an artifact manifest ${what}`,
      bytes(
        JSON.stringify({
          mediaType: 'application/vnd.oci.artifact.manifest.v1+json',
          artifactType: NOTATION_ARTIFACT_TYPE,
          blobs,
          subject: SUBJECT,
        }),
      ),
      fragment,
    ]),
  ];
  for (const [name, input, fragment] of cases) {
    test(`refuses ${name}`, () => {
      assert.throws(() => parseNotationSignatureManifest(input), refused(fragment));
    });
  }

  test('refuses a manifest over the cap, one served as another type, one about another image', () => {
    assert.throws(
      () => parseNotationSignatureManifest(LEGACY.manifest, { maxManifestBytes: 100 }),
      refused('more than the 100'),
    );
    assert.throws(
      () =>
        parseNotationSignatureManifest(LEGACY.manifest, {
          contentType: 'application/vnd.oci.image.index.v1+json',
        }),
      refused('served as'),
    );
    assert.throws(
      () => parseNotationSignatureManifest(LEGACY.manifest, { subject: { ...SUBJECT, size: 518 } }),
      refused('its subject'),
    );
    assert.throws(
      () => parseNotationSignatureManifest(LEGACY.manifest, { maxEnvelopeBytes: 10 }),
      refused('more than the 10 allowed; not fetched'),
    );
  });
});
