/**
 * A plain node:http server on 127.0.0.1 that answers however the test says:
 * for registries that lie (wrong digests, endless bodies, hostile redirects,
 * odd challenges). The handler owns the response; this only records requests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

export type HostileHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HostileRegistry {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  /**
   * One entry per request, in arrival order: `METHOD /path?query`, followed by
   * ` [auth]` when an Authorization header was sent, e.g. `GET /v2/ [auth]`.
   */
  readonly requests: string[];
  stop(): Promise<void>;
}

export async function startHostileRegistry(handler: HostileHandler): Promise<HostileRegistry> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const auth = req.headers.authorization !== undefined ? ' [auth]' : '';
    requests.push(`${req.method ?? '?'} ${req.url ?? ''}${auth}`);
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`hostile handler threw: ${String(err)}`);
        } else {
          res.destroy();
        }
      });
  });
  const port = await listenOnLoopback(server);
  let stopping: Promise<void> | undefined;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}
