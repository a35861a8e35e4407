/**
 * OIDC identity tokens, as keyless signing hands them to Fulcio: a JWT in
 * compact form (RFC 7519 §3, RFC 7515 §7.1) whose claims name who signs.
 *
 * vouch does not verify the token's signature: Fulcio does, against the
 * issuer's keys (sigstore/fulcio pkg/config/config.go `GetVerifier`,
 * go-oidc's `IDTokenVerifier` with the issuer's configured ClientID), as
 * cosign leaves it to Fulcio for a token it was given (sigstore/sigstore
 * pkg/oauthflow/flow.go `StaticTokenGetter`: "THE SERVER WILL DO REAL
 * VERIFICATION HERE"). What vouch checks, before any request to Fulcio, is
 * what would make Fulcio refuse it anyway, so the user hears why in words:
 *
 * - the shape: three base64url parts without padding, at most 64 KiB, a
 *   header with an `alg` that is not `none`, claims that are one strict JSON
 *   object (no duplicate keys, nesting capped) with `iss`, `aud` and `exp`;
 * - `aud` contains the audience Fulcio expects (`sigstore` for the
 *   public-good instance, else the issuer's client ID in Fulcio's config):
 *   go-oidc refuses a token whose `aud` lacks the ClientID;
 * - `exp` has not passed and `nbf`, when present, has (both with a small
 *   allowance for clock skew; go-oidc allows five minutes);
 * - the subject: the `email` claim when there is one, which the issuer must
 *   have verified (`email_verified: true`), else `sub`. This is how cosign
 *   and sigstore-js name the identity, and refuse an unverified email
 *   (sigstore/sigstore pkg/oauthflow/flow.go `subjectFromClaims`,
 *   @sigstore/sign util/oidc.js `extractJWTSubject`).
 *
 * No message ever holds the token or any part of its encoded text: a token
 * is a credential for as long as it lives. Messages name the issuer, the
 * subject, the audiences and the times, quoted and shortened.
 */
import { invalid } from '../core/errors.ts';
import {
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseStrictJson,
} from '../core/strict-json.ts';

/** The audience Fulcio expects of a token (public-good Fulcio's ClientID for every issuer). */
export const SIGSTORE_AUDIENCE = 'sigstore';

/** Far beyond any real token (a few KiB), small enough that a hostile one costs nothing. */
export const MAX_IDENTITY_TOKEN_BYTES = 64 * 1024;

/** Claims nest a few levels (Kubernetes' `kubernetes.io.pod.name` is 3). */
const MAX_CLAIMS_DEPTH = 16;

/** The allowance for clock skew unless the caller gives one. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 60;

/** The last second of year 9999: a NumericDate past it is no date a Date can hold. */
const MAX_NUMERIC_DATE = 253_402_300_799;

/** What a token says about who holds it. */
export interface IdentityToken {
  /** `iss`: the OIDC issuer. */
  readonly issuer: string;
  /** Who the token names: `email` when present (verified by the issuer), else `sub`. */
  readonly subject: string;
  /** `aud`, as a list (RFC 7519 §4.1.3 allows one string or an array). */
  readonly audiences: readonly string[];
  /** `exp`. */
  readonly expiresAt: Date;
  /** `nbf`, when present. */
  readonly notBefore?: Date;
}

export interface CheckIdentityTokenOptions {
  /**
   * The audience (or audiences) of which `aud` must contain at least one:
   * `SIGSTORE_AUDIENCE`, and the OIDC client ID where it differs.
   */
  readonly audience: string | readonly string[];
  /** The time to check `exp` and `nbf` against; now unless given. */
  readonly now?: Date;
  /** How far the clocks may disagree; DEFAULT_CLOCK_SKEW_SECONDS unless given. */
  readonly skewSeconds?: number;
  /** What the token is, for messages: `the identity token of --identity-token`. */
  readonly what?: string;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Reads a token's claims without verifying its signature (Fulcio's job).
 * Throws `invalid` IDENTITY_TOKEN_INVALID for anything that is not a JWT
 * with an issuer, a subject, an audience and an expiry.
 */
export function parseIdentityToken(token: string, what = 'the identity token'): IdentityToken {
  const refuse = (why: string) => invalid('IDENTITY_TOKEN_INVALID', `${what} ${why}`);
  if (token.length > MAX_IDENTITY_TOKEN_BYTES) {
    throw refuse(`is longer than ${MAX_IDENTITY_TOKEN_BYTES} bytes`);
  }
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part) && part.length % 4 !== 1)) {
    throw refuse(
      parts.length === 5
        ? 'is encrypted (a JWE); Fulcio takes a signed JWT'
        : 'is not a JWT (three base64url parts separated by dots)',
    );
  }
  const [encodedHeader = '', encodedClaims = ''] = parts;
  const header = jsonPart(encodedHeader, () => refuse('has a header that is not a JSON object'));
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '' || alg.toLowerCase() === 'none') {
    throw refuse('is not signed (its header names no signature algorithm)');
  }
  const claims = jsonPart(encodedClaims, () => refuse('has claims that are not a JSON object'));
  const issuer = claims.iss;
  if (typeof issuer !== 'string' || issuer === '') throw refuse('names no issuer (iss)');
  const from = `from ${quote(issuer)}`;
  const audiences = audiencesOf(claims.aud);
  if (audiences === undefined) {
    throw refuse(`${from} names no audience (aud: a string or a list of strings)`);
  }
  const subject = subjectOf(claims, (why) => refuse(`${from} ${why}`));
  const expiresAt = dateOf(claims.exp);
  if (expiresAt === undefined) {
    throw refuse(`${from} for ${quote(subject)} has no valid expiry (exp: seconds since 1970)`);
  }
  let notBefore: Date | undefined;
  if (claims.nbf !== undefined) {
    notBefore = dateOf(claims.nbf);
    if (notBefore === undefined) {
      throw refuse(`${from} for ${quote(subject)} has an invalid nbf (seconds since 1970)`);
    }
  }
  return {
    issuer,
    subject,
    audiences,
    expiresAt,
    ...(notBefore === undefined ? {} : { notBefore }),
  };
}

/**
 * Parses `token` and checks it would be accepted by Fulcio for `audience`
 * at `now`. Throws `invalid` IDENTITY_TOKEN_INVALID (not a usable token, or
 * not valid yet), IDENTITY_TOKEN_EXPIRED or IDENTITY_TOKEN_AUDIENCE.
 */
export function checkIdentityToken(
  token: string,
  options: CheckIdentityTokenOptions,
): IdentityToken {
  const what = options.what ?? 'the identity token';
  const parsed = parseIdentityToken(token, what);
  const now = (options.now ?? new Date()).getTime();
  const skewMs = (options.skewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
  const whose = `${what} for ${quote(parsed.subject)} from ${quote(parsed.issuer)}`;
  if (now >= parsed.expiresAt.getTime() + skewMs) {
    throw invalid(
      'IDENTITY_TOKEN_EXPIRED',
      `${whose} expired at ${parsed.expiresAt.toISOString()} (it is now ${new Date(now).toISOString()}); get a new one`,
    );
  }
  if (parsed.notBefore !== undefined && now + skewMs < parsed.notBefore.getTime()) {
    throw invalid(
      'IDENTITY_TOKEN_INVALID',
      `${whose} is not valid before ${parsed.notBefore.toISOString()} (it is now ${new Date(now).toISOString()}); check the clock`,
    );
  }
  const wanted = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (!parsed.audiences.some((audience) => wanted.includes(audience))) {
    throw invalid(
      'IDENTITY_TOKEN_AUDIENCE',
      `${whose} is for the audience ${list(parsed.audiences)}, not ${list(wanted)}: Fulcio accepts only a token issued for it (ask the issuer for the audience ${quote(wanted[0] ?? SIGSTORE_AUDIENCE)})`,
    );
  }
  return parsed;
}

function jsonPart(encoded: string, refuse: () => Error): JsonObject {
  let value: JsonValue;
  try {
    value = parseStrictJson(Buffer.from(encoded, 'base64url'), { maxDepth: MAX_CLAIMS_DEPTH });
  } catch {
    // The parser's message may quote the text; the text is the token's.
    throw refuse();
  }
  if (!isJsonObject(value)) throw refuse();
  return value;
}

function audiencesOf(aud: JsonValue | undefined): readonly string[] | undefined {
  if (typeof aud === 'string') return aud === '' ? undefined : [aud];
  if (!Array.isArray(aud)) return undefined;
  const audiences = aud.filter((a): a is string => typeof a === 'string' && a !== '');
  return audiences.length === aud.length && audiences.length > 0 ? audiences : undefined;
}

function subjectOf(claims: JsonObject, refuse: (why: string) => Error): string {
  const { email, sub } = claims;
  if (email !== undefined) {
    if (typeof email !== 'string' || email === '')
      throw refuse('has an email claim that is not a string');
    if (claims.email_verified !== true) {
      throw refuse(`says the email ${quote(email)} is not verified by the issuer (email_verified)`);
    }
    return email;
  }
  if (typeof sub !== 'string' || sub === '') throw refuse('names no subject (sub or email)');
  return sub;
}

/** A NumericDate (RFC 7519 §2): seconds since the epoch, fractions allowed. */
function dateOf(value: JsonValue | undefined): Date | undefined {
  if (typeof value !== 'number' || value < 0 || value > MAX_NUMERIC_DATE) return undefined;
  return new Date(value * 1000);
}

/** A value as messages show it: quoted (control characters escaped) and at most 200 characters. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

function list(values: readonly string[]): string {
  const shown = values.slice(0, 5).map(quote).join(', ');
  return values.length > 5 ? `${shown} and ${values.length - 5} more` : shown;
}
