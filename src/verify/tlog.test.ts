/**
 * `evaluate` with Rekor bundles on key-verified signatures. The real
 * key-rekor fixture (containers/image `dir-img-cosign-key-rekor-valid`,
 * logged in rekor.sigstore.dev in January 2023) must verify with cosign2.pub
 * and the public-good trusted root shipped with vouch, and every altered
 * copy must fail with the code of the check that caught it. Entries the real
 * log never signed (another payload's hash, another key, another kind) are
 * made with a test log whose key the test trusts.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  bundleAnnotation,
  bundleFor,
  createTestLog,
  hashedRekordBody,
  type TestLog,
  trustedRootJson,
} from '../../test/helpers/rekor.ts';
import {
  layerOfContainersSignature,
  parseContainersSignature,
} from '../formats/containers-signature.ts';
import {
  BUNDLE_ANNOTATION,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from '../formats/cosign-signature.ts';
import { buildSimpleSigningPayload } from '../formats/simple-signing.ts';
import { parsePublicKeyPem } from '../keys/pem.ts';
import { type Digest, digestOf } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import { publicGoodTrustedRoot } from '../sigstore/public-good.ts';
import {
  parseTrustedRoot,
  type TransparencyLog,
  transparencyLogFromKey,
} from '../sigstore/trusted-root.ts';
import { evaluate, isKeyTrust, type Policy, type CosignTrust, type Verdict } from './evaluate.ts';
import { type Evidence, evidenceFromLayers } from './evidence.ts';
import { withTlogs } from './verify.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures/containers-image');
const skip = existsSync(FIXTURES)
  ? false
  : `containers/image fixtures not found at ${FIXTURES} (they live outside the repository)`;
const KEY_REKOR = 'dir-img-cosign-key-rekor-valid';
const PUBLIC_GOOD_LOG = 'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d';

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

interface Layer {
  readonly layer: Descriptor;
  readonly payload: Uint8Array;
}

/** The fixture's one signature layer, with `change` applied to its annotations. */
function fixtureLayer(
  change: (annotations: Record<string, string>) => void = () => {},
): Layer & { digest: Digest } {
  const signature = parseContainersSignature(
    readFixture(`${KEY_REKOR}/signature-1`),
    'signature-1',
  );
  const layer = layerOfContainersSignature(signature);
  const annotations = { ...layer.annotations };
  change(annotations);
  return {
    layer: { ...layer, annotations },
    payload: signature.payload,
    digest: digestOf(readFixture(`${KEY_REKOR}/manifest.json`)),
  };
}

function evidenceOf(digest: Digest, layers: readonly Layer[]): Evidence {
  return evidenceFromLayers({ digest, reference: 'test' }, layers);
}

/** Edits the fixture's bundle as parsed JSON and writes it back. */
function editBundle(
  edit: (bundle: { SignedEntryTimestamp: string; Payload: Record<string, unknown> }) => void,
) {
  return (annotations: Record<string, string>) => {
    const bundle = JSON.parse(annotations[BUNDLE_ANNOTATION] as string);
    edit(bundle);
    annotations[BUNDLE_ANNOTATION] = JSON.stringify(bundle);
  };
}

function codes(verdict: Verdict): string[] {
  return verdict.rejected.map((r) => r.reason.code);
}

function only(verdict: Verdict): { code: string; message: string } {
  assert.deepEqual(verdict.verified, []);
  assert.equal(verdict.rejected.length, 1);
  return (verdict.rejected[0] as Verdict['rejected'][number]).reason;
}

describe('evaluate: Rekor bundles on the key-rekor fixture', { skip }, () => {
  let tlogs: readonly TransparencyLog[];
  let cosign2: KeyObject;
  const check = (layer: Layer & { digest: Digest }, trust?: Partial<CosignTrust>) =>
    evaluate(evidenceOf(layer.digest, [layer]), { keys: [cosign2], tlogs, ...trust });

  before(async () => {
    tlogs = (await publicGoodTrustedRoot()).tlogs;
    cosign2 = parsePublicKeyPem(readFixture('cosign2.pub'));
  });

  test('verifies with cosign2.pub and the public-good root: SET valid, entry bound', () => {
    const verdict = check(fixtureLayer());
    assert.deepEqual(verdict.rejected, []);
    assert.equal(verdict.verified.length, 1);
    assert.deepEqual(verdict.verified[0]?.tlog, {
      logId: PUBLIC_GOOD_LOG,
      logUrl: 'https://rekor.sigstore.dev',
      logIndex: 11608800,
      integratedTime: 1674251859,
    });
  });

  test('the public-good Rekor key given alone (--rekor-public-key rekor.pub) verifies too', () => {
    const rekor = tlogs.find((log) => log.logId === PUBLIC_GOOD_LOG) as TransparencyLog;
    const verdict = check(fixtureLayer(), { tlogs: [transparencyLogFromKey(rekor.publicKey)] });
    assert.equal(verdict.verified.length, 1);
    assert.equal(verdict.verified[0]?.tlog?.logId, PUBLIC_GOOD_LOG);
    assert.equal(verdict.verified[0]?.tlog?.logUrl, undefined);
  });

  test('SET bytes flipped: TLOG_SET_INVALID, and the key that did verify is named', () => {
    const layer = fixtureLayer(
      editBundle((bundle) => {
        const set = Buffer.from(bundle.SignedEntryTimestamp, 'base64');
        set[set.length - 5] = (set[set.length - 5] as number) ^ 0x01;
        bundle.SignedEntryTimestamp = set.toString('base64');
      }),
    );
    const verdict = check(layer);
    assert.deepEqual(codes(verdict), ['TLOG_SET_INVALID']);
    assert.equal(verdict.rejected[0]?.key, 0);
    assert.match(only(verdict).message, /rekor\.sigstore\.dev/);
  });

  test('integratedTime, logIndex or body changed: TLOG_SET_INVALID', () => {
    const edits = [
      editBundle((b) => (b.Payload.integratedTime = 1674251860)),
      editBundle((b) => (b.Payload.logIndex = 11608801)),
      editBundle((b) => {
        const body = JSON.parse(Buffer.from(b.Payload.body as string, 'base64').toString());
        body.spec.data.hash.value = 'f'.repeat(64);
        b.Payload.body = Buffer.from(JSON.stringify(body)).toString('base64');
      }),
    ];
    for (const edit of edits)
      assert.deepEqual(codes(check(fixtureLayer(edit))), ['TLOG_SET_INVALID']);
  });

  test('integratedTime before the log key was valid: TLOG_LOG_INACTIVE', () => {
    const verdict = check(
      fixtureLayer(editBundle((b) => (b.Payload.integratedTime = 1_000_000_000))),
    );
    assert.deepEqual(codes(verdict), ['TLOG_LOG_INACTIVE']);
    assert.match(only(verdict).message, /2001-09-09T01:46:40\.000Z/);
  });

  test('logID unknown: TLOG_LOG_UNKNOWN', () => {
    const verdict = check(
      fixtureLayer(editBundle((b) => (b.Payload.logID = `${PUBLIC_GOOD_LOG.slice(0, 63)}e`))),
    );
    assert.deepEqual(codes(verdict), ['TLOG_LOG_UNKNOWN']);
  });

  test('no trusted logs at all: a signature with a bundle does not count', () => {
    const verdict = evaluate(evidenceOf(fixtureLayer().digest, [fixtureLayer()]), {
      keys: [cosign2],
    });
    assert.deepEqual(codes(verdict), ['TLOG_LOG_UNKNOWN']);
    assert.match(only(verdict).message, /no transparency log is trusted/);
  });

  test('the wrong Rekor key: unknown log by ID, or a SET that does not verify', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const byKey = transparencyLogFromKey(other);
    assert.deepEqual(codes(check(fixtureLayer(), { tlogs: [byKey] })), ['TLOG_LOG_UNKNOWN']);
    const impostor = { ...byKey, logId: PUBLIC_GOOD_LOG };
    assert.deepEqual(codes(check(fixtureLayer(), { tlogs: [impostor] })), ['TLOG_SET_INVALID']);
  });

  test('a genuine bundle on another signature (CVE-2022-23649): TLOG_BINDING_MISMATCH', () => {
    // Sign the same payload with another key and keep the logged bundle of cosign2's signature.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const base = fixtureLayer();
    const signature = sign('sha256', base.payload, { key: privateKey, dsaEncoding: 'der' });
    const layer = fixtureLayer((annotations) => {
      annotations[SIGNATURE_ANNOTATION] = signature.toString('base64');
    });
    const verdict = check(layer, { keys: [publicKey] });
    assert.deepEqual(codes(verdict), ['TLOG_BINDING_MISMATCH']);
    assert.match(only(verdict).message, /another signature/);
  });

  test('malformed bundle JSON: TLOG_BUNDLE_INVALID', () => {
    const original = fixtureLayer().layer.annotations?.[BUNDLE_ANNOTATION] as string;
    const variants = [
      // Duplicate keys: two readers could see two different bundles.
      original.replace('"Payload":{', '"Payload":{"logIndex":1,'),
      original.replace(
        '{"SignedEntryTimestamp"',
        '{"SignedEntryTimestamp":"AA==","SignedEntryTimestamp"',
      ),
      original.replace('"Payload"', '"payload"'),
      original.replace('"logIndex":11608800', '"logIndex":11608800,"extra":1'),
      original.replace('"integratedTime":1674251859', '"integratedTime":"1674251859"'),
      original.replace('"integratedTime":1674251859', '"integratedTime":1674251859.5'),
      original.replace('"logIndex":11608800', '"logIndex":-1'),
      original.replace('"logIndex":11608800', '"logIndex":9007199254740993'),
      original.replace('"body":"eyJ', '"body":"*eyJ'),
      original.slice(0, -1),
      '',
    ];
    for (const bundle of variants) {
      const layer = fixtureLayer((annotations) => {
        annotations[BUNDLE_ANNOTATION] = bundle;
      });
      assert.deepEqual(codes(check(layer)), ['TLOG_BUNDLE_INVALID'], bundle);
    }
  });

  test('the bundle is checked only once the signature verifies: other keys stay SIGNATURE_INVALID', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const layer = fixtureLayer(editBundle((b) => (b.Payload.logIndex = 1)));
    assert.deepEqual(codes(check(layer, { keys: [other] })), ['SIGNATURE_INVALID']);
  });
});

describe('evaluate: Rekor bundles from a test log', () => {
  const log: TestLog = createTestLog();
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const digest = digestOf(new TextEncoder().encode('an image manifest'));
  const payload = buildSimpleSigningPayload({
    dockerReference: 'registry.test/app',
    dockerManifestDigest: digest,
  });
  const signature = sign('sha256', payload, { key: signer.privateKey, dsaEncoding: 'der' });
  const entry = { payload, signature, publicKey: signer.publicKey };
  const tlogs = parseTrustedRoot(new TextEncoder().encode(trustedRootJson([log]))).tlogs;

  function layerWith(bundle: string | undefined, layerPayload = payload): Layer {
    return {
      layer: {
        mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
        digest: digestOf(layerPayload),
        size: layerPayload.byteLength,
        annotations: {
          [SIGNATURE_ANNOTATION]: signature.toString('base64'),
          ...(bundle === undefined ? {} : { [BUNDLE_ANNOTATION]: bundle }),
        },
      },
      payload: layerPayload,
    };
  }
  const run = (bundle: string | undefined, policy?: Policy, trust?: Partial<CosignTrust>) =>
    evaluate(
      evidenceOf(digest, [layerWith(bundle)]),
      { keys: [signer.publicKey], tlogs, ...trust },
      policy,
    );

  test('a bundle of this signature verifies, and the verdict says where and when it was logged', () => {
    const verdict = run(bundleFor(log, entry, { integratedTime: 1_700_000_123, logIndex: 7 }));
    assert.deepEqual(verdict.rejected, []);
    assert.deepEqual(verdict.verified[0]?.tlog, {
      logId: log.logId,
      logUrl: log.baseUrl,
      logIndex: 7,
      integratedTime: 1_700_000_123,
    });
  });

  test('no bundle: counts by key alone, unless the log is required (TLOG_MISSING)', () => {
    const alone = run(undefined);
    assert.equal(alone.verified.length, 1);
    assert.equal(alone.verified[0]?.tlog, undefined);
    const required = run(undefined, { requireTlog: true });
    assert.deepEqual(codes(required), ['TLOG_MISSING']);
    assert.equal(required.rejected[0]?.key, 0);
    assert.equal(run(bundleFor(log, entry), { requireTlog: true }).verified.length, 1);
  });

  test('the entry hashes another payload: TLOG_BINDING_MISMATCH', () => {
    const other = buildSimpleSigningPayload({
      dockerReference: 'registry.test/app',
      dockerManifestDigest: digestOf(new TextEncoder().encode('another manifest')),
    });
    const verdict = run(bundleFor(log, { ...entry, payload: other }));
    assert.deepEqual(codes(verdict), ['TLOG_BINDING_MISMATCH']);
    assert.match(only(verdict).message, /payload with SHA-256/);
  });

  test('the entry records another signature of the same payload and key: TLOG_BINDING_MISMATCH', () => {
    const again = sign('sha256', payload, { key: signer.privateKey, dsaEncoding: 'der' });
    assert.notDeepEqual(again, signature); // ECDSA signatures are randomized
    const verdict = run(bundleFor(log, { ...entry, signature: again }));
    assert.deepEqual(codes(verdict), ['TLOG_BINDING_MISMATCH']);
    assert.match(only(verdict).message, /another signature/);
  });

  test('the entry records another public key: TLOG_BINDING_MISMATCH', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const verdict = run(bundleFor(log, { ...entry, publicKey: other }));
    assert.deepEqual(codes(verdict), ['TLOG_BINDING_MISMATCH']);
    assert.match(only(verdict).message, /another public key/);
  });

  test('the entry records a certificate instead of the key: TLOG_BINDING_MISMATCH', () => {
    const body = hashedRekordBody(entry) as {
      spec: { signature: { publicKey: { content: string } } };
    };
    body.spec.signature.publicKey.content = Buffer.from(
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    ).toString('base64');
    const verdict = run(bundleAnnotation(log, body));
    assert.deepEqual(codes(verdict), ['TLOG_BINDING_MISMATCH']);
    assert.match(only(verdict).message, /"CERTIFICATE"/);
  });

  test('an entry that is not hashedrekord 0.0.1 over sha256: TLOG_ENTRY_UNSUPPORTED', () => {
    const hashed = hashedRekordBody(entry) as Record<string, unknown> & {
      spec: { data: { hash: { algorithm: string } } };
    };
    const intoto = {
      apiVersion: '0.0.1',
      kind: 'intoto',
      spec: { content: { hash: { algorithm: 'sha256', value: 'ab' } }, publicKey: 'cGVt' },
    };
    const sha512 = structuredClone(hashed);
    sha512.spec.data.hash.algorithm = 'sha512';
    for (const body of [
      intoto,
      { ...hashed, apiVersion: '0.0.2' },
      { ...hashed, kind: 'rekord' },
      sha512,
    ]) {
      assert.deepEqual(codes(run(bundleAnnotation(log, body))), ['TLOG_ENTRY_UNSUPPORTED']);
    }
  });

  test('a malformed body the log signed anyway: TLOG_BUNDLE_INVALID', () => {
    const text = JSON.stringify(hashedRekordBody(entry));
    const bodies = [
      text.replace('"kind":"hashedrekord"', '"kind":"hashedrekord","kind":"hashedrekord"'),
      text.replace('"apiVersion":"0.0.1"', '"apiVersion":"0.0.1","extra":true'),
      text.replace('"algorithm":"sha256"', '"algorithm":"sha256","Algorithm":"sha256"'),
      '[]',
      'not json',
    ];
    for (const body of bodies) {
      assert.deepEqual(codes(run(bundleAnnotation(log, body))), ['TLOG_BUNDLE_INVALID'], body);
    }
  });

  test('the log key validity period is enforced at the integrated time', () => {
    const bounded = parseTrustedRoot(
      new TextEncoder().encode(
        trustedRootJson([log], '2023-01-01T00:00:00Z', '2023-12-31T23:59:59Z'),
      ),
    ).tlogs;
    const at = (integratedTime: number) =>
      codes(run(bundleFor(log, entry, { integratedTime }), {}, { tlogs: bounded }));
    assert.deepEqual(at(Date.UTC(2023, 5, 1) / 1000), []);
    assert.deepEqual(at(Date.UTC(2023, 11, 31, 23, 59, 59) / 1000), [], 'the end is inclusive');
    assert.deepEqual(at(Date.UTC(2024, 0, 1) / 1000), ['TLOG_LOG_INACTIVE']);
    assert.deepEqual(at(Date.UTC(2022, 11, 31) / 1000), ['TLOG_LOG_INACTIVE']);
  });

  test('a SET signed by another log that claims the trusted log ID: TLOG_SET_INVALID', () => {
    const rogue = createTestLog();
    assert.deepEqual(codes(run(bundleFor(rogue, entry, { logId: log.logId }))), [
      'TLOG_SET_INVALID',
    ]);
  });

  test('a signature failing its claims after its bundle verified keeps the claim code', () => {
    const verdict = run(bundleFor(log, entry), { annotations: { env: 'prod' } });
    assert.deepEqual(codes(verdict), ['ANNOTATION_MISMATCH']);
  });
});

describe('withTlogs: trust material loaded only when a bundle needs it', () => {
  const log = createTestLog();
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const digest = digestOf(new TextEncoder().encode('manifest'));
  const payload = buildSimpleSigningPayload({
    dockerReference: 'r.test/a',
    dockerManifestDigest: digest,
  });
  const signature = sign('sha256', payload, { key: signer.privateKey, dsaEncoding: 'der' });
  const evidence = (bundle?: string) =>
    evidenceOf(digest, [
      {
        layer: {
          mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
          digest: digestOf(payload),
          size: payload.byteLength,
          annotations: {
            [SIGNATURE_ANNOTATION]: signature.toString('base64'),
            ...(bundle === undefined ? {} : { [BUNDLE_ANNOTATION]: bundle }),
          },
        },
        payload,
      },
    ]);

  test('no bundle: the loader is not called; a bundle: called; given logs: never called', async () => {
    let calls = 0;
    const tlogs = parseTrustedRoot(new TextEncoder().encode(trustedRootJson([log]))).tlogs;
    const loadTlogs = async () => {
      calls++;
      return tlogs;
    };
    const options = { trust: { keys: [signer.publicKey] }, loadTlogs };
    const plain = await withTlogs(evidence(), options);
    assert.equal(calls, 0);
    assert.ok(isKeyTrust(plain.trust));
    assert.equal(plain.trust.tlogs, undefined);
    const bundled = evidence(bundleFor(log, { payload, signature, publicKey: signer.publicKey }));
    const loaded = await withTlogs(bundled, options);
    assert.equal(calls, 1);
    assert.equal(evaluate(bundled, loaded.trust).verified.length, 1);
    await withTlogs(bundled, { ...options, trust: { keys: [signer.publicKey], tlogs: [] } });
    assert.equal(calls, 1);
  });
});
