/**
 * Registry authentication: anonymous, HTTP Basic, and the Docker token flow
 * (distribution "Token Authentication Specification" and "OAuth2 Token
 * Authentication"): the registry answers 401 with a `WWW-Authenticate: Bearer
 * realm=...,service=...,scope=...` challenge, the client asks the realm for a
 * token covering the scopes it needs, and caches it per scope set until it
 * expires. The realm may be on another origin (registry-1.docker.io names
 * auth.docker.io) because the registry named it; like Docker, the
 * registry's own credentials go there, and nowhere else.
 */
import { invalid, unavailable } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';
import { isLoopbackRegistry } from '../oci/reference.ts';
import type { Credentials } from './credentials.ts';
import { bodyOf, discard, type HttpClient, type HttpResponse, header } from './http.ts';
import { collect } from './verified-content.ts';

export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses `WWW-Authenticate` (RFC 9110 §11.6.1) into its challenges. */
export function parseChallenges(value: string): Challenge[] {
  const challenges: Array<{ scheme: string; params: Record<string, string> }> = [];
  // scheme, or name=token, or name="quoted \" string", separated by commas and spaces
  const pattern =
    /\s*(?:([A-Za-z][\w!#$%&'*+.^`|~-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))|([A-Za-z][\w!#$%&'*+.^`|~-]*))\s*,?/gy;
  for (
    let match = pattern.exec(value);
    match !== null && match[0] !== '';
    match = pattern.exec(value)
  ) {
    const [, name, quoted, token, scheme] = match;
    if (scheme !== undefined) {
      challenges.push({ scheme: scheme.toLowerCase(), params: {} });
    } else if (name !== undefined) {
      const current = challenges.at(-1);
      if (current === undefined) break;
      current.params[name.toLowerCase()] =
        quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (token ?? '');
    }
  }
  return challenges;
}

/**
 * The `WWW-Authenticate` of a 401 that `origin`, the server we authenticate
 * to, sent itself. A 401 from an origin a redirect led to is an error, never
 * a challenge: adopting it would send our credentials to the realm that
 * origin names and the tokens it mints back to ours, for the rest of the
 * run. Docker keeps a challenge under the URL that answered with it
 * (distribution registry/client/auth/challenge `AddResponse` keys by
 * `resp.Request.URL`, the last request after redirects), so another
 * origin's challenge never authorizes requests to the registry either.
 */
export async function challengeOf(
  response: HttpResponse,
  origin: URL,
  server: string,
): Promise<string | undefined> {
  if (response.url.origin !== origin.origin) {
    await discard(response);
    throw unavailable(
      'REDIRECT_UNAUTHORIZED',
      `${server} redirected a request to ${response.url.host}, which asked for credentials (401); ` +
        `vouch sends ${server}'s credentials only to ${server} and the token server it names`,
    );
  }
  return header(response.headers, 'www-authenticate');
}

export interface RegistryAuthOptions {
  readonly http: HttpClient;
  /** The registry host, for messages and to decide whether an http realm is acceptable. */
  readonly registry: string;
  readonly credentials: () => Promise<Credentials | undefined>;
  /** Allow a token realm over plain HTTP (only loopback hosts are otherwise allowed). */
  readonly allowInsecure: boolean;
  readonly maxTokenResponseBytes?: number;
  /** Injected clock, so token expiry can be tested. */
  readonly now?: () => number;
}

interface CachedToken {
  readonly header: string;
  readonly expiresAt: number;
}

/** Tokens are refreshed this long before the server says they expire. */
const EXPIRY_MARGIN_MS = 10_000;
/** The token spec's default lifetime when `expires_in` is absent. */
const DEFAULT_TOKEN_LIFETIME_S = 60;

export class RegistryAuth {
  readonly #options: RegistryAuthOptions;
  #challenge: Challenge | undefined;
  #credentials: Promise<Credentials | undefined> | undefined;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #pending = new Map<string, Promise<CachedToken>>();

  constructor(options: RegistryAuthOptions) {
    this.#options = options;
  }

  /** Learns the registry's challenge from a `/v2/` ping or any 401. */
  learn(wwwAuthenticate: string | undefined): void {
    if (wwwAuthenticate === undefined) return;
    const challenges = parseChallenges(wwwAuthenticate);
    this.#challenge =
      challenges.find((c) => c.scheme === 'bearer') ??
      challenges.find((c) => c.scheme === 'basic') ??
      this.#challenge;
  }

  /** The Authorization header to send for a request needing `scopes`, if any is known to be needed. */
  async authorization(scopes: readonly string[]): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (challenge === undefined) return undefined;
    if (challenge.scheme === 'basic') return this.#basic();
    if (challenge.scheme !== 'bearer') return undefined;
    const key = [...scopes].sort().join(' ');
    const cached = this.#tokens.get(key);
    if (cached !== undefined && cached.expiresAt > this.#now()) return cached.header;
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = this.#fetchToken(challenge, scopes).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    const token = await pending;
    this.#tokens.set(key, token);
    return token.header;
  }

  /**
   * After a 401: learns the new challenge, forgets a token the registry no
   * longer accepts, and returns the header to retry with, or undefined when a
   * retry cannot succeed.
   */
  async retryAuthorization(
    wwwAuthenticate: string | undefined,
    scopes: readonly string[],
    sent: string | undefined,
  ): Promise<string | undefined> {
    this.learn(wwwAuthenticate);
    this.#tokens.delete([...scopes].sort().join(' '));
    const next = await this.authorization(scopes);
    return next !== undefined && next !== sent ? next : undefined;
  }

  async #basic(): Promise<string | undefined> {
    const credentials = await this.#loadCredentials();
    if (credentials === undefined || credentials.identityToken !== undefined) return undefined;
    return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  }

  #loadCredentials(): Promise<Credentials | undefined> {
    this.#credentials ??= this.#options.credentials();
    return this.#credentials;
  }

  async #fetchToken(challenge: Challenge, scopes: readonly string[]): Promise<CachedToken> {
    const { registry } = this.#options;
    const realm = challenge.params.realm;
    if (realm === undefined) {
      throw unavailable(
        'AUTH_CHALLENGE_INVALID',
        `${registry} asked for a bearer token without naming a realm`,
      );
    }
    let url: URL;
    try {
      url = new URL(realm);
    } catch (error) {
      throw unavailable(
        'AUTH_CHALLENGE_INVALID',
        `${registry} named an invalid token realm ${JSON.stringify(realm)}`,
        { cause: error },
      );
    }
    if (
      url.protocol !== 'https:' &&
      !(url.protocol === 'http:' && (this.#options.allowInsecure || isLoopbackRegistry(url.host)))
    ) {
      throw unavailable(
        'AUTH_CHALLENGE_INVALID',
        `${registry} named a token realm over ${url.protocol} (${url.host}); only HTTPS realms receive credentials`,
      );
    }
    const service = challenge.params.service;
    const allScopes = [
      ...new Set([...scopes, ...(challenge.params.scope?.split(' ') ?? [])]),
    ].filter((s) => s !== '');
    const credentials = await this.#loadCredentials();
    const headers: Record<string, string> = { accept: 'application/json' };
    let response: Awaited<ReturnType<HttpClient['send']>>;
    if (credentials?.identityToken !== undefined) {
      // OAuth2 refresh-token grant: how Docker uses an identity token.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credentials.identityToken,
        client_id: 'vouch',
      });
      if (service !== undefined) form.set('service', service);
      if (allScopes.length > 0) form.set('scope', allScopes.join(' '));
      headers['content-type'] = 'application/x-www-form-urlencoded';
      response = await this.#options.http.send({
        method: 'POST',
        url,
        headers,
        body: new TextEncoder().encode(form.toString()),
        idempotent: true,
        credentialsInBody: true,
      });
    } else {
      if (service !== undefined) url.searchParams.set('service', service);
      for (const scope of allScopes) url.searchParams.append('scope', scope);
      if (credentials !== undefined) {
        headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      }
      response = await this.#options.http.send({ method: 'GET', url, headers, idempotent: true });
    }
    const limit = this.#options.maxTokenResponseBytes ?? 1024 * 1024;
    const body = await collect(bodyOf(response), limit, () =>
      unavailable(
        'TOKEN_RESPONSE_INVALID',
        `token server ${url.host} sent more than ${limit} bytes`,
      ),
    );
    if (response.status === 401 || response.status === 403) {
      throw unavailable(
        'UNAUTHORIZED',
        `token server ${url.host} refused ${credentials === undefined ? 'anonymous access' : 'the stored credentials'} for ${registry} (${response.status})${credentials === undefined ? `; run \`vouch login ${registry}\`` : ''}`,
      );
    }
    if (response.status !== 200) {
      throw unavailable(
        'TOKEN_REQUEST_FAILED',
        `token server ${url.host} answered ${response.status} for ${registry}`,
      );
    }
    return this.#parseToken(body, url.host);
  }

  #parseToken(body: Uint8Array, host: string): CachedToken {
    let document: unknown;
    try {
      document = parseJson(Buffer.from(body).toString('utf8'));
    } catch (error) {
      throw unavailable(
        'TOKEN_RESPONSE_INVALID',
        `token server ${host} sent a response that is not JSON`,
        { cause: error },
      );
    }
    const fields = (typeof document === 'object' && document !== null ? document : {}) as Record<
      string,
      unknown
    >;
    const token =
      typeof fields.token === 'string' && fields.token !== '' ? fields.token : fields.access_token;
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token)) {
      throw unavailable('TOKEN_RESPONSE_INVALID', `token server ${host} sent no usable token`);
    }
    const expiresIn =
      typeof fields.expires_in === 'number' && fields.expires_in > 0
        ? fields.expires_in
        : DEFAULT_TOKEN_LIFETIME_S;
    return {
      header: `Bearer ${token}`,
      expiresAt: this.#now() + expiresIn * 1000 - EXPIRY_MARGIN_MS,
    };
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

/** The scope string of the token spec for a repository and actions. */
export function repositoryScope(
  repository: string,
  actions: readonly ('pull' | 'push' | 'delete')[],
): string {
  if (repository.includes(' '))
    throw invalid(
      'INVALID_REFERENCE',
      `repository name ${JSON.stringify(repository)} contains a space`,
    );
  return `repository:${repository}:${actions.join(',')}`;
}
