/**
 * A read-only client for a notary server's TUF metadata (research/notary.md
 * §1.1; notary server/server.go routes, storage/httpstore.go): GET
 * `/v2/<gun>/_trust/tuf/<file>` for `root.json`, `N.root.json`,
 * `timestamp.json` and `<role>.<sha256 hex>.json`. Every body is capped
 * before and while it is read (endless data); the registry token flow answers
 * a 401 challenge (notary-server wires only `auth.type: token`, §1.3), with
 * credentials sent only to the server's own origin.
 */
import { denied, unavailable } from '../core/errors.ts';
import { RegistryAuth, repositoryScope } from '../registry/auth.ts';
import type { Credentials } from '../registry/credentials.ts';
import { bodyOf, discard, type HttpClient, type HttpResponse, header } from '../registry/http.ts';
import { collect } from '../registry/verified-content.ts';

export interface NotaryServerOptions {
  /** The server's base URL, e.g. `https://notary.example.com` (docker's DOCKER_CONTENT_TRUST_SERVER). */
  readonly url: URL;
  readonly http: HttpClient;
  /** Credentials for the token server, looked up only when the server asks for them. */
  readonly credentials?: () => Promise<Credentials | undefined>;
  /** Allow a token realm over plain HTTP on a non-loopback host. */
  readonly allowInsecure?: boolean;
}

export class NotaryServer {
  readonly url: URL;
  readonly #http: HttpClient;
  readonly #auth: RegistryAuth;

  constructor(options: NotaryServerOptions) {
    this.url = options.url;
    this.#http = options.http;
    this.#auth = new RegistryAuth({
      http: options.http,
      registry: options.url.host,
      credentials: options.credentials ?? (() => Promise.resolve(undefined)),
      allowInsecure: options.allowInsecure ?? false,
    });
  }

  /**
   * The bytes of one metadata file of `gun`, at most `maxBytes` of them;
   * undefined when the server has no such file (404).
   */
  async metadata(gun: string, file: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const base = this.url.href.endsWith('/') ? this.url.href : `${this.url.href}/`;
    const url = new URL(`v2/${gun}/_trust/tuf/${file}`, base);
    const scopes = [repositoryScope(gun, ['pull'])];
    const send = (authorization: string | undefined) =>
      this.#http.send({
        method: 'GET',
        url,
        headers: authorization === undefined ? {} : { authorization },
        idempotent: true,
      });
    const sent = await this.#auth.authorization(scopes);
    let response = await send(sent);
    if (response.status === 401) {
      const retry = await this.#auth.retryAuthorization(
        header(response.headers, 'www-authenticate'),
        scopes,
        sent,
      );
      if (retry !== undefined) {
        await discard(response);
        response = await send(retry);
      }
    }
    const where = `${this.url.host}: ${gun} ${file}`;
    if (response.status === 404) {
      await discard(response);
      return undefined;
    }
    if (response.status !== 200) {
      await discard(response);
      if (response.status === 401 || response.status === 403) {
        throw unavailable(
          'UNAUTHORIZED',
          `${where}: the notary server refused access (${response.status})`,
        );
      }
      throw unavailable(
        'NOTARY_SERVER_ERROR',
        `${where}: the notary server answered ${response.status}`,
      );
    }
    return readCapped(response, maxBytes, where);
  }
}

/** storage/httpstore.go: a Content-Length over the limit is refused before reading (ErrMaliciousServer). */
async function readCapped(
  response: HttpResponse,
  maxBytes: number,
  where: string,
): Promise<Uint8Array> {
  const tooLarge = () =>
    denied(
      'NOTARY_METADATA_TOO_LARGE',
      `${where}: the server sent more than the ${maxBytes} bytes expected`,
    );
  const length = Number(header(response.headers, 'content-length'));
  if (Number.isFinite(length) && length > maxBytes) {
    await discard(response, 0);
    throw tooLarge();
  }
  return collect(bodyOf(response), maxBytes, tooLarge);
}
