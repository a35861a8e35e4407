/**
 * The HTTP side of the webhook: routes, limits and the per-request
 * deadline. `POST /validate` and `POST /mutate` take an AdmissionReview v1;
 * `/healthz`, `/readyz` and `/metrics` are for the kubelet and Prometheus.
 * Anything else gets a plain HTTP error: 404 for an unknown path, 405 for a
 * wrong method, 415 for a body that is not `application/json`, 413 beyond
 * the size cap, 400 for a body that is not a strict AdmissionReview v1.
 *
 * The deadline (8 s unless given, under the API server's 10 s default
 * `timeoutSeconds`; the API server's own `?timeout=` shortens it) makes the
 * webhook answer instead of timing out, as Connaisseur's 29-of-30 s does
 * (docs/formats.md "Kubernetes admission"): images not decided by then are `unavailable`
 * and the failure policy decides. Their verification keeps running and
 * fills the cache, so the API server's retry is fast.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isVouchError, messageOf } from '../core/errors.ts';
import type { ImageDecision } from '../policy/evaluate.ts';
import { type ContainerImage, containerImages } from './containers.ts';
import type { AdmissionLog } from './log.ts';
import type { AdmissionMetrics } from './metrics.ts';
import type { ServedPolicy } from './policy-watch.ts';
import { admissionResponse, type FailurePolicy } from './respond.ts';
import {
  type AdmissionRequest,
  type AdmissionResponse,
  parseAdmissionReview,
  reviewBody,
} from './review.ts';
import type { ImageVerifier } from './verifier.ts';

export interface AdmissionHandlerOptions {
  /** The policy in use now (a PolicyWatch, or a fixed one). */
  readonly policy: { readonly current: ServedPolicy };
  readonly verifier: ImageVerifier;
  readonly metrics: AdmissionMetrics;
  readonly log: AdmissionLog;
  /** What an image that could not be verified gets: `fail` (deny, the default) or `ignore` (admit, warn). */
  readonly failurePolicy?: FailurePolicy;
  /** Longest time to decide a request; 8,000 ms unless given. */
  readonly deadlineMs?: number;
  /** Largest request body; 3 MiB unless given (an object is at most 1.5 MiB in etcd, and UPDATE sends two). */
  readonly maxBodyBytes?: number;
  readonly now?: () => number;
}

export const DEFAULT_DEADLINE_MS = 8_000;
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;
/** Margin kept under the API server's `?timeout=` for writing the answer. */
const TIMEOUT_MARGIN_MS = 500;

type Webhook = 'validate' | 'mutate';

export class AdmissionHandler {
  readonly #options: AdmissionHandlerOptions;
  readonly #deadlineMs: number;
  readonly #maxBodyBytes: number;
  readonly #failurePolicy: FailurePolicy;
  #ready = true;
  /** Responses not yet finished: told to close their connection when draining starts. */
  readonly #open = new Set<ServerResponse>();

  constructor(options: AdmissionHandlerOptions) {
    this.#options = options;
    this.#deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#failurePolicy = options.failurePolicy ?? 'fail';
  }

  /**
   * Shutting down: `/readyz` answers 503 from now on, and every answer, to
   * requests in flight and to any still arriving on open connections, closes
   * its connection (`Connection: close`), so the server can finish without
   * cutting a connection the API server is about to reuse.
   */
  drain(): void {
    this.#ready = false;
    for (const res of this.#open) closeAfter(res);
  }

  /** Requests being answered now. */
  get inFlight(): number {
    return this.#open.size;
  }

  /** The request listener for node:https. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    this.#open.add(res);
    res.once('close', () => this.#open.delete(res));
    if (!this.#ready) closeAfter(res);
    this.#route(req, res).catch((error: unknown) => {
      this.#options.log({ level: 'error', msg: 'request failed', error: messageOf(error) });
      if (!res.headersSent) plain(res, 500, 'internal error\n');
      else res.destroy();
    });
  };

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, timeout } = requestTarget(req.url ?? '/');
    if (path === '/healthz' || path === '/readyz' || path === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
      req.resume();
      if (path === '/healthz') return plain(res, 200, 'ok\n');
      if (path === '/readyz')
        return this.#ready ? plain(res, 200, 'ready\n') : plain(res, 503, 'draining\n');
      return plain(
        res,
        200,
        this.#options.metrics.render(),
        'text/plain; version=0.0.4; charset=utf-8',
      );
    }
    if (path !== '/validate' && path !== '/mutate') {
      req.resume();
      return plain(res, 404, `no such endpoint: ${path}\n`);
    }
    if (req.method !== 'POST') {
      req.resume();
      return methodNotAllowed(res, 'POST');
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/json') {
      req.resume();
      return plain(res, 415, 'an AdmissionReview must be sent as application/json\n');
    }
    const started = (this.#options.now ?? performance.now.bind(performance))();
    const body = await readBody(req, this.#maxBodyBytes);
    if (body === 'too large') {
      return plain(res, 413, `the body is larger than ${this.#maxBodyBytes} bytes\n`);
    }
    let request: AdmissionRequest;
    try {
      request = parseAdmissionReview(body);
    } catch (error) {
      if (!isVouchError(error)) throw error;
      this.#options.metrics.decisions.inc({ webhook: path.slice(1), result: 'error' });
      return plain(res, 400, `${error.message}\n`);
    }
    const webhook: Webhook = path === '/mutate' ? 'mutate' : 'validate';
    const deadlineMs = Math.min(this.#deadlineMs, apiServerTimeout(timeout) ?? Infinity);
    const response = await this.#review(request, webhook, deadlineMs, started);
    // With its length given, Node sends headers and body in one write, as
    // for every other answer here, instead of chunked framing.
    plain(res, 200, reviewBody(response), 'application/json');
  }

  async #review(
    request: AdmissionRequest,
    webhook: Webhook,
    deadlineMs: number,
    started: number,
  ): Promise<AdmissionResponse> {
    const served = this.#options.policy.current;
    const { metrics } = this.#options;
    const containers = checkedContainers(request);
    const decisions = new Map<string, ImageDecision>();
    let deadlineExceeded = false;
    if (containers.length > 0) {
      const images = [...new Set(containers.map((c) => c.image))];
      const pending = images.map((image) =>
        this.#options.verifier.decide(served, image, request.namespace).then((decision) => {
          decisions.set(image, decision);
        }),
      );
      // The deadline counts from the request's arrival: reading the body used some of it.
      const elapsed = (this.#options.now ?? performance.now.bind(performance))() - started;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), Math.max(0, deadlineMs - elapsed));
      });
      try {
        deadlineExceeded = (await Promise.race([Promise.all(pending), deadline])) === 'deadline';
      } finally {
        clearTimeout(timer);
      }
      if (deadlineExceeded) metrics.deadlines.inc();
      for (const image of images) {
        if (!decisions.has(image)) {
          const message = `not verified within the webhook's deadline of ${deadlineMs} ms`;
          decisions.set(
            image,
            this.#options.verifier.timedOut(served.policy, image, request.namespace, message),
          );
        }
      }
    }
    // Every image in the same order as found, whatever finished first.
    const ordered = new Map(
      [...new Set(containers.map((c) => c.image))].map((image) => [
        image,
        decisions.get(image) as ImageDecision,
      ]),
    );
    const response = admissionResponse({
      uid: request.uid,
      subject: subjectOf(request),
      containers,
      decisions: ordered,
      failurePolicy: this.#failurePolicy,
      mutate: webhook === 'mutate',
      policyRevision: served.policy.revision,
    });
    const seconds = ((this.#options.now ?? performance.now.bind(performance))() - started) / 1000;
    const result = !response.allowed
      ? 'denied'
      : response.warnings === undefined
        ? 'allowed'
        : 'warned';
    metrics.decisions.inc({ webhook, result });
    metrics.latency.observe(seconds, { webhook });
    for (const decision of ordered.values()) metrics.images.inc({ result: decision.result });
    this.#options.log({
      level: 'info',
      msg: 'admission decision',
      webhook,
      uid: request.uid,
      operation: request.operation,
      kind: request.kind.kind,
      subResource: request.subResource,
      namespace: request.namespace,
      name: request.name,
      allowed: response.allowed,
      ...(response.status === undefined ? {} : { message: response.status.message }),
      ...(response.warnings === undefined ? {} : { warnings: response.warnings }),
      patched: response.patch !== undefined,
      deadlineExceeded,
      durationMs: Math.round(seconds * 1e6) / 1e3,
      policy: served.policy.revision,
      images: [...ordered.values()].map((d) => ({
        image: d.image,
        ...(d.digest === undefined ? {} : { digest: d.digest }),
        rule: d.rule,
        result: d.result,
        reason: d.reason,
      })),
    });
    return response;
  }
}

/**
 * The containers to check: on CREATE and UPDATE of a workload, or of a
 * Pod's ephemeralcontainers. DELETE and CONNECT run nothing new; `status`
 * and `scale` subresources cannot change an image.
 */
function checkedContainers(request: AdmissionRequest): ContainerImage[] {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return [];
  if (request.subResource !== '' && request.subResource !== 'ephemeralcontainers') return [];
  return containerImages(request) ?? [];
}

function subjectOf(request: AdmissionRequest): string {
  const name = request.name === '' ? '(new)' : request.name;
  const kind =
    request.subResource === '' ? request.kind.kind : `${request.kind.kind}/${request.subResource}`;
  return request.namespace === '' ? `${kind} ${name}` : `${kind} ${request.namespace}/${name}`;
}

/** A path the API server calls as is: nothing for WHATWG URL parsing to normalise or decode. */
const PLAIN_PATH = /^\/[a-z]+$/;
/** A query with nothing to decode. */
const PLAIN_QUERY = /^[-a-zA-Z0-9_.=&]*$/;

/**
 * The request target's path and `timeout` parameter, as `new URL(target,
 * base)` would read them. The API server sends `/validate?timeout=10s`; that
 * is read without a URL object per request (issue 15: allocation per
 * review). Anything else, such as dot segments or percent escapes, goes
 * through WHATWG URL parsing as before.
 */
export function requestTarget(target: string): { path: string; timeout: string | undefined } {
  const mark = target.indexOf('?');
  const path = mark < 0 ? target : target.slice(0, mark);
  const rawQuery = mark < 0 ? '' : target.slice(mark + 1);
  if (PLAIN_PATH.test(path) && PLAIN_QUERY.test(rawQuery)) {
    let timeout: string | undefined;
    for (const pair of rawQuery.split('&')) {
      const equals = pair.indexOf('=');
      // URLSearchParams.get answers the first match.
      if ((equals < 0 ? pair : pair.slice(0, equals)) === 'timeout') {
        timeout = equals < 0 ? '' : pair.slice(equals + 1);
        break;
      }
    }
    return { path, timeout };
  }
  const url = new URL(target, 'https://webhook.invalid');
  return { path: url.pathname, timeout: url.searchParams.get('timeout') ?? undefined };
}

/** The API server's own timeout for this call (`?timeout=10s`), less a margin to answer in. */
function apiServerTimeout(timeout: string | undefined): number | undefined {
  const match = /^([0-9]+)s$/.exec(timeout ?? '');
  return match === null ? undefined : Number(match[1]) * 1000 - TIMEOUT_MARGIN_MS;
}

/** The body, or `'too large'` as soon as it passes `max` bytes (a declared length is checked first). */
function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | 'too large'> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? NaN) > max) {
      req.resume();
      resolve('too large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) {
        chunks.push(chunk);
        return;
      }
      // Stop keeping it and answer now; the rest drains (bounded by the request timeout).
      req.off('data', onData);
      req.resume();
      chunks.length = 0;
      resolve('too large');
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function closeAfter(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
}

function plain(
  res: ServerResponse,
  status: number,
  text: string,
  type = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  plain(res, 405, `method not allowed; use ${allow}\n`);
}
