import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { compilePolicy } from '../policy/compile.ts';
import type { ImageDecision } from '../policy/evaluate.ts';
import { parsePolicy } from '../policy/parse.ts';
import { AdmissionHandler, isJson, requestTarget } from './handler.ts';
import { AdmissionMetrics } from './metrics.ts';
import { servedPolicy } from './policy-watch.ts';
import type { ImageVerifier } from './verifier.ts';

const POLICY = servedPolicy(
  compilePolicy(
    parsePolicy(
      'apiVersion: vouch.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: all\n    images: ["**"]\n    action: allow\n',
      'policy.yaml',
    ),
    new Map(),
  ),
);

const REVIEW = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    subResource: '',
    name: 'p',
    namespace: 'ns',
    operation: 'CREATE',
    userInfo: { username: 'u' },
    object: { kind: 'Pod', spec: { containers: [{ name: 'c', image: 'ghcr.io/acme/app:1' }] } },
    dryRun: false,
  },
});

/** What a verifier decides for `image` under a policy that allows everything. */
function allowedDecision(image: string): ImageDecision {
  return {
    image,
    rule: 'all',
    mode: 'enforce',
    result: 'allowed',
    passed: true,
    reason: 'rule all: allowed',
    threshold: 0,
    verified: 0,
    authorities: [],
    attestations: [],
  };
}

/** A handler whose verifier answers only when `release()` is called, behind a plain HTTP server. */
async function serve() {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const verifier = {
    async decide(_policy: unknown, image: string): Promise<ImageDecision> {
      await gate;
      return allowedDecision(image);
    },
  } as unknown as ImageVerifier;
  const handler = new AdmissionHandler({
    policy: { current: POLICY },
    verifier,
    metrics: new AdmissionMetrics(),
    log: () => undefined,
  });
  const server = createServer(handler.listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (method: string, path: string, body = '') =>
    new Promise<{ status: number; body: string; connection: string | undefined }>(
      (resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path,
            method,
            agent,
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: text,
                connection: res.headers.connection,
              }),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      },
    );
  return {
    handler,
    release: () => release(),
    send,
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('AdmissionHandler.drain', () => {
  it('/readyz turns 503 and every answer closes its connection, the review in flight included', async () => {
    const { handler, release, send, close } = await serve();
    try {
      const ready = await send('GET', '/readyz');
      assert.deepEqual(
        [ready.status, ready.body, ready.connection],
        [200, 'ready\n', 'keep-alive'],
      );

      const inFlight = send('POST', '/validate', REVIEW);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(handler.inFlight, 1);
      handler.drain();
      release();
      const answered = await inFlight;
      assert.equal(answered.status, 200);
      assert.equal(
        (JSON.parse(answered.body) as { response: { allowed: boolean } }).response.allowed,
        true,
      );
      assert.equal(answered.connection, 'close', 'the connection ends with the answer');
      assert.equal(handler.inFlight, 0);

      const draining = await send('GET', '/readyz');
      assert.deepEqual(
        [draining.status, draining.body, draining.connection],
        [503, 'draining\n', 'close'],
      );
      assert.equal((await send('GET', '/healthz')).status, 200, 'alive while it drains');
    } finally {
      await close();
    }
  });
});

describe('requestTarget', () => {
  it('reads the path and timeout as WHATWG URL parsing does, with or without a URL object', () => {
    const targets = [
      '/validate',
      '/validate?timeout=10s',
      '/mutate?timeout=5s&x=1',
      '/validate?x=1&timeout=3s&timeout=9s',
      '/validate?timeout',
      '/validate?timeout=',
      '/validate?',
      '/validate?timeout=1%30s',
      '/validate?time%6Fut=7s',
      '/validate?timeout=1+s',
      '/a/../validate?timeout=2s',
      '/./validate',
      '//validate',
      '/%76alidate',
      '/validate#x',
      '/Validate',
      '/metrics',
      '',
      '*',
    ];
    for (const target of targets) {
      const url = new URL(target, 'https://webhook.invalid');
      assert.deepEqual(
        requestTarget(target),
        { path: url.pathname, timeout: url.searchParams.get('timeout') ?? undefined },
        target,
      );
    }
  });
});

describe('isJson', () => {
  it('reads a Content-Type as splitting at ";", trimming and lower-casing does', () => {
    const headers = [
      undefined,
      '',
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON',
      '  application/json  ;charset=utf-8',
      'application/json;',
      '\tapplication/json\u00a0',
      'application/jsonx',
      'application/json-patch+json',
      'text/plain',
      ';application/json',
      'application/ json',
    ];
    for (const header of headers) {
      const split = (header ?? '').split(';')[0]?.trim().toLowerCase();
      assert.equal(isJson(header), split === 'application/json', JSON.stringify(header));
    }
  });
});

describe('AdmissionHandler deciding a review', () => {
  const pod = (...images: string[]) =>
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'u1',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        name: 'p',
        namespace: 'ns',
        operation: 'CREATE',
        object: {
          kind: 'Pod',
          spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
        },
      },
    });

  /** The handler on a plain HTTP server with `decide` as its verifier; one POST, its answer and log. */
  async function review(
    decide: (image: string) => Promise<ImageDecision>,
    body: string,
    deadlineMs = 8_000,
  ) {
    const logs: Record<string, unknown>[] = [];
    const metrics = new AdmissionMetrics();
    const handler = new AdmissionHandler({
      policy: { current: POLICY },
      verifier: {
        decide: (_policy: unknown, image: string) => decide(image),
        timedOut: (_policy: unknown, image: string, _ns: string, message: string) => ({
          ...allowedDecision(image),
          result: 'unavailable',
          passed: false,
          reason: message,
        }),
      } as unknown as ImageVerifier,
      metrics,
      log: (entry) => logs.push(entry),
      deadlineMs,
    });
    const server = createServer(handler.listener);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/validate',
            method: 'POST',
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      return { answer, logs, metrics };
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }

  it('lists the images as found, whatever order their decisions finish in', async () => {
    const { answer, logs } = await review(
      (image) =>
        new Promise((resolve) =>
          setTimeout(() => resolve(allowedDecision(image)), image === 'a:1' ? 30 : 0),
        ),
      pod('a:1', 'b:1', 'a:1', 'c:1'),
    );
    assert.equal(answer.status, 200);
    const logged = logs.find((entry) => entry['msg'] === 'admission decision');
    assert.deepEqual(
      (logged?.['images'] as { image: string }[]).map((i) => i.image),
      ['a:1', 'b:1', 'c:1'],
    );
    assert.equal(logged?.['deadlineExceeded'], false);
    assert.equal(logged?.['message'], undefined, 'an allowed review has no message');
  });

  it('answers by the deadline: an image not decided by then is unavailable, the others keep theirs', async () => {
    const { answer, logs, metrics } = await review(
      (image) =>
        image === 'slow:1' ? new Promise(() => undefined) : Promise.resolve(allowedDecision(image)),
      pod('fast:1', 'slow:1'),
      50,
    );
    assert.equal(answer.status, 200);
    const response = (
      JSON.parse(answer.body) as { response: { allowed: boolean; status: { message: string } } }
    ).response;
    assert.equal(response.allowed, false);
    assert.match(
      response.status.message,
      /slow:1 \(containers\[1\] \(c1\)\): not verified within the webhook's deadline of 50 ms/,
    );
    assert.doesNotMatch(response.status.message, /fast:1/);
    const logged = logs.find((entry) => entry['msg'] === 'admission decision');
    assert.equal(logged?.['deadlineExceeded'], true);
    assert.deepEqual(
      (logged?.['images'] as { image: string; result: string }[]).map((i) => [i.image, i.result]),
      [
        ['fast:1', 'allowed'],
        ['slow:1', 'unavailable'],
      ],
    );
    assert.equal(metrics.deadlines.value(), 1);
  });

  it('answers 500 when deciding an image fails unexpectedly', async () => {
    const { answer, logs } = await review(
      (image) =>
        image === 'bad:1'
          ? Promise.reject(new Error('boom'))
          : Promise.resolve(allowedDecision(image)),
      pod('ok:1', 'bad:1'),
    );
    assert.equal(answer.status, 500);
    assert.ok(logs.some((entry) => entry['msg'] === 'request failed' && entry['error'] === 'boom'));
  });
});
