/**
 * A registry that lies (docs/design.md principle 4: distrust every byte). Each test
 * writes the routes of a node:http server on 127.0.0.1 and checks that the
 * registry client catches the lie with the right error code and category:
 * `denied` for content that fails an integrity check, `unavailable` for
 * evidence that could not be gathered, `invalid` for what the caller asked.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { digestOf } from '../src/oci/digest.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import { DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../src/oci/media-types.ts';
import type { Credentials } from '../src/registry/credentials.ts';
import { RegistryClient, type RegistryRepository } from '../src/registry/distribution.ts';
import { HttpClient, type HttpOptions } from '../src/registry/http.ts';
import { referrersTag } from '../src/registry/referrers-tag.ts';
import { expectError, failureOf, within } from './helpers/assertions.ts';
import { runVouch } from './helpers/cli.ts';
import {
  type HostileHandler,
  type HostileRegistry,
  startHostileRegistry,
} from './helpers/hostile-registry.ts';

const REPO = 'lies/app';
const encoder = new TextEncoder();

function json(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

const CONFIG_BYTES = json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } });
const CONFIG: Descriptor = {
  mediaType: OCI_CONFIG,
  digest: digestOf(CONFIG_BYTES),
  size: CONFIG_BYTES.byteLength,
};

/** A valid OCI image manifest; `salt` makes distinct ones. */
function imageManifest(salt = 'a'): Uint8Array {
  return json({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: CONFIG,
    layers: [],
    annotations: { salt },
  });
}

function blobDescriptor(bytes: Uint8Array): Descriptor {
  return {
    mediaType: 'application/octet-stream',
    digest: digestOf(bytes),
    size: bytes.byteLength,
  };
}

/** The `/v2/` ping every client sends first: a plain-HTTP registry on loopback. */
function answerPing(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.url !== '/v2/') return false;
  res.writeHead(200, {
    'docker-distribution-api-version': 'registry/2.0',
    'content-type': 'application/json',
  });
  res.end('{}');
  return true;
}

/** A registry: `/v2/` answers 200, every other request goes to `handler`. */
function registryRoutes(handler: HostileHandler): HostileHandler {
  return (req, res) => (answerPing(req, res) ? undefined : handler(req, res));
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body = '') {
  res.writeHead(status, headers);
  res.end(body);
}

function sendManifest(
  res: ServerResponse,
  bytes: Uint8Array,
  contentType: string = OCI_MANIFEST,
  extra: Record<string, string> = {},
) {
  res.writeHead(200, {
    'content-type': contentType,
    'content-length': String(bytes.byteLength),
    ...extra,
  });
  res.end(bytes);
}

/** Reads (and drops) a request body, so the server answers after the upload. */
async function drain(req: IncomingMessage): Promise<number> {
  let total = 0;
  for await (const chunk of req) total += (chunk as Buffer).byteLength;
  return total;
}

/**
 * Writes `chunk` forever, honouring back-pressure, until the client closes the
 * connection. Resolves with the number of bytes written when it does.
 */
function writeForever(res: ServerResponse, chunk = Buffer.alloc(16 * 1024, 0x61)): Promise<number> {
  return new Promise((resolve) => {
    let written = 0;
    let closed = false;
    res.on('error', () => {});
    res.on('close', () => {
      closed = true;
      resolve(written);
    });
    const pump = () => {
      while (!closed) {
        written += chunk.byteLength;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

interface Harness {
  readonly server: HostileRegistry;
  readonly repo: RegistryRepository;
  readonly client: RegistryClient;
  /** Requests the server saw whose line starts with `prefix` (e.g. `GET /v2/lies/app/manifests/`). */
  count(prefix: string): number;
}

interface HarnessOptions {
  readonly http?: HttpOptions;
  readonly maxManifestBytes?: number;
  readonly credentials?: Credentials;
  /** Answer `/v2/` here (default); false leaves the ping to the handler. */
  readonly ping?: boolean;
}

/** Starts a hostile registry and a client for it, runs `body`, and always tears both down. */
async function withRegistry(
  handler: HostileHandler,
  options: HarnessOptions,
  body: (harness: Harness) => Promise<void>,
): Promise<void> {
  const server = await startHostileRegistry(
    options.ping === false ? handler : registryRoutes(handler),
  );
  const http = new HttpClient({
    retries: 3,
    retryBaseDelayMs: 5,
    maxRetryAfterMs: 1000,
    headersTimeoutMs: 5000,
    bodyTimeoutMs: 5000,
    ...options.http,
  });
  const credentials = options.credentials;
  const client = new RegistryClient(server.host, {
    http,
    ...(options.maxManifestBytes === undefined
      ? {}
      : { maxManifestBytes: options.maxManifestBytes }),
    ...(credentials === undefined ? {} : { credentials: () => Promise.resolve(credentials) }),
  });
  try {
    await body({
      server,
      client,
      repo: client.repository(REPO),
      count: (prefix) => server.requests.filter((line) => line.startsWith(prefix)).length,
    });
  } finally {
    await server.stop();
    await http.close();
  }
}

const MANIFESTS = `/v2/${REPO}/manifests/`;
const BLOBS = `/v2/${REPO}/blobs/`;

// Every lie is told to both transports (registry/transport.ts): the checks
// above them must hold whichever one carries the bytes.
for (const transport of ['undici', 'node'] as const) {
  const withTransport: typeof withRegistry = (handler, options, run) =>
    withRegistry(handler, { ...options, http: { transport, ...options.http } }, run);

  describe(`over ${transport}`, () => {
    describe('manifests that lie about their digest', () => {
      test('bytes fetched by digest that hash to something else are refused', async () => {
        const served = imageManifest('served');
        const asked = digestOf(imageManifest('asked'));
        await withTransport(
          (_req, res) =>
            sendManifest(res, served, OCI_MANIFEST, { 'docker-content-digest': asked }),
          {},
          async ({ repo, count }) => {
            await assert.rejects(
              repo.getManifest({ digest: asked }),
              expectError('denied', 'DIGEST_MISMATCH', digestOf(served)),
            );
            assert.equal(
              count(`GET ${MANIFESTS}${asked}`),
              1,
              'an integrity failure is not retried',
            );
          },
        );
      });

      test('a sha512 digest is checked with sha512', async () => {
        const bytes = imageManifest('sha512');
        const good = digestOf(bytes, 'sha512');
        const bad = digestOf(imageManifest('other'), 'sha512');
        await withTransport(
          (_req, res) => sendManifest(res, bytes),
          {},
          async ({ repo }) => {
            const parsed = await repo.getManifest({ digest: good });
            assert.equal(parsed.digest, good);
            await assert.rejects(
              repo.getManifest({ digest: bad }),
              expectError('denied', 'DIGEST_MISMATCH'),
            );
          },
        );
      });

      test('a HEAD whose Docker-Content-Digest differs from the digest asked for falls back to GET, which is caught', async () => {
        const served = imageManifest('served');
        const asked = digestOf(imageManifest('asked'));
        const lie = digestOf(imageManifest('lie'));
        await withTransport(
          (req, res) => {
            if (req.method === 'HEAD') {
              send(res, 200, {
                'content-type': OCI_MANIFEST,
                'content-length': String(served.byteLength),
                'docker-content-digest': lie,
              });
              return;
            }
            sendManifest(res, served);
          },
          {},
          async ({ repo, count }) => {
            await assert.rejects(
              repo.resolve({ digest: asked }),
              expectError('denied', 'DIGEST_MISMATCH'),
            );
            assert.equal(count(`HEAD ${MANIFESTS}${asked}`), 1);
            assert.equal(
              count(`GET ${MANIFESTS}${asked}`),
              1,
              'the lie sent the client to the bytes',
            );
          },
        );
      });

      test('a HEAD that matches is believed without a GET (control for the fallback)', async () => {
        const bytes = imageManifest('honest');
        const digest = digestOf(bytes);
        await withTransport(
          (req, res) => {
            if (req.method === 'HEAD') {
              send(res, 200, {
                'content-type': OCI_MANIFEST,
                'content-length': String(bytes.byteLength),
                'docker-content-digest': digest,
              });
              return;
            }
            sendManifest(res, bytes);
          },
          {},
          async ({ repo, count }) => {
            const descriptor = await repo.resolve({ digest });
            assert.deepEqual(descriptor, {
              mediaType: OCI_MANIFEST,
              digest,
              size: bytes.byteLength,
            });
            assert.equal(count(`GET ${MANIFESTS}`), 0);
          },
        );
      });

      test("a tag's lying Docker-Content-Digest never becomes the manifest's digest", async () => {
        const bytes = imageManifest('tagged');
        const lie = digestOf(imageManifest('lie'));
        await withTransport(
          (req, res) => {
            if (req.method === 'HEAD') {
              // HEAD without a usable digest: resolve must read the bytes.
              send(res, 405, {});
              return;
            }
            sendManifest(res, bytes, OCI_MANIFEST, { 'docker-content-digest': lie });
          },
          {},
          async ({ repo }) => {
            const parsed = await repo.getManifest({ tag: 'latest' });
            assert.equal(parsed.digest, digestOf(bytes));
            assert.notEqual(parsed.digest, lie);
            assert.deepEqual(Buffer.from(parsed.bytes), Buffer.from(bytes));
            const resolved = await repo.resolve({ tag: 'latest' });
            assert.equal(resolved.digest, digestOf(bytes));
            assert.equal(resolved.size, bytes.byteLength);
          },
        );
      });
    });

    describe('oversized manifests', () => {
      test('a Content-Length over the cap is refused before the body is read', async () => {
        let closed: Promise<number> | undefined;
        const declared = 10 * 1024 * 1024;
        await withTransport(
          (_req, res) => {
            res.writeHead(200, {
              'content-type': OCI_MANIFEST,
              'content-length': String(declared),
            });
            res.write(Buffer.alloc(1024, 0x20));
            // Send nothing more: the client must decide from the header alone.
            closed = new Promise((resolve) => res.on('close', () => resolve(1024)));
          },
          { maxManifestBytes: 4096 },
          async ({ repo }) => {
            const started = performance.now();
            await assert.rejects(
              repo.getManifest({ tag: 'big' }),
              expectError('denied', 'MANIFEST_TOO_LARGE', '4096'),
            );
            assert.ok(closed !== undefined, 'the server was asked');
            const written = await within(closed, 2000, 'connection close');
            assert.ok(written < declared, 'the server did not have to send everything');
            assert.ok(performance.now() - started < 2000);
          },
        );
      });

      test('an endless chunked manifest stops at the cap', async () => {
        let written: Promise<number> | undefined;
        await withTransport(
          (_req, res) => {
            res.writeHead(200, { 'content-type': OCI_MANIFEST }); // no Content-Length: chunked
            written = writeForever(res);
          },
          { maxManifestBytes: 64 * 1024 },
          async ({ repo }) => {
            const started = performance.now();
            await assert.rejects(
              repo.getManifest({ tag: 'endless' }),
              expectError('denied', 'MANIFEST_TOO_LARGE'),
            );
            assert.ok(written !== undefined);
            const total = await within(written, 2000, 'server noticing the close');
            assert.ok(total < 64 * 1024 * 1024, `server wrote ${total} bytes before the close`);
            assert.ok(performance.now() - started < 3000);
          },
        );
      });
    });

    describe('malformed manifests', () => {
      test('a content type that disagrees with the mediaType inside is refused', async () => {
        await withTransport(
          (_req, res) => sendManifest(res, imageManifest(), DOCKER_MANIFEST),
          {},
          async ({ repo }) => {
            await assert.rejects(
              repo.getManifest({ tag: 'mixed' }),
              expectError('denied', 'MANIFEST_INVALID', DOCKER_MANIFEST),
            );
          },
        );
      });

      test('a Docker schema 1 manifest is refused', async () => {
        const schema1 = json({
          schemaVersion: 1,
          name: REPO,
          tag: 'old',
          architecture: 'amd64',
          fsLayers: [],
          history: [],
        });
        await withTransport(
          (_req, res) =>
            sendManifest(res, schema1, 'application/vnd.docker.distribution.manifest.v1+prettyjws'),
          {},
          async ({ repo }) => {
            await assert.rejects(
              repo.getManifest({ tag: 'old' }),
              expectError('denied', 'MANIFEST_INVALID', 'schema 1'),
            );
          },
        );
      });

      test('bytes that are not JSON are refused', async () => {
        await withTransport(
          (_req, res) => sendManifest(res, encoder.encode('<html>surprise</html>')),
          {},
          async ({ repo }) => {
            await assert.rejects(
              repo.getManifest({ tag: 'html' }),
              expectError('denied', 'MANIFEST_INVALID', 'JSON'),
            );
          },
        );
      });

      test('a manifest nested two million deep is refused at the depth cap, quickly', async () => {
        // Just under the 4 MiB cap: JSON.parse took seconds and hundreds of MB on this.
        const half = 2 * 1024 * 1024 - 128;
        const prefix = `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","layers":[],"x":`;
        const bytes = encoder.encode(`${prefix}${'['.repeat(half)}${']'.repeat(half)}}`);
        await withTransport(
          (_req, res) => sendManifest(res, bytes),
          {},
          async ({ repo }) => {
            const started = performance.now();
            await assert.rejects(
              repo.getManifest({ tag: 'deep' }),
              expectError(
                'denied',
                'MANIFEST_INVALID',
                `nesting deeper than 64 at offset ${prefix.length + 63}`,
              ),
            );
            assert.ok(performance.now() - started < 5000, 'refused quickly');
          },
        );
      });
    });

    describe('blobs that lie', () => {
      /** Sends `bytes` in `pieces` writes with a pause between, so the client sees several chunks. */
      async function sendInPieces(res: ServerResponse, bytes: Uint8Array, pieces: number) {
        const size = Math.ceil(bytes.byteLength / pieces);
        for (let offset = 0; offset < bytes.byteLength; offset += size) {
          res.write(bytes.subarray(offset, offset + size));
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        res.end();
      }

      test('wrong content fails with DIGEST_MISMATCH and the consumer never sees a clean end', async () => {
        const expected = Buffer.alloc(3000, 0x61);
        const served = Buffer.alloc(3000, 0x62);
        const descriptor = blobDescriptor(expected);
        await withTransport(
          async (_req, res) => {
            res.writeHead(200, { 'content-length': String(served.byteLength) });
            await sendInPieces(res, served, 3);
          },
          {},
          async ({ repo }) => {
            const stream = await repo.getBlob(descriptor);
            const written: Uint8Array[] = [];
            let ended = false;
            await assert.rejects(
              async () => {
                for await (const chunk of stream) written.push(chunk);
                ended = true;
              },
              expectError('denied', 'DIGEST_MISMATCH', descriptor.digest),
            );
            assert.equal(ended, false);
            const total = written.reduce((sum, c) => sum + c.byteLength, 0);
            assert.ok(
              total < served.byteLength,
              `consumer got ${total} of ${served.byteLength} bytes`,
            );
          },
        );
      });

      test('the right content streams through (control)', async () => {
        const bytes = Buffer.alloc(3000, 0x61);
        await withTransport(
          async (_req, res) => {
            res.writeHead(200, { 'content-length': String(bytes.byteLength) });
            await sendInPieces(res, bytes, 3);
          },
          {},
          async ({ repo }) => {
            const read = await repo.readBlob(blobDescriptor(bytes), 10_000);
            assert.deepEqual(Buffer.from(read), bytes);
          },
        );
      });

      test('a Content-Length longer than the descriptor is refused before reading', async () => {
        const expected = Buffer.from('tiny blob');
        let closed: Promise<void> | undefined;
        await withTransport(
          (_req, res) => {
            res.writeHead(200, { 'content-length': String(8 * 1024 * 1024) });
            res.write(Buffer.alloc(1024));
            closed = new Promise((resolve) => res.on('close', () => resolve()));
          },
          {},
          async ({ repo }) => {
            await assert.rejects(
              repo.getBlob(blobDescriptor(expected)),
              expectError('denied', 'BLOB_TOO_LARGE', String(8 * 1024 * 1024)),
            );
            assert.ok(closed !== undefined);
            await within(closed, 2000, 'connection close');
          },
        );
      });

      test('an endless chunked blob fails with BLOB_TOO_LARGE', async () => {
        const expected = Buffer.alloc(100 * 1024, 0x61);
        let written: Promise<number> | undefined;
        await withTransport(
          (_req, res) => {
            res.writeHead(200, {});
            written = writeForever(res);
          },
          {},
          async ({ repo }) => {
            const stream = await repo.getBlob(blobDescriptor(expected));
            let received = 0;
            await assert.rejects(
              async () => {
                for await (const chunk of stream) received += chunk.byteLength;
              },
              expectError('denied', 'BLOB_TOO_LARGE'),
            );
            assert.ok(received <= expected.byteLength, `consumer got ${received} bytes`);
            assert.ok(written !== undefined);
            await within(written, 2000, 'server noticing the close');
          },
        );
      });

      test('a connection cut mid-blob is NETWORK_ERROR (could not check), not a denial', async () => {
        const expected = Buffer.alloc(4000, 0x61);
        await withTransport(
          async (_req, res) => {
            res.writeHead(200, { 'content-length': String(expected.byteLength) });
            res.write(expected.subarray(0, 1000));
            await new Promise((resolve) => setTimeout(resolve, 20));
            res.destroy();
          },
          { http: { retries: 0 } },
          async ({ repo }) => {
            const stream = await repo.getBlob(blobDescriptor(expected));
            let received = 0;
            await assert.rejects(
              async () => {
                for await (const chunk of stream) received += chunk.byteLength;
              },
              expectError('unavailable', 'NETWORK_ERROR'),
            );
            assert.ok(received < expected.byteLength);
          },
        );
      });

      test('a blob shorter than its descriptor fails with BLOB_SIZE_MISMATCH', async () => {
        const expected = Buffer.alloc(100, 0x61);
        const served = expected.subarray(0, 50);
        await withTransport(
          (_req, res) => {
            res.writeHead(200, { 'content-length': String(served.byteLength) });
            res.end(served);
          },
          {},
          async ({ repo }) => {
            await assert.rejects(
              repo.readBlob(blobDescriptor(expected), 1000),
              expectError('denied', 'BLOB_SIZE_MISMATCH', '50 bytes'),
            );
          },
        );
      });
    });

    describe('redirects', () => {
      const USER: Credentials = { username: 'alice', password: 's3cret' };
      const BASIC = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;

      /** A registry that demands Basic auth and redirects blob GETs to `target(path)`. */
      function basicRedirecting(target: () => string): HostileHandler {
        return (req, res) => {
          if (req.headers.authorization !== BASIC) {
            send(res, 401, { 'www-authenticate': 'Basic realm="hostile"' });
            return;
          }
          if (req.url === '/v2/') {
            send(res, 200, { 'docker-distribution-api-version': 'registry/2.0' });
            return;
          }
          send(res, 307, { location: target() });
        };
      }

      test('a blob redirected to another origin arrives there without the Authorization header', async () => {
        const bytes = Buffer.from('layer content held by the CDN');
        const cdn = await startHostileRegistry((_req, res) => {
          res.writeHead(200, { 'content-length': String(bytes.byteLength) });
          res.end(bytes);
        });
        try {
          await withTransport(
            basicRedirecting(() => `${cdn.url}/cdn/blob?token=abc`),
            { ping: false, credentials: USER },
            async ({ repo, server }) => {
              const descriptor = blobDescriptor(bytes);
              const read = await repo.readBlob(descriptor, 1000);
              assert.deepEqual(Buffer.from(read), bytes);
              assert.ok(
                server.requests.includes(`GET ${BLOBS}${descriptor.digest} [auth]`),
                `the registry got the credentials: ${server.requests.join(', ')}`,
              );
              assert.deepEqual(cdn.requests, ['GET /cdn/blob?token=abc']);
            },
          );
        } finally {
          await cdn.stop();
        }
      });

      test('a redirect within the same origin keeps the Authorization header (control)', async () => {
        const bytes = Buffer.from('same origin');
        let self = '';
        await withTransport(
          (req, res) => {
            if (req.url === '/moved' && req.headers.authorization === BASIC) {
              res.writeHead(200, { 'content-length': String(bytes.byteLength) });
              res.end(bytes);
              return;
            }
            basicRedirecting(() => `${self}/moved`)(req, res);
          },
          { ping: false, credentials: USER },
          async ({ repo, server }) => {
            self = server.url;
            const read = await repo.readBlob(blobDescriptor(bytes), 1000);
            assert.deepEqual(Buffer.from(read), bytes);
            assert.ok(server.requests.includes('GET /moved [auth]'), server.requests.join(', '));
          },
        );
      });

      test("a 401 from a redirect target is never adopted as the registry's challenge", async () => {
        // The registry wants Basic and 302s manifest GETs to another origin,
        // whose 401 names a token realm of its own. Adopting that challenge
        // would send the registry's password there and the token it mints
        // back to the registry, for the rest of the run.
        const foreignAuth: string[] = [];
        const registryAuth: string[] = [];
        const other = await startHostileRegistry((req, res) => {
          if (req.headers.authorization !== undefined) foreignAuth.push(req.headers.authorization);
          if (req.url?.startsWith('/token')) {
            send(res, 200, { 'content-type': 'application/json' }, '{"token":"minted-elsewhere"}');
            return;
          }
          send(res, 401, {
            'www-authenticate': `Bearer realm="${other.url}/token",service="elsewhere"`,
          });
        });
        try {
          await withTransport(
            (req, res) => {
              if (req.headers.authorization !== undefined)
                registryAuth.push(req.headers.authorization);
              if (req.headers.authorization !== BASIC) {
                send(res, 401, { 'www-authenticate': 'Basic realm="hostile"' });
                return;
              }
              if (req.url === '/v2/') {
                send(res, 200, { 'docker-distribution-api-version': 'registry/2.0' });
                return;
              }
              send(res, 302, { location: `${other.url}/elsewhere${req.url ?? ''}` });
            },
            { ping: false, credentials: USER },
            async ({ repo }) => {
              const failures = [
                await failureOf(repo.getManifest({ tag: 'latest' })),
                await failureOf(repo.getManifest({ tag: 'latest' })),
              ];
              assert.deepEqual(foreignAuth, [], 'the other origin got credentials');
              assert.ok(
                registryAuth.every((value) => value === BASIC),
                `the registry got ${registryAuth.join(', ')}`,
              );
              assert.ok(registryAuth.length >= 2, registryAuth.join(', '));
              assert.equal(
                other.requests.filter((line) => line.startsWith('GET /token')).length,
                0,
                'no token was asked of the other origin',
              );
              for (const failure of failures) {
                expectError('unavailable', 'REDIRECT_UNAUTHORIZED', other.host)(failure);
              }
            },
          );
        } finally {
          await other.stop();
        }
      });

      test('a /v2/ ping redirected to another origin that answers 401 teaches no challenge', async () => {
        const foreignAuth: string[] = [];
        const other = await startHostileRegistry((req, res) => {
          if (req.headers.authorization !== undefined) foreignAuth.push(req.headers.authorization);
          if (req.url?.startsWith('/token')) {
            send(res, 200, { 'content-type': 'application/json' }, '{"token":"minted-elsewhere"}');
            return;
          }
          send(res, 401, { 'www-authenticate': `Bearer realm="${other.url}/token"` });
        });
        try {
          await withTransport(
            (req, res) => {
              if (req.url === '/v2/') {
                send(res, 302, { location: `${other.url}/v2/` });
                return;
              }
              if (req.headers.authorization !== undefined) {
                send(res, 400, {}, `unexpected ${req.headers.authorization}`);
                return;
              }
              sendManifest(res, imageManifest());
            },
            { ping: false, credentials: USER, http: { retries: 0 } },
            async ({ repo, server }) => {
              const failure = await failureOf(repo.getManifest({ tag: 'latest' }));
              assert.deepEqual(foreignAuth, [], 'the other origin got credentials');
              assert.ok(
                !server.requests.some((line) => line.endsWith('[auth]')),
                server.requests.join(', '),
              );
              expectError('unavailable', 'REDIRECT_UNAUTHORIZED', other.host)(failure);
            },
          );
        } finally {
          await other.stop();
        }
      });

      test('a redirect loop fails with TOO_MANY_REDIRECTS after the configured bound', async () => {
        const bytes = Buffer.from('never served');
        const descriptor = blobDescriptor(bytes);
        await withTransport(
          (req, res) => send(res, 302, { location: req.url ?? '/' }),
          { http: { maxRedirects: 3 } },
          async ({ repo, count }) => {
            await assert.rejects(
              repo.getBlob(descriptor),
              expectError('unavailable', 'TOO_MANY_REDIRECTS'),
            );
            assert.equal(count(`GET ${BLOBS}`), 4, 'the first request and three redirects, once');
          },
        );
      });

      for (const location of ['file:///etc/passwd', 'ftp://127.0.0.1/blob', 'data:,hello']) {
        test(`a redirect to ${location.split(':')[0]}: is refused`, async () => {
          await withTransport(
            (_req, res) => send(res, 302, { location }),
            {},
            async ({ repo, count }) => {
              await assert.rejects(
                repo.getBlob(blobDescriptor(Buffer.from('x'))),
                expectError('unavailable', 'REDIRECT_REFUSED'),
              );
              assert.equal(count(`GET ${BLOBS}`), 1);
            },
          );
        });
      }
    });

    describe('retries', () => {
      test('503 twice then 200 succeeds after three requests', async () => {
        const bytes = imageManifest('flaky');
        let calls = 0;
        await withTransport(
          (_req, res) => {
            calls += 1;
            if (calls <= 2) send(res, 503, { 'content-type': 'text/plain' }, 'busy');
            else sendManifest(res, bytes);
          },
          {},
          async ({ repo, count }) => {
            const parsed = await repo.getManifest({ tag: 'latest' });
            assert.equal(parsed.digest, digestOf(bytes));
            assert.equal(count(`GET ${MANIFESTS}latest`), 3);
          },
        );
      });

      test('429 with Retry-After: 0 then 200 succeeds', async () => {
        const bytes = imageManifest('limited');
        let calls = 0;
        await withTransport(
          (_req, res) => {
            calls += 1;
            if (calls === 1) send(res, 429, { 'retry-after': '0' });
            else sendManifest(res, bytes);
          },
          {},
          async ({ repo, count }) => {
            const parsed = await repo.getManifest({ tag: 'latest' });
            assert.equal(parsed.digest, digestOf(bytes));
            assert.equal(count(`GET ${MANIFESTS}latest`), 2);
          },
        );
      });

      test('429 with Retry-After: 3600 fails at once with RATE_LIMITED', async () => {
        await withTransport(
          (_req, res) => send(res, 429, { 'retry-after': '3600' }),
          { http: { maxRetryAfterMs: 1000 } },
          async ({ repo, count }) => {
            const started = performance.now();
            await assert.rejects(
              repo.getManifest({ tag: 'latest' }),
              expectError('unavailable', 'RATE_LIMITED', 'retry after 3600'),
            );
            assert.ok(performance.now() - started < 1000, 'no waiting for the hour');
            assert.equal(count(`GET ${MANIFESTS}latest`), 1);
          },
        );
      });

      test('429 to the /v2/ ping is the registry rate limiting: RATE_LIMITED, no HTTPS attempt', async () => {
        await withTransport(
          (_req, res) => send(res, 429, { 'retry-after': '3600' }),
          { ping: false, http: { maxRetryAfterMs: 1000 } },
          async ({ repo, server }) => {
            await assert.rejects(
              repo.getManifest({ tag: 'latest' }),
              expectError('unavailable', 'RATE_LIMITED', 'retry after 3600'),
            );
            // Asked once, over plain HTTP: a TLS ClientHello would not be parsed as a request.
            assert.deepEqual(server.requests, ['GET /v2/']);
          },
        );
      });

      test('a persistent 500 fails with REGISTRY_ERROR after retries + 1 attempts', async () => {
        await withTransport(
          (_req, res) => send(res, 500, { 'content-type': 'text/plain' }, 'kaput'),
          { http: { retries: 2 } },
          async ({ repo, count }) => {
            await assert.rejects(
              repo.getManifest({ tag: 'latest' }),
              expectError('unavailable', 'REGISTRY_ERROR', '500'),
            );
            assert.equal(count(`GET ${MANIFESTS}latest`), 3);
          },
        );
      });

      test('a streamed blob PUT is never retried', async () => {
        const bytes = Buffer.from('upload me once');
        const descriptor = blobDescriptor(bytes);
        let received = 0;
        await withTransport(
          async (req, res) => {
            if (req.method === 'POST') {
              send(res, 202, { location: `${BLOBS}uploads/session-1` });
            } else if (req.method === 'PUT') {
              received += await drain(req);
              send(res, 503, { 'content-type': 'text/plain' }, 'try again');
            } else {
              send(res, 204, {});
            }
          },
          { http: { retries: 3 } },
          async ({ repo, count }) => {
            async function* content() {
              yield bytes;
            }
            await assert.rejects(
              repo.putBlob(descriptor, content()),
              expectError('unavailable', 'REGISTRY_ERROR', '503'),
            );
            assert.equal(count(`PUT ${BLOBS}uploads/session-1`), 1);
            assert.equal(received, bytes.byteLength, 'the one PUT carried the body');
            assert.equal(count(`POST ${BLOBS}uploads/`), 1, 'opening an upload is not retried');
            assert.equal(count(`DELETE ${BLOBS}uploads/session-1`), 1, 'the upload is cancelled');
          },
        );
      });

      test('a buffered manifest PUT is retried (control)', async () => {
        const bytes = imageManifest('push');
        let puts = 0;
        await withTransport(
          async (req, res) => {
            await drain(req);
            puts += 1;
            if (puts === 1) send(res, 503, {});
            else send(res, 201, { 'docker-content-digest': digestOf(bytes) });
          },
          {},
          async ({ repo, count }) => {
            const descriptor = await repo.putManifest(bytes, OCI_MANIFEST, 'v1');
            assert.equal(descriptor.digest, digestOf(bytes));
            assert.equal(count(`PUT ${MANIFESTS}v1`), 2);
          },
        );
      });
    });

    describe('error responses', () => {
      test('401 without a challenge is UNAUTHORIZED', async () => {
        await withTransport(
          (_req, res) => send(res, 401, {}),
          {},
          async ({ repo }) => {
            await assert.rejects(
              repo.getManifest({ tag: 'latest' }),
              expectError('unavailable', 'UNAUTHORIZED', '401'),
            );
          },
        );
      });

      test('403 is FORBIDDEN', async () => {
        await withTransport(
          (_req, res) =>
            send(
              res,
              403,
              { 'content-type': 'application/json' },
              JSON.stringify({
                errors: [{ code: 'DENIED', message: 'requested access is denied' }],
              }),
            ),
          {},
          async ({ repo }) => {
            await assert.rejects(
              repo.getManifest({ tag: 'latest' }),
              expectError('unavailable', 'FORBIDDEN', 'DENIED requested access is denied'),
            );
          },
        );
      });

      test("404 on a manifest is MANIFEST_UNKNOWN with the registry's error code", async () => {
        await withTransport(
          (_req, res) =>
            send(
              res,
              404,
              { 'content-type': 'application/json' },
              JSON.stringify({
                errors: [
                  { code: 'NAME_UNKNOWN', message: 'repository name not known to registry' },
                ],
              }),
            ),
          {},
          async ({ repo }) => {
            await assert.rejects(
              repo.getManifest({ tag: 'nope' }),
              expectError('invalid', 'MANIFEST_UNKNOWN', 'NAME_UNKNOWN'),
            );
          },
        );
      });

      test('an endless error body is cut, not read', async () => {
        let written: Promise<number> | undefined;
        await withTransport(
          (_req, res) => {
            res.writeHead(404, { 'content-type': 'text/plain' });
            written = writeForever(res);
          },
          {},
          async ({ repo }) => {
            const started = performance.now();
            await assert.rejects(
              repo.getManifest({ tag: 'nope' }),
              (error: unknown) =>
                expectError('invalid', 'MANIFEST_UNKNOWN')(error) &&
                (error as Error).message.length < 1000,
            );
            assert.ok(written !== undefined);
            await within(written, 2000, 'server noticing the close');
            assert.ok(performance.now() - started < 3000);
          },
        );
      });

      test('a huge plain-text error body is cut to a short message', async () => {
        const body = 'x'.repeat(50_000);
        await withTransport(
          (_req, res) => send(res, 500, { 'content-type': 'text/plain' }, body),
          { http: { retries: 0 } },
          async ({ repo }) => {
            await assert.rejects(repo.getManifest({ tag: 'latest' }), (error: unknown) => {
              expectError('unavailable', 'REGISTRY_ERROR')(error);
              assert.ok((error as Error).message.length < 500, 'message is bounded');
              return true;
            });
          },
        );
      });
    });

    describe('bearer token flow', () => {
      /** A registry that challenges for a bearer token at `realm()` and accepts `accept(token)`. */
      function bearerRegistry(
        realm: () => string,
        token: (req: IncomingMessage, res: ServerResponse) => void,
        accept: (authorization: string | undefined) => boolean,
        onManifest: (res: ServerResponse) => void = (res) => sendManifest(res, imageManifest()),
      ): HostileHandler {
        return (req, res) => {
          if (req.url?.startsWith('/token')) {
            token(req, res);
            return;
          }
          const challenge = `Bearer realm="${realm()}",service="hostile",scope="repository:${REPO}:pull"`;
          if (req.url === '/v2/') {
            send(res, 401, { 'www-authenticate': challenge });
            return;
          }
          if (!accept(req.headers.authorization)) {
            send(res, 401, { 'www-authenticate': challenge });
            return;
          }
          onManifest(res);
        };
      }

      test('a realm that is not a URL is AUTH_CHALLENGE_INVALID', async () => {
        await withTransport(
          bearerRegistry(
            () => 'not a url',
            (_req, res) => send(res, 500, {}),
            () => false,
          ),
          { ping: false },
          async ({ repo, count }) => {
            await assert.rejects(
              repo.getManifest({ tag: 'latest' }),
              expectError('unavailable', 'AUTH_CHALLENGE_INVALID', 'not a url'),
            );
            assert.equal(count('GET /token'), 0);
          },
        );
      });

      test('a realm over plain HTTP on another host is refused', async () => {
        await withTransport(
          bearerRegistry(
            () => 'http://auth.example.invalid/token',
            (_req, res) => send(res, 500, {}),
            () => false,
          ),
          { ping: false },
          async ({ repo }) => {
            await assert.rejects(
              repo.getManifest({ tag: 'latest' }),
              expectError('unavailable', 'AUTH_CHALLENGE_INVALID', 'HTTPS'),
            );
          },
        );
      });

      for (const [name, body] of [
        ['not JSON', '<html>login</html>'],
        ['no token field', '{"expires_in":300}'],
        ['a non-string token', '{"token":42}'],
        ['a token with a line break', '{"token":"abc\\r\\nX-Injected: 1"}'],
      ] as const) {
        test(`a token endpoint answering ${name} is TOKEN_RESPONSE_INVALID`, async () => {
          let self = '';
          await withTransport(
            bearerRegistry(
              () => `${self}/token`,
              (_req, res) => send(res, 200, { 'content-type': 'application/json' }, body),
              () => false,
            ),
            { ping: false },
            async ({ repo, server, count }) => {
              self = server.url;
              await assert.rejects(
                repo.getManifest({ tag: 'latest' }),
                expectError('unavailable', 'TOKEN_RESPONSE_INVALID'),
              );
              assert.equal(count(`GET ${MANIFESTS}`), 0, 'no request without a token');
            },
          );
        });
      }

      test('a token endpoint answering 401 is UNAUTHORIZED', async () => {
        let self = '';
        await withTransport(
          bearerRegistry(
            () => `${self}/token`,
            (_req, res) => send(res, 401, {}),
            () => false,
          ),
          { ping: false },
          async ({ repo, server }) => {
            self = server.url;
            await assert.rejects(
              repo.getManifest({ tag: 'latest' }),
              expectError('unavailable', 'UNAUTHORIZED', 'token server'),
            );
          },
        );
      });

      test('a registry that refuses every fresh token gets exactly one retry', async () => {
        let self = '';
        let issued = 0;
        await withTransport(
          bearerRegistry(
            () => `${self}/token`,
            (_req, res) => {
              issued += 1;
              send(
                res,
                200,
                { 'content-type': 'application/json' },
                JSON.stringify({ token: `t${issued}` }),
              );
            },
            () => false,
          ),
          { ping: false },
          async ({ repo, server, count }) => {
            self = server.url;
            await assert.rejects(
              repo.getManifest({ tag: 'latest' }),
              expectError('unavailable', 'UNAUTHORIZED', '401'),
            );
            assert.equal(count(`GET ${MANIFESTS}latest [auth]`), 2);
            assert.equal(count(`GET ${MANIFESTS}`), 2);
            assert.equal(count('GET /token'), 2);
          },
        );
      });

      test('an identity token is never replayed to another origin by a redirect of the token POST', async () => {
        // Docker's OAuth2 refresh-token grant puts the credential in the body,
        // which a 307 would carry to wherever it points.
        const bodies: string[] = [];
        const other = await startHostileRegistry(async (req, res) => {
          let body = '';
          for await (const chunk of req) body += String(chunk);
          bodies.push(body);
          send(res, 200, { 'content-type': 'application/json' }, '{"token":"minted-elsewhere"}');
        });
        let self = '';
        try {
          await withTransport(
            bearerRegistry(
              () => `${self}/token`,
              (_req, res) => send(res, 307, { location: `${other.url}/token` }),
              () => false,
            ),
            { ping: false, credentials: { identityToken: 'refresh-me' } },
            async ({ repo, server }) => {
              self = server.url;
              const failure = await failureOf(repo.getManifest({ tag: 'latest' }));
              assert.deepEqual(bodies, [], 'the other origin was sent the refresh token');
              expectError('unavailable', 'REDIRECT_REFUSED', other.host)(failure);
            },
          );
        } finally {
          await other.stop();
        }
      });

      test('a token the registry accepts is used and cached (control)', async () => {
        let self = '';
        await withTransport(
          bearerRegistry(
            () => `${self}/token`,
            (_req, res) =>
              send(
                res,
                200,
                { 'content-type': 'application/json' },
                '{"token":"good","expires_in":300}',
              ),
            (authorization) => authorization === 'Bearer good',
          ),
          { ping: false },
          async ({ repo, server, count }) => {
            self = server.url;
            await repo.getManifest({ tag: 'latest' });
            await repo.getManifest({ tag: 'latest' });
            assert.equal(count('GET /token'), 1);
            assert.equal(count(`GET ${MANIFESTS}latest [auth]`), 2);
          },
        );
      });
    });

    describe('referrers and tag lists', () => {
      const subjectBytes = imageManifest('subject');
      const subject = digestOf(subjectBytes);
      const REFERRERS = `/v2/${REPO}/referrers/${subject}`;

      function referrerDescriptor(salt: string): Descriptor {
        const bytes = imageManifest(salt);
        return {
          mediaType: OCI_MANIFEST,
          digest: digestOf(bytes),
          size: bytes.byteLength,
          artifactType: 'application/vnd.example.sig',
        };
      }

      test('a referrers answer that is not an index falls back to the referrers tag', async () => {
        const fromTag = referrerDescriptor('from-tag');
        const tagIndex = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [fromTag] });
        await withTransport(
          (req, res) => {
            if (req.url === REFERRERS) {
              send(
                res,
                200,
                { 'content-type': 'application/json' },
                JSON.stringify({
                  schemaVersion: 2,
                  mediaType: OCI_INDEX,
                  manifests: [referrerDescriptor('from-api')],
                }),
              );
              return;
            }
            if (req.url === `${MANIFESTS}${referrersTag(subject)}`) {
              sendManifest(res, tagIndex, OCI_INDEX);
              return;
            }
            send(res, 404, {});
          },
          {},
          async ({ repo, count }) => {
            const found = await repo.referrers(subject);
            assert.deepEqual(found, [fromTag]);
            assert.equal(count(`GET ${MANIFESTS}${referrersTag(subject)}`), 1);
          },
        );
      });

      test('a next-page link to another origin is PAGINATION_INVALID and is not followed', async () => {
        const elsewhere = await startHostileRegistry((_req, res) => send(res, 500, {}));
        try {
          await withTransport(
            (req, res) => {
              if (req.url?.startsWith(REFERRERS)) {
                send(
                  res,
                  200,
                  {
                    'content-type': OCI_INDEX,
                    link: `<${elsewhere.url}${REFERRERS}?last=x>; rel="next"`,
                  },
                  JSON.stringify({
                    schemaVersion: 2,
                    mediaType: OCI_INDEX,
                    manifests: [referrerDescriptor('page-1')],
                  }),
                );
                return;
              }
              send(res, 404, {});
            },
            {},
            async ({ repo }) => {
              await assert.rejects(
                repo.referrers(subject),
                expectError('denied', 'PAGINATION_INVALID', elsewhere.url),
              );
              assert.deepEqual(elsewhere.requests, []);
            },
          );
        } finally {
          await elsewhere.stop();
        }
      });

      test('a tag list with non-string tags is TAG_LIST_INVALID', async () => {
        await withTransport(
          (_req, res) =>
            send(
              res,
              200,
              { 'content-type': 'application/json' },
              JSON.stringify({ name: REPO, tags: ['v1', 2, { evil: true }] }),
            ),
          {},
          async ({ repo }) => {
            await assert.rejects(repo.listTags(), expectError('denied', 'TAG_LIST_INVALID'));
          },
        );
      });

      test('a tag list whose next page leaves the origin is PAGINATION_INVALID', async () => {
        await withTransport(
          (_req, res) =>
            send(
              res,
              200,
              {
                'content-type': 'application/json',
                link: `<http://127.0.0.2:1/v2/${REPO}/tags/list?last=v1>; rel="next"`,
              },
              JSON.stringify({ name: REPO, tags: ['v1'] }),
            ),
          {},
          async ({ repo }) => {
            await assert.rejects(repo.listTags(), expectError('denied', 'PAGINATION_INVALID'));
          },
        );
      });
    });

    describe('timeouts', () => {
      test('a server that never answers fails with NETWORK_ERROR within headersTimeoutMs', async () => {
        await withTransport(
          () => {
            // accept the request, never answer
          },
          { http: { headersTimeoutMs: 300, retries: 0 } },
          async ({ repo, count }) => {
            const started = performance.now();
            await assert.rejects(
              repo.getManifest({ tag: 'latest' }),
              expectError('unavailable', 'NETWORK_ERROR'),
            );
            const elapsed = performance.now() - started;
            assert.ok(elapsed >= 250 && elapsed < 2000, `took ${Math.round(elapsed)} ms`);
            assert.equal(count(`GET ${MANIFESTS}latest`), 1);
          },
        );
      });

      test('a body that stalls fails with NETWORK_ERROR within bodyTimeoutMs', async () => {
        const bytes = imageManifest('stalled');
        await withTransport(
          (_req, res) => {
            res.writeHead(200, {
              'content-type': OCI_MANIFEST,
              'content-length': String(bytes.byteLength),
            });
            res.write(bytes.subarray(0, 10)); // then silence
          },
          { http: { bodyTimeoutMs: 300, retries: 0 } },
          async ({ repo }) => {
            const started = performance.now();
            await assert.rejects(
              repo.getManifest({ tag: 'latest' }),
              expectError('unavailable', 'NETWORK_ERROR'),
            );
            assert.ok(performance.now() - started < 2000);
          },
        );
      });

      test('a manifest sent one byte at a time ends within the request timeout', async () => {
        await withTransport(
          (_req, res) => drip(res, 100_000),
          { http: { requestTimeoutMs: 1000, bodyTimeoutMs: 5000 } },
          async ({ repo, count }) => {
            const started = performance.now();
            await within(
              assert.rejects(
                repo.getManifest({ tag: 'latest' }),
                expectError('unavailable', 'NETWORK_ERROR', '1000 ms'),
              ),
              5000,
              'the dripping manifest',
            );
            const elapsed = performance.now() - started;
            assert.ok(elapsed >= 900 && elapsed < 5000, `took ${Math.round(elapsed)} ms`);
            assert.equal(
              count(`GET ${MANIFESTS}`),
              1,
              'a request that ran out of time is not retried',
            );
          },
        );
      });

      test('an error body sent one byte at a time ends within the request timeout', async () => {
        await withTransport(
          (_req, res) => drip(res, 100_000, 404),
          { http: { requestTimeoutMs: 1000, bodyTimeoutMs: 5000 } },
          async ({ repo }) => {
            const started = performance.now();
            // The error's detail is cut short; the answer's status still decides.
            await within(
              assert.rejects(
                repo.getManifest({ tag: 'latest' }),
                expectError('invalid', 'MANIFEST_UNKNOWN'),
              ),
              5000,
              'the dripping error body',
            );
            assert.ok(performance.now() - started < 5000);
          },
        );
      });

      test('a server that never answers: retries stay within the request timeout', async () => {
        await withTransport(
          () => {
            // accept the request, never answer
          },
          { http: { requestTimeoutMs: 1000, headersTimeoutMs: 1000, retries: 3 } },
          async ({ repo }) => {
            const started = performance.now();
            await within(
              assert.rejects(
                repo.getManifest({ tag: 'latest' }),
                expectError('unavailable', 'NETWORK_ERROR'),
              ),
              6000,
              'the silent registry',
            );
            const elapsed = performance.now() - started;
            assert.ok(elapsed < 2500, `took ${Math.round(elapsed)} ms`);
          },
        );
      });

      test('fast failures are retried while the request timeout lasts, then no more', async () => {
        await withTransport(
          (_req, res) => send(res, 503, { 'retry-after': '1' }),
          { http: { requestTimeoutMs: 1500, retries: 10, maxRetryAfterMs: 5000 } },
          async ({ repo, count }) => {
            const started = performance.now();
            await within(
              assert.rejects(
                repo.getManifest({ tag: 'latest' }),
                expectError('unavailable', 'REGISTRY_ERROR'),
              ),
              5000,
              'the failing registry',
            );
            const elapsed = performance.now() - started;
            // Answers at 0 and 1 s; the next would start after the 1.5 s bound.
            assert.equal(count(`GET ${MANIFESTS}`), 2);
            assert.ok(elapsed < 1500, `took ${Math.round(elapsed)} ms`);
          },
        );
      });

      test('a blob streamed for a copy may take longer than the request timeout while it moves (control)', async () => {
        const bytes = Buffer.from('a blob that arrives slowly but surely');
        const descriptor = blobDescriptor(bytes);
        await withTransport(
          (_req, res) => {
            res.writeHead(200, { 'content-length': String(bytes.byteLength) });
            let sent = 0;
            const timer = setInterval(() => {
              res.write(bytes.subarray(sent, sent + 4));
              sent += 4;
              if (sent >= bytes.byteLength) {
                clearInterval(timer);
                res.end();
              }
            }, 100);
            res.on('close', () => clearInterval(timer));
          },
          { http: { requestTimeoutMs: 500, bodyTimeoutMs: 1000 } },
          async ({ repo }) => {
            const streamed: Buffer[] = [];
            for await (const chunk of await repo.getBlob(descriptor))
              streamed.push(Buffer.from(chunk));
            assert.deepEqual(Buffer.concat(streamed), bytes);
            // The same blob read whole, as a signature payload is, has the request's bound.
            await assert.rejects(
              repo.readBlob(descriptor, 1000),
              expectError('unavailable', 'NETWORK_ERROR', '500 ms'),
            );
          },
        );
      });

      test("the client's signal (a command's deadline) stops a dripping body and every later request", async () => {
        const deadline = AbortSignal.timeout(800);
        await withTransport(
          (_req, res) => drip(res, 100_000),
          { http: { signal: deadline, requestTimeoutMs: 10_000, bodyTimeoutMs: 5000 } },
          async ({ repo, count }) => {
            const started = performance.now();
            await within(
              assert.rejects(
                repo.getManifest({ tag: 'latest' }),
                expectError('unavailable', 'DEADLINE_EXCEEDED'),
              ),
              5000,
              'the dripping manifest',
            );
            assert.ok(performance.now() - started < 5000);
            const before = count('GET ');
            await assert.rejects(
              repo.getManifest({ tag: 'other' }),
              expectError('unavailable', 'DEADLINE_EXCEEDED'),
            );
            assert.equal(count('GET '), before, 'nothing is sent after the deadline');
          },
        );
      });
    });
  });
}

// The CLI's own bounds: --timeout for each request, --deadline for the command.
describe('the CLI against a registry that drips', () => {
  let dir: string;
  let key: string;
  let server: HostileRegistry;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-drip-'));
    key = join(dir, 'cosign.pub');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(key, publicKey.export({ type: 'spki', format: 'pem' }));
    server = await startHostileRegistry(registryRoutes((_req, res) => drip(res, 100_000)));
  });

  after(async () => {
    await server?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('vouch manifest --timeout 1 ends within seconds: exit 3, NETWORK_ERROR', async () => {
    const started = performance.now();
    const run = await within(
      runVouch(['manifest', '--timeout', '1', `${server.host}/${REPO}:latest`]),
      5000,
      'vouch manifest',
    );
    const elapsed = performance.now() - started;
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /within 1000 ms/);
    assert.ok(elapsed < 5000, `took ${Math.round(elapsed)} ms`);
  });

  test('vouch verify --deadline 2s stops all work at the deadline: exit 3, DEADLINE_EXCEEDED in the JSON', async () => {
    const started = performance.now();
    const run = await within(
      runVouch([
        'verify',
        '--key',
        key,
        '--deadline',
        '2s',
        '--timeout',
        '60',
        '-o',
        'json',
        `${server.host}/${REPO}:latest`,
        `${server.host}/${REPO}:other`,
      ]),
      6000,
      'vouch verify',
    );
    const elapsed = performance.now() - started;
    assert.equal(run.code, 3, run.stderr);
    assert.ok(elapsed >= 1900 && elapsed < 5000, `took ${Math.round(elapsed)} ms`);
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      images: { status: string; error: { code: string; category: string; message: string } }[];
    };
    assert.equal(report.ok, false);
    assert.equal(report.images.length, 2);
    for (const image of report.images) {
      assert.equal(image.status, 'unavailable');
      assert.equal(image.error.code, 'DEADLINE_EXCEEDED');
      assert.equal(image.error.category, 'unavailable');
      assert.match(image.error.message, /deadline of 2s/);
    }
  });

  test('--deadline takes a duration; anything else is a usage error', async () => {
    for (const bad of ['0', '-1s', '2 s', 'soon', '1.5.0s', '25h']) {
      const run = await runVouch(['manifest', '--deadline', bad, `${server.host}/${REPO}:latest`]);
      assert.equal(run.code, 2, `${bad}: ${run.stderr}`);
      assert.match(run.stderr, /--deadline/);
    }
  });
});

/** Answers 200 (or `status`) announcing `length` bytes, then sends one every 100 ms until the client leaves. */
function drip(res: ServerResponse, length: number, status = 200): void {
  res.writeHead(status, { 'content-type': OCI_MANIFEST, 'content-length': String(length) });
  res.on('error', () => {});
  const timer = setInterval(() => res.write('{'), 100);
  res.on('close', () => clearInterval(timer));
}
