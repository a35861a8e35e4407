/**
 * Countersigning a Notary Project signature with an RFC 3161 timestamp
 * authority over HTTP, as notation `sign --timestamp-url` does through
 * tspclient-go v1.0 `http.go` `httpTimestamper`: the TimeStampReq is POSTed
 * as `application/timestamp-query`; the answer must be 200,
 * `application/timestamp-reply`, at most 1 MiB; then
 * formats/notation/timestamp-authority.ts checks it against the root the
 * user gave before the token goes in the envelope. The request goes
 * through registry/http.ts (time bound, redirects that never carry
 * credentials); a TSA URL is http or https, as notation accepts: the token
 * is signed, and many public TSAs speak only http.
 */
import type { X509Certificate } from 'node:crypto';
import { denied, hasCode, invalid, isVouchError, unavailable } from '../core/errors.ts';
import type { NotationSignatureAlgorithm } from '../formats/notation/envelope.ts';
import {
  checkTimestampResponse,
  MAX_TIMESTAMP_RESPONSE_BYTES,
  TIMESTAMP_QUERY_MEDIA_TYPE,
  TIMESTAMP_REPLY_MEDIA_TYPE,
  timestampRequest,
} from '../formats/notation/timestamp-authority.ts';
import { bodyOf, discard, header, type HttpClient } from '../registry/http.ts';
import { collect } from '../registry/verified-content.ts';
import type {} from './error-codes.ts';

export interface TimestamperOptions {
  /** `--timestamp-url`. */
  readonly url: string;
  /** `--timestamp-root-cert`: the TSA's chain must end at one of these. */
  readonly roots: readonly X509Certificate[];
  readonly http: HttpClient;
  readonly signal?: AbortSignal;
  /** The time certificates must be valid at; now unless given. */
  readonly now?: () => Date;
}

export type Timestamper = (
  signature: Uint8Array,
  algorithm: NotationSignatureAlgorithm,
) => Promise<Uint8Array>;

/** Checks the URL (`invalid` NOTATION_TSA_URL_INVALID) and returns the countersigner. */
export function createTimestamper(options: TimestamperOptions): Timestamper {
  const url = tsaUrl(options.url);
  const now = options.now ?? (() => new Date());
  const where = `the timestamp authority ${url.origin}`;
  return async (signature, algorithm) => {
    const request = timestampRequest(signature, algorithm);
    let body: Uint8Array;
    try {
      const response = await options.http.send({
        method: 'POST',
        url,
        headers: { 'content-type': TIMESTAMP_QUERY_MEDIA_TYPE, accept: TIMESTAMP_REPLY_MEDIA_TYPE },
        body: request.der,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      if (response.status !== 200) {
        await discard(response);
        throw unavailable('NOTATION_TSA_UNAVAILABLE', `${where} answered ${response.status}`);
      }
      const type = header(response.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
      if (type !== TIMESTAMP_REPLY_MEDIA_TYPE) {
        await discard(response);
        throw denied(
          'NOTATION_TSA_RESPONSE_INVALID',
          `${where} answered with content type ${JSON.stringify(type ?? '')}, not ${TIMESTAMP_REPLY_MEDIA_TYPE}`,
        );
      }
      body = await collect(bodyOf(response), MAX_TIMESTAMP_RESPONSE_BYTES, () =>
        denied(
          'NOTATION_TSA_RESPONSE_INVALID',
          `${where} sent more than ${MAX_TIMESTAMP_RESPONSE_BYTES} bytes`,
        ),
      );
    } catch (error) {
      if (
        !isVouchError(error) ||
        error.category !== 'unavailable' ||
        hasCode(error, 'DEADLINE_EXCEEDED', 'ABORTED', 'NOTATION_TSA_UNAVAILABLE')
      ) {
        throw error;
      }
      throw unavailable('NOTATION_TSA_UNAVAILABLE', `cannot reach ${where}: ${error.message}`, {
        cause: error,
      });
    }
    return checkTimestampResponse(body, request, options.roots, now()).token;
  };
}

function tsaUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(
      'NOTATION_TSA_URL_INVALID',
      `the timestamp URL ${JSON.stringify(text)} is not a URL`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid(
      'NOTATION_TSA_URL_INVALID',
      `the timestamp URL ${JSON.stringify(text)} is not http or https`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid('NOTATION_TSA_URL_INVALID', 'the timestamp URL must not carry credentials');
  }
  return url;
}
