/**
 * Where simple signing signatures live, against servers on 127.0.0.1: an
 * HTTPS lookaside serving containers/image's own signature fixtures, hostile
 * lookasides (redirects, huge and endless bodies, signature-N forever,
 * silence), the registry API extension, and a real Distribution registry,
 * which does not advertise the extension, so its signatures go to a
 * lookaside.
 */
import assert from 'node:assert/strict';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { isVouchError } from '../src/core/errors.ts';
import { lookasideRepositoryUrl } from '../src/formats/simple-signing/lookaside-layout.ts';
import { parseRegistriesD } from '../src/formats/simple-signing/registries-d.ts';
import { type Digest, digestHex, digestOf } from '../src/oci/digest.ts';
import { parseReference } from '../src/oci/reference.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { Stores } from '../src/registry/open.ts';
import { readLookasideSignatures } from '../src/simple-signing/lookaside-store.ts';
import {
  readSimpleSignatures,
  simpleSigningStore,
  writeSimpleSignature,
} from '../src/simple-signing/signature-stores.ts';
import { buildImage } from './helpers/images.ts';
import { listenOnLoopback } from './helpers/loopback.ts';
import { createTlsCertificate, type RunningRegistry, startRegistry } from './helpers/registry.ts';

/**
 * How long a refused read may take: the request bound (1.5 s) with room for a
 * loaded machine, far below what the hostile servers would take unchecked
 * (a 64 MiB body, a drip without end, 128 answers of 200 ms each).
 */
const BOUND_MS = 4000;
const FIXTURES = join(import.meta.dirname, '../../shared/fixtures/containers-image');

function fails(code: string, category: string, fragment?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.category, category, error.message);
    if (fragment !== undefined) assert.match(error.message, fragment);
    return true;
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** An HTTPS server on 127.0.0.1 whose handler the test swaps; requests are recorded. */
async function startHttps(tls: { key: string; cert: string }) {
  let handler: Handler = (_req, res) => res.writeHead(404).end();
  const requests: string[] = [];
  const server: Server = createHttpsServer(tls, (req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  const port = await listenOnLoopback(server);
  return {
    origin: `https://127.0.0.1:${port}`,
    requests,
    handle(next: Handler) {
      handler = next;
      requests.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('https lookaside store', () => {
  let dir: string;
  let ca: string;
  let lookaside: Awaited<ReturnType<typeof startHttps>>;
  let other: Awaited<ReturnType<typeof startHttps>>;
  let plain: { origin: string; stop: () => Promise<void> };
  let http: HttpClient;
  let digest: Digest;
  let signatures: Buffer[];

  /** Serves containers/image's dir-img-valid-2 signatures at `/sigs/testing/manifest@sha256=<hex>/signature-N`. */
  const serveFixtures: Handler = (req, res) => {
    const match = new RegExp(
      `^/sigs/testing/manifest@sha256=${digestHex(digest)}/signature-(\\d+)$`,
    ).exec(req.url ?? '');
    const body = match === null ? undefined : signatures[Number(match[1]) - 1];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  };
  const base = (origin: string) =>
    lookasideRepositoryUrl(`${origin}/sigs`, 'testing/manifest', 'test lookaside');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-lookaside-https-'));
    const tls = await createTlsCertificate(dir);
    ca = await readFile(tls.certFile, 'utf8');
    const keys = { key: await readFile(tls.keyFile, 'utf8'), cert: ca };
    lookaside = await startHttps(keys);
    other = await startHttps(keys);
    const plainServer = createHttpServer(serveFixtures);
    const port = await listenOnLoopback(plainServer);
    plain = {
      origin: `http://127.0.0.1:${port}`,
      stop: () =>
        new Promise<void>((resolve) => {
          plainServer.close(() => resolve());
          plainServer.closeAllConnections();
        }),
    };
    http = new HttpClient({ ca, requestTimeoutMs: 1500, retries: 0 });
    digest = digestOf(await readFile(join(FIXTURES, 'dir-img-valid-2/manifest.json')));
    signatures = [
      await readFile(join(FIXTURES, 'dir-img-valid-2/signature-1')),
      await readFile(join(FIXTURES, 'dir-img-valid-2/signature-2')),
    ];
  });
  after(async () => {
    await http?.close();
    await lookaside?.stop();
    await other?.stop();
    await plain?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("reads containers/image's signature files, signature-1.. until the 404", async () => {
    lookaside.handle(serveFixtures);
    const found = await readLookasideSignatures(base(lookaside.origin), digest, { http });
    assert.deepEqual(
      found.map((s) => Buffer.from(s.blob)),
      signatures,
    );
    assert.deepEqual(
      lookaside.requests,
      [1, 2, 3].map((n) => `/sigs/testing/manifest@sha256=${digestHex(digest)}/signature-${n}`),
    );
  });

  test('a redirect to another origin is followed, as Go’s http.Client follows it (no credentials are ever sent)', async () => {
    other.handle(serveFixtures);
    lookaside.handle((req, res) =>
      res.writeHead(302, { location: `${other.origin}${req.url ?? ''}` }).end(),
    );
    const found = await readLookasideSignatures(base(lookaside.origin), digest, { http });
    assert.equal(found.length, 2);
    assert.equal(other.requests.length, 3);
  });

  test('a redirect loop is refused', async () => {
    lookaside.handle((req, res) => res.writeHead(302, { location: req.url ?? '/' }).end());
    await assert.rejects(
      readLookasideSignatures(base(lookaside.origin), digest, { http }),
      fails('TOO_MANY_REDIRECTS', 'unavailable'),
    );
  });

  test('a redirect from HTTPS down to plain HTTP is refused', async () => {
    lookaside.handle((req, res) =>
      res.writeHead(301, { location: `${plain.origin}${req.url ?? ''}` }).end(),
    );
    await assert.rejects(
      readLookasideSignatures(base(lookaside.origin), digest, { http }),
      fails('REDIRECT_REFUSED', 'unavailable', /downgrade/),
    );
  });

  test('a plain http:// lookaside that registries.d names is read', async () => {
    const found = await readLookasideSignatures(base(plain.origin), digest, { http });
    assert.equal(found.length, 2);
  });

  test('a huge signature is refused by its Content-Length, before it is read', async () => {
    lookaside.handle((_req, res) => {
      res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
      res.write(Buffer.alloc(1024));
    });
    const started = performance.now();
    await assert.rejects(
      readLookasideSignatures(base(lookaside.origin), digest, { http }),
      fails('LOOKASIDE_SIGNATURE_TOO_LARGE', 'denied', /exceeds 4194304 bytes/),
    );
    assert.ok(performance.now() - started < BOUND_MS);
  });

  test('an endless chunked body is cut at the cap', async () => {
    let sent = 0;
    lookaside.handle((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    await assert.rejects(
      readLookasideSignatures(base(lookaside.origin), digest, {
        http,
        maxSignatureBytes: 1024 * 1024,
      }),
      fails('LOOKASIDE_SIGNATURE_TOO_LARGE', 'denied'),
    );
    // What was read stops near the cap (plus what sat in buffers), not where the server would stop.
    assert.ok(sent < 64 * 1024 * 1024, `${sent} bytes sent`);
  });

  test('a body that drips forever is cut by the request bound', async () => {
    lookaside.handle((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write('x')), 50);
      res.on('close', () => clearInterval(timer));
    });
    const started = performance.now();
    await assert.rejects(
      readLookasideSignatures(base(lookaside.origin), digest, { http }),
      fails('NETWORK_ERROR', 'unavailable', /did not finish within 1500 ms/),
    );
    assert.ok(performance.now() - started < BOUND_MS);
  });

  test('signature-N forever stops at 128 with an error, not a truncated list', async () => {
    lookaside.handle((_req, res) => res.writeHead(200).end('sig'));
    await assert.rejects(
      readLookasideSignatures(base(lookaside.origin), digest, { http }),
      fails('LOOKASIDE_TOO_MANY_SIGNATURES', 'denied', /128 or more/),
    );
    assert.equal(lookaside.requests.length, 128);
  });

  test('a server that never answers: the request bound, and the caller’s deadline over the whole read', async () => {
    lookaside.handle(() => {
      // never answers
    });
    let started = performance.now();
    await assert.rejects(
      readLookasideSignatures(base(lookaside.origin), digest, { http }),
      fails('NETWORK_ERROR', 'unavailable'),
    );
    assert.ok(performance.now() - started < BOUND_MS);
    // One slow answer per signature: each within the request bound, the read as a whole past the deadline.
    lookaside.handle((_req, res) => setTimeout(() => res.writeHead(200).end('sig'), 200).unref());
    started = performance.now();
    await assert.rejects(
      readLookasideSignatures(base(lookaside.origin), digest, {
        http,
        signal: AbortSignal.timeout(700),
      }),
      fails('DEADLINE_EXCEEDED', 'unavailable'),
    );
    assert.ok(performance.now() - started < BOUND_MS);
  });

  test('an error status is an error, not the end of the signatures', async () => {
    lookaside.handle((req, res) => {
      if (req.url?.endsWith('signature-1') === true) res.writeHead(200).end('sig');
      else res.writeHead(403).end();
    });
    await assert.rejects(
      readLookasideSignatures(base(lookaside.origin), digest, { http }),
      fails('LOOKASIDE_UNAVAILABLE', 'unavailable', /answered 403/),
    );
  });
});

interface StoredExtensionSignature {
  schemaVersion: number;
  name: string;
  type: string;
  content: string;
}

/**
 * The signature API extension, served as containers/image's
 * docker/docker_client.go expects it (OpenShift's integrated registry and
 * Quay serve it; Distribution, the registry these tests otherwise run, does
 * not): `/v2/` answers with `X-Registry-Supports-Signatures: 1` (here with a
 * Basic challenge, so the extension goes through the client's
 * authentication), GET returns `{"signatures":[...]}`, PUT takes one
 * signature and answers 201.
 */
async function startExtensionRegistry() {
  const stored = new Map<string, StoredExtensionSignature[]>();
  const puts: string[] = [];
  const authorization = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
  const server = createHttpServer((req, res) => {
    const challenge = {
      'www-authenticate': 'Basic realm="test"',
      'x-registry-supports-signatures': '1',
    };
    if (req.url === '/v2/') {
      res.writeHead(req.headers.authorization === authorization ? 200 : 401, challenge).end();
      return;
    }
    const match = /^\/extensions\/v2\/(.+)\/signatures\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '');
    if (match === null) return void res.writeHead(404).end();
    if (req.headers.authorization !== authorization)
      return void res.writeHead(401, challenge).end();
    const key = `${match[1]}@${match[2]}`;
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ signatures: stored.get(key) ?? [] }));
      return;
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      puts.push(body);
      const signature = JSON.parse(body) as StoredExtensionSignature;
      stored.set(key, [...(stored.get(key) ?? []), signature]);
      res.writeHead(201).end();
    });
  });
  const port = await listenOnLoopback(server);
  return {
    host: `127.0.0.1:${port}`,
    stored,
    puts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('signature stores of an image', () => {
  let dir: string;
  let http: HttpClient;
  let extension: Awaited<ReturnType<typeof startExtensionRegistry>>;
  let registry: RunningRegistry;
  const digest = digestOf(new TextEncoder().encode('an image manifest'));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-signature-stores-'));
    http = new HttpClient({ requestTimeoutMs: 5000 });
    extension = await startExtensionRegistry();
    registry = await startRegistry();
  });
  after(async () => {
    await http?.close();
    await extension?.stop();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a registry advertising the extension keeps the signatures: PUT then GET round-trip, with its credentials', async () => {
    const client = new RegistryClient(extension.host, {
      http,
      credentials: () => Promise.resolve({ username: 'alice', password: 'secret' }),
    });
    const repository = client.repository('ns/app');
    const reference = parseReference(`${extension.host}/ns/app:1.0`);
    // registries.d names a lookaside for it; the extension still wins, as in containers/image.
    const options = {
      registriesD: parseRegistriesD(
        `docker:\n  ${extension.host}:\n    lookaside: file:///nonexistent\n    use-sigstore-attachments: true\n`,
        'r.yaml',
      ),
      builtinLookaside: 'file:///nonexistent',
      http,
    };
    const image = await readFile(join(FIXTURES, 'image.signature'));
    const written = await writeSimpleSignature(repository, reference, digest, image, options);
    assert.equal(written.kind, 'extension');
    assert.equal(written.useSigstoreAttachments, true);
    assert.ok(written.kind === 'extension' && !written.existing);
    assert.match(
      extension.puts[0] ?? '',
      new RegExp(
        `^\\{"schemaVersion":2,"name":"${digest}@[0-9a-f]{32}","type":"atomic","content":"${image.toString('base64').replace(/[+/]/g, '\\$&')}"\\}$`,
      ),
    );
    // The same bytes again add nothing; other bytes are added beside them.
    const again = await writeSimpleSignature(repository, reference, digest, image, options);
    assert.deepEqual(again.kind === 'extension' && [again.existing, again.name], [
      true,
      written.kind === 'extension' && written.name,
    ]);
    await writeSimpleSignature(repository, reference, digest, Uint8Array.of(1, 2, 3), options);
    assert.equal(extension.puts.length, 2);
    // Entries of other types or versions are not signatures.
    extension.stored
      .get(`ns/app@${digest}`)
      ?.push({ schemaVersion: 1, name: `${digest}@x`, type: 'atomic', content: 'AA==' });
    const read = await readSimpleSignatures(repository, reference, digest, options);
    assert.equal(read.store.kind, 'extension');
    assert.deepEqual(
      read.signatures.map((s) => Buffer.from(s.blob)),
      [image, Buffer.from([1, 2, 3])],
    );
  });

  test('a malformed signature list from the registry is refused', async () => {
    const client = new RegistryClient(extension.host, {
      http,
      credentials: () => Promise.resolve({ username: 'alice', password: 'secret' }),
    });
    extension.stored.set(`ns/bad@${digest}`, [
      { schemaVersion: 2, name: 'n', type: 'atomic', content: '%%%' },
    ]);
    await assert.rejects(
      readSimpleSignatures(
        client.repository('ns/bad'),
        parseReference(`${extension.host}/ns/bad:1`),
        digest,
        {
          registriesD: { docker: new Map() },
          builtinLookaside: 'file:///nonexistent',
        },
      ),
      fails('SIGNATURE_EXTENSION_INVALID', 'denied'),
    );
  });

  test('Distribution does not advertise the extension: signatures go to the registries.d lookaside, staging first', async () => {
    const stores = new Stores({});
    try {
      const opened = await stores.openImage(`${registry.host}/lookaside/app:1.0`);
      const built = await buildImage(opened.store, { tag: '1.0' });
      const reference = parseReference(`${registry.host}/lookaside/app:1.0`);
      const staging = pathToFileURL(join(dir, 'staging')).href;
      const options = {
        registriesD: parseRegistriesD(
          `docker:\n  ${registry.host}/lookaside:\n    lookaside: ${pathToFileURL(join(dir, 'published')).href}\n    lookaside-staging: ${staging}\n`,
          'r.yaml',
        ),
        builtinLookaside: pathToFileURL(join(dir, 'builtin')).href,
      };
      const store = await simpleSigningStore(opened.store, reference, { ...options, write: false });
      assert.equal(store.store.kind, 'lookaside');
      const written = await writeSimpleSignature(
        opened.store,
        reference,
        built.descriptor.digest,
        Uint8Array.of(7),
        options,
      );
      assert.ok(written.kind === 'lookaside');
      assert.equal(
        written.path,
        join(
          dir,
          'staging',
          `lookaside/app@sha256=${digestHex(built.descriptor.digest)}`,
          'signature-1',
        ),
      );
      assert.equal(
        written.where,
        `registries.d docker "${registry.host}/lookaside" lookaside-staging`,
      );
      // Readers read the published location, which a publisher syncs from staging.
      const read = await readSimpleSignatures(
        opened.store,
        reference,
        built.descriptor.digest,
        options,
      );
      assert.deepEqual(read.signatures, []);
      const builtin = await writeSimpleSignature(
        opened.store,
        parseReference(`${registry.host}/other/app:1.0`),
        built.descriptor.digest,
        Uint8Array.of(8),
        options,
      );
      assert.ok(builtin.kind === 'lookaside');
      assert.ok(builtin.path.startsWith(join(dir, 'builtin', 'other/app@sha256=')), builtin.path);
      const back = await readSimpleSignatures(
        opened.store,
        parseReference(`${registry.host}/other/app@${built.descriptor.digest}`),
        built.descriptor.digest,
        options,
      );
      assert.deepEqual(
        back.signatures.map((s) => [...s.blob]),
        [[8]],
      );
    } finally {
      await stores.close();
    }
  });

  test('an image in an OCI layout has no simple signing store', async () => {
    const stores = new Stores({});
    try {
      const opened = await stores.openImage(`oci:${join(dir, 'layout')}:1.0`, { create: true });
      await buildImage(opened.store, { tag: '1.0' });
      await assert.rejects(
        simpleSigningStore(opened.store, parseReference('example.com/x:1'), {
          registriesD: { docker: new Map() },
          builtinLookaside: 'file:///x',
          write: false,
        }),
        fails('SIMPLE_SIGNING_STORE_UNSUPPORTED', 'invalid'),
      );
    } finally {
      await stores.close();
    }
  });
});
