/**
 * A real RFC 3161 timestamp authority for tests: `openssl ts -reply` with a
 * fresh root CA and TSA certificate made by openssl in a temp dir, as a
 * function from query to answer, and optionally behind a node:http server on
 * 127.0.0.1 (POST application/timestamp-query, as TSAs are spoken to).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listenOnLoopback } from './loopback.ts';

const run = promisify(execFile);

export interface TestTsaOptions {
  /** The TSA's key: EC P-256 unless given. */
  readonly key?: 'ec' | 'rsa';
  /** The digests the TSA accepts (openssl's `digests`); all SHA-2 unless given. */
  readonly digests?: string;
}

export interface TestTsa {
  readonly dir: string;
  /** The root CA certificate (PEM file). */
  readonly rootFile: string;
  /** Another root, which issued nothing here. */
  readonly otherRootFile: string;
  /** The TSA's answer to a TimeStampReq (DER), as openssl makes it. */
  reply(query: Uint8Array): Promise<Uint8Array>;
  /** A good answer to a query over other bytes: what a TSA answering the wrong request sends. */
  replyOverOtherBytes(): Promise<Uint8Array>;
  remove(): Promise<void>;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

async function root(dir: string, name: string): Promise<void> {
  await openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '3',
    '-subj',
    `/CN=Test TSA ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
}

export async function createTestTsa(options: TestTsaOptions = {}): Promise<TestTsa> {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-tsa-'));
  await Promise.all([root(dir, 'root'), root(dir, 'other')]);
  await writeFile(
    join(dir, 'ext.cnf'),
    `[tsa]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n`,
  );
  await openssl(
    dir,
    'req',
    '-newkey',
    ...(options.key === 'rsa' ? ['rsa:2048'] : ['ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']),
    '-nodes',
    '-keyout',
    'tsa.key',
    '-out',
    'tsa.csr',
    '-subj',
    '/CN=Test TSA',
  );
  await openssl(
    dir,
    'x509',
    '-req',
    '-in',
    'tsa.csr',
    '-CA',
    'root.pem',
    '-CAkey',
    'root.key',
    '-set_serial',
    '2',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
    '-extensions',
    'tsa',
    '-out',
    'tsa.pem',
  );
  await writeFile(join(dir, 'serial'), '01\n');
  await writeFile(
    join(dir, 'tsa.cnf'),
    [
      '[ tsa ]',
      'default_tsa = tsa_config1',
      '[ tsa_config1 ]',
      `serial = ${join(dir, 'serial')}`,
      'crypto_device = builtin',
      `signer_cert = ${join(dir, 'tsa.pem')}`,
      `signer_key = ${join(dir, 'tsa.key')}`,
      'signer_digest = sha256',
      'default_policy = 1.2.3.4.1',
      `digests = ${options.digests ?? 'sha256, sha384, sha512'}`,
      'accuracy = secs:1',
      'ordering = no',
      'tsa_name = no',
      'ess_cert_id_chain = no',
      'ess_cert_id_alg = sha256',
      '',
    ].join('\n'),
  );
  let count = 0;
  const reply = async (query: Uint8Array) => {
    const n = count++;
    const queryFile = join(dir, `query-${n}.tsq`);
    const replyFile = join(dir, `reply-${n}.tsr`);
    await writeFile(queryFile, query);
    await openssl(
      dir,
      'ts',
      '-reply',
      '-config',
      'tsa.cnf',
      '-queryfile',
      queryFile,
      '-out',
      replyFile,
    );
    return new Uint8Array(await readFile(replyFile));
  };
  return {
    dir,
    rootFile: join(dir, 'root.pem'),
    otherRootFile: join(dir, 'other.pem'),
    reply,
    async replyOverOtherBytes() {
      const n = count++;
      await writeFile(join(dir, `other-${n}.bin`), randomBytes(64));
      await openssl(
        dir,
        'ts',
        '-query',
        '-data',
        `other-${n}.bin`,
        '-sha256',
        '-cert',
        '-out',
        `other-${n}.tsq`,
      );
      return reply(new Uint8Array(await readFile(join(dir, `other-${n}.tsq`))));
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface TsaServer {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** The content types of the queries received. */
  readonly received: string[];
  stop(): Promise<void>;
}

/** Serves `answer(query)` as `application/timestamp-reply` to every POST. */
export async function startTsaServer(
  answer: (query: Uint8Array) => Promise<Uint8Array>,
): Promise<TsaServer> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push(req.headers['content-type'] ?? '');
      answer(new Uint8Array(Buffer.concat(chunks))).then(
        (body) => {
          res.writeHead(200, { 'content-type': 'application/timestamp-reply' });
          res.end(body);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(error));
        },
      );
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/`,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
