/**
 * Sigstore signing configuration: which certificate authority (Fulcio), OIDC
 * provider, transparency logs (Rekor) and timestamp authorities a keyless
 * signature is made with. The document is a `signing_config.v0.2.json`
 * (`application/vnd.dev.sigstore.signingconfig.v0.2+json`, the protobuf
 * `dev.sigstore.trustroot.v1.SigningConfig` in its JSON form; sigstore/protobuf-specs
 * protos/sigstore_trustroot.proto `SigningConfig`, `Service`,
 * `ServiceConfiguration`, `ServiceSelector`). Pure: no I/O.
 *
 * Reading is strict, stricter than protojson where that is safe (it only
 * refuses more): strict JSON (no duplicate keys, depth and size caps), the
 * media type exactly v0.2 (v0.1 has other fields), unknown fields refused as
 * sigstore-go's `protojson.Unmarshal` refuses them
 * (pkg/root/signing_config.go `NewSigningConfigProtobuf`), fields only by
 * their lowerCamelCase JSON names, enums only by name, integers only as JSON
 * numbers. `null` is the field's default, as protojson reads it. Every
 * service needs a `validFor.start` (the field is REQUIRED in the proto) and
 * a URL vouch will connect to: https, or plain http to a loopback host only,
 * without credentials, query or fragment, and spelled as the WHATWG URL
 * parser writes it, without a trailing slash (so no two parsers can read two
 * hosts in it, and API paths append cleanly).
 *
 * Selection follows sigstore-go (pkg/root/signing_config.go `SelectService`,
 * `SelectServices`): a service counts when its major API version is one the
 * signer speaks and `now` is within its validity (both ends inclusive); the
 * highest such version wins; among those, newest `validFor.start` first, and
 * for Rekor and TSAs at most one per operator. Then the selector:
 *
 * - ANY: one service. sigstore-go picks at random; vouch takes the newest
 *   (the proto leaves the choice to the client, and @sigstore/sign's
 *   `dist/config.js` does the same), so a run is reproducible.
 * - EXACT with `count` 1, or ALL when only one service is eligible: that one.
 * - EXACT with `count` > 1, or ALL with several eligible: refused. vouch
 *   writes a signature to one log and asks one TSA (as @sigstore/sign, which
 *   refuses any selector but ANY); quietly using fewer services than the
 *   deployment asks for would make signatures its verifiers may not accept.
 *   An EXACT `count` of 0, or above what is eligible, is refused as
 *   sigstore-go refuses it; so is a missing selector when services are listed
 *   (the proto: clients SHOULD error on SERVICE_SELECTOR_UNDEFINED).
 *
 * An empty list means the service is not used; a list with nothing eligible
 * now is an error. A keyless signature needs a Fulcio CA and a proof of when
 * it was made while the short-lived certificate was valid: a Rekor v1 entry's
 * signed timestamp or an RFC 3161 timestamp. Rekor v2 signs no time, so a v2
 * log needs a TSA as well, as cosign requires (pkg/cosign/bundle/sign.go).
 *
 * Errors: VouchError `invalid` SIGNING_CONFIG_INVALID.
 */
import { invalid } from '../core/errors.ts';
import {
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseStrictJson,
  StrictJsonError,
} from '../core/strict-json.ts';
import { isLoopbackRegistry } from '../oci/reference.ts';
import { rfc3339Millis } from './rfc3339.ts';

export const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';

/** The public-good document is about 1 KB; this leaves room for a large private deployment. */
export const MAX_SIGNING_CONFIG_BYTES = 64 * 1024;
/** Services in one list (the public-good config lists one or two). */
export const MAX_SERVICES = 64;
/** root → list → service → validFor is 4 levels. */
const MAX_DEPTH = 8;
const MAX_URL_LENGTH = 2048;

/** Major API versions vouch's signer speaks (@sigstore/sign 5 `dist/config.js`; sigstore-go pkg/sign). */
const FULCIO_API_VERSIONS: readonly number[] = [1];
const OIDC_API_VERSIONS: readonly number[] = [1];
const TSA_API_VERSIONS: readonly number[] = [1];

/** One instance of a service (protobuf `Service`). */
export interface SigningService {
  readonly url: string;
  readonly majorApiVersion: number;
  /**
   * First instant (ms since the epoch, inclusive) the service may be used.
   * Every service read from a document has one; only those vouch makes from
   * a URL flag have none (always valid).
   */
  readonly validFrom?: number;
  /** Last instant (ms since the epoch, inclusive); absent: still in service. */
  readonly validUntil?: number;
  /** Who runs it (`sigstore.dev`); empty when the document gives none. */
  readonly operator: string;
}

export type ServiceSelector = 'ALL' | 'ANY' | 'EXACT';

/** How many of a list to use (protobuf `ServiceConfiguration`); absent fields are protobuf defaults. */
export interface ServiceConfiguration {
  /** undefined: SERVICE_SELECTOR_UNDEFINED or no configuration at all. */
  readonly selector: ServiceSelector | undefined;
  /** For EXACT only; 0 when not given. */
  readonly count: number;
}

export interface SigningConfig {
  readonly mediaType: typeof SIGNING_CONFIG_MEDIA_TYPE;
  readonly caUrls: readonly SigningService[];
  readonly oidcUrls: readonly SigningService[];
  readonly rekorTlogUrls: readonly SigningService[];
  readonly rekorTlogConfig: ServiceConfiguration;
  readonly tsaUrls: readonly SigningService[];
  readonly tsaConfig: ServiceConfiguration;
}

/** The services one signing run uses. */
export interface SigningServices {
  readonly fulcio: { readonly url: string };
  /** Absent: the signature is not logged (a TSA then proves its time). */
  readonly rekor?: { readonly url: string; readonly majorApiVersion: number };
  readonly tsa?: { readonly url: string };
  /** The OIDC provider to get an identity token from, when the config names one. */
  readonly oidcIssuer?: { readonly url: string };
}

export interface SelectSigningServicesOptions {
  /** The time services must be valid at. */
  readonly now: Date;
  /** Rekor major API versions the signer can write to (1: Rekor v1, 2: Rekor v2). */
  readonly tlogMajorVersions: readonly number[];
  /** Names the configuration in messages; default "the signing config". */
  readonly source?: string;
}

const NO_CONFIGURATION: ServiceConfiguration = { selector: undefined, count: 0 };

type Fail = (problem: string, cause?: unknown) => Error;

/**
 * Parses a `signing_config.v0.2.json`. `source` names it in messages.
 * Throws `invalid` SIGNING_CONFIG_INVALID.
 */
export function parseSigningConfig(
  bytes: Uint8Array,
  source = 'the signing config',
): SigningConfig {
  const fail: Fail = (problem, cause) =>
    invalid(
      'SIGNING_CONFIG_INVALID',
      `${source} is not a usable Sigstore signing config: ${problem}`,
      { cause },
    );
  if (bytes.byteLength > MAX_SIGNING_CONFIG_BYTES) {
    throw fail(`it is larger than ${MAX_SIGNING_CONFIG_BYTES} bytes`);
  }
  let document: JsonValue;
  try {
    document = parseStrictJson(bytes, { maxDepth: MAX_DEPTH });
  } catch (error) {
    if (!(error instanceof StrictJsonError)) throw error;
    throw fail(`it is not valid JSON: ${error.message}`, error);
  }
  if (!isJsonObject(document)) throw fail('it is not a JSON object');
  if (document.mediaType !== SIGNING_CONFIG_MEDIA_TYPE) {
    throw fail(
      `mediaType is ${quote(document.mediaType ?? null)}, expected ${quote(SIGNING_CONFIG_MEDIA_TYPE)}`,
    );
  }
  onlyFields(
    document,
    ['mediaType', 'caUrls', 'oidcUrls', 'rekorTlogUrls', 'rekorTlogConfig', 'tsaUrls', 'tsaConfig'],
    '',
    fail,
  );
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: services(document.caUrls, 'caUrls', fail),
    oidcUrls: services(document.oidcUrls, 'oidcUrls', fail),
    rekorTlogUrls: services(document.rekorTlogUrls, 'rekorTlogUrls', fail),
    rekorTlogConfig: configuration(document.rekorTlogConfig, 'rekorTlogConfig', fail),
    tsaUrls: services(document.tsaUrls, 'tsaUrls', fail),
    tsaConfig: configuration(document.tsaConfig, 'tsaConfig', fail),
  };
}

/**
 * What is wrong with `text` as the URL of a service vouch connects to, or
 * undefined when nothing is. The text is never echoed when it carries
 * credentials.
 */
export function serviceUrlProblem(text: string): string | undefined {
  if (text.length > MAX_URL_LENGTH) return `is longer than ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Text with an '@' may hold credentials: not echoed.
    return text.includes('@') ? 'is not a URL' : `${quote(text)} is not a URL`;
  }
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackRegistry(url.host))) {
    return `${quote(text)} must be an https:// URL (plain http only to a loopback host)`;
  }
  if (url.search !== '' || url.hash !== '' || text.endsWith('?') || text.endsWith('#')) {
    return `${quote(text)} must not have a query or a fragment`;
  }
  // One spelling per URL: the WHATWG serialisation without a trailing slash
  // (the clients append API paths to base URLs: @sigstore/sign
  // `dist/external/fulcio.js`, `tsa.js`). Any other difference is a spelling
  // two URL parsers might read differently (case, escapes, default port,
  // whitespace, backslashes, short IPv4 forms).
  const canonical = url.href.endsWith('/') ? url.href.slice(0, -1) : url.href;
  if (canonical !== text) return `${quote(text)} must be written ${quote(canonical)}`;
  return undefined;
}

/** The URL flags' replacements for a configuration's services (cosign's flag names). */
export interface ServiceOverrides {
  /** `--fulcio-url`: the one certificate authority. */
  readonly fulcioUrl?: string | undefined;
  /** `--rekor-url`: the one transparency log, a Rekor v1 API. */
  readonly rekorUrl?: string | undefined;
  /** `--timestamp-server-url`: the one timestamp authority (its full RFC 3161 URL). */
  readonly tsaUrl?: string | undefined;
  /** `--tlog-upload=false`: no transparency log at all. Default true. */
  readonly tlogUpload?: boolean | undefined;
}

/**
 * `base` with each service a flag names replaced by that one URL, and no
 * transparency log when `tlogUpload` is false; with no `base`, a
 * configuration of the flags' services alone (a private deployment). A
 * flag's service is API version 1, always valid, selected with ANY, as
 * cosign builds its configuration from the same flags
 * (cmd/cosign/cli/signcommon/common.go `NewSigningConfigFromKeyOpts`, which
 * also means a `--rekor-url` is a Rekor v1 log). Throws `invalid`
 * SIGNING_CONFIG_INVALID for a URL `serviceUrlProblem` refuses.
 */
export function withServiceOverrides(
  base: SigningConfig | undefined,
  overrides: ServiceOverrides,
): SigningConfig {
  const one = (url: string, what: string): SigningService[] => {
    const problem = serviceUrlProblem(url);
    if (problem !== undefined) {
      throw invalid('SIGNING_CONFIG_INVALID', `the ${what} URL ${problem}`);
    }
    return [{ url, majorApiVersion: 1, operator: '' }];
  };
  const anyOne: ServiceConfiguration = { selector: 'ANY', count: 0 };
  const config = base ?? {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [],
    oidcUrls: [],
    rekorTlogUrls: [],
    rekorTlogConfig: NO_CONFIGURATION,
    tsaUrls: [],
    tsaConfig: NO_CONFIGURATION,
  };
  const { fulcioUrl, rekorUrl, tsaUrl, tlogUpload } = overrides;
  return {
    ...config,
    ...(fulcioUrl === undefined ? {} : { caUrls: one(fulcioUrl, 'Fulcio') }),
    ...(rekorUrl === undefined
      ? {}
      : { rekorTlogUrls: one(rekorUrl, 'Rekor'), rekorTlogConfig: anyOne }),
    ...(tsaUrl === undefined
      ? {}
      : { tsaUrls: one(tsaUrl, 'timestamp authority'), tsaConfig: anyOne }),
    ...(tlogUpload === false ? { rekorTlogUrls: [], rekorTlogConfig: NO_CONFIGURATION } : {}),
  };
}

/**
 * The services a keyless signing run uses now, chosen as the module comment
 * says. Throws `invalid` SIGNING_CONFIG_INVALID when the configuration
 * offers no usable Fulcio CA, no way to prove the signing time, or a
 * selection vouch cannot follow.
 */
export function selectSigningServices(
  config: SigningConfig,
  options: SelectSigningServicesOptions,
): SigningServices {
  const source = options.source ?? 'the signing config';
  const now = options.now.getTime();
  const fail = (problem: string) =>
    invalid('SIGNING_CONFIG_INVALID', `${source} cannot be used to sign: ${problem}`);

  const fulcio = selectOne(config.caUrls, 'caUrls', FULCIO_API_VERSIONS, now, fail);
  if (fulcio === undefined) throw fail('it names no Fulcio certificate authority (caUrls)');
  const oidc = selectOne(config.oidcUrls, 'oidcUrls', OIDC_API_VERSIONS, now, fail);
  const rekor = selectByConfiguration(
    config.rekorTlogUrls,
    config.rekorTlogConfig,
    'rekorTlogUrls',
    options.tlogMajorVersions,
    now,
    fail,
  );
  const tsa = selectByConfiguration(
    config.tsaUrls,
    config.tsaConfig,
    'tsaUrls',
    TSA_API_VERSIONS,
    now,
    fail,
  );
  if (rekor === undefined && tsa === undefined) {
    throw fail(
      'it names neither a transparency log nor a timestamp authority, so nothing would prove the signature was made while its short-lived certificate was valid',
    );
  }
  if (rekor !== undefined && rekor.majorApiVersion >= 2 && tsa === undefined) {
    throw fail(
      `the Rekor v${rekor.majorApiVersion} log ${rekor.url} signs no time, so a keyless signature logged there needs a timestamp authority too (tsaUrls)`,
    );
  }
  return {
    fulcio: { url: fulcio.url },
    ...(rekor === undefined
      ? {}
      : { rekor: { url: rekor.url, majorApiVersion: rekor.majorApiVersion } }),
    ...(tsa === undefined ? {} : { tsa: { url: tsa.url } }),
    ...(oidc === undefined ? {} : { oidcIssuer: { url: oidc.url } }),
  };
}

/** Whether `service` may be used at `now` (ms), both ends inclusive, as sigstore-go's `ValidAtTime`. */
export function serviceValidAt(service: SigningService, now: number): boolean {
  if (service.validFrom !== undefined && now < service.validFrom) return false;
  if (service.validUntil !== undefined && now > service.validUntil) return false;
  return true;
}

/**
 * The services of the highest version in `versions` that has any valid at
 * `now`, newest start first (document order among equal starts), at most
 * one per operator when `perOperator`.
 */
function eligible(
  services: readonly SigningService[],
  versions: readonly number[],
  now: number,
  perOperator: boolean,
): SigningService[] {
  const newestFirst = [...services].sort(
    (a, b) => (b.validFrom ?? -Infinity) - (a.validFrom ?? -Infinity),
  );
  for (const version of [...new Set(versions)].sort((a, b) => b - a)) {
    const operators = new Set<string>();
    const found = newestFirst.filter((service) => {
      if (service.majorApiVersion !== version || !serviceValidAt(service, now)) return false;
      if (!perOperator) return true;
      if (operators.has(service.operator)) return false;
      operators.add(service.operator);
      return true;
    });
    if (found.length > 0) return found;
  }
  return [];
}

function noneEligible(
  field: string,
  versions: readonly number[],
  now: number,
  fail: (problem: string) => Error,
) {
  return fail(
    `none of ${field} is valid at ${new Date(now).toISOString()} for API version ${versions.length === 0 ? '(none)' : versions.join(' or ')}`,
  );
}

/** sigstore-go `SelectService`: one service; undefined for an empty list. */
function selectOne(
  services: readonly SigningService[],
  field: string,
  versions: readonly number[],
  now: number,
  fail: (problem: string) => Error,
): SigningService | undefined {
  if (services.length === 0) return undefined;
  const [first] = eligible(services, versions, now, false);
  if (first === undefined) throw noneEligible(field, versions, now, fail);
  return first;
}

/** sigstore-go `SelectServices`, then what vouch can do with the selection (one service). */
function selectByConfiguration(
  services: readonly SigningService[],
  configuration: ServiceConfiguration,
  field: string,
  versions: readonly number[],
  now: number,
  fail: (problem: string) => Error,
): SigningService | undefined {
  if (services.length === 0) return undefined;
  const configField = field === 'tsaUrls' ? 'tsaConfig' : 'rekorTlogConfig';
  const { selector, count } = configuration;
  if (selector === undefined) {
    throw fail(`${field} lists services but ${configField} has no selector (ALL, ANY or EXACT)`);
  }
  const found = eligible(services, versions, now, true);
  const [first] = found;
  if (first === undefined) throw noneEligible(field, versions, now, fail);
  const one = `vouch writes each signature to one transparency log and asks one timestamp authority`;
  switch (selector) {
    case 'ANY':
      return first;
    case 'EXACT':
      if (count === 0) throw fail(`${configField} is EXACT with a count of 0`);
      if (count > found.length) {
        throw fail(
          `${configField} asks for EXACT ${count} services of distinct operators, but only ${found.length} are eligible now`,
        );
      }
      if (count > 1) throw fail(`${configField} asks for EXACT ${count} services; ${one}`);
      return first;
    case 'ALL':
      if (found.length > 1) {
        throw fail(
          `${configField} asks for ALL ${found.length} eligible services of distinct operators; ${one}`,
        );
      }
      return first;
  }
}

function onlyFields(object: JsonObject, known: readonly string[], where: string, fail: Fail) {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) throw fail(`${where}unknown field ${quote(key)}`);
  }
}

function services(value: JsonValue | undefined, field: string, fail: Fail): SigningService[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw fail(`${field} is not an array`);
  const list = value as readonly JsonValue[];
  if (list.length > MAX_SERVICES) throw fail(`${field} lists more than ${MAX_SERVICES} services`);
  return list.map((item, index) => service(item, `${field}[${index}]`, fail));
}

function service(value: JsonValue, where: string, fail: Fail): SigningService {
  if (!isJsonObject(value)) throw fail(`${where} is not a JSON object`);
  onlyFields(value, ['url', 'majorApiVersion', 'validFor', 'operator'], `${where}: `, fail);
  const url = value.url ?? '';
  if (typeof url !== 'string') throw fail(`${where}.url is not a string`);
  const problem = serviceUrlProblem(url);
  if (problem !== undefined) throw fail(`${where}.url ${problem}`);
  const majorApiVersion = uint32(value.majorApiVersion, `${where}.majorApiVersion`, fail);
  const operator = value.operator ?? '';
  if (typeof operator !== 'string') throw fail(`${where}.operator is not a string`);

  const validFor = value.validFor;
  if (!isJsonObject(validFor)) throw fail(`${where}.validFor is missing`);
  onlyFields(validFor, ['start', 'end'], `${where}.validFor: `, fail);
  if (validFor.start === undefined || validFor.start === null) {
    throw fail(`${where}.validFor.start is missing`);
  }
  const validFrom = rfc3339Millis(validFor.start, 'up', `${where}.validFor.start`, fail);
  const validUntil =
    validFor.end === undefined || validFor.end === null
      ? undefined
      : rfc3339Millis(validFor.end, 'down', `${where}.validFor.end`, fail);
  if (validUntil !== undefined && validUntil < validFrom) {
    throw fail(`${where}.validFor ends before it starts`);
  }
  return {
    url,
    majorApiVersion,
    validFrom,
    ...(validUntil === undefined ? {} : { validUntil }),
    operator,
  };
}

function configuration(
  value: JsonValue | undefined,
  field: string,
  fail: Fail,
): ServiceConfiguration {
  if (value === undefined || value === null) return NO_CONFIGURATION;
  if (!isJsonObject(value)) throw fail(`${field} is not a JSON object`);
  onlyFields(value, ['selector', 'count'], `${field}: `, fail);
  const selector = value.selector ?? 'SERVICE_SELECTOR_UNDEFINED';
  if (
    selector !== 'SERVICE_SELECTOR_UNDEFINED' &&
    selector !== 'ALL' &&
    selector !== 'ANY' &&
    selector !== 'EXACT'
  ) {
    throw fail(`${field}.selector is ${quote(selector)}, expected "ALL", "ANY" or "EXACT"`);
  }
  return {
    selector: selector === 'SERVICE_SELECTOR_UNDEFINED' ? undefined : selector,
    count: uint32(value.count, `${field}.count`, fail),
  };
}

/** A protobuf uint32 as a JSON number; absent or null is 0. */
function uint32(value: JsonValue | undefined, what: string, fail: Fail): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw fail(`${what} is not an integer from 0 to 4294967295`);
  }
  return value;
}

/** A value for a message: JSON, cut short, since it may be anything a hostile document holds. */
function quote(value: JsonValue): string {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
