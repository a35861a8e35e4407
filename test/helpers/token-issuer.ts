/**
 * A small Docker registry token server for integration tests
 * (https://distribution.github.io/distribution/spec/auth/token/), shaped to
 * what Distribution 2.8's `token` access controller accepts:
 *
 * - JWS compact form; header `{"typ":"JWT","alg":"ES256","x5c":[<std base64 DER>]}`.
 *   2.8 takes the signing key from `x5c[0]` and verifies that certificate
 *   against `rootcertbundle` (here: the same self-signed certificate).
 * - ES256 signature is raw R||S (64 bytes), as JOSE requires, not DER.
 * - Claims: `iss` must equal the registry's `issuer`; `aud` must be a single
 *   string equal to its `service` (2.8 cannot parse an array); `exp`/`nbf`
 *   are checked with 60 s leeway; `access: [{type, name, actions}]`.
 */
import { createPrivateKey, type KeyObject, randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOnLoopback } from './loopback.ts';
import { createTlsCertificate } from './registry.ts';

/** One parsed `scope` entry, e.g. `repository:foo/bar:pull,push`. */
export interface Scope {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

export interface TokenRequest {
  readonly method: string;
  /** Raw `scope` values, one per scope (space-separated values are split). */
  readonly scope: string[];
  /** Set when the client sent valid credentials. */
  readonly user?: string;
  readonly service?: string;
  /** The status the issuer answered with. */
  readonly status: number;
}

export interface TokenIssuerOptions {
  /** user → password, checked against HTTP basic auth (or the OAuth2 password grant). */
  readonly users: Readonly<Record<string, string>>;
  /** The registry's `service`, also the tokens' `aud`. Default `vouch-test-registry`. */
  readonly service?: string;
  /** The tokens' `iss`. Default `vouch-test-issuer`. */
  readonly issuer?: string;
  /**
   * Actions granted to `user` (undefined: anonymous) for a requested scope. The
   * default grants an authenticated user everything requested and an
   * anonymous one what `anonymous` allows.
   */
  readonly grants?: (user: string | undefined, scope: Scope) => readonly string[];
  /** What anonymous clients get by default: nothing (default) or `pull` only. */
  readonly anonymous?: 'none' | 'pull';
  /** Token lifetime in seconds. Default 300. */
  readonly expiresIn?: number;
}

export interface TokenIssuer {
  /** The realm: `http://127.0.0.1:PORT/token`. */
  readonly url: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM certificate to configure as the registry's `rootcertbundle`. */
  readonly rootCertFile: string;
  /** Every request to /token, in order, for assertions. */
  readonly requests: TokenRequest[];
  /** Signs a token with arbitrary claims (for expired/wrong-audience cases). */
  mint(claims: Record<string, unknown>): string;
  stop(): Promise<void>;
}

export function parseScope(raw: string): Scope | undefined {
  // type[(class)]:name:actions — the name itself may contain ':' (registry:port/…).
  const first = raw.indexOf(':');
  const last = raw.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return {
    type: raw.slice(0, first).replace(/\(.*\)$/, ''),
    name: raw.slice(first + 1, last),
    actions: raw
      .slice(last + 1)
      .split(',')
      .filter((a) => a !== ''),
  };
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': bytes.length,
    ...headers,
  });
  res.end(bytes);
}

export async function startTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const service = options.service ?? 'vouch-test-registry';
  const issuer = options.issuer ?? 'vouch-test-issuer';
  const expiresIn = options.expiresIn ?? 300;
  const anonymous = options.anonymous ?? 'none';
  const grants =
    options.grants ??
    ((user: string | undefined, scope: Scope): readonly string[] =>
      user !== undefined
        ? scope.actions
        : anonymous === 'pull'
          ? scope.actions.filter((a) => a === 'pull')
          : []);

  const dir = await mkdtemp(join(tmpdir(), 'vouch-token-issuer-'));
  let key: KeyObject;
  let certDer: Buffer;
  let rootCertFile: string;
  try {
    const files = await createTlsCertificate(dir, 'token-signing', 'vouch-test-token-issuer');
    rootCertFile = files.certFile;
    key = createPrivateKey(await readFile(files.keyFile));
    certDer = new X509Certificate(await readFile(files.certFile)).raw;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const mint = (claims: Record<string, unknown>): string => {
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(signature)}`;
  };

  const requests: TokenRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/token' || (req.method !== 'GET' && req.method !== 'POST')) {
      sendJson(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });
      return;
    }
    let params = url.searchParams;
    let credentials = parseBasic(req.headers.authorization);
    if (req.method === 'POST') {
      // OAuth2 password grant, as Docker's client uses it.
      params = new URLSearchParams(await readBody(req));
      const grantType = params.get('grant_type');
      if (grantType !== 'password') {
        sendJson(res, 400, { error: 'unsupported_grant_type' });
        requests.push({ method: 'POST', scope: [], status: 400 });
        return;
      }
      credentials = { user: params.get('username') ?? '', password: params.get('password') ?? '' };
    }
    const rawScopes = params
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter((s) => s !== '');
    const requestedService = params.get('service') ?? undefined;
    const log = (status: number, user?: string): void => {
      requests.push({
        method: req.method ?? 'GET',
        scope: rawScopes,
        ...(user !== undefined ? { user } : {}),
        ...(requestedService !== undefined ? { service: requestedService } : {}),
        status,
      });
    };

    if (requestedService !== undefined && requestedService !== service) {
      log(400);
      sendJson(res, 400, { errors: [{ code: 'INVALID_SERVICE', message: 'unknown service' }] });
      return;
    }
    let user: string | undefined;
    if (credentials) {
      const expected = Object.hasOwn(options.users, credentials.user)
        ? options.users[credentials.user]
        : undefined;
      if (expected === undefined || expected !== credentials.password) {
        log(401);
        sendJson(
          res,
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] },
          { 'www-authenticate': 'Basic realm="vouch-test-token-issuer"' },
        );
        return;
      }
      user = credentials.user;
    }

    const access: Array<{ type: string; name: string; actions: string[] }> = [];
    for (const raw of rawScopes) {
      const scope = parseScope(raw);
      if (!scope) continue;
      const actions = [...grants(user, scope)];
      if (actions.length > 0) access.push({ type: scope.type, name: scope.name, actions });
    }
    const now = Math.floor(Date.now() / 1000);
    const token = mint({
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: now + expiresIn,
      nbf: now - 1,
      iat: now,
      jti: randomUUID(),
      access,
    });
    log(200, user);
    sendJson(res, 200, {
      token,
      access_token: token,
      expires_in: expiresIn,
      issued_at: new Date(now * 1000).toISOString(),
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: String(err) }] });
      else res.destroy();
    });
  });
  const port = await listenOnLoopback(server);

  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertFile,
    requests,
    mint,
    stop() {
      stopping ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
