/**
 * The HTTP layer under the registry client: keep-alive connections bounded
 * per origin (node-transport.ts), a time bound on every request as a whole,
 * retries with backoff only where a retry is safe and useful and only while
 * that bound lasts, and redirects followed by hand so credentials never
 * leave the origin they were meant for.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortError } from '../core/abort.ts';
import { hasCode, isVouchError, messageOf, unavailable, type VouchError } from '../core/errors.ts';
import { NodeTransport } from './node-transport.ts';
import type { Transport, TransportKind } from './transport.ts';
import { UndiciTransport } from './undici-transport.ts';

export interface HttpOptions {
  /** PEM CA certificates trusted in addition to Node's bundled roots. */
  readonly ca?: string;
  /**
   * The longest one request may take, from sending it to the last byte of
   * its answer, redirects, retries and the waits between them included; 30 s
   * unless given. A body that keeps dripping is cut when it runs out, not
   * only one that falls silent. Blob transfers (`bulk`) are exempt: their
   * length is the caller's to bound, and `signal` bounds their time.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Stops every request of this client, in flight or still to come (a
   * command's overall deadline): they fail with `abortError` of it
   * (`DEADLINE_EXCEEDED` for `AbortSignal.timeout`).
   */
  readonly signal?: AbortSignal;
  /** Time to wait for response headers, per attempt. */
  readonly headersTimeoutMs?: number;
  /** Longest silence allowed while a body streams. */
  readonly bodyTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Connections kept per origin; requests beyond it queue. */
  readonly connectionsPerOrigin?: number;
  /** Attempts after the first, for idempotent requests that failed with 429, 5xx or a network error. */
  readonly retries?: number;
  readonly retryBaseDelayMs?: number;
  /** A `Retry-After` longer than this fails at once instead of stalling the caller. */
  readonly maxRetryAfterMs?: number;
  readonly maxRedirects?: number;
  readonly userAgent?: string;
  /**
   * `undici` (default) for sustained traffic; `node` for a few requests from
   * a short-lived process, where undici's load time would dominate
   * (transport.ts).
   */
  readonly transport?: TransportKind;
}

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  readonly method: HttpMethod;
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * A buffered body can be replayed, so such requests are retried and may
   * follow 307/308 redirects; a streamed body is sent exactly once.
   */
  readonly body?: Uint8Array | AsyncIterable<Uint8Array>;
  /** Whether repeating the request is harmless (GET, HEAD, PUT of a manifest, DELETE). */
  readonly idempotent?: boolean;
  /**
   * A blob transfer, whose time grows with a size the caller bounds: not
   * held to `requestTimeoutMs`, only to the headers and silence timeouts and
   * the signals.
   */
  readonly bulk?: boolean;
  /**
   * The body carries a credential (an OAuth2 refresh token): it is never
   * sent to another origin, so a redirect that would replay it elsewhere is
   * refused, as the Authorization header would be dropped.
   */
  readonly credentialsInBody?: boolean;
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  /** The URL that answered, after redirects. */
  readonly url: URL;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Readable;
}

/** Connections kept per registry origin unless told otherwise. */
export const DEFAULT_CONNECTIONS_PER_ORIGIN = 16;

/**
 * Images verified at once unless told otherwise: as many as the HTTP client
 * keeps connections per registry, so every connection is busy. Each
 * verification is a chain of dependent requests (tag, signature manifest,
 * payload or envelope), so fewer in flight leave the registry idle between
 * them; the bench measured 16 about 15% faster than 8 on a local registry.
 */
export const DEFAULT_VERIFY_CONCURRENCY = DEFAULT_CONNECTIONS_PER_ORIGIN;

/** Headers that carry credentials: dropped when a redirect leaves the origin. */
const SENSITIVE_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export class HttpClient {
  readonly #transport: Transport;
  readonly #requestTimeoutMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #retries: number;
  readonly #retryBaseDelayMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #maxRedirects: number;
  readonly #userAgent: string;

  constructor(options: HttpOptions = {}) {
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    const transportOptions = {
      headersTimeoutMs: options.headersTimeoutMs ?? Math.min(30_000, this.#requestTimeoutMs),
      bodyTimeoutMs: options.bodyTimeoutMs ?? 60_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      connectionsPerOrigin: options.connectionsPerOrigin ?? DEFAULT_CONNECTIONS_PER_ORIGIN,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    };
    this.#transport =
      options.transport === 'node'
        ? new NodeTransport(transportOptions)
        : new UndiciTransport(transportOptions);
    this.#signal = options.signal;
    this.#retries = options.retries ?? 3;
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? 250;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.#maxRedirects = options.maxRedirects ?? 5;
    this.#userAgent = options.userAgent ?? 'vouch';
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  /**
   * Sends a request, following redirects and retrying as allowed. The caller
   * owns the returned body and must consume or destroy it; it is cut when
   * the request's time runs out or a signal stops it.
   */
  async send(request: HttpRequest): Promise<HttpResponse> {
    const replayable = request.body === undefined || request.body instanceof Uint8Array;
    const retryable = (request.idempotent ?? false) && replayable;
    const limitMs = request.bulk === true ? Infinity : this.#requestTimeoutMs;
    const bound = boundRequest(request, this.#signal, limitMs);
    const { signal, stopped } = bound;
    const pause = async (ms: number) => {
      try {
        await sleep(ms, undefined, { signal });
      } catch {
        throw stopped();
      }
    };
    try {
      for (let attempt = 0; ; attempt++) {
        let response: HttpResponse;
        try {
          response = await this.#followRedirects(request, replayable, signal, stopped);
        } catch (error) {
          if (signal.aborted) throw error;
          const wait = this.#backoff(attempt);
          if (
            retryable &&
            attempt < this.#retries &&
            isRetryableNetworkError(error) &&
            bound.worthWaiting(wait)
          ) {
            await pause(wait);
            continue;
          }
          throw error;
        }
        if (
          retryable &&
          attempt < this.#retries &&
          (response.status === 429 || response.status >= 500)
        ) {
          const wait = retryAfterMs(response.headers['retry-after']) ?? this.#backoff(attempt);
          if (wait <= this.#maxRetryAfterMs && bound.worthWaiting(wait)) {
            await discard(response);
            await pause(wait);
            continue;
          }
        }
        // The bound holds until the body is read or dropped.
        if (response.body.destroyed) bound.release();
        else response.body.once('close', bound.release);
        return response;
      }
    } catch (error) {
      bound.release();
      throw error;
    }
  }

  async #followRedirects(
    request: HttpRequest,
    replayable: boolean,
    signal: AbortSignal,
    stopped: () => VouchError,
  ): Promise<HttpResponse> {
    let url = request.url;
    let method = request.method;
    let body = request.body;
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...request.headers };
    for (let redirects = 0; ; redirects++) {
      const response = await this.#once(method, url, headers, body, signal, stopped);
      const location = header(response.headers, 'location');
      if (!REDIRECT_STATUSES.has(response.status) || location === undefined) return response;
      await discard(response);
      if (redirects >= this.#maxRedirects) {
        throw unavailable(
          'TOO_MANY_REDIRECTS',
          `${request.url.host}: more than ${this.#maxRedirects} redirects for ${request.url.pathname}`,
        );
      }
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw unavailable(
          'REDIRECT_REFUSED',
          `${url.host} redirected to a ${next.protocol} URL, which vouch does not follow`,
        );
      }
      if (url.protocol === 'https:' && next.protocol === 'http:') {
        throw unavailable(
          'REDIRECT_REFUSED',
          `${url.host} redirected from HTTPS to plain HTTP (${next.host}); refusing the downgrade`,
        );
      }
      const keepsBody = !(
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && method === 'POST')
      );
      if (next.origin !== url.origin) {
        // Credentials are for the origin that asked for them (RFC 9110 §15.4 leaves
        // this to the client; Docker and sigstore-js strip them the same way).
        for (const name of SENSITIVE_HEADERS) delete headers[name];
        if (keepsBody && body !== undefined && request.credentialsInBody === true) {
          throw unavailable(
            'REDIRECT_REFUSED',
            `${url.host} redirected a request carrying credentials to ${next.host}; they are not sent to another origin`,
          );
        }
      }
      if (!keepsBody) {
        method = 'GET';
        body = undefined;
        delete headers['content-type'];
        delete headers['content-length'];
      } else if (body !== undefined && !replayable) {
        throw unavailable(
          'REDIRECT_REFUSED',
          `${url.host} redirected an upload to ${next.host}; a streamed body cannot be sent twice`,
        );
      }
      url = next;
    }
  }

  /**
   * One exchange. The transport gets a signal of its own, aborted only after
   * the body (if any) was destroyed with our error, so whoever reads the
   * body learns why it was cut rather than the transport's "aborted".
   */
  async #once(
    method: HttpMethod,
    url: URL,
    headers: Record<string, string>,
    body: Uint8Array | AsyncIterable<Uint8Array> | undefined,
    signal: AbortSignal,
    stopped: () => VouchError,
  ): Promise<HttpResponse> {
    if (signal.aborted) throw stopped();
    const exchange = new AbortController();
    let responseBody: Readable | undefined;
    const onAbort = () => {
      const error = stopped();
      if (responseBody !== undefined && !responseBody.destroyed) {
        // Whoever reads the body has its own listener and gets the error;
        // a body nobody reads must not crash the process with it.
        responseBody.on('error', () => {});
        responseBody.destroy(error);
      }
      exchange.abort(error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await this.#transport.send({
        method,
        url,
        headers,
        body,
        signal: exchange.signal,
      });
      responseBody = response.body;
      const release = () => signal.removeEventListener('abort', onAbort);
      if (response.body.destroyed) release();
      else response.body.once('close', release);
      return { status: response.status, url, headers: response.headers, body: response.body };
    } catch (error) {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) throw stopped();
      // A streamed body that fails its own verification (a blob not matching its
      // digest) surfaces here; that is the content's fault, not the network's.
      if (isVouchError(error)) throw error;
      throw unavailable(
        'NETWORK_ERROR',
        `could not reach ${url.host}: ${describeNetworkError(error)}`,
        { cause: error },
      );
    }
  }

  #backoff(attempt: number): number {
    const base = this.#retryBaseDelayMs * 2 ** attempt;
    return base + Math.floor(Math.random() * base);
  }
}

/** Timers take at most 2^31 - 1 ms; a longer bound is no bound. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface RequestBound {
  /** Aborted when the request's time runs out or a caller's signal fires. */
  readonly signal: AbortSignal;
  /** The error for a request this bound stopped, saying which did. */
  readonly stopped: () => VouchError;
  /** Whether waiting `ms` before another attempt leaves it time to finish. */
  worthWaiting(ms: number): boolean;
  /** Ends the bound: its timer and its listeners on the callers' signals. */
  readonly release: () => void;
}

/**
 * One request's bound: `limitMs` from now, and the callers' signals. A
 * timer and listeners removed as soon as the request is over, rather than
 * `AbortSignal.timeout` and `AbortSignal.any`: those cannot be cancelled,
 * so every request would leave a live timer for the whole bound behind it,
 * and together they took ~40 µs a request against ~2 µs for these when
 * measured on the benchmark machine, a few per cent of a manifest GET.
 */
function boundRequest(
  request: HttpRequest,
  clientSignal: AbortSignal | undefined,
  limitMs: number,
): RequestBound {
  const callers = [request.signal, clientSignal].filter((s) => s !== undefined);
  const stop = new AbortController();
  const abort = () => stop.abort();
  const endsAt = performance.now() + limitMs;
  const timer = limitMs <= MAX_TIMER_MS ? setTimeout(abort, limitMs) : undefined;
  timer?.unref();
  for (const caller of callers) {
    if (caller.aborted) stop.abort();
    else caller.addEventListener('abort', abort, { once: true });
  }
  return {
    signal: stop.signal,
    stopped: () => {
      const what = `${request.method} ${request.url.host}${request.url.pathname}`;
      const caller = callers.find((s) => s.aborted);
      if (caller !== undefined) return abortError(caller, what);
      return unavailable(
        'NETWORK_ERROR',
        `${request.url.host}: ${request.method} ${request.url.pathname} did not finish within ${limitMs} ms`,
      );
    },
    worthWaiting: (ms) => performance.now() + ms < endsAt,
    release: () => {
      clearTimeout(timer);
      for (const caller of callers) caller.removeEventListener('abort', abort);
    },
  };
}

/**
 * Drops a response body we do not need. A body that announces a small length
 * is drained so the connection can be reused; one that announces more than
 * `limit`, or no length at all, closes the connection at once rather than
 * waiting on a server that may never finish.
 */
export async function discard(response: HttpResponse, limit = 64 * 1024): Promise<void> {
  const length = Number(header(response.headers, 'content-length'));
  if (response.body.readableEnded) return;
  if (!(length <= limit)) {
    // undici's body raises an abort error when destroyed; nobody else is listening.
    response.body.on('error', () => {});
    response.body.destroy();
    return;
  }
  try {
    for await (const _chunk of response.body) {
      // drained so the socket returns to the pool
    }
  } catch {
    // a body that fails while being thrown away changes nothing
  }
}

/**
 * The response body as a stream whose failures (a body timeout, a connection
 * reset mid-body) are `NETWORK_ERROR`s like any other transport failure, not
 * raw undici errors without a category.
 */
export async function* bodyOf(response: HttpResponse): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of response.body) yield chunk as Uint8Array;
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw unavailable(
      'NETWORK_ERROR',
      `${response.url.host}: reading the response to ${response.url.pathname} failed: ${describeNetworkError(error)}`,
      { cause: error },
    );
  }
}

/** A header's single value; repeated headers take the first. */
export function header(headers: HttpResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The HTTP-date forms (RFC 9110 §5.6.7): IMF-fixdate, RFC 850, and asctime
 * (which is GMT but says so nowhere). Checked before `Date.parse`, which reads
 * junk such as `1.5` or `foo 2099` as dates.
 */
const IMF_OR_RFC850_DATE =
  /^(?:[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4}|[A-Z][a-z]{5,8}, \d{2}-[A-Z][a-z]{2}-\d{2}) \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/** `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), in milliseconds. */
export function retryAfterMs(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = IMF_OR_RFC850_DATE.test(text)
    ? Date.parse(text)
    : ASCTIME_DATE.test(text)
      ? Date.parse(`${text} GMT`)
      : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function isRetryableNetworkError(error: unknown): boolean {
  if (!hasCode(error, 'NETWORK_ERROR')) return false;
  const cause = error.cause as { code?: string } | undefined;
  // TLS failures will not heal by retrying. (A stopped request never gets
  // here: `send` gives up as soon as its signal has fired.)
  return !String(cause?.code ?? '').startsWith('ERR_TLS') && !isTlsFailure(cause);
}

export function isTlsFailure(error: unknown): boolean {
  const code = String((error as { code?: unknown } | undefined)?.code ?? '');
  const message = messageOf(error);
  return (
    code.startsWith('ERR_SSL') ||
    code.startsWith('ERR_TLS') ||
    code === 'EPROTO' ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'CERT_HAS_EXPIRED' ||
    /wrong version number|ssl|tls|certificate/i.test(message)
  );
}

function describeNetworkError(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = messageOf(error);
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}
