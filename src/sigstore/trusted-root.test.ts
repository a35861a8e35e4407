import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { createTestLog, trustedRootJson } from '../../test/helpers/rekor.ts';
import { publicGoodTrustedRoot, publicGoodTrustedRootLoaded } from './public-good.ts';
import {
  logIdOf,
  logsWithId,
  parseTrustedRoot,
  type TransparencyLog,
  transparencyLogFromKey,
  validAt,
} from './trusted-root.ts';

const encode = (text: string) => new TextEncoder().encode(text);

/** A one-log root as a mutable object, to break one field at a time. */
function rootObject(): { tlogs: Array<Record<string, unknown>> } & Record<string, unknown> {
  return JSON.parse(trustedRootJson([createTestLog()]));
}

function rejects(document: unknown, pattern: RegExp): void {
  const bytes = encode(typeof document === 'string' ? document : JSON.stringify(document));
  assert.throws(
    () => parseTrustedRoot(bytes, 'root.json'),
    (error: unknown) =>
      expectError('invalid', 'TRUSTED_ROOT_INVALID', 'root.json')(error) &&
      pattern.test((error as Error).message),
  );
}

describe('public-good trusted root (from @sigstore/tuf seeds.json)', () => {
  test('is read only when asked for, once, and names rekor.sigstore.dev', async () => {
    assert.equal(publicGoodTrustedRootLoaded(), false);
    const root = await publicGoodTrustedRoot();
    assert.equal(publicGoodTrustedRootLoaded(), true);
    assert.equal(await publicGoodTrustedRoot(), root);
    const [rekor] = logsWithId(
      root.tlogs,
      'C0D23D6AD406973F9559F3BA2D1CA01F84147D8FFC5B8445C224F98B9591801D',
    );
    assert.ok(rekor !== undefined);
    assert.equal(rekor.baseUrl, 'https://rekor.sigstore.dev');
    assert.equal(rekor.hash, 'sha256');
    assert.equal(rekor.validFrom, Date.parse('2021-01-12T11:53:27Z'));
    assert.equal(rekor.validUntil, undefined);
    assert.equal(logIdOf(rekor.publicKey), rekor.logId, 'the log ID is the key hash');
    assert.ok(Array.isArray(root.document.certificateAuthorities));
  });
});

describe('parseTrustedRoot', () => {
  test('a generated root: one log, its key, ID and validity', () => {
    const log = createTestLog();
    const root = parseTrustedRoot(
      encode(trustedRootJson([log], '2024-01-01T00:00:00.0001Z', '2024-12-31T23:59:59.9999+01:00')),
    );
    const [parsed] = root.tlogs;
    assert.equal(parsed?.logId, log.logId);
    assert.equal(parsed?.baseUrl, log.baseUrl);
    // Sub-millisecond digits never widen the period.
    assert.equal(parsed?.validFrom, Date.parse('2024-01-01T00:00:00.001Z'));
    assert.equal(parsed?.validUntil, Date.parse('2024-12-31T22:59:59.999Z'));
  });

  test('Ed25519 and RSA logs, and unknown fields, are accepted', () => {
    const object = rootObject();
    const ed = generateKeyPairSync('ed25519').publicKey;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const extra = (key: typeof ed, keyDetails: string) => ({
      baseUrl: 'https://log.test',
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes: key.export({ format: 'der', type: 'spki' }).toString('base64'),
        keyDetails,
        validFor: { start: '2025-01-01T00:00:00Z' },
      },
      logId: { keyId: Buffer.from(logIdOf(key), 'hex').toString('base64') },
      checkpointKeyId: { keyId: 'AAAA' },
    });
    object.tlogs.push(extra(ed, 'PKIX_ED25519'), extra(rsa, 'PKIX_RSA_PKCS1V15_2048_SHA256'));
    object.futureField = { anything: true };
    const root = parseTrustedRoot(encode(JSON.stringify(object)));
    assert.deepEqual(
      root.tlogs.map((log) => log.hash),
      ['sha256', null, 'sha256'],
    );
  });

  test('refuses what sigstore-go refuses, and duplicate keys', () => {
    rejects('{"mediaType":"x","mediaType":"y"}', /duplicate key/);
    rejects('[]', /not a JSON object/);
    rejects(
      { ...rootObject(), mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.2' },
      /mediaType/,
    );
    rejects({ ...rootObject(), tlogs: {} }, /tlogs is not an array/);
    interface Tlog {
      hashAlgorithm?: string;
      logId: { keyId: string };
      publicKey: { keyDetails: string; rawBytes: string; validFor: Record<string, string | null> };
    }
    const broken: Array<[(tlog: Tlog) => void, RegExp]> = [
      [(t) => (t.hashAlgorithm = 'SHA2_384'), /hashAlgorithm/],
      [(t) => delete (t as Partial<Tlog>).logId, /logId/],
      [(t) => (t.logId.keyId = ''), /logId\.keyId .*empty/],
      [(t) => (t.logId.keyId = 'not base64!'), /logId\.keyId .*base64/],
      [(t) => (t.publicKey.keyDetails = 'PKIX_RSA_PSS_2048_SHA256'), /keyDetails .*cannot verify/],
      [
        (t) => (t.publicKey.keyDetails = 'PKIX_ECDSA_P384_SHA_384'),
        /declared PKIX_ECDSA_P384_SHA_384 but is ecdsa-p256/,
      ],
      [(t) => (t.publicKey.rawBytes = 'AAAA'), /not a DER spki public key/],
      [(t) => delete (t.publicKey as Partial<Tlog['publicKey']>).validFor, /validFor .*missing/],
      [(t) => (t.publicKey.validFor = {}), /validFor\.start .*missing/],
      [(t) => (t.publicKey.validFor = { start: null }), /validFor\.start .*missing/],
      [(t) => (t.publicKey.validFor.start = '2024-02-30T00:00:00Z'), /not a valid time/],
      [(t) => (t.publicKey.validFor.start = '2024-01-01'), /not an RFC 3339 time/],
      [(t) => (t.publicKey.validFor.end = '2019-01-01T00:00:00Z'), /ends before it starts/],
    ];
    for (const [edit, pattern] of broken) {
      const object = rootObject();
      edit(object.tlogs[0] as unknown as Tlog);
      rejects(object, pattern);
    }
  });
});

describe('transparency log selection', () => {
  test('a validity end of null is no end, as protobuf JSON reads it', () => {
    const object = rootObject();
    const tlog = object.tlogs[0] as { publicKey: { validFor: Record<string, unknown> } };
    tlog.publicKey.validFor.end = null;
    const [parsed] = parseTrustedRoot(encode(JSON.stringify(object))).tlogs;
    assert.equal(parsed?.validUntil, undefined);
    assert.equal(parsed === undefined ? undefined : validAt(parsed, 4_000_000_000), true);
  });

  test('a bare key: log ID from the key, no validity bounds', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const log = transparencyLogFromKey(publicKey);
    assert.equal(log.logId, logIdOf(publicKey));
    assert.equal(log.hash, 'sha384');
    assert.equal(validAt(log, 0), true);
    assert.throws(() =>
      transparencyLogFromKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
    );
  });

  test('validAt: bounds inclusive, in seconds against milliseconds', () => {
    const log = { validFrom: 1_000_000, validUntil: 2_000_000 } as TransparencyLog;
    assert.deepEqual(
      [999, 1000, 2000, 2001].map((seconds) => validAt(log, seconds)),
      [false, true, true, false],
    );
  });
});
