/**
 * Revocation of Notary Project chains against real servers on 127.0.0.1:
 * `openssl ocsp` answering from the issuing CA's database (as notation's
 * own e2e suite runs it, test/e2e/scripts/ocsp_server.py) and CRLs made by
 * `openssl ca -gencrl`, served by a node:http server (crl_server.py's job).
 * The chains are made here with openssl, with URLs for this run's ports.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  checkRevocation,
  revocationError,
  type RevocationOptions,
} from '../src/notation/revocation.ts';
import { HttpClient } from '../src/registry/http.ts';
import { type NotationCertificate, parseCertificate } from '../src/formats/notation/x509.ts';
import { verifyTimestamp } from '../src/formats/notation/timestamp.ts';
import { ocspHttpRequest, ocspRequest } from '../src/formats/notation/ocsp.ts';
import { expectError } from './helpers/assertions.ts';
import { listenOnLoopback } from './helpers/loopback.ts';
import { EXT, type Issued, TestPki } from './helpers/notation-pki.ts';
import { freePort } from './helpers/registry.ts';
import { forgetServer, spawnServer } from './helpers/server-process.ts';

const HOUR = 3600_000;

/** CRLs by path, swapped as the tests go; every request counted. */
class CrlServer {
  readonly files = new Map<string, Uint8Array>();
  readonly hits = new Map<string, number>();
  #server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.#server = createHttpServer((req, res) => {
      const path = req.url ?? '';
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      const body = this.files.get(path);
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(body);
    });
    this.port = await listenOnLoopback(this.#server);
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

/** `openssl ocsp` for one CA, restarted when its database changes (as ocsp_server.py does). */
class OcspResponder {
  #child: ChildProcess | undefined;
  readonly port: number;
  readonly #ca: Issued;
  readonly #signer: Issued;
  readonly #dir: string;

  constructor(port: number, ca: Issued, signer: Issued, dir: string) {
    this.port = port;
    this.#ca = ca;
    this.#signer = signer;
    this.#dir = dir;
  }

  async start(): Promise<void> {
    const log = join(this.#dir, `ocsp-${Date.now()}.log`);
    const child = spawnServer(
      'openssl',
      [
        'ocsp',
        '-port',
        String(this.port),
        '-index',
        join(this.#ca.dir, 'index.txt'),
        '-CA',
        this.#ca.certFile,
        '-rsigner',
        this.#signer.certFile,
        '-rkey',
        this.#signer.keyFile,
        '-nmin',
        '5',
      ],
      log,
      this.#dir,
    );
    this.#child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(`openssl ocsp exited: ${await readFile(log, 'utf8').catch(() => '')}`);
      }
      // A real request: OpenSSL 3.0's responder exits after a malformed one.
      const probe = ocspHttpRequest(
        `http://127.0.0.1:${this.port}`,
        ocspRequest(parseCertificate(this.#signer.der), parseCertificate(this.#ca.der)),
      );
      assert.ok(typeof probe !== 'string' && probe.method === 'GET');
      const answered = await fetch(probe.url, { signal: AbortSignal.timeout(500) })
        .then((response) => response.status === 200)
        .catch(() => false);
      if (answered) return;
      if (Date.now() > deadline) throw new Error('openssl ocsp did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    forgetServer(child);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

describe('Notary Project revocation against OCSP and CRL servers on 127.0.0.1', () => {
  let pki: TestPki;
  let dir: string;
  let crls: CrlServer;
  let responder: OcspResponder;
  let hang: TcpServer;
  const hanging: Socket[] = [];
  let http: HttpClient;

  let root: Issued;
  let intermediate: Issued;
  /** OCSP and CRL. */
  let leaf: Issued;
  /** OCSP at a port nobody listens on, and a CRL. */
  let deadOcspWithCrl: Issued;
  /** OCSP at a port nobody listens on, nothing else. */
  let deadOcspOnly: Issued;
  /** OCSP at a server that never answers. */
  let hangingOcsp: Issued;
  /** A CRL whose base names a delta CRL. */
  let deltaLeaf: Issued;
  /** Neither OCSP nor CRL. */
  let silentLeaf: Issued;

  let rootCert: NotationCertificate;
  let intermediateCert: NotationCertificate;
  const chainOf = (issued: Issued) => [parseCertificate(issued.der), intermediateCert, rootCert];

  const options = (extra: Partial<RevocationOptions> = {}): RevocationOptions => ({
    http,
    ...extra,
  });

  /** The CRLs as the CAs' databases say now. */
  async function publishCrls(): Promise<void> {
    crls.files.set('/intermediate.crl', await pki.crl(root));
    crls.files.set('/leaf.crl', await pki.crl(intermediate));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-notation-revocation-'));
    pki = await TestPki.create();
    crls = new CrlServer();
    await crls.start();
    const [ocspPort, deadPort] = await Promise.all([freePort(), freePort()]);
    hang = createTcpServer((socket) => {
      hanging.push(socket);
      socket.on('error', () => {});
    });
    const hangPort = await new Promise<number>((resolve) =>
      hang.listen(0, '127.0.0.1', () => resolve((hang.address() as { port: number }).port)),
    );
    hang.unref();

    root = await pki.certificate('root', { subject: '/CN=Root', extensions: EXT.root });
    intermediate = await pki.certificate('intermediate', {
      subject: '/CN=Intermediate',
      issuer: root,
      extensions: [
        ...EXT.intermediate(0),
        `crlDistributionPoints=URI:${crls.url('/intermediate.crl')}`,
      ],
    });
    const ocsp = (port: number) => `authorityInfoAccess=OCSP;URI:http://127.0.0.1:${port}`;
    const leafCrl = `crlDistributionPoints=URI:${crls.url('/leaf.crl')}`;
    const under = (name: string, extensions: readonly string[]) =>
      pki.certificate(name, {
        subject: `/CN=${name}`,
        issuer: intermediate,
        extensions: [...EXT.codeSigning, ...extensions],
      });
    leaf = await under('leaf', [ocsp(ocspPort), leafCrl]);
    deadOcspWithCrl = await under('dead-ocsp-with-crl', [ocsp(deadPort), leafCrl]);
    deadOcspOnly = await under('dead-ocsp-only', [ocsp(deadPort)]);
    hangingOcsp = await under('hanging-ocsp', [ocsp(hangPort)]);
    deltaLeaf = await under('delta-leaf', [`crlDistributionPoints=URI:${crls.url('/base.crl')}`]);
    silentLeaf = await under('silent-leaf', []);
    const signer = await pki.certificate('ocsp-responder', {
      subject: '/CN=OCSP Responder',
      issuer: intermediate,
      extensions: EXT.ocspSigning,
    });
    rootCert = parseCertificate(root.der);
    intermediateCert = parseCertificate(intermediate.der);

    await publishCrls();
    responder = new OcspResponder(ocspPort, intermediate, signer, dir);
    await responder.start();
    http = new HttpClient({ retries: 0 });
  });

  after(async () => {
    await http?.close();
    await responder?.stop();
    for (const socket of hanging) socket.destroy();
    hang?.close();
    await crls?.stop();
    await pki?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('good: the leaf by OCSP, the intermediate by CRL, the root not checked', async () => {
    const result = await checkRevocation(
      { chain: chainOf(leaf), purpose: 'codeSigning' },
      options(),
    );
    assert.equal(result.result, 'ok', JSON.stringify(result));
    assert.deepEqual(
      result.certificates.map((c) => [c.subject, c.result, c.method]),
      [
        ['CN=leaf', 'ok', 'ocsp'],
        ['CN=Intermediate', 'ok', 'crl'],
        ['CN=Root', 'non-revokable', 'none'],
      ],
    );
    assert.equal(revocationError(result, 'codeSigning'), undefined);
  });

  test('a certificate without OCSP or CRL information is not checked, and not revoked', async () => {
    const result = await checkRevocation(
      { chain: chainOf(silentLeaf), purpose: 'codeSigning' },
      options(),
    );
    assert.equal(result.result, 'ok');
    assert.equal(result.certificates[0]?.result, 'non-revokable');
  });

  test('responder down: OCSP falls back to the CRL', async () => {
    const result = await checkRevocation(
      { chain: chainOf(deadOcspWithCrl), purpose: 'codeSigning' },
      options(),
    );
    assert.equal(result.result, 'ok', JSON.stringify(result));
    const first = result.certificates[0];
    assert.equal(first?.method, 'ocsp-fallback-crl');
    assert.deepEqual(
      first?.servers.map((s) => [s.method, s.result]),
      [
        ['ocsp', 'unknown'],
        ['crl', 'ok'],
      ],
    );
    assert.match(first?.servers[0]?.error ?? '', /OCSP request failed/);
  });

  test('responder down and no CRL: could not check, which is not revoked', async () => {
    const result = await checkRevocation(
      { chain: chainOf(deadOcspOnly), purpose: 'codeSigning' },
      options(),
    );
    assert.equal(result.result, 'unknown');
    assert.equal(result.problem?.subject, 'CN=dead-ocsp-only');
    const error = revocationError(result, 'codeSigning');
    assert.equal(error?.code, 'NOTATION_REVOCATION_UNAVAILABLE');
    assert.equal(error?.category, 'unavailable');
    assert.match(
      error?.message ?? '',
      /revocation status of the signing certificate with subject "CN=dead-ocsp-only" is unknown/,
    );
  });

  test('a responder that never answers is given up on at the time limit', async () => {
    const started = performance.now();
    const result = await checkRevocation(
      { chain: chainOf(hangingOcsp), purpose: 'codeSigning' },
      options({ ocspTimeoutMs: 300 }),
    );
    const elapsed = performance.now() - started;
    assert.equal(result.result, 'unknown');
    assert.match(result.problem?.message ?? '', /did not answer within 300 ms/);
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
  });

  test('answers are cached on disk while valid', async () => {
    const cacheDir = join(dir, 'cache');
    const before = crls.hits.get('/intermediate.crl') ?? 0;
    const first = await checkRevocation(
      { chain: chainOf(leaf), purpose: 'codeSigning' },
      options({ cacheDir }),
    );
    assert.equal(first.result, 'ok');
    assert.equal(crls.hits.get('/intermediate.crl'), before + 1);
    // With the responder stopped and the CRLs gone, the cached answers still decide.
    await responder.stop();
    const saved = new Map(crls.files);
    crls.files.clear();
    try {
      const second = await checkRevocation(
        { chain: chainOf(leaf), purpose: 'codeSigning' },
        options({ cacheDir }),
      );
      assert.equal(second.result, 'ok', JSON.stringify(second));
      assert.deepEqual(
        second.certificates.map((c) => c.method),
        ['ocsp', 'crl', 'none'],
        'the OCSP answer came from the cache, without falling back to the CRL',
      );
      assert.equal(crls.hits.get('/intermediate.crl'), before + 1);
      // Without the cache, nothing answers.
      const uncached = await checkRevocation(
        { chain: chainOf(leaf), purpose: 'codeSigning' },
        options(),
      );
      assert.equal(uncached.result, 'unknown');
    } finally {
      for (const [path, body] of saved) crls.files.set(path, body);
      await responder.start();
    }
  });

  test("the caller's deadline stops the check: it throws, it does not report", async () => {
    await assert.rejects(
      checkRevocation(
        { chain: chainOf(hangingOcsp), purpose: 'codeSigning' },
        options({ signal: AbortSignal.timeout(200) }),
      ),
      expectError('unavailable', 'DEADLINE_EXCEEDED'),
    );
  });

  test('an expired CRL: could not check, not revoked', async () => {
    const good = crls.files.get('/intermediate.crl');
    crls.files.set(
      '/intermediate.crl',
      await pki.crl(root, {
        lastUpdate: new Date(Date.now() - 2 * HOUR),
        nextUpdate: new Date(Date.now() - HOUR),
      }),
    );
    try {
      const result = await checkRevocation(
        { chain: chainOf(leaf), purpose: 'codeSigning' },
        options(),
      );
      assert.equal(result.result, 'unknown');
      assert.equal(result.problem?.index, 1);
      assert.match(result.problem?.message ?? '', /the base CRL expired at/);
      assert.equal(revocationError(result, 'codeSigning')?.category, 'unavailable');
    } finally {
      if (good !== undefined) crls.files.set('/intermediate.crl', good);
    }
  });

  test('a delta CRL named by the base is fetched, and can revoke', async () => {
    crls.files.set(
      '/base.crl',
      await pki.crl(intermediate, {
        crlNumber: 0x40,
        extensions: [`freshestCRL=URI:${crls.url('/delta.crl')}`],
      }),
    );
    // No delta served: the certificate cannot be checked.
    const missing = await checkRevocation(
      { chain: chainOf(deltaLeaf), purpose: 'codeSigning' },
      options(),
    );
    assert.equal(missing.result, 'unknown');
    assert.match(
      missing.problem?.message ?? '',
      /the delta CRL could not be fetched: the CRL server answered HTTP 404/,
    );
    await pki.revoke(deltaLeaf, intermediate);
    crls.files.set(
      '/delta.crl',
      await pki.crl(intermediate, {
        crlNumber: 0x41,
        extensions: ['2.5.29.27=critical,ASN1:INTEGER:0x40'],
      }),
    );
    const revoked = await checkRevocation(
      { chain: chainOf(deltaLeaf), purpose: 'codeSigning' },
      options(),
    );
    assert.equal(revoked.result, 'revoked', JSON.stringify(revoked));
    assert.equal(revoked.certificates[0]?.method, 'crl');
  });

  test('a revoked leaf, by OCSP', async () => {
    await pki.revoke(leaf, intermediate);
    await responder.restart();
    const result = await checkRevocation(
      { chain: chainOf(leaf), purpose: 'codeSigning' },
      options(),
    );
    assert.equal(result.result, 'revoked', JSON.stringify(result));
    assert.equal(result.certificates[0]?.method, 'ocsp');
    const error = revocationError(result, 'codeSigning');
    assert.equal(error?.code, 'NOTATION_CERT_REVOKED');
    assert.equal(error?.category, 'denied');
    assert.match(error?.message ?? '', /the signing certificate with subject "CN=leaf" is revoked/);
  });

  test('a revoked intermediate, by CRL', async () => {
    await pki.revoke(intermediate, root);
    await publishCrls();
    const result = await checkRevocation(
      { chain: chainOf(silentLeaf), purpose: 'codeSigning' },
      options(),
    );
    assert.equal(result.result, 'revoked');
    assert.equal(result.problem?.subject, 'CN=Intermediate');
    assert.equal(result.certificates[1]?.method, 'crl');
  });

  test('an invalid chain is not checked at all', async () => {
    const hits = [...crls.hits.values()].reduce((a, b) => a + b, 0);
    const result = await checkRevocation(
      { chain: [parseCertificate(leaf.der), rootCert, intermediateCert], purpose: 'codeSigning' },
      options(),
    );
    assert.equal(result.result, 'unknown');
    assert.match(result.problem?.message ?? '', /the certificate chain is invalid/);
    assert.equal(
      [...crls.hits.values()].reduce((a, b) => a + b, 0),
      hits,
    );
  });

  test("a timestamp's TSA chain is checked for timestamping", async () => {
    const tsaRoot = await pki.certificate('tsa-root', {
      subject: '/CN=TSA Root',
      extensions: EXT.root,
    });
    const tsa = await pki.certificate('tsa', {
      subject: '/CN=TSA',
      issuer: tsaRoot,
      extensions: [...EXT.timestamping, `crlDistributionPoints=URI:${crls.url('/tsa.crl')}`],
    });
    const signature = randomBytes(64);
    const token = await pki.timestampToken(tsa, signature);
    const stamped = verifyTimestamp({
      token,
      signature,
      tsaRoots: [parseCertificate(tsaRoot.der)],
      signingChain: [parseCertificate(silentLeaf.der)],
    });
    assert.ok(stamped.ok, stamped.ok ? '' : stamped.message);
    crls.files.set('/tsa.crl', await pki.crl(tsaRoot));
    const good = await checkRevocation(
      { chain: stamped.tsaChain, purpose: 'timestamping' },
      options(),
    );
    assert.equal(good.result, 'ok');
    // A code signing check of the TSA chain fails the chain rules: nothing is checked.
    const wrongPurpose = await checkRevocation(
      { chain: stamped.tsaChain, purpose: 'codeSigning' },
      options(),
    );
    assert.equal(wrongPurpose.result, 'unknown');
    await pki.revoke(tsa, tsaRoot);
    crls.files.set('/tsa.crl', await pki.crl(tsaRoot));
    const revoked = await checkRevocation(
      { chain: stamped.tsaChain, purpose: 'timestamping' },
      options(),
    );
    assert.equal(revoked.result, 'revoked');
    assert.match(
      revocationError(revoked, 'timestamping')?.message ?? '',
      /the timestamping certificate with subject "CN=TSA" is revoked/,
    );
  });
});
