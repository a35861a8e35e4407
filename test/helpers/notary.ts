/**
 * A real notary-server (Debian's notary 0.7.0) on 127.0.0.1 for integration
 * tests, and the real `notary` CLI to publish trust data to it, driven
 * non-interactively (docs/formats.md "Running notary-server in tests"): memory storage, the
 * local (ed25519) signing service, plain HTTP, passphrases from the
 * environment, `yes` on stdin for root rotation (without it the CLI aborts
 * with exit code 0). Every server is killed when the test process exits.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './registry.ts';
import { forgetServer, spawnServer } from './server-process.ts';
import type { TokenIssuer } from './token-issuer.ts';

const SERVER_BIN = '/usr/bin/notary-server';
const CLI_BIN = '/usr/bin/notary';
const READY_DEADLINE_MS = 10_000;

export const NOTARY_PASSPHRASES = {
  NOTARY_ROOT_PASSPHRASE: 'root-passphrase',
  NOTARY_TARGETS_PASSPHRASE: 'targets-passphrase',
  NOTARY_SNAPSHOT_PASSPHRASE: 'snapshot-passphrase',
  NOTARY_DELEGATION_PASSPHRASE: 'delegation-passphrase',
};

export interface RunningNotaryServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  output(): string;
  stop(): Promise<void>;
}

export interface StartNotaryServerOptions {
  /** Registry token auth (server.go wires only `auth.type: token`), with this issuer's tokens. */
  readonly tokenIssuer?: TokenIssuer;
}

export async function startNotaryServer(
  options: StartNotaryServerOptions = {},
): Promise<RunningNotaryServer> {
  for (let attempt = 1; ; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'vouch-notary-server-'));
    try {
      return await startOnce(dir, options);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      if (attempt >= 5 || !/address already in use/i.test(String(error))) throw error;
    }
  }
}

async function startOnce(
  dir: string,
  options: StartNotaryServerOptions,
): Promise<RunningNotaryServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(dir, 'server.json');
  const logFile = join(dir, 'server.log');
  await writeFile(
    configFile,
    JSON.stringify({
      server: { http_addr: `127.0.0.1:${port}` },
      trust_service: { type: 'local' },
      logging: { level: 'error' },
      storage: { backend: 'memory' },
      ...(options.tokenIssuer === undefined
        ? {}
        : {
            auth: {
              type: 'token',
              options: {
                realm: `${options.tokenIssuer.url}`,
                service: options.tokenIssuer.service,
                issuer: options.tokenIssuer.issuer,
                rootcertbundle: options.tokenIssuer.rootCertFile,
              },
            },
          }),
    }),
  );
  const child = spawnServer(SERVER_BIN, ['-config', configFile], logFile, dir);
  const output = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000).then(() => child.kill('SIGKILL'))]);
    }
    forgetServer(child);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      forgetServer(child);
      throw new Error(`notary-server exited (code ${child.exitCode})\n${output()}`);
    }
    try {
      const response = await fetch(`${url}/_notary_server/health`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`notary-server did not become healthy on ${url}\n${output()}`);
    }
    await sleep(50);
  }
  let stopping: Promise<void> | undefined;
  return {
    url,
    output,
    stop: () => (stopping ??= stop()),
  };
}

/** The real notary CLI with its own trust directory, talking to one server. */
export class NotaryCli {
  readonly trustDir: string;
  readonly serverUrl: string;
  /** `NOTARY_AUTH` (base64 of `user:password`) for a server with token auth. */
  auth: string | undefined;

  constructor(trustDir: string, serverUrl: string) {
    this.trustDir = trustDir;
    this.serverUrl = serverUrl;
  }

  static async create(serverUrl: string): Promise<NotaryCli> {
    return new NotaryCli(await mkdtemp(join(tmpdir(), 'vouch-notary-cli-')), serverUrl);
  }

  run(args: readonly string[], stdin?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        CLI_BIN,
        ['-d', this.trustDir, '-s', this.serverUrl, ...args],
        {
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: this.trustDir,
            ...NOTARY_PASSPHRASES,
            ...(this.auth === undefined ? {} : { NOTARY_AUTH: this.auth }),
          },
          timeout: 30_000,
        },
        (error, stdout, stderr) => {
          if (error)
            reject(
              new Error(`notary ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`),
            );
          else resolve(`${stdout}${stderr}`);
        },
      );
      // The CLI may exit without reading stdin: EPIPE then is no failure, its exit status decides.
      child.stdin?.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') reject(error);
      });
      if (stdin === undefined) child.stdin?.end();
      else child.stdin?.end(stdin);
    });
  }

  async remove(): Promise<void> {
    await rm(this.trustDir, { recursive: true, force: true });
  }
}
