/**
 * Starts a real CNCF Distribution registry (Debian's `docker-registry`, 2.8) on
 * 127.0.0.1 for integration tests: fresh temp dir, free port, optional htpasswd
 * or token auth, optional TLS. Every registry started here is killed when the
 * test process exits, even if a test forgets `stop()`.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { forgetServer, spawnServer } from './server-process.ts';
import type { TokenIssuer } from './token-issuer.ts';

const execFileP = promisify(execFile);

const REGISTRY_BIN = '/usr/bin/docker-registry';
const READY_DEADLINE_MS = 10_000;
const STOP_GRACE_MS = 3_000;
const START_ATTEMPTS = 5;

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, the registry part of an image reference. */
  readonly host: string;
  /** `http://127.0.0.1:PORT` (or `https://` with TLS), no trailing slash. */
  readonly url: string;
  /** The temp dir holding config, data, htpasswd and log; removed by `stop()`. */
  readonly dir: string;
  /** Storage root (`<dir>/data`), to inspect or corrupt what the registry stored. */
  readonly dataDir: string;
  readonly configFile: string;
  /** Everything the registry printed so far (log level `error`, access log off). */
  output(): string;
  stop(): Promise<void>;
}

export type RegistryAuth =
  | { readonly kind: 'htpasswd'; readonly users: Readonly<Record<string, string>> }
  | { readonly kind: 'token'; readonly issuer: TokenIssuer };

export interface StartRegistryOptions {
  readonly auth?: RegistryAuth;
  /** PEM files; the certificate should name IP 127.0.0.1 (see `createTlsCertificate`). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /**
   * Cache blob descriptors in memory, as Distribution's shipped configuration
   * does (cmd/registry/config-example.yml, Debian's /etc/docker/registry):
   * the benchmarks measure a registry configured as one runs in production.
   */
  readonly blobDescriptorCache?: boolean;
}

// ---------------------------------------------------------------------------

/** A TCP port that was free a moment ago on 127.0.0.1 (bind 0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/**
 * A self-signed EC P-256 certificate (`openssl req -x509`) valid for
 * `127.0.0.1` and `localhost`, written as `<name>.crt` / `<name>.key` in `dir`.
 */
export async function createTlsCertificate(
  dir: string,
  name = 'tls',
  commonName = '127.0.0.1',
): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await execFileP('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}

async function htpasswdFile(path: string, users: Readonly<Record<string, string>>): Promise<void> {
  const lines: string[] = [];
  for (const [user, password] of Object.entries(users)) {
    // Distribution 2.8 only accepts bcrypt entries.
    const { stdout } = await execFileP('htpasswd', ['-Bbn', user, password]);
    lines.push(stdout.trim());
  }
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
}

/** YAML double-quoted scalars accept JSON string syntax. */
const q = (value: string): string => JSON.stringify(value);

function configYaml(
  dir: string,
  port: number,
  options: StartRegistryOptions,
  htpasswdPath: string,
): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    ...(options.blobDescriptorCache ? ['  cache:', '    blobdescriptor: inmemory'] : []),
    '  filesystem:',
    `    rootdirectory: ${q(join(dir, 'data'))}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${q(`127.0.0.1:${port}`)}`,
    `  secret: ${q(randomBytes(16).toString('hex'))}`,
  ];
  if (options.tls) {
    lines.push(
      '  tls:',
      `    certificate: ${q(options.tls.certFile)}`,
      `    key: ${q(options.tls.keyFile)}`,
    );
  }
  const auth = options.auth;
  if (auth?.kind === 'htpasswd') {
    lines.push(
      'auth:',
      '  htpasswd:',
      `    realm: ${q('vouch-test')}`,
      `    path: ${q(htpasswdPath)}`,
    );
  } else if (auth?.kind === 'token') {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${q(auth.issuer.url)}`,
      `    service: ${q(auth.issuer.service)}`,
      `    issuer: ${q(auth.issuer.issuer)}`,
      `    rootcertbundle: ${q(auth.issuer.rootCertFile)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** GET /v2/ once; resolves with the status, or undefined if nothing answered. */
function probe(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const isHttps = url.startsWith('https:');
    const get = isHttps ? https.get : http.get;
    // Readiness only: the registry's own cert is not checked here.
    const req = get(
      `${url}/v2/`,
      { timeout: 1_000, agent: false, ...(isHttps ? { rejectUnauthorized: false } : {}) },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/**
 * Whether `pid` holds the socket listening on 127.0.0.1:`port` (Linux /proc),
 * so a probe answered by some other process that won a port race is not taken
 * for ours. Without /proc, assumes yes.
 */
async function listensOn(pid: number, port: number): Promise<boolean> {
  let table: string;
  try {
    table = await readFile('/proc/net/tcp', 'utf8');
  } catch {
    return true;
  }
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === local && cols[3] === '0A' && cols[9]) inodes.add(`socket:[${cols[9]}]`);
  }
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (inodes.has(target)) return true;
  }
  return false;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class StartFailure extends Error {
  readonly addressInUse: boolean;
  constructor(message: string, addressInUse: boolean) {
    super(message);
    this.addressInUse = addressInUse;
  }
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function killAndWait(child: ChildProcess): Promise<void> {
  child.ref();
  const exited = waitExit(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

async function startOnce(dir: string, options: StartRegistryOptions): Promise<RunningRegistry> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const url = `${options.tls ? 'https' : 'http'}://${host}`;
  const configFile = join(dir, 'config.yml');
  const logFile = join(dir, 'registry.log');
  await writeFile(configFile, configYaml(dir, port, options, join(dir, 'htpasswd')));

  const child = spawnServer(REGISTRY_BIN, ['serve', configFile], logFile, dir);
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });

  const output = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };

  const deadline = Date.now() + READY_DEADLINE_MS;
  for (;;) {
    const exited = child.exitCode !== null || child.signalCode !== null;
    if (spawnError || exited) {
      forgetServer(child);
      const out = output();
      const why = spawnError
        ? `could not spawn ${REGISTRY_BIN}: ${spawnError.message}`
        : `docker-registry exited (code ${child.exitCode}, signal ${child.signalCode})`;
      throw new StartFailure(`${why}\n--- output ---\n${out}`, /address already in use/i.test(out));
    }
    const status = await probe(url);
    if ((status === 200 || status === 401) && (await listensOn(child.pid ?? -1, port))) break;
    if (Date.now() > deadline) {
      await killAndWait(child);
      forgetServer(child);
      throw new StartFailure(
        `docker-registry did not answer GET ${url}/v2/ within ${READY_DEADLINE_MS} ms` +
          ` (last status: ${status ?? 'no answer'})\n--- output ---\n${output()}`,
        false,
      );
    }
    await sleep(50);
  }

  let stopping: Promise<void> | undefined;
  return {
    host,
    url,
    dir,
    dataDir: join(dir, 'data'),
    configFile,
    output,
    stop() {
      stopping ??= (async () => {
        await killAndWait(child);
        forgetServer(child);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  for (let attempt = 1; ; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'vouch-registry-'));
    try {
      if (options.auth?.kind === 'htpasswd') {
        await htpasswdFile(join(dir, 'htpasswd'), options.auth.users);
      }
      return await startOnce(dir, options);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      if (err instanceof StartFailure && err.addressInUse && attempt < START_ATTEMPTS) continue;
      throw err;
    }
  }
}
