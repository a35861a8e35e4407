/**
 * An OIDC issuer of the tests' own on 127.0.0.1, shaped like the Sigstore
 * public-good one (Dex at https://oauth2.sigstore.dev/auth, so the issuer
 * URL has a path here too):
 *
 * - `GET {issuer}/.well-known/openid-configuration`: the discovery document
 *   (OpenID Connect Discovery 1.0 §3), with the device authorization
 *   endpoint and PKCE methods Dex lists;
 * - `GET {issuer}/keys`: the JWKS (RFC 7517) of the key tokens are signed with;
 * - `POST {issuer}/device/code`: the device authorization endpoint (RFC 8628
 *   §3.1-3.2), recording what the client sent;
 * - `POST {issuer}/token`: the token endpoint for the device code grant
 *   (§3.4-3.5), checking grant type, client, device code and the PKCE
 *   verifier against the challenge (RFC 7636 §4.6), and answering
 *   `authorization_pending` until the test approves, denies or expires the
 *   code, or with what the test scripted (`slow_down`, ...).
 *
 * `mintToken(claims)` signs real JWTs (ES256 or RS256) with the issuer's key.
 *
 * `startGithubActionsTokenService` is a stand-in for GitHub Actions' token
 * service as the runner's `ACTIONS_ID_TOKEN_REQUEST_URL` names it: a GET of
 * that URL plus `&audience=...`, authorized by `bearer <request token>`
 * (case-insensitive scheme, RFC 9110 §11.1), answered `{"count":..,"value":<JWT>}`
 * (actions/toolkit packages/core/src/oidc-utils.ts; sigstore/cosign
 * pkg/providers/github/github.go). A wrong or missing bearer gets 401.
 */
import {
  createHash,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  randomBytes,
  randomUUID,
  sign,
} from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

export type SigningAlgorithm = 'ES256' | 'RS256';

export interface TestOidcIssuerOptions {
  /** Default ES256. */
  readonly algorithm?: SigningAlgorithm;
  /** The client the issuer knows; default `sigstore`. */
  readonly clientId?: string;
  /** When set, the client must authenticate with HTTP Basic and this secret. */
  readonly clientSecret?: string;
  /** The device flow's polling interval in seconds (default 1); undefined in the answer when null. */
  readonly interval?: number | null;
  /** How long a device code lives, in seconds (default 300). */
  readonly expiresIn?: number;
  /** Fields replacing those of the discovery document (undefined removes one). */
  readonly discovery?: Readonly<Record<string, unknown>>;
  /** Fields replacing those of the device authorization answer (undefined removes one). */
  readonly deviceAuthorization?: Readonly<Record<string, unknown>>;
}

export interface DeviceAuthorizationRequest {
  readonly clientId: string | null;
  readonly scope: string | null;
  readonly codeChallenge: string | null;
  readonly codeChallengeMethod: string | null;
  readonly authorization: string | undefined;
}

/** One poll of the token endpoint, and what it was answered. */
export interface TokenPoll {
  readonly grantType: string | null;
  readonly clientId: string | null;
  readonly codeVerifier: string | null;
  readonly authorization: string | undefined;
  /** `id_token`, or the OAuth error sent. */
  readonly answer: string;
}

/** What a poll is answered, when the test scripts it. */
export type ScriptedAnswer =
  'authorization_pending' | 'slow_down' | 'access_denied' | 'expired_token';

export interface TestOidcIssuer {
  /** The issuer URL: `http://127.0.0.1:PORT/auth`. */
  readonly url: string;
  readonly clientId: string;
  readonly algorithm: SigningAlgorithm;
  readonly publicKey: KeyObject;
  readonly jwks: { readonly keys: readonly JsonWebKey[] };
  readonly deviceRequests: DeviceAuthorizationRequest[];
  readonly polls: TokenPoll[];
  /** Every id_token the token endpoint handed out. */
  readonly issued: string[];
  /**
   * A JWT signed by the issuer's key: `iss` this issuer, `aud` its client,
   * a subject, a verified email and an hour of validity unless `claims`
   * says otherwise (a claim set to undefined is left out).
   */
  mintToken(claims?: Readonly<Record<string, unknown>>): string;
  /** The pending device codes are approved; their token has these claims (over the defaults). */
  approve(claims?: Readonly<Record<string, unknown>>): void;
  /** The pending device codes are denied (`access_denied`). */
  deny(): void;
  /** The pending device codes expire (`expired_token`). */
  expire(): void;
  /** The next polls are answered with these, in order, whatever the codes' state. */
  script(...answers: ScriptedAnswer[]): void;
  stop(): Promise<void>;
}

interface DeviceCode {
  readonly challenge: string;
  state: 'pending' | 'approved' | 'denied' | 'expired' | 'redeemed';
  claims: Readonly<Record<string, unknown>>;
}

export async function startOidcIssuer(
  options: TestOidcIssuerOptions = {},
): Promise<TestOidcIssuer> {
  const algorithm = options.algorithm ?? 'ES256';
  const clientId = options.clientId ?? 'sigstore';
  const { privateKey, publicKey } =
    algorithm === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  const jwks = {
    keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: algorithm, use: 'sig' }],
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.destroy();
    });
  });
  const port = await listenOnLoopback(server);
  const base = `http://127.0.0.1:${port}`;
  const url = `${base}/auth`;

  const mintToken = (claims: Readonly<Record<string, unknown>> = {}): string => {
    const now = Math.floor(Date.now() / 1000);
    const payload = withoutUndefined({
      iss: url,
      aud: clientId,
      sub: 'CgVhbGljZRIEdGVzdA',
      email: 'alice@example.com',
      email_verified: true,
      iat: now,
      exp: now + 3600,
      ...claims,
    });
    const header = { alg: algorithm, typ: 'JWT', kid };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const signature =
      algorithm === 'ES256'
        ? sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', Buffer.from(input), privateKey);
    return `${input}.${b64url(signature)}`;
  };

  const discovery = withoutUndefined({
    issuer: url,
    authorization_endpoint: `${url}/auth`,
    token_endpoint: `${url}/token`,
    jwks_uri: `${url}/keys`,
    userinfo_endpoint: `${url}/userinfo`,
    device_authorization_endpoint: `${url}/device/code`,
    grant_types_supported: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [algorithm],
    code_challenge_methods_supported: ['S256', 'plain'],
    scopes_supported: ['openid', 'email', 'groups', 'profile', 'offline_access'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    claims_supported: ['iss', 'sub', 'aud', 'iat', 'exp', 'email', 'email_verified'],
    ...options.discovery,
  });

  const codes = new Map<string, DeviceCode>();
  const deviceRequests: DeviceAuthorizationRequest[] = [];
  const polls: TokenPoll[] = [];
  const issued: string[] = [];
  const scripted: ScriptedAnswer[] = [];

  /** RFC 6749 §2.3.1: HTTP Basic over the form-urlencoded client ID and secret. */
  const clientAuthenticated = (req: IncomingMessage): boolean => {
    if (options.clientSecret === undefined) return true;
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
    const decoded = Buffer.from(match?.[1] ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const formDecode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
    return (
      formDecode(decoded.slice(0, colon)) === clientId &&
      formDecode(decoded.slice(colon + 1)) === options.clientSecret
    );
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', base).pathname;
    if (req.method === 'GET' && path === '/auth/.well-known/openid-configuration') {
      sendJson(res, 200, discovery);
      return;
    }
    if (req.method === 'GET' && path === '/auth/keys') {
      sendJson(res, 200, jwks);
      return;
    }
    if (req.method === 'POST' && path === '/auth/device/code') {
      const form = await readForm(req);
      deviceRequests.push({
        clientId: form.get('client_id'),
        scope: form.get('scope'),
        codeChallenge: form.get('code_challenge'),
        codeChallengeMethod: form.get('code_challenge_method'),
        authorization: req.headers.authorization,
      });
      if (form.get('client_id') !== clientId || !clientAuthenticated(req)) {
        sendJson(res, 401, { error: 'invalid_client', error_description: 'unknown client' });
        return;
      }
      const challenge = form.get('code_challenge');
      if (form.get('code_challenge_method') !== 'S256' || challenge === null) {
        sendJson(res, 400, { error: 'invalid_request', error_description: 'PKCE S256 required' });
        return;
      }
      const deviceCode = randomBytes(32).toString('hex');
      const userCode = `${randomCode()}-${randomCode()}`;
      codes.set(deviceCode, { challenge, state: 'pending', claims: {} });
      sendJson(
        res,
        200,
        withoutUndefined({
          device_code: deviceCode,
          user_code: userCode,
          verification_uri: `${url}/device`,
          verification_uri_complete: `${url}/device?user_code=${userCode}`,
          expires_in: options.expiresIn ?? 300,
          interval: options.interval === null ? undefined : (options.interval ?? 1),
          ...options.deviceAuthorization,
        }),
      );
      return;
    }
    if (req.method === 'POST' && path === '/auth/token') {
      const form = await readForm(req);
      const answer = (status: number, body: Record<string, unknown>, recorded: string) => {
        polls.push({
          grantType: form.get('grant_type'),
          clientId: form.get('client_id'),
          codeVerifier: form.get('code_verifier'),
          authorization: req.headers.authorization,
          answer: recorded,
        });
        sendJson(res, status, body);
      };
      const oauthError = (status: number, error: string) => answer(status, { error }, error);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:device_code') {
        oauthError(400, 'unsupported_grant_type');
        return;
      }
      if (form.get('client_id') !== clientId || !clientAuthenticated(req)) {
        oauthError(401, 'invalid_client');
        return;
      }
      const code = codes.get(form.get('device_code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      if (
        code === undefined ||
        createHash('sha256').update(verifier).digest('base64url') !== code.challenge
      ) {
        oauthError(400, 'invalid_grant');
        return;
      }
      const next = scripted.shift();
      if (next !== undefined) {
        oauthError(400, next);
        return;
      }
      switch (code.state) {
        case 'pending':
          oauthError(400, 'authorization_pending');
          return;
        case 'denied':
          oauthError(400, 'access_denied');
          return;
        case 'expired':
          oauthError(400, 'expired_token');
          return;
        case 'redeemed':
          oauthError(400, 'invalid_grant');
          return;
        case 'approved': {
          code.state = 'redeemed';
          const idToken = mintToken(code.claims);
          issued.push(idToken);
          answer(
            200,
            {
              access_token: randomBytes(16).toString('hex'),
              token_type: 'bearer',
              expires_in: 3600,
              id_token: idToken,
            },
            'id_token',
          );
          return;
        }
      }
    }
    sendJson(res, 404, { error: 'not_found' });
  }

  const settle = (state: DeviceCode['state'], claims: Readonly<Record<string, unknown>> = {}) => {
    for (const code of codes.values()) {
      if (code.state === 'pending') {
        code.state = state;
        code.claims = claims;
      }
    }
  };

  return {
    url,
    clientId,
    algorithm,
    publicKey,
    jwks,
    deviceRequests,
    polls,
    issued,
    mintToken,
    approve: (claims) => settle('approved', claims),
    deny: () => settle('denied'),
    expire: () => settle('expired'),
    script: (...answers) => scripted.push(...answers),
    stop: () => closeServer(server),
  };
}

export interface GithubActionsTokenServiceOptions {
  /** Makes the token for an audience; the test issuer's `mintToken` with GitHub's claims, say. */
  readonly mint: (audience: string) => string;
  /** Answer every request with this status instead (a 500, say). */
  readonly failWith?: number;
  /** Answer an authorized request with this body instead of `{"count":1,"value":<token>}`. */
  readonly body?: string;
}

export interface GithubActionsTokenRequest {
  readonly method: string;
  readonly authorization: string | undefined;
  readonly apiVersion: string | null;
  readonly audiences: readonly string[];
  readonly status: number;
}

export interface GithubActionsTokenService {
  /** What the runner puts in ACTIONS_ID_TOKEN_REQUEST_URL. */
  readonly requestUrl: string;
  /** What the runner puts in ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  readonly requestToken: string;
  readonly requests: GithubActionsTokenRequest[];
  stop(): Promise<void>;
}

/** GitHub Actions' OIDC token issuer, the `iss` of its tokens. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/** Claims of a GitHub Actions token for a push to main of octo/app. */
export function githubActionsClaims(audience: string): Record<string, unknown> {
  return {
    iss: GITHUB_ACTIONS_ISSUER,
    aud: audience,
    sub: 'repo:octo/app:ref:refs/heads/main',
    email: undefined,
    email_verified: undefined,
    repository: 'octo/app',
    ref: 'refs/heads/main',
    workflow_ref: 'octo/app/.github/workflows/release.yml@refs/heads/main',
    event_name: 'push',
  };
}

export async function startGithubActionsTokenService(
  options: GithubActionsTokenServiceOptions,
): Promise<GithubActionsTokenService> {
  const requestToken = randomBytes(24).toString('base64url');
  const requests: GithubActionsTokenRequest[] = [];
  const path = `/${randomUUID()}/00000000-0000-0000-0000-000000000000/_apis/distributedtask/hubs/Actions/plans/${randomUUID()}/jobs/${randomUUID()}/idtoken`;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const audiences = url.searchParams.getAll('audience');
    const record = (status: number) =>
      requests.push({
        method: req.method ?? '',
        authorization: req.headers.authorization,
        apiVersion: url.searchParams.get('api-version'),
        audiences,
        status,
      });
    const match = /^bearer (.*)$/i.exec(req.headers.authorization ?? '');
    if (options.failWith !== undefined) {
      record(options.failWith);
      sendJson(res, options.failWith, { message: 'failure' });
    } else if (url.pathname !== path || req.method !== 'GET') {
      record(404);
      sendJson(res, 404, { message: 'not found' });
    } else if (match?.[1] !== requestToken) {
      record(401);
      sendJson(res, 401, { message: 'Unauthorized' });
    } else if (url.searchParams.get('api-version') !== '2.0' || audiences.length !== 1) {
      record(400);
      sendJson(res, 400, { message: 'bad request' });
    } else {
      record(200);
      if (options.body === undefined) {
        sendJson(res, 200, { count: 1, value: options.mint(audiences[0] ?? '') });
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(options.body);
      }
    }
  });
  const port = await listenOnLoopback(server);
  return {
    requestUrl: `http://127.0.0.1:${port}${path}?api-version=2.0`,
    requestToken,
    requests,
    stop: () => closeServer(server),
  };
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

function withoutUndefined(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

/** Four letters of Dex's user code alphabet (no vowels, no look-alikes). */
function randomCode(): string {
  const alphabet = 'BCDFGHJKLMNPQRSTVWXZ';
  return Array.from(randomBytes(4), (byte) => alphabet[byte % alphabet.length]).join('');
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length });
  res.end(bytes);
}

function closeServer(server: ReturnType<typeof createServer>): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
