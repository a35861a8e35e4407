/**
 * `vouch admission serve` end to end (the shared environment is test/helpers/admission.ts:
 * the real CLI in a child process over HTTPS, a real Distribution 2.8 registry behind a
 * counting proxy, images signed and attested with `vouch sign` / `vouch attest`).
 * This file: what the policy decides: warn and audit modes, canonical repository
 * names, keyless authorities.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  appendSignatureLayer,
  signatureLayer,
  signatureTag,
} from '../src/formats/cosign-signature.ts';
import { buildSimpleSigningPayload } from '../src/formats/simple-signing.ts';
import type { Digest } from '../src/oci/digest.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import {
  admit,
  decodePatch,
  KINDS,
  podSpec,
  reviewOf,
  startWebhook,
  uidCounter,
  useAdmissionFixture,
  waitFor,
  type Webhook,
} from './helpers/admission.ts';
import { NO_DOCKER_CONFIG, runVouch } from './helpers/cli.ts';
import { type HostileRegistry } from './helpers/hostile-registry.ts';
import { buildImage, putBytes } from './helpers/images.ts';
import {
  CHAINGUARD_IDENTITY,
  createKeylessSigstore,
  GITHUB_ISSUER,
  keylessTrustedRootJson,
  mintKeylessSignature,
} from './helpers/keyless.ts';
import { type RunningRegistry } from './helpers/registry.ts';

describe('vouch admission serve: policy', () => {
  const fixture = useAdmissionFixture();
  let registry: RunningRegistry;
  let proxy: HostileRegistry;
  let tmp: string;
  let ca: string;
  let certArgs: string[];
  let webhook: Webhook;
  let host: string;
  const { digests, image } = fixture;
  before(() => ({ registry, proxy, tmp, ca, certArgs, webhook, host } = fixture));

  it('warn mode admits with a warning; audit mode admits and records it in auditAnnotations', async () => {
    const warned = await admit(
      webhook.port,
      ca,
      '/validate',
      reviewOf(KINDS[0]?.kind as never, {
        kind: 'Pod',
        spec: podSpec([image('experimental/tool')]),
      }),
    );
    assert.equal(warned.allowed, true);
    assert.equal(warned.warnings?.length, 1);
    assert.match(warned.warnings?.[0] ?? '', /acme\/experimental\/tool:1\.0.*rule experiments/);
    assert.ok((warned.warnings?.[0] ?? '').length <= 256);

    const unsignedInAudit = await admit(
      webhook.port,
      ca,
      '/validate',
      reviewOf(
        KINDS[0]?.kind as never,
        { kind: 'Pod', spec: podSpec([image('other')]) },
        { namespace: 'audit-team' },
      ),
    );
    assert.equal(unsignedInAudit.allowed, true);
    assert.equal(unsignedInAudit.warnings, undefined);
    assert.equal(unsignedInAudit.auditAnnotations?.['audit'], undefined, 'other is signed: passes');
    // Log lines are written in batches (cli/batched-lines.ts), shortly after the answer.
    await waitFor(() => webhook.logs.some((l) => l['uid'] === `uid-${uidCounter}`));
    const log = webhook.logs.findLast((l) => l['uid'] === `uid-${uidCounter}`);
    assert.equal(log?.['allowed'], true);
    assert.equal(log?.['namespace'], 'audit-team');
  });

  it('decides every spelling of a repository as its canonical name: no bypass by host case, port zeros, Hub aliases or default ports', async () => {
    // A signature is required for localhost:PORT, Docker Hub's official
    // images are denied, everything else is allowed: a spelling the rules
    // missed would be allowed by default.
    const port = host.slice(host.lastIndexOf(':') + 1);
    const dir = join(tmp, 'spelling-policy');
    await mkdir(join(dir, 'keys'), { recursive: true });
    await writeFile(
      join(dir, 'keys', 'release.pub'),
      await readFile(join(tmp, 'policy', 'keys', 'release.pub')),
    );
    const file = join(dir, 'policy.yaml');
    await writeFile(
      file,
      `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
defaultAction: allow
authorities:
  release:
    key: { file: keys/release.pub }
rules:
  - name: local
    images: ["localhost:${port}/acme/**"]
    authorities: [release]
  - name: no-official-images
    images: ["docker.io/library/**"]
    action: deny
`,
    );
    const spelled = await startWebhook(['--policy', file, ...certArgs], tmp);
    try {
      const pod = (images: string[]) =>
        reviewOf({ group: '', version: 'v1', kind: 'Pod' }, { kind: 'Pod', spec: podSpec(images) });
      for (const [image, reason] of [
        [
          `LOCALHOST:${port}/acme/unsigned:1.0`,
          /rule local: 0 of 1 required authority verified it/,
        ],
        [
          `LocalHost:0${port}/acme/unsigned:1.0`,
          /rule local: 0 of 1 required authority verified it/,
        ],
        ['registry-1.docker.io/library/nginx:1.27', /rule no-official-images/],
        ['Index.Docker.IO/nginx:1.27', /rule no-official-images/],
        ['REGISTRY.HUB.DOCKER.COM/library/nginx:1.27', /rule no-official-images/],
        ['ghcr.io:443/acme/app:1', /registry port 443 is the default port of HTTPS/],
        [`localhost:80/acme/app:1`, /registry port 80 is the default port of plain HTTP/],
      ] as const) {
        const answer = await admit(spelled.port, ca, '/validate', pod([image]));
        assert.equal(answer.allowed, false, `${image}: ${JSON.stringify(answer)}`);
        assert.match(answer.status?.message ?? '', reason, image);
      }
      // The invalid hosts that used to pass the parser are denied, not a crash.
      for (const image of [
        '127.0.0.1:99999/app:a',
        '999.999.999.999:5000/x:1',
        '[1:2:3:4:5:6:7:8:9]:5000/x:1',
      ]) {
        const answer = await admit(spelled.port, ca, '/validate', pod([image]));
        assert.equal(answer.allowed, false, image);
        assert.match(answer.status?.message ?? '', /not an image reference: invalid reference/);
      }

      // Caches are keyed by the canonical name: once one spelling of a tag
      // is verified, another spelling asks the registry nothing.
      const signed = `LOCALHOST:${port}/acme/signed:1.0`;
      const allowed = await admit(spelled.port, ca, '/validate', pod([signed]));
      assert.equal(allowed.allowed, true, JSON.stringify(allowed));
      const before = proxy.requests.length;
      const again = await admit(
        spelled.port,
        ca,
        '/validate',
        pod([`localhost:00${port}/acme/signed:1.0`, `localhost:${port}/acme/signed:1.0`]),
      );
      assert.equal(again.allowed, true, JSON.stringify(again));
      assert.deepEqual(proxy.requests.slice(before), [], 'no registry traffic for a cached image');
    } finally {
      await spelled.stop();
    }
  });

  describe('keyless authorities', () => {
    let keyless: string;
    let rightPolicy: string;
    let wrongPolicy: string;

    before(async () => {
      // An image signed keylessly by an ephemeral Sigstore (Fulcio and Rekor cannot
      // run here), stored as cosign stores it: one `.sig` layer with the certificate
      // and the Rekor bundle in its annotations.
      const sigstore = await createKeylessSigstore();
      const httpClient = new HttpClient({ retries: 0 });
      const store = new RegistryClient(registry.host, { http: httpClient }).repository(
        'acme/keyless',
      );
      const built = await buildImage(store, { tag: '1.0', layers: 1, layerSize: 64 });
      const digest: Digest = built.descriptor.digest;
      const payload = buildSimpleSigningPayload({
        dockerReference: `${host}/acme/keyless`,
        dockerManifestDigest: digest,
      });
      const minted = await mintKeylessSignature(
        sigstore,
        { subject: CHAINGUARD_IDENTITY, issuer: GITHUB_ISSUER },
        payload,
      );
      const layer = signatureLayer({
        payload,
        signatureBase64: minted.signatureBase64,
        annotations: minted.annotations,
      });
      const { image: sig } = appendSignatureLayer(undefined, layer.descriptor);
      await putBytes(store, layer.descriptor.mediaType, layer.blob);
      await putBytes(store, sig.configDescriptor.mediaType, sig.config);
      await store.putManifest(sig.manifest, sig.mediaType, signatureTag(digest));
      await httpClient.close();
      digests['keyless'] = digest;
      keyless = image('keyless');

      await writeFile(join(tmp, 'policy', 'trusted_root.json'), keylessTrustedRootJson(sigstore));
      const policyFor = (identity: string) => `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  ci:
    keyless:
      identity: ${identity}
      issuer: ${GITHUB_ISSUER}
      trustedRoot: trusted_root.json
rules:
  - name: released
    images: ["${host}/acme/**"]
    authorities: [ci]
`;
      rightPolicy = join(tmp, 'policy', 'keyless-right.yaml');
      wrongPolicy = join(tmp, 'policy', 'keyless-wrong.yaml');
      await writeFile(rightPolicy, policyFor(CHAINGUARD_IDENTITY));
      await writeFile(
        wrongPolicy,
        policyFor('https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main'),
      );
    });

    it('vouch policy evaluate: allowed for the signing identity, denied for another', async () => {
      const env = { DOCKER_CONFIG: NO_DOCKER_CONFIG };
      const right = await runVouch(
        ['policy', 'evaluate', '--policy', rightPolicy, keyless, '-o', 'json'],
        { env },
      );
      assert.equal(right.code, 0, right.stdout + right.stderr);
      const allowed = (
        JSON.parse(right.stdout) as {
          images: { result: string; digest: string; authorities: { status: string }[] }[];
        }
      ).images[0];
      assert.equal(allowed?.result, 'allowed');
      assert.equal(allowed?.digest, digests['keyless']);
      assert.deepEqual(
        allowed?.authorities.map((a) => a.status),
        ['verified'],
      );

      const wrong = await runVouch(['policy', 'evaluate', '--policy', wrongPolicy, keyless], {
        env,
      });
      assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
      assert.match(wrong.stdout, /rule released: 0 of 1 required authority verified it \(ci: /);
      // The policies differ only in the identity: the signature is refused for it.
      assert.match(wrong.stdout, /ci \(keyless\): denied NO_VALID_SIGNATURE/);
      // ... and says why, as `vouch verify` does.
      assert.match(wrong.stdout, /is valid for sha256:[0-9a-f]{64} \(CERT_IDENTITY_MISMATCH: /);
    });

    it('vouch admission serve: admits the keylessly signed image, and denies it for another identity', async () => {
      const [right, wrong] = await Promise.all([
        startWebhook(['--policy', rightPolicy, ...certArgs], tmp),
        startWebhook(['--policy', wrongPolicy, ...certArgs], tmp),
      ]);
      try {
        const review = () =>
          reviewOf(
            KINDS[1]?.kind as never,
            (KINDS[1]?.wrap as (s: object) => object)(podSpec([keyless])),
          );
        const admitted = await admit(right.port, ca, '/mutate', review());
        assert.equal(admitted.allowed, true, JSON.stringify(admitted));
        assert.deepEqual(decodePatch(admitted), [
          {
            op: 'replace',
            path: '/spec/template/spec/containers/0/image',
            value: `${keyless}@${digests['keyless']}`,
          },
        ]);
        const denied = await admit(wrong.port, ca, '/validate', review());
        assert.equal(denied.allowed, false);
        assert.match(
          denied.status?.message ?? '',
          /rule released: 0 of 1 required authority verified it \(ci: /,
        );
      } finally {
        await Promise.all([right.stop(), wrong.stop()]);
      }
    });
  });
});
