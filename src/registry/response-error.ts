/**
 * Turns an unexpected registry response into an error that names the
 * registry, the repository and what was asked for, carries the registry's own
 * error code (distribution-spec "Error Codes"), and falls in the right
 * category: 404 is the caller's input, 401/403/429/5xx mean the evidence
 * could not be gathered.
 */
import { type CodeOf, invalid, unavailable, type VouchError } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';
import { type HttpResponse, header } from './http.ts';
import { collect } from './verified-content.ts';

/** Registry error bodies are small; anything longer is cut, not read. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface ResponseContext {
  /** `registry/repository`, or just the registry for registry-wide calls. */
  readonly where: string;
  /** What was asked for: `manifest "v1"`, `blob sha256:...`, `tag list`. */
  readonly what: string;
  /** The error code for a 404, which depends on what was asked for. */
  readonly notFoundCode: CodeOf<'invalid'>;
}

export async function responseError(
  response: HttpResponse,
  context: ResponseContext,
): Promise<VouchError> {
  const detail = await readErrorDetail(response);
  const { status } = response;
  const suffix = detail === '' ? '' : `: ${detail}`;
  const base = `${context.where}: ${context.what}`;
  switch (true) {
    case status === 404:
      return invalid(context.notFoundCode, `${base} not found (404)${suffix}`);
    case status === 401:
      return unavailable(
        'UNAUTHORIZED',
        `${base}: authentication required or refused (401)${suffix}; check \`vouch login\``,
      );
    case status === 403:
      return unavailable('FORBIDDEN', `${base}: access denied by the registry (403)${suffix}`);
    case status === 429: {
      const retryAfter = header(response.headers, 'retry-after');
      return unavailable(
        'RATE_LIMITED',
        `${base}: rate limited by the registry (429)${retryAfter === undefined ? '' : `, retry after ${retryAfter}`}${suffix}`,
      );
    }
    case status >= 500:
      return unavailable('REGISTRY_ERROR', `${base}: registry failed with ${status}${suffix}`);
    default:
      return unavailable('UNEXPECTED_RESPONSE', `${base}: unexpected status ${status}${suffix}`);
  }
}

/** The registry's `{"errors":[{code,message}]}` as one line, or the start of a plain-text body. */
async function readErrorDetail(response: HttpResponse): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await collect(response.body, MAX_ERROR_BODY_BYTES, () => new Error('too long'));
  } catch {
    return '';
  }
  const text = Buffer.from(bytes).toString('utf8').trim();
  try {
    const parsed = parseJson(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    if (Array.isArray(parsed.errors)) {
      return parsed.errors
        .map((e) =>
          [e.code, e.message].filter((part) => typeof part === 'string' && part !== '').join(' '),
        )
        .filter((line) => line !== '')
        .join('; ')
        .slice(0, 500);
    }
  } catch {
    // not JSON: fall through to the plain text
  }
  return text.replace(/\s+/g, ' ').slice(0, 200);
}
