/**
 * A TUF repository in a test: TUF 1.0 metadata for the four top-level roles,
 * each signed with its own Ed25519 key over the canonical JSON of `signed`
 * (TUF specification §4.2; for ASCII strings and integers, as here, OLPC
 * canonical JSON and RFC 8785 write the same bytes), laid out as Sigstore's
 * repository is: consistent snapshots, so `N.root.json`,
 * `N.snapshot.json`, `N.targets.json`, an unversioned `timestamp.json`, and
 * targets under `targets/<sha256>.<name>` (tuf-js `Updater` fetches exactly
 * these names). Served read-only over HTTP on 127.0.0.1, recording every
 * request.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';
import { canonicalJsonBytes } from '../../src/core/canonical-json.ts';
import { listenOnLoopback } from './loopback.ts';

export interface TufKey {
  readonly privateKey: KeyObject;
  readonly keyid: string;
  readonly json: {
    readonly keytype: 'ed25519';
    readonly scheme: 'ed25519';
    readonly keyval: { readonly public: string };
  };
}

export function createTufKey(): TufKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const json = {
    keytype: 'ed25519',
    scheme: 'ed25519',
    keyval: { public: raw.toString('hex') },
  } as const;
  const keyid = createHash('sha256').update(canonicalJsonBytes(json)).digest('hex');
  return { privateKey, keyid, json };
}

type Role = 'root' | 'targets' | 'snapshot' | 'timestamp';

/** `{signed, signatures}` with a signature by each of `keys`. */
export function signMetadata(signed: Record<string, unknown>, keys: readonly TufKey[]): string {
  const bytes = canonicalJsonBytes(signed as never);
  const signatures = keys.map((key) => ({
    keyid: key.keyid,
    sig: sign(null, bytes, key.privateKey).toString('hex'),
  }));
  return JSON.stringify({ signatures, signed }, null, 1);
}

/** An RFC 3339 time (whole seconds) `seconds` from now; negative for the past. */
export function inSeconds(seconds: number): string {
  return new Date(Math.floor(Date.now() / 1000 + seconds) * 1000)
    .toISOString()
    .replace(/\.\d+Z$/, 'Z');
}

const FAR = '2099-01-01T00:00:00Z';

export interface PublishOptions {
  readonly targetsVersion: number;
  readonly snapshotVersion: number;
  readonly timestampVersion: number;
  readonly timestampExpires?: string;
  /** Serve other bytes than the ones the targets metadata describes. */
  readonly servedTarget?: string;
  /** Publish this as the signing_config.v0.2.json target too. */
  readonly signingConfig?: string;
  /** Serve other bytes than the signing config the targets metadata describes. */
  readonly servedSigningConfig?: string;
}

export class TestTufRepository {
  readonly dir: string;
  readonly keys: Readonly<Record<Role, TufKey>>;

  constructor(dir: string) {
    this.dir = dir;
    this.keys = {
      root: createTufKey(),
      targets: createTufKey(),
      snapshot: createTufKey(),
      timestamp: createTufKey(),
    };
  }

  /** Writes `N.root.json` (and `root.json`) signed by `signers` (default: the root key); returns it. */
  async writeRoot(version: number, signers: readonly TufKey[] = [this.keys.root]): Promise<string> {
    const keys = Object.fromEntries(Object.values(this.keys).map((key) => [key.keyid, key.json]));
    const role = (key: TufKey) => ({ keyids: [key.keyid], threshold: 1 });
    const text = signMetadata(
      {
        _type: 'root',
        spec_version: '1.0.31',
        version,
        expires: FAR,
        consistent_snapshot: true,
        keys,
        roles: {
          root: role(this.keys.root),
          targets: role(this.keys.targets),
          snapshot: role(this.keys.snapshot),
          timestamp: role(this.keys.timestamp),
        },
      },
      signers,
    );
    await mkdir(join(this.dir, 'targets'), { recursive: true });
    await writeFile(join(this.dir, `${version}.root.json`), text);
    await writeFile(join(this.dir, 'root.json'), text);
    return text;
  }

  /**
   * Publishes `trustedRoot` as the trusted_root.json target (and the signing
   * config, if given) with new targets, snapshot and timestamp.
   */
  async publish(trustedRoot: string, options: PublishOptions): Promise<void> {
    await mkdir(join(this.dir, 'targets'), { recursive: true });
    const targets: Record<string, { length: number; hashes: { sha256: string } }> = {};
    const addTarget = async (name: string, content: string, served: string | undefined) => {
      const bytes = Buffer.from(content);
      const hash = createHash('sha256').update(bytes).digest('hex');
      await writeFile(join(this.dir, 'targets', `${hash}.${name}`), served ?? bytes);
      targets[name] = { length: bytes.byteLength, hashes: { sha256: hash } };
    };
    await addTarget('trusted_root.json', trustedRoot, options.servedTarget);
    if (options.signingConfig !== undefined) {
      await addTarget(
        'signing_config.v0.2.json',
        options.signingConfig,
        options.servedSigningConfig,
      );
    }
    await writeFile(
      join(this.dir, `${options.targetsVersion}.targets.json`),
      signMetadata(
        {
          _type: 'targets',
          spec_version: '1.0.31',
          version: options.targetsVersion,
          expires: FAR,
          targets,
        },
        [this.keys.targets],
      ),
    );
    await writeFile(
      join(this.dir, `${options.snapshotVersion}.snapshot.json`),
      signMetadata(
        {
          _type: 'snapshot',
          spec_version: '1.0.31',
          version: options.snapshotVersion,
          expires: FAR,
          meta: { 'targets.json': { version: options.targetsVersion } },
        },
        [this.keys.snapshot],
      ),
    );
    await writeFile(
      join(this.dir, 'timestamp.json'),
      this.timestamp(
        options.timestampVersion,
        options.snapshotVersion,
        options.timestampExpires ?? FAR,
      ),
    );
  }

  /** A timestamp.json signed by the timestamp key. */
  timestamp(version: number, snapshotVersion: number, expires: string): string {
    return signMetadata(
      {
        _type: 'timestamp',
        spec_version: '1.0.31',
        version,
        expires,
        meta: { 'snapshot.json': { version: snapshotVersion } },
      },
      [this.keys.timestamp],
    );
  }
}

export interface StaticServer {
  readonly url: string;
  /** The paths requested so far, in order. */
  readonly requests: string[];
  /** While true, requests are read and never answered (a mirror that hangs). */
  hang: boolean;
  close(): Promise<void>;
}

/** Serves the files under `dir` on 127.0.0.1; 404 for anything else. */
export async function serveDirectory(dir: string): Promise<StaticServer> {
  const requests: string[] = [];
  const state = { hang: false };
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    if (state.hang) return;
    const file = normalize(join(dir, path));
    if (req.method !== 'GET' || !file.startsWith(dir)) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get hang() {
      return state.hang;
    },
    set hang(value: boolean) {
      state.hang = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
