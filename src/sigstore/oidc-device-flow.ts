/**
 * An identity token from an OIDC issuer by the OAuth 2.0 device
 * authorization grant (RFC 8628), with PKCE (RFC 7636), as cosign gets one
 * where it cannot open a browser (sigstore/sigstore pkg/oauthflow/device.go
 * `DeviceFlowTokenGetter`, pkce.go `NewPKCE`):
 *
 * 1. the issuer's discovery document (OpenID Connect Discovery 1.0 §4),
 *    whose `issuer` must be exactly the configured issuer (§4.3) and which
 *    must offer PKCE with S256 (`code_challenge_methods_supported`; sigstore
 *    refuses an issuer without it too);
 * 2. a POST to its `device_authorization_endpoint` with the client ID, the
 *    scope `openid email` and the S256 code challenge (RFC 8628 §3.1);
 * 3. the user code and verification URI handed to `onPrompt` (§3.3), for the
 *    CLI to show;
 * 4. a POST to the `token_endpoint` every `interval` seconds (default 5,
 *    §3.2) with the device code and the PKCE verifier (§3.4), until it
 *    answers with an `id_token`; `authorization_pending` polls again,
 *    `slow_down` adds 5 seconds to the interval for good (§3.5; sigstore adds
 *    10 to one wait), `access_denied` and `expired_token` end the flow.
 *
 * Every endpoint must be HTTPS (or plain HTTP on loopback, for tests and
 * local issuers): the device code and verifier are what would let anyone
 * else take the token. Every answer is capped before and while it is read.
 * The flow gives up when the device code expires (`expires_in`, at most an
 * hour) or `signal` fires. The token's issuer must be the configured issuer;
 * its signature is Fulcio's to verify (identity-token.ts).
 *
 * Errors (VouchError):
 * - `invalid` OIDC_ISSUER_INVALID: the issuer URL, its discovery document or
 *   its endpoints are unusable;
 * - `unavailable` IDENTITY_TOKEN_UNAVAILABLE: the issuer could not be
 *   reached, answered an unexpected status or refused a request;
 *   OIDC_ACCESS_DENIED: the user (or the issuer) denied the request;
 *   OIDC_DEVICE_CODE_EXPIRED: nobody approved it in time;
 *   DEADLINE_EXCEEDED / ABORTED: `signal` stopped it;
 * - `invalid` IDENTITY_TOKEN_INVALID: an answer is malformed, or the token
 *   is not a JWT from the issuer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { abortError } from '../core/abort.ts';
import { hasCode, invalid, isVouchError, unavailable } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';
import { isLoopbackRegistry } from '../oci/reference.ts';
import { bodyOf, discard, type HttpClient, type HttpResponse, header } from '../registry/http.ts';
import { collect } from '../registry/verified-content.ts';
import { MAX_IDENTITY_TOKEN_BYTES, parseIdentityToken, quote } from './identity-token.ts';

/** The Sigstore public-good OIDC issuer (a Dex instance), cosign's `--oidc-issuer` default. */
export const PUBLIC_GOOD_OIDC_ISSUER = 'https://oauth2.sigstore.dev/auth';

/** What the user must do: open the URI and enter the code. */
export interface DeviceFlowPrompt {
  readonly verificationUri: string;
  /** A URI with the code in it, when the issuer gives one (RFC 8628 §3.3.1). */
  readonly verificationUriComplete?: string;
  readonly userCode: string;
  /** Seconds the code stays valid. */
  readonly expiresIn: number;
}

export interface DeviceFlowOptions {
  /** The issuer URL, exactly as its discovery document names it. */
  readonly issuer: string;
  readonly clientId: string;
  /** Sent with HTTP Basic authentication (RFC 6749 §2.3.1) when the client has one. */
  readonly clientSecret?: string;
  readonly http: HttpClient;
  /** Called once, with what to show the user, before polling starts. */
  readonly onPrompt: (prompt: DeviceFlowPrompt) => void;
  readonly signal?: AbortSignal;
  /** Waits between polls (tests replace it); `node:timers/promises` unless given. */
  readonly sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** The clock the device code's expiry is measured by, in ms; `Date.now` unless given. */
  readonly now?: () => number;
}

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default." */
const DEFAULT_INTERVAL_S = 5;
/** RFC 8628 §3.5: slow_down increases the interval by 5 seconds. */
const SLOW_DOWN_S = 5;
/** The longest vouch waits for a user, whatever the issuer says. */
const MAX_EXPIRES_IN_S = 3600;
/** Discovery documents are a few KiB (Keycloak's, among the largest, ~10). */
const MAX_DISCOVERY_BYTES = 256 * 1024;
const MAX_DEVICE_AUTHORIZATION_BYTES = 64 * 1024;
/** An id_token, an access token and a refresh token at most. */
const MAX_TOKEN_RESPONSE_BYTES = 4 * MAX_IDENTITY_TOKEN_BYTES;

/** Runs the device flow against `options.issuer`; returns the `id_token`, unchecked but for its issuer. */
export async function deviceFlowToken(options: DeviceFlowOptions): Promise<string> {
  const issuer = endpointOf(options.issuer, 'the OIDC issuer');
  const provider = await discover(options, issuer);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const now = options.now ?? Date.now;
  const started = now();
  const authorization = await authorize(options, provider, challenge);
  options.onPrompt(authorization.prompt);
  const expiresAt = started + authorization.prompt.expiresIn * 1000;
  let intervalS = authorization.intervalS;
  const sleep =
    options.sleep ?? ((ms, signal) => delay(ms, undefined, signal === undefined ? {} : { signal }));
  for (;;) {
    if (now() + intervalS * 1000 >= expiresAt) {
      throw unavailable(
        'OIDC_DEVICE_CODE_EXPIRED',
        `the code for ${quote(options.issuer)} expired after ${authorization.prompt.expiresIn} s before the sign-in was approved; run the command again`,
      );
    }
    try {
      await sleep(intervalS * 1000, options.signal);
    } catch (error) {
      if (options.signal?.aborted === true) {
        throw abortError(options.signal, 'the OIDC device flow');
      }
      throw error;
    }
    const answer = await poll(options, provider, authorization.deviceCode, verifier);
    if (answer.kind === 'token') return checkIssuer(answer.idToken, options.issuer);
    if (answer.kind === 'slow_down') intervalS += SLOW_DOWN_S;
  }
}

interface Provider {
  readonly deviceAuthorizationEndpoint: URL;
  readonly tokenEndpoint: URL;
}

async function discover(options: DeviceFlowOptions, issuer: URL): Promise<Provider> {
  const where = `the OIDC issuer ${quote(options.issuer)}`;
  // As sigstore and go-oidc build it: the issuer without a trailing slash, then the well-known path.
  const url = new URL(`${issuer.href.replace(/\/$/, '')}/.well-known/openid-configuration`);
  const response = await send(options, where, { method: 'GET', url, idempotent: true });
  if (response.status !== 200) {
    throw await failure(
      response,
      `${where} answered ${response.status} for its discovery document`,
    );
  }
  const document = await jsonOf(response, MAX_DISCOVERY_BYTES, `${where}'s discovery document`);
  if (document.issuer !== options.issuer) {
    const named =
      typeof document.issuer === 'string' ? `the issuer ${quote(document.issuer)}` : 'no issuer';
    throw invalid(
      'OIDC_ISSUER_INVALID',
      `${where}'s discovery document names ${named}; the two must be identical (OpenID Connect Discovery §4.3)`,
    );
  }
  const methods = document.code_challenge_methods_supported;
  if (!Array.isArray(methods) || !methods.includes('S256')) {
    throw invalid(
      'OIDC_ISSUER_INVALID',
      `${where} does not offer PKCE with S256 (code_challenge_methods_supported), which the device flow requires`,
    );
  }
  const endpoint = (field: string) => {
    const value = document[field];
    if (typeof value !== 'string' || value === '') {
      throw invalid(
        'OIDC_ISSUER_INVALID',
        `${where}'s discovery document has no ${field}${field.startsWith('device') ? ': it does not offer the device flow' : ''}`,
      );
    }
    return endpointOf(value, `${where}'s ${field}`);
  };
  return {
    deviceAuthorizationEndpoint: endpoint('device_authorization_endpoint'),
    tokenEndpoint: endpoint('token_endpoint'),
  };
}

interface Authorization {
  readonly deviceCode: string;
  readonly intervalS: number;
  readonly prompt: DeviceFlowPrompt;
}

async function authorize(
  options: DeviceFlowOptions,
  provider: Provider,
  challenge: string,
): Promise<Authorization> {
  const where = `the OIDC issuer ${quote(options.issuer)}`;
  const response = await send(options, where, {
    method: 'POST',
    url: provider.deviceAuthorizationEndpoint,
    form: {
      client_id: options.clientId,
      scope: 'openid email',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    },
    // A new device code each time: never sent twice.
    idempotent: false,
  });
  if (response.status !== 200) {
    throw await failure(
      response,
      `${where} refused the device authorization request (${response.status})`,
    );
  }
  const answer = await jsonOf(
    response,
    MAX_DEVICE_AUTHORIZATION_BYTES,
    `${where}'s device authorization`,
  );
  const malformed = (field: string) =>
    invalid('IDENTITY_TOKEN_INVALID', `${where}'s device authorization has no usable ${field}`);
  const deviceCode = answer.device_code;
  if (typeof deviceCode !== 'string' || deviceCode === '') throw malformed('device_code');
  const userCode = answer.user_code;
  // Shown on the terminal: printable characters only, no escape sequences.
  if (typeof userCode !== 'string' || !/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]{1,64}$/u.test(userCode)) {
    throw malformed('user_code');
  }
  const verificationUri = shownUri(answer.verification_uri);
  if (verificationUri === undefined) throw malformed('verification_uri');
  let verificationUriComplete: string | undefined;
  if (answer.verification_uri_complete !== undefined) {
    verificationUriComplete = shownUri(answer.verification_uri_complete);
    if (verificationUriComplete === undefined) throw malformed('verification_uri_complete');
  }
  const expiresIn = answer.expires_in;
  if (typeof expiresIn !== 'number' || !(expiresIn > 0)) throw malformed('expires_in');
  const interval = answer.interval ?? DEFAULT_INTERVAL_S;
  if (typeof interval !== 'number' || !(interval >= 0)) throw malformed('interval');
  return {
    deviceCode,
    // At least a second between polls, whatever the issuer says.
    intervalS: Math.max(1, Math.ceil(interval)),
    prompt: {
      verificationUri,
      ...(verificationUriComplete === undefined ? {} : { verificationUriComplete }),
      userCode,
      expiresIn: Math.min(Math.floor(expiresIn), MAX_EXPIRES_IN_S),
    },
  };
}

type PollAnswer =
  | { readonly kind: 'token'; readonly idToken: string }
  | { readonly kind: 'authorization_pending' | 'slow_down' };

async function poll(
  options: DeviceFlowOptions,
  provider: Provider,
  deviceCode: string,
  verifier: string,
): Promise<PollAnswer> {
  const where = `the OIDC issuer ${quote(options.issuer)}`;
  const response = await send(options, where, {
    method: 'POST',
    url: provider.tokenEndpoint,
    form: {
      grant_type: DEVICE_CODE_GRANT,
      device_code: deviceCode,
      client_id: options.clientId,
      code_verifier: verifier,
    },
    // Asking again is what polling is; a 5xx or a dropped connection is asked again.
    idempotent: true,
  });
  if (response.status === 200) {
    const answer = await jsonOf(response, MAX_TOKEN_RESPONSE_BYTES, `${where}'s token response`);
    const idToken = answer.id_token;
    if (typeof idToken !== 'string' || idToken === '') {
      throw invalid(
        'IDENTITY_TOKEN_INVALID',
        `${where}'s token response has no id_token (was the openid scope granted?)`,
      );
    }
    return { kind: 'token', idToken };
  }
  // RFC 6749 §5.2: an error is a 400 (or 401) with {"error": ..., "error_description": ...}.
  const error = await oauthErrorOf(response);
  switch (error?.code) {
    case 'authorization_pending':
    case 'slow_down':
      return { kind: error.code };
    case 'access_denied':
      throw unavailable(
        'OIDC_ACCESS_DENIED',
        `${where} says the sign-in was denied (access_denied${describe(error)})`,
      );
    case 'expired_token':
      throw unavailable(
        'OIDC_DEVICE_CODE_EXPIRED',
        `${where} says the code expired before the sign-in was approved (expired_token); run the command again`,
      );
    default:
      throw unavailable(
        'IDENTITY_TOKEN_UNAVAILABLE',
        `${where} refused the token request (${response.status}${error === undefined ? '' : ` ${quote(error.code)}${describe(error)}`})`,
      );
  }
}

interface SendRequest {
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  readonly form?: Readonly<Record<string, string>>;
  readonly idempotent: boolean;
}

/**
 * One request to the issuer. The client's failures (network, timeout,
 * redirects) become IDENTITY_TOKEN_UNAVAILABLE naming the issuer; the
 * caller's signal keeps its own error.
 */
async function send(
  options: DeviceFlowOptions,
  where: string,
  request: SendRequest,
): Promise<HttpResponse> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: Uint8Array | undefined;
  if (request.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new TextEncoder().encode(new URLSearchParams(request.form).toString());
    if (options.clientSecret !== undefined) {
      // RFC 6749 §2.3.1: both form-urlencoded, then joined by ':' for HTTP Basic.
      const credentials = `${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
  }
  try {
    return await options.http.send({
      method: request.method,
      url: request.url,
      headers,
      ...(body === undefined ? {} : { body }),
      idempotent: request.idempotent,
      // The device code and the PKCE verifier redeem the token: they stay with the issuer's origin.
      credentialsInBody: body !== undefined,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    if (
      !isVouchError(error) ||
      error.category !== 'unavailable' ||
      hasCode(error, 'DEADLINE_EXCEEDED', 'ABORTED')
    ) {
      throw error;
    }
    throw unavailable('IDENTITY_TOKEN_UNAVAILABLE', `cannot reach ${where}: ${error.message}`, {
      cause: error,
    });
  }
}

/** The answer's body as a JSON object, at most `maxBytes` of it. */
async function jsonOf(
  response: HttpResponse,
  maxBytes: number,
  what: string,
): Promise<Record<string, unknown>> {
  const tooLarge = () =>
    invalid('IDENTITY_TOKEN_INVALID', `${what} is larger than ${maxBytes} bytes`);
  const length = Number(header(response.headers, 'content-length'));
  if (Number.isFinite(length) && length > maxBytes) {
    await discard(response, 0);
    throw tooLarge();
  }
  const bytes = await collect(bodyOf(response), maxBytes, tooLarge);
  let document: unknown;
  try {
    document = parseJson(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalid('IDENTITY_TOKEN_INVALID', `${what} is not JSON`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw invalid('IDENTITY_TOKEN_INVALID', `${what} is not a JSON object`);
  }
  return document as Record<string, unknown>;
}

interface OAuthError {
  readonly code: string;
  readonly description?: string;
}

/** An OAuth error answer's `error` and `error_description`, or undefined for anything else. */
async function oauthErrorOf(response: HttpResponse): Promise<OAuthError | undefined> {
  let answer: Record<string, unknown>;
  try {
    answer = await jsonOf(response, MAX_DEVICE_AUTHORIZATION_BYTES, 'the error');
  } catch (error) {
    if (isVouchError(error) && error.category === 'invalid') return undefined;
    throw error;
  }
  const code = answer.error;
  if (typeof code !== 'string' || code === '') return undefined;
  const description = answer.error_description;
  return { code, ...(typeof description === 'string' ? { description } : {}) };
}

/** The error for an unexpected answer, with the issuer's OAuth error when it sent one. */
async function failure(response: HttpResponse, message: string) {
  const error = await oauthErrorOf(response).catch(() => undefined);
  return unavailable(
    'IDENTITY_TOKEN_UNAVAILABLE',
    error === undefined ? message : `${message}: ${quote(error.code)}${describe(error)}`,
  );
}

function describe(error: OAuthError): string {
  return error.description === undefined ? '' : `: ${quote(error.description)}`;
}

/** An endpoint URL the flow may send to: HTTPS, or HTTP on loopback. */
function endpointOf(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('OIDC_ISSUER_INVALID', `${what} ${quote(text)} is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackRegistry(url.host))) {
    throw invalid(
      'OIDC_ISSUER_INVALID',
      `${what} ${quote(text)} is not HTTPS; only an issuer on loopback may use plain HTTP`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid('OIDC_ISSUER_INVALID', `${what} must not carry credentials in the URL`);
  }
  return url;
}

/** A verification URI to show the user, as an http(s) URL serialised (so escaped); undefined if it is none. */
function shownUri(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackRegistry(url.host))
      ? url.href
      : undefined;
  } catch {
    return undefined;
  }
}

/** The token, if its issuer is the one the flow ran against (go-oidc's verifier checks the same). */
function checkIssuer(idToken: string, issuer: string): string {
  const token = parseIdentityToken(idToken, `the identity token from ${quote(issuer)}`);
  if (token.issuer !== issuer) {
    throw invalid(
      'IDENTITY_TOKEN_INVALID',
      `the identity token the OIDC issuer ${quote(issuer)} returned was issued by ${quote(token.issuer)}`,
    );
  }
  return idToken;
}

/** application/x-www-form-urlencoded, as RFC 6749 Appendix B encodes client credentials. */
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}
