/**
 * Checking whether the certificates of a Notary Project chain are revoked,
 * as notation-core-go does (revocation/revocation.go `ValidateContext`) and
 * specifications `specs/trust-store-trust-policy.md`, "Certificate
 * Revocation Evaluation", describes:
 *
 * - the chain must first meet the certificate requirements for its purpose
 *   (code signing or timestamping), or nothing is checked and the result is
 *   unknown;
 * - every certificate but the root is checked, all at once: by OCSP when it
 *   names responders, falling back to its CRLs when OCSP cannot tell
 *   (`unknown`: no answer, a bad one, or status unknown); by CRL when it
 *   names only distribution points; a certificate naming neither is
 *   `non-revokable`, which counts as not revoked;
 * - OCSP: each responder in turn (2 s each by default) until one gives a
 *   verified answer; CRL: every distribution point (5 s each by default),
 *   base and delta CRLs, any failure making the certificate unknown;
 * - only `http` URLs are used, as notation does; requests go through the
 *   caller's HttpClient with no credentials, at most one attempt each.
 *
 * Every answer is checked by the pure code of formats/notation/ (ocsp.ts,
 * crl.ts); this module only fetches, caches and combines. "Could not check"
 * (`unknown`) and `revoked` stay apart to the end: `revocationError` makes
 * the first `unavailable` and the second `denied`.
 */
import { abortError } from '../core/abort.ts';
import { denied, isVouchError, messageOf, unavailable, type VouchError } from '../core/errors.ts';
import { type ChainPurpose, validateChain } from '../formats/notation/certificate-chain.ts';
import {
  type CrlBundle,
  crlBundleProblem,
  crlStatus,
  MAX_CRL_BYTES,
  type ParsedCrl,
  parseCrl,
} from '../formats/notation/crl.ts';
import { DerError } from '../formats/notation/der.ts';
import type * as Ocsp from '../formats/notation/ocsp.ts';
import {
  type CertificateRevocation,
  type ChainRevocation,
  chainRevocation,
  type ServerResult,
  uncheckedChain,
} from '../formats/notation/revocation-result.ts';
import type { NotationCertificate } from '../formats/notation/x509.ts';
import { bodyOf, discard, type HttpClient, type HttpRequest } from '../registry/http.ts';
import { collect } from '../registry/verified-content.ts';
import { RevocationCache } from './revocation-cache.ts';

/** notation's defaults (revocation.go `NewWithOptions`). */
export const DEFAULT_OCSP_TIMEOUT_MS = 2_000;
export const DEFAULT_CRL_TIMEOUT_MS = 5_000;
/**
 * Servers tried per certificate: notation tries them all; a certificate
 * naming more is checked against the first few OCSP responders, and is
 * "could not check" when it names more CRL distribution points (each of
 * which would have to be consulted).
 */
export const MAX_OCSP_SERVERS = 4;
export const MAX_CRL_DISTRIBUTION_POINTS = 4;

export interface RevocationOptions {
  /** How requests are sent; the caller owns it (and closes it). */
  readonly http: HttpClient;
  /** Where answers are cached while valid; no cache when omitted. */
  readonly cacheDir?: string;
  /** The cache directory's size bound, in bytes. */
  readonly maxCacheBytes?: number;
  readonly ocspTimeoutMs?: number;
  readonly crlTimeoutMs?: number;
  /** Stops the whole check (a command's deadline); it then throws. */
  readonly signal?: AbortSignal;
  /** The current time; the clock unless given (tests). */
  readonly now?: () => Date;
}

export interface RevocationRequest {
  /** Leaf first, ending with the root, as in the envelope or the TSA chain. */
  readonly chain: readonly NotationCertificate[];
  readonly purpose: ChainPurpose;
  /**
   * The authentic signing time, when there is one (`notary.x509.signingAuthority`):
   * a revocation with a later invalidity date does not count.
   */
  readonly signingTime?: Date;
}

/** The revocation status of each certificate of `request.chain`, and of the chain. */
export async function checkRevocation(
  request: RevocationRequest,
  options: RevocationOptions,
): Promise<ChainRevocation> {
  const invalid = validateChain(request.chain, request.purpose);
  if (invalid !== undefined) {
    return uncheckedChain(`the certificate chain is invalid: ${invalid.message}`);
  }
  const checker = new Checker(request, options);
  const certificates = await Promise.all(
    request.chain.map((cert, i) => {
      const issuer = request.chain[i + 1];
      return issuer === undefined
        ? Promise.resolve(nonRevokable(cert))
        : checker.certificate(cert, issuer);
    }),
  );
  return chainRevocation(certificates);
}

/**
 * The error for a result that is not `ok`, worded as notation words it:
 * NOTATION_CERT_REVOKED (`denied`) or NOTATION_REVOCATION_UNAVAILABLE
 * (`unavailable`). Undefined for `ok`.
 */
export function revocationError(
  result: ChainRevocation,
  purpose: ChainPurpose,
): VouchError<'NOTATION_CERT_REVOKED' | 'NOTATION_REVOCATION_UNAVAILABLE'> | undefined {
  const kind = purpose === 'codeSigning' ? 'signing' : 'timestamping';
  const problem = result.problem;
  const subject = problem?.subject ? ` with subject "${problem.subject}"` : '';
  const detail = problem === undefined ? '' : `: ${problem.message}`;
  switch (result.result) {
    case 'ok':
      return undefined;
    case 'revoked':
      return denied(
        'NOTATION_CERT_REVOKED',
        `the ${kind} certificate${subject} is revoked${detail}`,
      );
    case 'unknown':
      return unavailable(
        'NOTATION_REVOCATION_UNAVAILABLE',
        `the revocation status of the ${kind} certificate${subject} is unknown${detail}`,
      );
  }
}

function nonRevokable(cert: NotationCertificate): CertificateRevocation {
  return {
    subject: cert.subject,
    result: 'non-revokable',
    method: 'none',
    servers: [{ result: 'non-revokable', server: '', method: 'none' }],
  };
}

class Checker {
  readonly #request: RevocationRequest;
  readonly #options: RevocationOptions;
  readonly #cache: RevocationCache | undefined;
  readonly #now: () => Date;

  constructor(request: RevocationRequest, options: RevocationOptions) {
    this.#request = request;
    this.#options = options;
    this.#cache =
      options.cacheDir === undefined
        ? undefined
        : new RevocationCache(options.cacheDir, options.maxCacheBytes);
    this.#now = options.now ?? (() => new Date());
  }

  /** OCSP first, CRL when OCSP cannot tell, as `ValidateContext` decides. */
  async certificate(
    cert: NotationCertificate,
    issuer: NotationCertificate,
  ): Promise<CertificateRevocation> {
    const base = { subject: cert.subject };
    if (cert.ocspServers.length > 0) {
      const ocsp = await this.#ocsp(cert, issuer);
      if (ocsp.result === 'unknown' && cert.crlDistributionPoints.length > 0) {
        const crl = await this.#crl(cert, issuer);
        return {
          ...base,
          result: crl.result,
          method: 'ocsp-fallback-crl',
          servers: [...ocsp.servers, ...crl.servers],
        };
      }
      return { ...base, ...ocsp, method: 'ocsp' };
    }
    if (cert.crlDistributionPoints.length > 0) {
      return { ...base, ...(await this.#crl(cert, issuer)), method: 'crl' };
    }
    return nonRevokable(cert);
  }

  /** `ocsp.CertCheckStatus`: the first responder with a verified answer decides. */
  async #ocsp(
    cert: NotationCertificate,
    issuer: NotationCertificate,
  ): Promise<Pick<CertificateRevocation, 'result' | 'servers'>> {
    // OCSP's code brings pkijs: loaded only for a certificate that names responders.
    const ocsp = await import('../formats/notation/ocsp.ts');
    const request = ocsp.ocspRequest(cert, issuer);
    const servers: ServerResult[] = [];
    for (const server of cert.ocspServers.slice(0, MAX_OCSP_SERVERS)) {
      const outcome = await this.#ocspServer(ocsp, server, request, cert, issuer);
      const result: ServerResult = serverResult('ocsp', server, outcome);
      if (outcome.status !== 'error') return { result: result.result, servers: [result] };
      servers.push(result);
    }
    return { result: 'unknown', servers };
  }

  async #ocspServer(
    ocsp: typeof Ocsp,
    server: string,
    request: Uint8Array,
    cert: NotationCertificate,
    issuer: NotationCertificate,
  ): Promise<Ocsp.OcspCheck> {
    const exchange = ocsp.ocspHttpRequest(server, request);
    if (typeof exchange === 'string') return { status: 'error', message: exchange };
    const check = (body: Uint8Array) =>
      ocsp.checkOcspResponse(body, cert, issuer, {
        now: this.#now(),
        ...(this.#request.signingTime === undefined
          ? {}
          : { signingTime: this.#request.signingTime }),
      });
    const key = `ocsp\n${server}\n${Buffer.from(request).toString('base64')}`;
    const cached = await this.#cache?.get(key, this.#now());
    if (cached?.length === 1 && cached[0] !== undefined) {
      const outcome = check(cached[0]);
      if (outcome.status !== 'error') return outcome;
    }
    const body = await this.#fetch(
      exchange.method === 'GET'
        ? { method: 'GET', url: exchange.url }
        : {
            method: 'POST',
            url: exchange.url,
            headers: { 'content-type': 'application/ocsp-request' },
            body: exchange.body,
          },
      'OCSP',
      this.#options.ocspTimeoutMs ?? DEFAULT_OCSP_TIMEOUT_MS,
      ocsp.MAX_OCSP_RESPONSE_BYTES,
    );
    if (typeof body === 'string') return { status: 'error', message: body };
    const outcome = check(body);
    if (outcome.status !== 'error') await this.#cache?.set(key, [body], outcome.nextUpdate);
    return outcome;
  }

  /** `crl.CertCheckStatus`: every distribution point must answer; any revocation decides. */
  async #crl(
    cert: NotationCertificate,
    issuer: NotationCertificate,
  ): Promise<Pick<CertificateRevocation, 'result' | 'servers'>> {
    const urls = cert.crlDistributionPoints;
    if (urls.length > MAX_CRL_DISTRIBUTION_POINTS) {
      const error = `the certificate names ${urls.length} CRL distribution points, more than ${MAX_CRL_DISTRIBUTION_POINTS}`;
      return {
        result: 'unknown',
        servers: [{ result: 'unknown', server: '', method: 'crl', error }],
      };
    }
    const servers: ServerResult[] = [];
    for (const url of urls) {
      const status = await this.#crlFrom(url, cert, issuer);
      const result = serverResult('crl', url, status);
      if (status.status !== 'ok') return { result: result.result, servers: [result] };
      servers.push(result);
    }
    return { result: 'ok', servers };
  }

  async #crlFrom(
    url: string,
    cert: NotationCertificate,
    issuer: NotationCertificate,
  ): Promise<ReturnType<typeof crlStatus>> {
    const judge = (bundle: CrlBundle): ReturnType<typeof crlStatus> => {
      if (cert.hasFreshestCrl && bundle.delta === undefined) {
        // notation-core-go: delta CRLs named only by the certificate are not supported.
        return {
          status: 'error',
          message: 'the certificate names a delta CRL its base CRL does not',
        };
      }
      const problem = crlBundleProblem(bundle, issuer, this.#now());
      if (problem !== undefined) return { status: 'error', message: problem };
      return crlStatus(cert, bundle, this.#request.signingTime);
    };
    const key = `crl\n${url}`;
    const cached = await this.#cache?.get(key, this.#now());
    if (cached !== undefined) {
      const bundle = bundleOf(cached);
      if (bundle !== undefined) {
        const status = judge(bundle);
        if (status.status !== 'error') return status;
      }
    }
    const fetched = await this.#fetchBundle(url);
    if (typeof fetched === 'string') return { status: 'error', message: fetched };
    const status = judge(fetched);
    if (status.status !== 'error') {
      await this.#cache?.set(
        key,
        fetched.delta === undefined ? [fetched.base.der] : [fetched.base.der, fetched.delta.der],
        earliestNextUpdate(fetched),
      );
    }
    return status;
  }

  /** The base CRL at `url` and the delta its Freshest CRL extension names (`HTTPFetcher.fetch`). */
  async #fetchBundle(url: string): Promise<CrlBundle | string> {
    const base = await this.#fetchCrl(url);
    if (typeof base === 'string') return base;
    if (base.freshestCrlUrls.length === 0) return { base };
    let last = 'no delta CRL URL';
    // The URLs are alternatives for the same delta (RFC 5280 §5.2.6): the first that answers.
    for (const deltaUrl of base.freshestCrlUrls.slice(0, MAX_CRL_DISTRIBUTION_POINTS)) {
      const delta = await this.#fetchCrl(deltaUrl);
      if (typeof delta !== 'string') return { base, delta };
      last = delta;
    }
    return `the delta CRL could not be fetched: ${last}`;
  }

  async #fetchCrl(url: string): Promise<ParsedCrl | string> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return `the CRL URL ${JSON.stringify(url)} is not a URL`;
    }
    if (parsed.protocol !== 'http:')
      return `CRLs over ${parsed.protocol.slice(0, -1)} are not supported`;
    const body = await this.#fetch(
      { method: 'GET', url: parsed },
      'CRL',
      this.#options.crlTimeoutMs ?? DEFAULT_CRL_TIMEOUT_MS,
      MAX_CRL_BYTES,
    );
    if (typeof body === 'string') return body;
    try {
      return parseCrl(body);
    } catch (error) {
      if (error instanceof DerError) return `the CRL from ${url} is malformed: ${error.message}`;
      throw error;
    }
  }

  /**
   * One request, at most `limitMs` long (body included), at most `maxBytes`
   * read: the body, or why there is none. A stop by the caller's signal is
   * thrown, not reported.
   */
  async #fetch(
    request: HttpRequest,
    what: string,
    limitMs: number,
    maxBytes: number,
  ): Promise<Uint8Array | string> {
    const timeout = AbortSignal.timeout(limitMs);
    const signal =
      this.#options.signal === undefined
        ? timeout
        : AbortSignal.any([this.#options.signal, timeout]);
    try {
      const response = await this.#options.http.send({ ...request, idempotent: false, signal });
      if (response.status !== 200) {
        await discard(response);
        return `the ${what} server answered HTTP ${response.status}`;
      }
      return await collect(bodyOf(response), maxBytes, () => new TooLarge());
    } catch (error) {
      if (this.#options.signal?.aborted === true) {
        throw abortError(this.#options.signal, `the ${what} request to ${request.url.host}`);
      }
      if (timeout.aborted) return `the ${what} server did not answer within ${limitMs} ms`;
      if (error instanceof TooLarge) return `the ${what} response has more than ${maxBytes} bytes`;
      return `the ${what} request failed: ${isVouchError(error) ? error.message : messageOf(error)}`;
    }
  }
}

class TooLarge extends Error {}

function serverResult(
  method: 'ocsp' | 'crl',
  server: string,
  outcome: Ocsp.OcspCheck | ReturnType<typeof crlStatus>,
): ServerResult {
  switch (outcome.status) {
    case 'good':
    case 'ok':
      return { result: 'ok', server, method };
    case 'revoked':
      return {
        result: 'revoked',
        server,
        method,
        error: `the certificate is revoked (${method.toUpperCase()})`,
      };
    case 'unknown':
      return {
        result: 'unknown',
        server,
        method,
        error: 'the OCSP responder does not know the certificate',
      };
    case 'error':
      return { result: 'unknown', server, method, error: outcome.message };
  }
}

function bundleOf(parts: readonly Uint8Array[]): CrlBundle | undefined {
  try {
    const [base, delta] = parts.map((der) => parseCrl(der));
    if (base === undefined) return undefined;
    return delta === undefined ? { base } : { base, delta };
  } catch {
    return undefined;
  }
}

/** A bundle is usable until its first CRL expires (validated bundles have nextUpdate). */
function earliestNextUpdate(bundle: CrlBundle): Date {
  const times = [bundle.base.nextUpdate, bundle.delta?.nextUpdate]
    .filter((t): t is Date => t !== undefined)
    .map((t) => t.getTime());
  return new Date(Math.min(...times));
}
