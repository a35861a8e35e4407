/**
 * The transport for short work: Node's own `http`/`https` modules, already in
 * Node's startup snapshot, so a one-shot `vouch verify` pays nothing to load
 * its HTTP client (undici takes 60-90 ms to load, more than Node's own start;
 * docs/benchmarks.md). Keep-alive agents reuse connections, with a bound on
 * sockets per origin.
 */
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type {
  Transport,
  TransportOptions,
  TransportRequest,
  TransportResponse,
} from './transport.ts';

// `import ... from 'node:http'` builds an ESM facade that reads every export,
// and node:http's lazy WebSocket/MessageEvent getters then load Node's bundled
// undici (~20 ms). Taking the CommonJS module object reads nothing.
// node:https (and node:tls under it) is taken only when a request needs it: a
// plain-HTTP loopback registry never does, and loading them costs a one-shot
// command several milliseconds.
const http = process.getBuiltinModule('node:http');
const httpsModule = () => process.getBuiltinModule('node:https');

/** An error of the transport itself, with a Node-style `code` for callers that classify failures. */
export class TransportError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'TransportError';
    this.code = code;
  }
}

export class NodeTransport implements Transport {
  readonly #options: TransportOptions;
  readonly #http: HttpAgent;
  #https: HttpsAgent | undefined;

  constructor(options: TransportOptions) {
    this.#options = options;
    const pool = {
      keepAlive: true,
      maxSockets: options.connectionsPerOrigin,
      scheduling: 'lifo',
    } as const;
    this.#http = new http.Agent(pool);
  }

  async close(): Promise<void> {
    this.#http.destroy();
    this.#https?.destroy();
  }

  #httpsAgent(): HttpsAgent {
    if (this.#https === undefined) {
      const https = httpsModule();
      const { rootCertificates } = process.getBuiltinModule('node:tls');
      const ca = this.#options.ca;
      this.#https = new https.Agent({
        keepAlive: true,
        maxSockets: this.#options.connectionsPerOrigin,
        scheduling: 'lifo',
        ...(ca === undefined ? {} : { ca: [...rootCertificates, ca] }),
      });
    }
    return this.#https;
  }

  send(request: TransportRequest): Promise<TransportResponse> {
    const { url, body } = request;
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = { ...request.headers };
    if (body instanceof Uint8Array) headers['content-length'] ??= String(body.byteLength);
    return new Promise<TransportResponse>((resolve, reject) => {
      const req = (secure ? httpsModule().request : http.request)(url, {
        method: request.method,
        headers,
        agent: secure ? this.#httpsAgent() : this.#http,
        timeout: this.#options.connectTimeoutMs,
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
      // Until the headers arrive the socket may be silent for at most the
      // headers deadline; `timeout` above covers the connection itself.
      const headersTimer = setTimeout(() => {
        req.destroy(
          new TransportError(
            'HEADERS_TIMEOUT',
            `no response headers within ${this.#options.headersTimeoutMs} ms`,
          ),
        );
      }, this.#options.headersTimeoutMs);
      req.on('socket', (socket) => {
        if (socket.connecting) socket.once('connect', () => req.setTimeout(0));
        else req.setTimeout(0); // a kept-alive socket: already connected
      });
      req.on('timeout', () => {
        req.destroy(
          new TransportError(
            'CONNECT_TIMEOUT',
            `no connection within ${this.#options.connectTimeoutMs} ms`,
          ),
        );
      });
      req.on('error', (error) => {
        clearTimeout(headersTimer);
        reject(error);
      });
      req.on('response', (res: IncomingMessage) => {
        clearTimeout(headersTimer);
        res.setTimeout(this.#options.bodyTimeoutMs, () => {
          res.destroy(
            new TransportError(
              'BODY_TIMEOUT',
              `response body stalled for ${this.#options.bodyTimeoutMs} ms`,
            ),
          );
        });
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      if (body === undefined || body instanceof Uint8Array) {
        req.end(body);
      } else {
        void streamBody(req, body);
      }
    });
  }
}

/**
 * Writes a streamed body with back-pressure. If the source fails (a blob that
 * does not verify), the request is destroyed with that error, so the caller
 * sees the source's own error rather than a broken connection.
 */
async function streamBody(
  req: ReturnType<typeof http.request>,
  body: AsyncIterable<Uint8Array>,
): Promise<void> {
  try {
    for await (const chunk of body) {
      if (req.destroyed) return;
      if (!req.write(chunk)) {
        await new Promise<void>((resolve, reject) => {
          const onDrain = () => {
            req.off('close', onClose);
            resolve();
          };
          const onClose = () => {
            req.off('drain', onDrain);
            reject(new TransportError('ECONNRESET', 'connection closed while sending the body'));
          };
          req.once('drain', onDrain);
          req.once('close', onClose);
        });
      }
    }
    req.end();
  } catch (error) {
    req.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}
