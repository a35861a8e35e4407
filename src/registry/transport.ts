/**
 * One HTTP exchange, nothing more: redirects, retries and credentials are the
 * caller's (http.ts). Two implementations, chosen by the work ahead:
 *
 * - `node` (node-transport.ts): Node's built-in http/https, free to load, for
 *   commands that make a handful of requests and exit;
 * - `undici` (undici-transport.ts): loaded on first use (60-90 ms), and then
 *   the faster client for sustained traffic (copies, many images, servers).
 *
 * Both keep connections alive, bound the connections per origin, give up on
 * response headers after `headersTimeoutMs` and on a body that stays silent
 * for `bodyTimeoutMs`.
 */
import type { Readable } from 'node:stream';

export type TransportKind = 'node' | 'undici';

export interface TransportOptions {
  readonly ca?: string;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly connectionsPerOrigin: number;
}

export interface TransportRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | AsyncIterable<Uint8Array> | undefined;
  readonly signal: AbortSignal | undefined;
}

export interface TransportResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Readable;
}

export interface Transport {
  send(request: TransportRequest): Promise<TransportResponse>;
  close(): Promise<void>;
}
