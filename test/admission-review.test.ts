/**
 * `vouch admission serve` end to end (the shared environment is test/helpers/admission.ts:
 * the real CLI in a child process over HTTPS, a real Distribution 2.8 registry behind a
 * counting proxy, images signed and attested with `vouch sign` / `vouch attest`).
 * This file: the HTTP surface and AdmissionReview v1 handling: every workload kind,
 * init, ephemeral containers and image volumes, skipped operations, /mutate patches.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  admit,
  applyPatch,
  decodePatch,
  KINDS,
  oversized,
  podSpec,
  post,
  reviewOf,
  useAdmissionFixture,
  type Webhook,
} from './helpers/admission.ts';

describe('vouch admission serve: reviews', () => {
  const fixture = useAdmissionFixture();
  let ca: string;
  let webhook: Webhook;
  const { digests, image } = fixture;
  before(() => ({ ca, webhook } = fixture));

  it('answers /healthz, /readyz and /metrics, and plain HTTP errors for everything else', async () => {
    assert.equal((await post(webhook.port, ca, '/healthz', '', {}, 'GET')).body, 'ok\n');
    assert.equal((await post(webhook.port, ca, '/readyz', '', {}, 'GET')).status, 200);
    const metrics = await post(webhook.port, ca, '/metrics', '', {}, 'GET');
    assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.body, /# TYPE vouch_admission_request_duration_seconds histogram/);
    assert.match(metrics.body, /vouch_admission_policy_info\{revision="[0-9a-f]{64}"\} 1/);

    const review = reviewOf(KINDS[0]?.kind as never, {
      kind: 'Pod',
      spec: podSpec([image('signed')]),
    });
    assert.equal((await post(webhook.port, ca, '/nope', review)).status, 404);
    // A review's answer carries its length: headers and body in one write,
    // not chunked framing written piece by piece.
    const answered = await post(webhook.port, ca, '/validate', review);
    assert.equal(answered.status, 200);
    assert.equal(answered.headers['transfer-encoding'], undefined);
    assert.equal(Number(answered.headers['content-length']), Buffer.byteLength(answered.body));
    const get = await post(webhook.port, ca, '/validate', '', {}, 'GET');
    assert.equal(get.status, 405);
    assert.equal(get.headers['allow'], 'POST');
    assert.equal(
      (await post(webhook.port, ca, '/validate', review, { 'content-type': 'text/plain' })).status,
      415,
    );
    // Refused by its declared length, and while streaming one without a length.
    assert.equal(await oversized(webhook.port, ca, true), 413);
    assert.equal(await oversized(webhook.port, ca, false), 413);
    for (const [body, expected] of [
      ['{"apiVersion":"admission.k8s.io/v1"', /not valid JSON/],
      [
        review.replace(
          '"kind":"AdmissionReview"',
          '"kind":"AdmissionReview","kind":"AdmissionReview"',
        ),
        /duplicate/i,
      ],
      [
        review.replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'),
        /apiVersion must be admission\.k8s\.io\/v1/,
      ],
      [review.replace(/"uid":"[^"]*"/, '"uid":""'), /uid/],
      [`${review} []`, /after the JSON value/],
    ] as const) {
      const answer = await post(webhook.port, ca, '/validate', body);
      assert.equal(answer.status, 400, body);
      assert.match(answer.body, expected);
    }
  });

  for (const { kind, wrap } of KINDS) {
    it(`${kind.kind}: admits signed and attested images (init containers too), denies an unsigned one naming image, rule and reason`, async () => {
      const ok = await admit(
        webhook.port,
        ca,
        '/validate',
        reviewOf(kind, wrap(podSpec([image('attested')], [image('signed')]))),
      );
      assert.equal(ok.allowed, true, JSON.stringify(ok));
      assert.equal(ok.patch, undefined, '/validate never patches');
      const images = JSON.parse(ok.auditAnnotations?.['images'] ?? '[]') as { result: string }[];
      assert.deepEqual(
        images.map((i) => i.result),
        ['allowed', 'allowed'],
      );

      const denied = await admit(
        webhook.port,
        ca,
        '/validate',
        reviewOf(kind, wrap(podSpec([image('signed')], [image('unsigned')]))),
      );
      assert.equal(denied.allowed, false);
      assert.equal(denied.status?.code, 403);
      assert.equal(denied.status?.reason, 'Forbidden');
      const message = denied.status?.message ?? '';
      assert.match(
        message,
        new RegExp(
          `image ${image('unsigned').replace(/[./]/g, '\\$&')} \\(initContainers\\[0\\] \\(init0\\)\\)`,
        ),
      );
      assert.match(message, /rule signed: 0 of 1 required authority verified it \(release: /);
      assert.match(message, new RegExp(`${kind.kind} prod/web`));
      assert.doesNotMatch(message, /acme\/signed/, 'only failing images are named');
    });
  }

  it('pods/ephemeralcontainers: checks the ephemeral containers of the Pod', async () => {
    const kind = { group: '', version: 'v1', kind: 'Pod' };
    const denied = await admit(
      webhook.port,
      ca,
      '/validate',
      reviewOf(
        kind,
        { kind: 'Pod', spec: podSpec([image('signed')], [], [image('unsigned')]) },
        {
          subResource: 'ephemeralcontainers',
          operation: 'UPDATE',
        },
      ),
    );
    assert.equal(denied.allowed, false);
    assert.match(denied.status?.message ?? '', /ephemeralContainers\[0\] \(debug0\)/);
    assert.match(denied.status?.message ?? '', /Pod\/ephemeralcontainers prod\/web/);

    const object = { kind: 'Pod', spec: podSpec([image('signed')], [], [image('signed')]) };
    const mutated = await admit(
      webhook.port,
      ca,
      '/mutate',
      reviewOf(kind, object, { subResource: 'ephemeralcontainers', operation: 'UPDATE' }),
    );
    assert.equal(mutated.allowed, true);
    assert.deepEqual(
      decodePatch(mutated).map((p) => p.path),
      ['/spec/containers/0/image', '/spec/ephemeralContainers/0/image'],
    );
  });

  it('checks image volumes too, and pins them on /mutate', async () => {
    const kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
    const spec = (volume: string) => ({
      ...podSpec([image('signed')]),
      volumes: [{ name: 'models', image: { reference: volume } }],
    });
    const denied = await admit(
      webhook.port,
      ca,
      '/validate',
      reviewOf(kind, { kind: 'Deployment', spec: { template: { spec: spec(image('unsigned')) } } }),
    );
    assert.equal(denied.allowed, false);
    assert.match(denied.status?.message ?? '', /acme\/unsigned:1\.0 \(volumes\[0\] \(models\)\)/);
    const mutated = await admit(
      webhook.port,
      ca,
      '/mutate',
      reviewOf(kind, { kind: 'Deployment', spec: { template: { spec: spec(image('attested')) } } }),
    );
    assert.equal(mutated.allowed, true);
    assert.deepEqual(decodePatch(mutated).at(-1), {
      op: 'replace',
      path: '/spec/template/spec/volumes/0/image/reference',
      value: `${image('attested')}@${digests['attested']}`,
    });
  });

  it('skips DELETE, CONNECT and the status and scale subresources', async () => {
    const kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
    const object = {
      kind: 'Deployment',
      spec: { template: { spec: podSpec([image('unsigned')]) } },
    };
    for (const extra of [
      { operation: 'DELETE', object: null, oldObject: object },
      { subResource: 'status', operation: 'UPDATE' },
      { subResource: 'scale', operation: 'UPDATE' },
    ]) {
      const answer = await admit(webhook.port, ca, '/validate', reviewOf(kind, object, extra));
      assert.equal(answer.allowed, true, JSON.stringify(extra));
    }
    const deny = await admit(
      webhook.port,
      ca,
      '/validate',
      reviewOf(kind, object, { operation: 'UPDATE' }),
    );
    assert.equal(deny.allowed, false, 'an UPDATE is checked');
  });

  it('/mutate pins tags to repo:tag@digest where the rule says mutateDigest, in every container list', async () => {
    for (const { kind, wrap } of KINDS) {
      const object = wrap(podSpec([image('attested'), image('signed')], [image('signed')]));
      const answer = await admit(webhook.port, ca, '/mutate', reviewOf(kind, object));
      assert.equal(answer.allowed, true);
      const patched = JSON.stringify(applyPatch(object, decodePatch(answer)));
      const expected = JSON.stringify(
        wrap(
          podSpec(
            [
              `${image('attested')}@${digests['attested']}`,
              `${image('signed')}@${digests['signed']}`,
            ],
            [`${image('signed')}@${digests['signed']}`],
          ),
        ),
      );
      assert.equal(patched, expected, kind.kind);
    }
    // Already pinned: nothing to patch; a denied request gets no patch either.
    const pinned = await admit(
      webhook.port,
      ca,
      '/mutate',
      reviewOf(KINDS[0]?.kind as never, {
        kind: 'Pod',
        spec: podSpec([`${image('signed')}@${digests['signed']}`]),
      }),
    );
    assert.equal(pinned.allowed, true);
    assert.equal(pinned.patch, undefined);
    const denied = await admit(
      webhook.port,
      ca,
      '/mutate',
      reviewOf(KINDS[0]?.kind as never, {
        kind: 'Pod',
        spec: podSpec([image('signed'), image('unsigned')]),
      }),
    );
    assert.equal(denied.allowed, false);
    assert.equal(denied.patch, undefined);
  });
});
