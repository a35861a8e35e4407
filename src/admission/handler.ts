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
import type { DecisionResult } from '../policy/evidence.ts';
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
  readonly #now: () => number;
  #ready = true;
  /** Responses not yet finished: told to close their connection when draining starts. */
  readonly #open = new Set<ServerResponse>();

  constructor(options: AdmissionHandlerOptions) {
    this.#options = options;
    this.#deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#failurePolicy = options.failurePolicy ?? 'fail';
    this.#now = options.now ?? (() => performance.now());
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
    if (!isJson(req.headers['content-type'])) {
      req.resume();
      return plain(res, 415, 'an AdmissionReview must be sent as application/json\n');
    }
    const started = this.#now();
    const body = await readBody(req, this.#maxBodyBytes);
    if (body === 'too large') {
      return plain(res, 413, `the body is larger than ${this.#maxBodyBytes} bytes\n`);
    }
    let request: AdmissionRequest;
    try {
      request = parseAdmissionReview(body);
    } catch (error) {
      if (!isVouchError(error)) throw error;
      this.#options.metrics.decisions.inc(
        DECISION_LABELS[path === '/mutate' ? 'mutate' : 'validate'].error,
      );
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
    // Every distinct image, in the order found, whatever finished first;
    // filled in place (setting an existing key keeps its position).
    const ordered = new Map<string, ImageDecision | undefined>();
    for (const container of containers) ordered.set(container.image, undefined);
    let deadlineExceeded = false;
    if (ordered.size > 0) {
      // The deadline counts from the request's arrival: reading the body used some of it.
      const left = Math.max(0, deadlineMs - (this.#now() - started));
      deadlineExceeded = !(await this.#decideAll(served, ordered, request.namespace, left));
      // In time, every image has its decision; after the deadline, the rest get one.
      if (deadlineExceeded) {
        metrics.deadlines.inc();
        const message = `not verified within the webhook's deadline of ${deadlineMs} ms`;
        for (const [image, decision] of ordered) {
          if (decision !== undefined) continue;
          ordered.set(
            image,
            this.#options.verifier.timedOut(served.policy, image, request.namespace, message),
          );
        }
      }
    }
    const response = admissionResponse({
      uid: request.uid,
      subject: subjectOf(request),
      containers,
      decisions: ordered as ReadonlyMap<string, ImageDecision>,
      failurePolicy: this.#failurePolicy,
      mutate: webhook === 'mutate',
      policyRevision: served.policy.revision,
    });
    const seconds = (this.#now() - started) / 1000;
    const result = !response.allowed
      ? 'denied'
      : response.warnings === undefined
        ? 'allowed'
        : 'warned';
    metrics.decisions.inc(DECISION_LABELS[webhook][result]);
    metrics.latency.observe(seconds, WEBHOOK_LABELS[webhook]);
    const images: LoggedImage[] = [];
    for (const decision of ordered.values() as Iterable<ImageDecision>) {
      metrics.images.inc(IMAGE_LABELS[decision.result]);
      images.push({
        image: decision.image,
        // Absent from the line when undefined (JSON.stringify leaves it out).
        digest: decision.digest,
        rule: decision.rule,
        result: decision.result,
        reason: decision.reason,
      });
    }
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
      message: response.status?.message,
      warnings: response.warnings,
      patched: response.patch !== undefined,
      deadlineExceeded,
      durationMs: Math.round(seconds * 1e6) / 1e3,
      policy: served.policy.revision,
      images,
    });
    return response;
  }

  /**
   * Decides each image of `ordered`, filling it in, for at most `ms`: true
   * when all were decided in time, false when the deadline came first (the
   * rest keep running and fill the cache, so the API server's retry is
   * fast). One timer and one promise per request, not a race of promise
   * combinators.
   */
  #decideAll(
    served: ServedPolicy,
    ordered: Map<string, ImageDecision | undefined>,
    namespace: string,
    ms: number,
  ): Promise<boolean> {
    return new Promise((resolve, reject) => {
      let left = ordered.size;
      let open = true;
      const timer = setTimeout(() => {
        open = false;
        resolve(false);
      }, ms);
      for (const image of ordered.keys()) {
        this.#options.verifier.decide(served, image, namespace).then(
          (decision) => {
            if (!open) return;
            ordered.set(image, decision);
            if (--left > 0) return;
            open = false;
            clearTimeout(timer);
            resolve(true);
          },
          (error: unknown) => {
            if (!open) return;
            open = false;
            clearTimeout(timer);
            reject(error);
          },
        );
      }
    });
  }
}

/** One image of the decision log line. */
interface LoggedImage {
  readonly image: string;
  readonly digest: string | undefined;
  readonly rule: string | null;
  readonly result: DecisionResult;
  readonly reason: string;
}

/**
 * Metric label sets, made once: a counter remembers the series of a frozen
 * label object, so an increment with one of these builds no series key
 * (issue 15: allocation per review).
 */
const WEBHOOK_LABELS = {
  validate: Object.freeze({ webhook: 'validate' }),
  mutate: Object.freeze({ webhook: 'mutate' }),
} as const;
const decisionLabels = (webhook: Webhook) =>
  Object.freeze({
    allowed: Object.freeze({ webhook, result: 'allowed' }),
    warned: Object.freeze({ webhook, result: 'warned' }),
    denied: Object.freeze({ webhook, result: 'denied' }),
    error: Object.freeze({ webhook, result: 'error' }),
  });
const DECISION_LABELS = {
  validate: decisionLabels('validate'),
  mutate: decisionLabels('mutate'),
} as const;
const IMAGE_LABELS: Readonly<Record<DecisionResult, Readonly<Record<string, string>>>> = {
  allowed: Object.freeze({ result: 'allowed' }),
  warned: Object.freeze({ result: 'warned' }),
  denied: Object.freeze({ result: 'denied' }),
  unavailable: Object.freeze({ result: 'unavailable' }),
};

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

/**
 * Whether a Content-Type header names `application/json` (parameters such
 * as `charset` allowed, case and surrounding blanks ignored), read without
 * splitting it into an array per request.
 */
export function isJson(header: string | undefined): boolean {
  if (header === 'application/json') return true;
  if (header === undefined) return false;
  const semicolon = header.indexOf(';');
  const type = semicolon < 0 ? header : header.slice(0, semicolon);
  return type.trim().toLowerCase() === 'application/json';
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
  // test and parseInt (which stops at the `s`), not exec: no match array per review.
  if (timeout === undefined || !/^[0-9]+s$/.test(timeout)) return undefined;
  return Number.parseInt(timeout, 10) * 1000 - TIMEOUT_MARGIN_MS;
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
    // One chunk (the usual review) is the body as it is, not copied.
    req.once('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)),
    );
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
