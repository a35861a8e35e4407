/**
 * Container image references, parsed and printed the way docker does: the
 * grammar of github.com/distribution/reference (regexp.go, reference.go) plus
 * docker's normalisation of familiar names (normalize.go: ParseNormalizedNamed,
 * splitDockerDomain, familiarizeName). A hand-written scanner stands in for the
 * upstream regular expressions so that every error can point at the first
 * character that is wrong.
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path
 *   domain    := host [ ":" port ]        host := domain-name | "[" ipv6 "]"
 *   path      := component ( "/" component )*
 *   component := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag       := [\w][\w.-]{0,127}
 *   digest    := "sha256:" 64 hex | "sha512:" 128 hex   (vouch's subset of the grammar)
 */
import type { VouchError } from '../core/errors.ts';
import { invalid, messageOf } from '../core/errors.ts';
import { type Digest, parseDigest } from './digest.ts';

export interface ImageReference {
  /** Registry host with optional port: 'docker.io', 'ghcr.io', '127.0.0.1:5000', '[::1]:5000'. */
  readonly registry: string;
  /** Path inside the registry, normalised: 'library/ubuntu' on docker.io. */
  readonly repository: string;
  /** Absent when the reference names no tag; see `withDefaultTag`. */
  readonly tag?: string;
  readonly digest?: Digest;
}

// normalize.go defaultDomain, legacyDefaultDomain, officialRepoPrefix, defaultTag.
const DEFAULT_REGISTRY = 'docker.io';
const LEGACY_REGISTRY = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';

// reference.go RepositoryNameTotalLengthMax. Since distribution/reference
// v0.6.0 it bounds the path only: the domain is not counted.
const MAX_PATH_LENGTH = 255;
const MAX_TAG_LENGTH = 128;
// Inputs can be arbitrarily long; messages quote at most this much of them.
const MAX_QUOTED = 200;

// regexp.go `identifier`: ParseNormalizedNamed refuses a bare image ID as a name.
const IMAGE_ID = /^[a-f0-9]{64}$/;
// regexp.go `tag`, for callers that only need a yes or no.
const TAG = /^[\w][\w.-]{0,127}$/;

const SLASH = 0x2f;
const COLON = 0x3a;
const DOT = 0x2e;
const DASH = 0x2d;
const UNDERSCORE = 0x5f;
const BRACKET_OPEN = 0x5b;

/**
 * Parses a reference as docker's ParseNormalizedNamed does: 'ubuntu' is
 * docker.io/library/ubuntu, with no tag. Throws VouchError 'invalid' with code
 * INVALID_REFERENCE, naming the first offending character.
 */
export function parseReference(input: string): ImageReference {
  if (input.length === 0) throw invalid('INVALID_REFERENCE', 'reference is empty');
  if (IMAGE_ID.test(input)) {
    throw fail(
      input,
      'a 64-character hexadecimal name could be an image ID; prefix it with a registry (docker.io/...)',
    );
  }
  // Neither name nor tag can hold '@', so the first one starts the digest.
  const at = input.indexOf('@');
  const nameAndTag = at === -1 ? input : input.slice(0, at);
  // The tag's ':' is the first after the last '/': any other ':' in a name
  // belongs to the domain (port or IPv6), and a domain is always followed by '/'.
  const colon = nameAndTag.indexOf(':', nameAndTag.lastIndexOf('/') + 1);
  const nameEnd = colon === -1 ? nameAndTag.length : colon;
  if (nameEnd === 0) {
    throw fail(input, `missing repository name before ${quote(input.charAt(0))}`, 0);
  }
  const { registry, repository } = scanName(input, nameEnd);
  const tag = colon === -1 ? undefined : scanTag(input, colon + 1, nameAndTag.length);
  const digest = at === -1 ? undefined : scanDigest(input, at + 1);
  return {
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** The fully qualified form: 'docker.io/library/ubuntu:22.04@sha256:…'. */
export function formatReference(ref: ImageReference): string {
  return repositoryName(ref) + suffix(ref);
}

/**
 * Docker's FamiliarString (helpers.go, normalize.go familiarizeName):
 * 'ubuntu:22.04', 'user/app', 'ghcr.io/x/y'. Keeps the prefixes in the rare
 * cases where dropping them would make the string parse to another reference.
 */
export function familiarReference(ref: ImageReference): string {
  return familiarName(ref) + suffix(ref);
}

/** Whether `text` is a tag (`[\w][\w.-]{0,127}`), the distribution-spec grammar for one. */
export function isTag(text: string): boolean {
  return TAG.test(text);
}

/** 'registry/repository', without tag or digest. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** normalize.go TagNameOnly: a reference with neither tag nor digest gets ':latest'. */
export function withDefaultTag(ref: ImageReference): ImageReference {
  if (ref.tag !== undefined || ref.digest !== undefined) return ref;
  return { ...ref, tag: DEFAULT_TAG };
}

/**
 * Whether a registry (host with optional port) is on this machine: localhost,
 * 127.0.0.0/8 or [::1]. IPv4 counts only in plain dotted decimal (no leading
 * zeros, no short forms such as '127.1'), so an odd spelling never passes for local.
 */
export function isLoopbackRegistry(registry: string): boolean {
  const host = hostOf(registry);
  if (host === undefined) return false;
  if (host.toLowerCase() === 'localhost') return true;
  if (host.startsWith('[')) return isIPv6Loopback(host.slice(1, -1));
  const octets = host.split('.');
  return (
    octets.length === 4 &&
    octets.every((octet) => /^(?:0|[1-9][0-9]{0,2})$/.test(octet) && Number(octet) <= 255) &&
    octets[0] === '127'
  );
}

function suffix(ref: ImageReference): string {
  const tag = ref.tag === undefined ? '' : `:${ref.tag}`;
  const digest = ref.digest === undefined ? '' : `@${ref.digest}`;
  return tag + digest;
}

function familiarName(ref: ImageReference): string {
  const { registry, repository } = ref;
  if (registry !== DEFAULT_REGISTRY) return repositoryName(ref);
  const slash = repository.indexOf('/');
  // Upstream drops 'docker.io/' even from 'docker.io/example.com/app', whose
  // familiar form would then name the registry example.com; keep it there.
  if (slash !== -1 && looksLikeDomain(repository.slice(0, slash))) return repositoryName(ref);
  if (repository.startsWith(OFFICIAL_PREFIX)) {
    const rest = repository.slice(OFFICIAL_PREFIX.length);
    // A bare 64-hex name would be refused as an image ID; keep 'library/' then.
    const imageIdLike = IMAGE_ID.test(rest) && ref.tag === undefined && ref.digest === undefined;
    if (!rest.includes('/') && !imageIdLike) return rest;
  }
  return repository;
}

/**
 * normalize.go splitDockerDomain: the first component names a registry only if
 * it contains '.' or ':', is 'localhost', or has uppercase letters (which no
 * path may have); otherwise the registry is docker.io.
 */
function looksLikeDomain(component: string): boolean {
  return (
    component === 'localhost' ||
    component.includes('.') ||
    component.includes(':') ||
    component.toLowerCase() !== component
  );
}

function scanName(input: string, end: number): { registry: string; repository: string } {
  let registry = DEFAULT_REGISTRY;
  let pathStart = 0;
  const slash = input.indexOf('/');
  if (slash !== -1 && slash < end) {
    const first = input.slice(0, slash);
    if (looksLikeDomain(first)) {
      scanDomain(input, slash);
      registry = first === LEGACY_REGISTRY ? DEFAULT_REGISTRY : first;
      pathStart = slash + 1;
    }
  }
  scanPath(input, pathStart, end);
  const path = input.slice(pathStart, end);
  const repository =
    registry === DEFAULT_REGISTRY && !path.includes('/') ? OFFICIAL_PREFIX + path : path;
  if (repository.length > MAX_PATH_LENGTH) {
    // Point at the first character past the limit, counting the added 'library/'.
    const over = pathStart + MAX_PATH_LENGTH - (repository.length - path.length);
    throw fail(
      input,
      `repository name exceeds ${MAX_PATH_LENGTH} characters (has ${repository.length})`,
      over,
    );
  }
  return { registry, repository };
}

/** regexp.go domainAndPort, over input[0, end). */
function scanDomain(input: string, end: number): void {
  let i = 0;
  if (input.charCodeAt(0) === BRACKET_OPEN) {
    // regexp.go ipv6address: brackets around [a-fA-F0-9:]+, so no zone
    // identifiers and no dotted IPv4 tail.
    const close = input.indexOf(']');
    if (close === -1 || close > end) throw fail(input, 'IPv6 address has no closing "]"', 0);
    if (close === 1) throw fail(input, 'IPv6 address is empty', 1);
    for (let j = 1; j < close; j++) {
      const c = input.charCodeAt(j);
      if (!isHex(c) && c !== COLON) {
        throw fail(input, `invalid character ${describe(input, j)} in IPv6 address`, j);
      }
    }
    i = close + 1;
    if (i < end && input.charCodeAt(i) !== COLON) {
      throw fail(input, `expected ":" or "/" after IPv6 address, found ${describe(input, i)}`, i);
    }
  } else {
    // regexp.go domainName: labels of [a-zA-Z0-9-] that neither start nor end with '-'.
    for (;;) {
      const start = i;
      while (i < end && isLabelChar(input.charCodeAt(i))) i++;
      const c = input.charCodeAt(i);
      if (i < end && c !== DOT && c !== COLON) {
        throw fail(input, `invalid character ${describe(input, i)} in registry host`, i);
      }
      if (i === start) throw fail(input, 'registry host has an empty label', i);
      if (input.charCodeAt(start) === DASH) {
        throw fail(input, 'registry host label must not start with "-"', start);
      }
      if (input.charCodeAt(i - 1) === DASH) {
        throw fail(input, 'registry host label must not end with "-"', i - 1);
      }
      if (i === end || c === COLON) break;
      i++;
    }
  }
  if (i === end) return;
  // input[i] is ':'; regexp.go optionalPort is any run of digits.
  if (i + 1 === end) throw fail(input, 'registry port is empty', i);
  for (let j = i + 1; j < end; j++) {
    if (!isDigit(input.charCodeAt(j))) {
      throw fail(input, `invalid character ${describe(input, j)} in registry port`, j);
    }
  }
}

/** regexp.go remoteName, over input[start, end). */
function scanPath(input: string, start: number, end: number): void {
  let i = start;
  for (;;) {
    const first = input.charCodeAt(i);
    if (i === end) {
      throw fail(input, 'repository name must not end with "/"', i - 1);
    }
    if (first === SLASH) {
      const reason =
        i === 0
          ? 'repository name must not start with "/"'
          : 'repository name must not contain "//"';
      throw fail(input, reason, i);
    }
    if (!isLowerAlnum(first)) {
      if (isSeparator(first)) {
        throw fail(
          input,
          `path component must start with a lowercase letter or digit, not ${describe(input, i)}`,
          i,
        );
      }
      throw badPathCharacter(input, i);
    }
    for (;;) {
      while (i < end && isLowerAlnum(input.charCodeAt(i))) i++;
      if (i === end || input.charCodeAt(i) === SLASH) break;
      // regexp.go separator: one '.', one or two '_', or any number of '-'.
      const separator = i;
      const c = input.charCodeAt(i);
      if (c === DOT) {
        i++;
      } else if (c === UNDERSCORE) {
        i++;
        if (i < end && input.charCodeAt(i) === UNDERSCORE) i++;
      } else if (c === DASH) {
        while (i < end && input.charCodeAt(i) === DASH) i++;
      } else {
        throw badPathCharacter(input, i);
      }
      if (i === end || input.charCodeAt(i) === SLASH) {
        throw fail(
          input,
          `path component must end with a lowercase letter or digit, not ${describe(input, separator)}`,
          separator,
        );
      }
      const next = input.charCodeAt(i);
      if (!isLowerAlnum(next)) {
        if (isSeparator(next)) {
          const run = quote(input.slice(separator, i + 1));
          throw fail(input, `invalid separator ${run} in repository name`, i);
        }
        throw badPathCharacter(input, i);
      }
    }
    if (i === end) return;
    i++;
  }
}

function badPathCharacter(input: string, i: number): VouchError {
  const ch = String.fromCodePoint(input.codePointAt(i) ?? 0);
  if (ch.toLowerCase() !== ch) return fail(input, 'repository name must be lowercase', i);
  return fail(input, `invalid character ${describe(input, i)} in repository name`, i);
}

/** regexp.go tag, over input[start, end). */
function scanTag(input: string, start: number, end: number): string {
  if (start === end) throw fail(input, 'tag is empty', start - 1);
  const tag = input.slice(start, end);
  for (let j = start; j < end; j++) {
    const c = input.charCodeAt(j);
    if (isWordChar(c)) continue;
    if (j === start && (c === DOT || c === DASH)) {
      throw fail(input, `tag ${quote(tag)} must start with a letter, digit or "_"`, j);
    }
    if (j > start && (c === DOT || c === DASH)) continue;
    throw fail(input, `tag ${quote(tag)} contains invalid character ${describe(input, j)}`, j);
  }
  if (tag.length > MAX_TAG_LENGTH) {
    throw fail(
      input,
      `tag exceeds ${MAX_TAG_LENGTH} characters (has ${tag.length})`,
      start + MAX_TAG_LENGTH,
    );
  }
  return tag;
}

/**
 * Digest from input[start] to the end. The grammar (regexp.go digestPat)
 * admits any algorithm with 32+ hex digits; vouch takes only sha256 and sha512
 * with their exact lowercase encodings, as go-digest does for those two.
 */
function scanDigest(input: string, start: number): Digest {
  const end = input.length;
  if (start === end) throw fail(input, 'digest is empty', start - 1);
  const text = input.slice(start);
  const what = `invalid digest ${quote(text)}`;
  const colon = input.indexOf(':', start);
  if (colon === -1) throw fail(input, `${what}: expected "algorithm:hex"`, start);
  const algorithm = input.slice(start, colon);
  const expected = algorithm === 'sha256' ? 64 : algorithm === 'sha512' ? 128 : undefined;
  if (expected === undefined) {
    throw fail(
      input,
      `${what}: unsupported algorithm ${quote(algorithm)}, expected sha256 or sha512`,
      start,
    );
  }
  for (let j = colon + 1; j < end; j++) {
    const c = input.charCodeAt(j);
    if (isDigit(c) || (c >= 0x61 && c <= 0x66)) continue;
    const reason =
      c >= 0x41 && c <= 0x46 ? 'hex must be lowercase' : `invalid character ${describe(input, j)}`;
    throw fail(input, `${what}: ${reason}`, j);
  }
  const found = end - colon - 1;
  if (found !== expected) {
    const reason = `${what}: ${algorithm} needs ${expected} hex characters, found ${found}`;
    throw fail(input, reason, found > expected ? colon + 1 + expected : undefined);
  }
  try {
    return parseDigest(text);
  } catch (error) {
    throw fail(input, messageOf(error));
  }
}

function hostOf(registry: string): string | undefined {
  let host = registry;
  let port = '';
  if (registry.startsWith('[')) {
    const close = registry.indexOf(']');
    if (close === -1) return undefined;
    host = registry.slice(0, close + 1);
    port = registry.slice(close + 1);
  } else {
    const colon = registry.indexOf(':');
    if (colon !== -1) {
      host = registry.slice(0, colon);
      port = registry.slice(colon);
    }
  }
  return port === '' || /^:[0-9]+$/.test(port) ? host : undefined;
}

/** ::1 in any RFC 4291 text form: '::1', '0:0:0:0:0:0:0:1', '::0:1'. */
function isIPv6Loopback(address: string): boolean {
  const halves = address.split('::');
  if (halves.length > 2) return false;
  const groups = (half: string | undefined): string[] | undefined => {
    if (half === undefined || half === '') return [];
    const parts = half.split(':');
    return parts.every((part) => /^[0-9a-fA-F]{1,4}$/.test(part)) ? parts : undefined;
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (head === undefined || tail === undefined) return false;
  const present = head.length + tail.length;
  if (halves.length === 2 ? present > 7 : present !== 8) return false;
  const words = [...head, ...Array<string>(8 - present).fill('0'), ...tail].map((group) =>
    Number.parseInt(group, 16),
  );
  return words.every((word, index) => word === (index === 7 ? 1 : 0));
}

function fail(input: string, reason: string, index?: number): VouchError {
  // The scan goes left to right, and everything before an error has passed the
  // grammar, which is ASCII: the index counts characters exactly.
  const where = index === undefined ? '' : ` (at character ${index + 1})`;
  return invalid('INVALID_REFERENCE', `invalid reference ${quote(input)}: ${reason}${where}`);
}

/** The character at input[i], quoted. */
function describe(input: string, i: number): string {
  return quote(String.fromCodePoint(input.codePointAt(i) ?? 0));
}

/** Double-quoted, truncated, and with everything but printable ASCII escaped. */
function quote(text: string): string {
  const shown = text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}...` : text;
  return JSON.stringify(shown).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isLowerAlnum(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x7a);
}

function isLabelChar(c: number): boolean {
  return isLowerAlnum(c) || (c >= 0x41 && c <= 0x5a) || c === DASH;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** Go's \w: [0-9A-Za-z_]. */
function isWordChar(c: number): boolean {
  return isLowerAlnum(c) || (c >= 0x41 && c <= 0x5a) || c === UNDERSCORE;
}

function isSeparator(c: number): boolean {
  return c === DOT || c === UNDERSCORE || c === DASH;
}
