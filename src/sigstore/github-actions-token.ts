/**
 * The identity token GitHub Actions gives a job that has `permissions:
 * id-token: write`: a GET of the URL in `ACTIONS_ID_TOKEN_REQUEST_URL` with
 * `&audience=<audience>` appended, authorized by `bearer
 * $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answered with `{"value": "<JWT>"}`
 * (sigstore/cosign pkg/providers/github/github.go `Provide`; actions/toolkit
 * packages/core/src/oidc-utils.ts `OidcClient.getIDToken`). The caller reads the
 * environment and passes its values in.
 *
 * The request token is a credential: it goes only to the request URL's
 * origin (the HTTP client drops the Authorization header on a redirect to
 * another origin), over HTTPS unless the URL is on loopback, and no message
 * names it. The request URL's query is not in messages either.
 *
 * Errors (VouchError):
 * - `unavailable` IDENTITY_TOKEN_UNAVAILABLE: the service could not be
 *   reached or answered anything but 200 (the status is in the message);
 *   DEADLINE_EXCEEDED / ABORTED when `signal` stopped it;
 * - `invalid` IDENTITY_TOKEN_INVALID: the request URL is unusable, or the
 *   answer is not JSON with a token in `value`.
 */
import { hasCode, invalid, isVouchError, unavailable } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';
import { isLoopbackRegistry } from '../oci/reference.ts';
import { bodyOf, discard, type HttpClient } from '../registry/http.ts';
import { collect } from '../registry/verified-content.ts';
import { MAX_IDENTITY_TOKEN_BYTES } from './identity-token.ts';

export interface GithubActionsTokenOptions {
  /** `$ACTIONS_ID_TOKEN_REQUEST_URL`. */
  readonly requestUrl: string;
  /** `$ACTIONS_ID_TOKEN_REQUEST_TOKEN`. */
  readonly requestToken: string;
  /** The token's audience: `sigstore` for Fulcio. */
  readonly audience: string;
  readonly http: HttpClient;
  readonly signal?: AbortSignal;
}

/** The answer holds one token and a count; room for a token at its cap and then some. */
const MAX_RESPONSE_BYTES = 2 * MAX_IDENTITY_TOKEN_BYTES;

/** Fetches the job's identity token for `audience`; returns it unchecked (identity-token.ts checks). */
export async function fetchGithubActionsToken(options: GithubActionsTokenOptions): Promise<string> {
  const url = requestUrlOf(options.requestUrl, options.audience);
  const where = `GitHub Actions' token service (${url.host})`;
  let body: Uint8Array;
  try {
    const response = await options.http.send({
      method: 'GET',
      url,
      headers: { accept: 'application/json', authorization: `bearer ${options.requestToken}` },
      idempotent: true,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (response.status !== 200) {
      await discard(response);
      throw unavailable(
        'IDENTITY_TOKEN_UNAVAILABLE',
        `${where} answered ${response.status}${hint(response.status)}`,
      );
    }
    body = await collect(bodyOf(response), MAX_RESPONSE_BYTES, () =>
      invalid('IDENTITY_TOKEN_INVALID', `${where} sent more than ${MAX_RESPONSE_BYTES} bytes`),
    );
  } catch (error) {
    // The client's own failures (network, redirects) say where; the caller learns it was this.
    if (
      !isVouchError(error) ||
      error.category !== 'unavailable' ||
      hasCode(error, 'DEADLINE_EXCEEDED', 'ABORTED', 'IDENTITY_TOKEN_UNAVAILABLE')
    ) {
      throw error;
    }
    throw unavailable(
      'IDENTITY_TOKEN_UNAVAILABLE',
      `cannot get a token from ${where}: ${error.message}`,
      {
        cause: error,
      },
    );
  }
  return tokenOf(body, where);
}

/**
 * The request URL with `audience` appended to its query as cosign and the
 * toolkit append it (`&audience=`), the rest of the URL exactly as given.
 */
function requestUrlOf(requestUrl: string, audience: string): URL {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw invalid(
      'IDENTITY_TOKEN_INVALID',
      'the GitHub Actions token request URL (ACTIONS_ID_TOKEN_REQUEST_URL) is not a URL',
    );
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackRegistry(url.host))) {
    throw invalid(
      'IDENTITY_TOKEN_INVALID',
      `the GitHub Actions token request URL (ACTIONS_ID_TOKEN_REQUEST_URL) is not HTTPS (${url.protocol}//${url.host}); its request token is sent only over HTTPS`,
    );
  }
  const parameter = `audience=${encodeURIComponent(audience)}`;
  url.search = url.search === '' ? `?${parameter}` : `${url.search}&${parameter}`;
  return url;
}

function hint(status: number): string {
  return status === 401 || status === 403
    ? ": the request token was refused (does the job have `permissions: id-token: write`, and is the token still the job's?)"
    : '';
}

function tokenOf(body: Uint8Array, where: string): string {
  let document: unknown;
  try {
    document = parseJson(Buffer.from(body).toString('utf8'));
  } catch {
    throw invalid('IDENTITY_TOKEN_INVALID', `${where} answered with something that is not JSON`);
  }
  const value =
    typeof document === 'object' && document !== null && !Array.isArray(document)
      ? (document as { value?: unknown }).value
      : undefined;
  if (typeof value !== 'string' || value === '') {
    throw invalid('IDENTITY_TOKEN_INVALID', `${where} answered without a token ("value")`);
  }
  return value;
}
