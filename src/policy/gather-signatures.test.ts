/**
 * Key authorities in the gather step, on an OCI layout (no server): the
 * authority's `signedIdentity` decides on each payload's docker-reference
 * for the image as named, and its `rekorKeys` are the only logs a Rekor
 * bundle may come from (the logs the caller trusts otherwise are not).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildImage, putBytes } from '../../test/helpers/images.ts';
import { bundleFor, createTestLog, type TestLog } from '../../test/helpers/rekor.ts';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  signatureTag,
} from '../formats/cosign-signature.ts';
import { BUNDLE_ANNOTATION } from '../formats/signature-manifest.ts';
import { buildSimpleSigningPayload } from '../formats/simple-signing.ts';
import { publicKeyToPem } from '../keys/pem.ts';
import type { Digest } from '../oci/digest.ts';
import { OCI_CONFIG, OCI_MANIFEST } from '../oci/media-types.ts';
import { openLayout } from '../registry/layout.ts';
import type { Stores } from '../registry/open.ts';
import { transparencyLogFromKey } from '../sigstore/trusted-root.ts';
import { compilePolicy } from './compile.ts';
import { evaluateImage } from './evaluate.ts';
import type { AuthorityResult } from './evidence.ts';
import { gatherPolicyEvidence } from './gather.ts';
import { parsePolicy } from './parse.ts';

const IMAGE = 'ghcr.io/acme/app:1';

describe('gather: key authorities with signedIdentity and rekorKeys', () => {
  let scratch: string;
  let stores: Stores;
  let signer: { privateKey: KeyObject; publicKey: KeyObject };
  let log: TestLog;
  let other: TestLog;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'vouch-gather-'));
    const store = await openLayout(join(scratch, 'layout'), { create: true });
    const image = await buildImage(store, { tag: '1' });
    signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    log = createTestLog();
    other = createTestLog();
    // One signature, logged in `log`, claiming the repository the image is run from.
    await putSignature(store, image.descriptor.digest, 'ghcr.io/acme/app', signer.privateKey, log);
    stores = {
      async openImage() {
        return { store, target: { tag: '1' } };
      },
      async close() {},
    } as unknown as Stores;
  });

  after(async () => {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  async function putSignature(
    store: Awaited<ReturnType<typeof openLayout>>,
    digest: Digest,
    dockerReference: string,
    privateKey: KeyObject,
    rekor: TestLog,
  ): Promise<void> {
    const payload = buildSimpleSigningPayload({ dockerReference, dockerManifestDigest: digest });
    const signature = sign('sha256', payload, { key: privateKey, dsaEncoding: 'der' });
    const layer = await putBytes(store, SIMPLE_SIGNING_MEDIA_TYPE, payload);
    const config = await putBytes(store, OCI_CONFIG, new TextEncoder().encode('{}'));
    const publicKey = signer.publicKey;
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: [
        {
          ...layer,
          annotations: {
            [SIGNATURE_ANNOTATION]: signature.toString('base64'),
            [BUNDLE_ANNOTATION]: bundleFor(rekor, { payload, signature, publicKey }),
          },
        },
      ],
    };
    await store.putManifest(
      new TextEncoder().encode(JSON.stringify(manifest)),
      OCI_MANIFEST,
      signatureTag(digest),
    );
  }

  async function results(authorities: Record<string, object>): Promise<AuthorityResult[]> {
    const policy = compilePolicy(
      parsePolicy(
        JSON.stringify({
          apiVersion: 'vouch.dev/v1alpha1',
          kind: 'ImagePolicy',
          authorities,
          rules: [{ name: 'r', images: ['ghcr.io/**'], authorities: Object.keys(authorities) }],
        }),
        'p.json',
      ),
    );
    const evidence = await gatherPolicyEvidence(policy, [{ image: IMAGE }], {
      stores,
      // The caller's trusted logs: `log`, which rekorKeys naming `other` must not widen to.
      loadTlogs: async () => [transparencyLogFromKey(log.publicKey)],
    });
    const [image] = evidence.images;
    assert.ok(image !== undefined);
    const decision = evaluateImage(image, policy);
    assert.equal(
      decision.verified,
      image.authorities.filter((a) => a.status === 'verified').length,
    );
    return [...image.authorities].sort((a, b) => a.authority.localeCompare(b.authority));
  }

  const pem = () => publicKeyToPem(signer.publicKey);
  const statusOf = (all: AuthorityResult[]) => all.map((r) => [r.authority, r.status]);

  it('signedIdentity: the payload docker-reference must satisfy the rule for the image', async () => {
    const all = await results({
      plain: { key: { pem: pem() } },
      repository: { key: { pem: pem(), signedIdentity: { type: 'matchRepository' } } },
      // The default rule: an image named by tag needs that exact reference signed.
      exact: { key: { pem: pem(), signedIdentity: { type: 'matchRepoDigestOrExact' } } },
      elsewhere: {
        key: {
          pem: pem(),
          signedIdentity: { type: 'exactRepository', dockerRepository: 'ghcr.io/acme/other' },
        },
      },
    });
    assert.deepEqual(statusOf(all), [
      ['elsewhere', 'denied'],
      ['exact', 'denied'],
      ['plain', 'verified'],
      ['repository', 'verified'],
    ]);
    for (const denied of all.filter((r) => r.status === 'denied')) {
      assert.match(
        denied.message,
        /IDENTITY_MISMATCH: .*signed docker-reference "ghcr\.io\/acme\/app" is not accepted by/,
      );
    }
  });

  it('rekorKeys: the only logs trusted, and a bundle from one of them required', async () => {
    const rekorPem = (l: TestLog) => publicKeyToPem(l.publicKey);
    const all = await results({
      logged: { key: { pem: pem(), rekorKeys: [{ pem: rekorPem(log) }] } },
      'other-log': { key: { pem: pem(), rekorKeys: [{ pem: rekorPem(other) }] } },
      'either-log': {
        key: { pem: pem(), rekorKeys: [{ pem: rekorPem(other) }, { pem: rekorPem(log) }] },
      },
    });
    assert.deepEqual(statusOf(all), [
      ['either-log', 'verified'],
      ['logged', 'verified'],
      ['other-log', 'denied'],
    ]);
    assert.match(all[2]?.message ?? '', /TLOG_/);
  });
});
