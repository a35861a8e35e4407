/**
 * A read-only client for a notary server's TUF metadata (docs/formats.md
 * "Server API"; notary server/server.go routes, storage/httpstore.go): GET
 * `/v2/<gun>/_trust/tuf/<file>` for `root.json`, `N.root.json`,
 * `timestamp.json` and `<role>.<sha256 hex>.json`. Every body is capped
 * before and while it is read (endless data); the registry token flow answers
 * a 401 challenge (notary-server wires only `auth.type: token`, server/server.go), with
 * credentials sent only to the server's own origin (and the token server it
 * names) and challenges learned only from its own 401s.
 */
import { randomBytes } from 'node:crypto';
import { denied, invalid, unavailable } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';
import { challengeOf, RegistryAuth, repositoryScope } from '../registry/auth.ts';
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
    const where = `${this.url.host}: ${gun} ${file}`;
    const response = await this.#send('GET', gun, file, [repositoryScope(gun, ['pull'])]);
    if (response.status === 404) {
      await discard(response);
      return undefined;
    }
    await this.#expectOk(response, where);
    return readCapped(response, maxBytes, where);
  }

  /**
   * The public key the server holds for `role` of `gun` (`GET {role}.key`,
   * server/handlers/default.go `GetKeyHandler`): the key listed in root.json
   * once one is published, else a new key the server makes (docs/formats.md "Server API").
   */
  async serverKey(gun: string, role: ServerRole): Promise<Uint8Array> {
    const where = `${this.url.host}: ${gun} ${role}.key`;
    const response = await this.#send('GET', gun, `${role}.key`, [
      repositoryScope(gun, ['push', 'pull']),
    ]);
    await this.#expectOk(response, where);
    return readCapped(response, MAX_KEY_BYTES, where);
  }

  /** A new server key for `role` (`POST {role}.key`, `RotateKeyHandler`, scope `*`). */
  async rotateServerKey(gun: string, role: ServerRole): Promise<Uint8Array> {
    const where = `${this.url.host}: ${gun} ${role}.key`;
    const response = await this.#send('POST', gun, `${role}.key`, [`repository:${gun}:*`], {
      body: new Uint8Array(0),
    });
    await this.#expectOk(response, where);
    return readCapped(response, MAX_KEY_BYTES, where);
  }

  /**
   * Publishes metadata files atomically: one multipart POST of every file,
   * each part named by its role (storage/httpstore.go `NewMultiPartMetaRequest`,
   * server/handlers/default.go `atomicUpdateHandler`). A 400 carries the
   * server's reason (a stale version, a bad signature, a bad root).
   */
  async publish(gun: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const boundary = `vouch${randomBytes(16).toString('hex')}`;
    const parts: Uint8Array[] = [];
    for (const [role, bytes] of files) {
      parts.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${role}"\r\n` +
            'Content-Type: application/octet-stream\r\n\r\n',
        ),
        bytes,
        Buffer.from('\r\n'),
      );
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    const where = `${this.url.host}: publishing ${gun}`;
    const response = await this.#send('POST', gun, '', [repositoryScope(gun, ['push', 'pull'])], {
      body: Buffer.concat(parts),
      contentType: `multipart/form-data; boundary=${boundary}`,
    });
    if (response.status === 400) {
      const text = Buffer.from(
        await collect(bodyOf(response), MAX_ERROR_BYTES, () =>
          denied('NOTARY_PUBLISH_REJECTED', `${where}: the server refused the update`),
        ),
      ).toString('utf8');
      throw denied(
        'NOTARY_PUBLISH_REJECTED',
        `${where}: the server refused the update: ${serverReason(text)}`,
      );
    }
    await this.#expectOk(response, where);
    await discard(response);
  }

  async #send(
    method: 'GET' | 'POST',
    gun: string,
    file: string,
    scopes: readonly string[],
    upload?: { readonly body: Uint8Array; readonly contentType?: string },
  ): Promise<HttpResponse> {
    const base = this.url.href.endsWith('/') ? this.url.href : `${this.url.href}/`;
    const url = new URL(`v2/${gun}/_trust/tuf/${file}`, base);
    const send = (authorization: string | undefined) =>
      this.#http.send({
        method,
        url,
        headers: {
          ...(authorization === undefined ? {} : { authorization }),
          ...(upload?.contentType === undefined ? {} : { 'content-type': upload.contentType }),
        },
        ...(upload === undefined ? {} : { body: upload.body }),
        idempotent: method === 'GET',
      });
    const sent = await this.#auth.authorization(scopes);
    let response = await send(sent);
    if (response.status === 401) {
      // Only the server's own 401 is a challenge (registry/auth.ts).
      const challenge = await challengeOf(response, this.url, this.url.host);
      const retry = await this.#auth.retryAuthorization(challenge, scopes, sent);
      if (retry !== undefined) {
        await discard(response);
        response = await send(retry);
        if (response.status === 401) await challengeOf(response, this.url, this.url.host);
      }
    }
    return response;
  }

  async #expectOk(response: HttpResponse, where: string): Promise<void> {
    if (response.status === 200) return;
    await discard(response);
    if (response.status === 401 || response.status === 403) {
      throw unavailable(
        'UNAUTHORIZED',
        `${where}: the notary server refused access (${response.status})`,
      );
    }
    if (response.status === 404) {
      throw invalid('NOTARY_NOT_FOUND', `${where}: the notary server has no such thing (404)`);
    }
    throw unavailable(
      'NOTARY_SERVER_ERROR',
      `${where}: the notary server answered ${response.status}`,
    );
  }
}

export type ServerRole = 'snapshot' | 'timestamp';

/** storage/httpstore.go caps keys at 256 KiB and error bodies at 1 KiB; a little more room here. */
const MAX_KEY_BYTES = 256 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;

/** The errcode envelope's message and detail (server/errors/errors.go), or the text as is. */
function serverReason(text: string): string {
  try {
    const parsed = parseJson(text) as {
      errors?: { code?: string; message?: string; detail?: unknown }[];
    };
    const first = parsed.errors?.[0];
    if (first !== undefined) {
      const detail = first.detail as { Error?: { Msg?: string } } | string | undefined;
      const why = typeof detail === 'string' ? detail : detail?.Error?.Msg;
      return `${first.code ?? ''} ${first.message ?? ''}${why === undefined ? '' : ` (${why})`}`.trim();
    }
  } catch {
    // not the errcode envelope
  }
  return text.slice(0, 500);
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
