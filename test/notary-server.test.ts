/**
 * The notary server client against a lying server on 127.0.0.1, over both
 * transports: credentials stay with the notary server (and the token server
 * it names), and every request ends within its time bound however slowly
 * the server answers.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import type { Credentials } from '../src/registry/credentials.ts';
import { HttpClient, type HttpOptions } from '../src/registry/http.ts';
import { NotaryServer } from '../src/dct/notary-server.ts';
import { expectError, failureOf, within } from './helpers/assertions.ts';
import {
  type HostileHandler,
  type HostileRegistry,
  startHostileRegistry,
} from './helpers/hostile-registry.ts';

const GUN = '127.0.0.1:5000/test/app';
const USER: Credentials = { username: 'alice', password: 's3cret' };
const BASIC = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;

function send(res: ServerResponse, status: number, headers: Record<string, string>, body = '') {
  res.writeHead(status, headers);
  res.end(body);
}

for (const transport of ['undici', 'node'] as const) {
  async function withNotary(
    handler: HostileHandler,
    options: { readonly http?: HttpOptions; readonly credentials?: Credentials },
    run: (notary: NotaryServer, server: HostileRegistry) => Promise<void>,
  ): Promise<void> {
    const server = await startHostileRegistry(handler);
    const http = new HttpClient({ transport, retries: 0, ...options.http });
    const credentials = options.credentials;
    const notary = new NotaryServer({
      url: new URL(server.url),
      http,
      ...(credentials === undefined ? {} : { credentials: () => Promise.resolve(credentials) }),
    });
    try {
      await run(notary, server);
    } finally {
      await server.stop();
      await http.close();
    }
  }

  describe(`notary server client over ${transport}`, () => {
    test("a 401 from a redirect target is never adopted as the server's challenge", async () => {
      const foreignAuth: string[] = [];
      const serverAuth: string[] = [];
      const other = await startHostileRegistry((req, res) => {
        if (req.headers.authorization !== undefined) foreignAuth.push(req.headers.authorization);
        if (req.url?.startsWith('/token')) {
          send(res, 200, { 'content-type': 'application/json' }, '{"token":"minted-elsewhere"}');
          return;
        }
        send(res, 401, { 'www-authenticate': `Bearer realm="${other.url}/token"` });
      });
      try {
        await withNotary(
          (req, res) => {
            if (req.headers.authorization !== undefined) serverAuth.push(req.headers.authorization);
            if (req.headers.authorization !== BASIC) {
              send(res, 401, { 'www-authenticate': 'Basic realm="notary"' });
              return;
            }
            send(res, 302, { location: `${other.url}/elsewhere${req.url ?? ''}` });
          },
          { credentials: USER },
          async (notary) => {
            const failures = [
              await failureOf(notary.metadata(GUN, 'root.json', 1 << 20)),
              await failureOf(notary.metadata(GUN, 'root.json', 1 << 20)),
            ];
            assert.deepEqual(foreignAuth, [], 'the other origin got credentials');
            assert.ok(
              serverAuth.every((value) => value === BASIC),
              `the notary server got ${serverAuth.join(', ')}`,
            );
            assert.ok(serverAuth.length >= 2, serverAuth.join(', '));
            for (const failure of failures) {
              expectError('unavailable', 'REDIRECT_UNAUTHORIZED', other.host)(failure);
            }
          },
        );
      } finally {
        await other.stop();
      }
    });

    test('metadata sent one byte at a time ends within the request timeout', async () => {
      await withNotary(
        (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
          const timer = setInterval(() => res.write('{'), 100);
          res.on('close', () => clearInterval(timer));
        },
        { http: { requestTimeoutMs: 1000, bodyTimeoutMs: 5000 } },
        async (notary) => {
          const started = performance.now();
          await within(
            assert.rejects(
              notary.metadata(GUN, 'root.json', 1 << 20),
              expectError('unavailable', 'NETWORK_ERROR', '1000 ms'),
            ),
            5000,
            'the dripping metadata',
          );
          const elapsed = performance.now() - started;
          assert.ok(elapsed >= 900 && elapsed < 5000, `took ${Math.round(elapsed)} ms`);
        },
      );
    });

    test('a server that never answers: retries stay within the request timeout', async () => {
      await withNotary(
        () => {
          // accept the request, never answer
        },
        {
          http: {
            requestTimeoutMs: 1000,
            headersTimeoutMs: 1000,
            retries: 3,
            retryBaseDelayMs: 5,
          },
        },
        async (notary) => {
          const started = performance.now();
          await within(
            assert.rejects(
              notary.metadata(GUN, 'timestamp.json', 1 << 20),
              expectError('unavailable', 'NETWORK_ERROR'),
            ),
            5000,
            'the silent server',
          );
          const elapsed = performance.now() - started;
          assert.ok(elapsed < 2500, `took ${Math.round(elapsed)} ms`);
        },
      );
    });
  });
}
