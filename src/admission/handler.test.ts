import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { compilePolicy } from '../policy/compile.ts';
import type { ImageDecision } from '../policy/evaluate.ts';
import { parsePolicy } from '../policy/parse.ts';
import { AdmissionHandler, requestTarget } from './handler.ts';
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

/** A handler whose verifier answers only when `release()` is called, behind a plain HTTP server. */
async function serve() {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const verifier = {
    async decide(_policy: unknown, image: string): Promise<ImageDecision> {
      await gate;
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
