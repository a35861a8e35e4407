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
 *   port      := 1-65535, neither 80 nor 443 (vouch; upstream takes any digits)
 *   path      := component ( "/" component )*
 *   component := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag       := [\w][\w.-]{0,127}
 *   digest    := "sha256:" 64 hex | "sha512:" 128 hex   (vouch's subset of the grammar)
 */
import type { VouchError } from '../core/errors.ts';
import { invalid, messageOf } from '../core/errors.ts';
import { type Digest, parseDigest } from './digest.ts';

/**
 * A parsed reference names its registry canonically: two spellings that reach
 * the same registry are one string wherever vouch compares or keys by it
 * (policy rules, admission caches, notary GUNs and trust pins, signed
 * identities), so no spelling can get another decision than its repository.
 *
 * Folded, because the registry reached is the same either way: host names
 * lower-cased (DNS is case-insensitive, RFC 4343; URL parsers lower-case
 * them), IPv6 addresses in RFC 5952's form (as URL parsers print them),
 * leading zeros dropped from ports, Docker Hub's other host names turned
 * into docker.io (vouch reaches docker.io at registry-1.docker.io).
 * Refused, because no one spelling is right: an explicit default port.
 * `host:443` is `host` over HTTPS but not over plain HTTP (`host:80` the
 * other way round), and vouch, like docker, speaks plain HTTP to loopback
 * and insecure registries: dropping the port would change where vouch
 * connects, keeping it would give one registry two names. Also refused:
 * hosts a URL parser refuses or reads as another host (ports out of range,
 * IPv4 notations other than four decimal numbers, malformed IPv6).
 *
 * Folding here rather than refusing every non-canonical spelling keeps
 * what docker and Kubernetes accept (`index.docker.io/x`, capitals in a
 * host), and doing it in the parser, the one place every reference passes,
 * means no consumer has to remember to: a second, "canonical" field beside
 * the spelling would be one more thing to forget.
 */
export interface ImageReference {
  /** Registry host with optional port, canonical: 'docker.io', 'ghcr.io', '127.0.0.1:5000', '[::1]:5000'. */
  readonly registry: string;
  /** Path inside the registry, normalised: 'library/ubuntu' on docker.io. */
  readonly repository: string;
  /** Absent when the reference names no tag; see `withDefaultTag`. */
  readonly tag?: string;
  readonly digest?: Digest;
}

// normalize.go defaultDomain, officialRepoPrefix, defaultTag.
const DEFAULT_REGISTRY = 'docker.io';
const OFFICIAL_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
// Docker Hub's registry under its other names: normalize.go legacyDefaultDomain;
// registry-1.docker.io, the host that serves its API; registry.hub.docker.com
// and registry.docker.io, which answer for it too (docker/hub-feedback#2113,
// docker/hub-tool#31).
const HUB_ALIASES: ReadonlySet<string> = new Set([
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
  'registry.docker.io',
]);
const HTTPS_PORT = 443;
const HTTP_PORT = 80;
const MAX_PORT = 65535;

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
const ZERO = 0x30;
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
 * A registry written alone (`GHCR.IO`, `localhost:5000`) in the canonical
 * form a reference naming it would have. Throws `invalid` INVALID_REFERENCE
 * for anything that is not a registry name, or that vouch refuses.
 */
export function canonicalRegistry(text: string): string {
  if (text === '' || !looksLikeDomain(text)) {
    throw invalid(
      'INVALID_REFERENCE',
      `invalid registry ${quote(text)}: a registry has a "." or a port, or is localhost`,
    );
  }
  return scanDomain(text, text.length, 'registry');
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
      registry = scanDomain(input, slash);
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

/**
 * regexp.go domainAndPort, over input[0, end); returns the registry in its
 * canonical form (see ImageReference). `what` names the input in messages.
 */
function scanDomain(input: string, end: number, what = 'reference'): string {
  const bad = (reason: string, at: number) => fail(input, reason, at, what);
  let i = 0;
  let host: string;
  if (input.charCodeAt(0) === BRACKET_OPEN) {
    // regexp.go ipv6address: brackets around [a-fA-F0-9:]+, so no zone
    // identifiers and no dotted IPv4 tail.
    const close = input.indexOf(']');
    if (close === -1 || close > end) throw bad('IPv6 address has no closing "]"', 0);
    if (close === 1) throw bad('IPv6 address is empty', 1);
    for (let j = 1; j < close; j++) {
      const c = input.charCodeAt(j);
      if (!isHex(c) && c !== COLON) {
        throw bad(`invalid character ${describe(input, j)} in IPv6 address`, j);
      }
    }
    const address = input.slice(1, close);
    const words = ipv6Words(address);
    if (typeof words === 'string') throw bad(`IPv6 address ${quote(address)} ${words}`, 1);
    host = `[${formatIPv6(words)}]`;
    i = close + 1;
    if (i < end && input.charCodeAt(i) !== COLON) {
      throw bad(`expected ":" or "/" after IPv6 address, found ${describe(input, i)}`, i);
    }
  } else {
    // regexp.go domainName: labels of [a-zA-Z0-9-] that neither start nor end with '-'.
    for (;;) {
      const start = i;
      while (i < end && isLabelChar(input.charCodeAt(i))) i++;
      const c = input.charCodeAt(i);
      if (i < end && c !== DOT && c !== COLON) {
        throw bad(`invalid character ${describe(input, i)} in registry host`, i);
      }
      if (i === start) throw bad('registry host has an empty label', i);
      if (input.charCodeAt(start) === DASH) {
        throw bad('registry host label must not start with "-"', start);
      }
      if (input.charCodeAt(i - 1) === DASH) {
        throw bad('registry host label must not end with "-"', i - 1);
      }
      if (i === end || c === COLON) break;
      i++;
    }
    host = input.slice(0, i);
    checkNumericHost(host, bad);
    host = host.toLowerCase();
  }
  let port = '';
  if (i < end) {
    // input[i] is ':'; regexp.go optionalPort is any run of digits.
    if (i + 1 === end) throw bad('registry port is empty', i);
    for (let j = i + 1; j < end; j++) {
      if (!isDigit(input.charCodeAt(j))) {
        throw bad(`invalid character ${describe(input, j)} in registry port`, j);
      }
    }
    const digits = input.slice(i + 1, end);
    const number = Number(digits);
    if (number < 1 || number > MAX_PORT) {
      const shown = digits.length <= 10 ? digits : `of ${digits.length} digits`;
      throw bad(`registry port ${shown} is out of range (1-${MAX_PORT})`, i + 1);
    }
    if (number === HTTPS_PORT || number === HTTP_PORT) {
      const scheme = number === HTTPS_PORT ? 'HTTPS' : 'plain HTTP';
      throw bad(
        `registry port ${number} is the default port of ${scheme}; write the registry as ${quote(host)}`,
        i + 1,
      );
    }
    port = `:${number}`;
  }
  if (port === '' && HUB_ALIASES.has(host)) return DEFAULT_REGISTRY;
  const registry = host + port;
  if (!looksLikeDomain(registry)) {
    throw bad(
      `registry host ${quote(input.slice(0, end))} is a registry only because of its capital letters, ` +
        `but host names are case-insensitive and ${quote(registry)} would name a Docker Hub repository; ` +
        'write its domain or a port',
      0,
    );
  }
  return registry;
}

/**
 * A URL parser reads a host whose last label is a number (digits, or 0x and
 * hex digits) as an IPv4 address (https://url.spec.whatwg.org/#ends-in-a-number-checker):
 * it refuses `999.999.999.999` and `foo.1`, and reads `127.1`, `0x7f.0.0.1`
 * and `010.0.0.1` as 127.0.0.1 and 8.0.0.1. So such a host must be an IPv4
 * address in the one notation every client reads alike: four decimal numbers
 * up to 255, without leading zeros.
 */
function checkNumericHost(host: string, bad: (reason: string, at: number) => VouchError): void {
  // Scanned in place, without splitting: a registry host is checked on every
  // admission review (issue 15: allocation per review). The host holds only
  // labels of [a-zA-Z0-9-] between dots here (scanDomain checked them).
  if (!isNumberLabel(host, host.lastIndexOf('.') + 1)) return;
  let dots = 0;
  for (let i = 0; i < host.length; i++) if (host.charCodeAt(i) === DOT) dots++;
  if (dots !== 3) {
    throw bad(
      `registry host ${quote(host)} ends in a number, so URL parsers read it as an IPv4 address, ` +
        'which it is not (four decimal numbers, such as 127.0.0.1)',
      0,
    );
  }
  // Messages are built only on failure.
  const address = () => `IPv4 address ${quote(host)}`;
  for (let at = 0; at < host.length;) {
    const dot = host.indexOf('.', at);
    const end = dot === -1 ? host.length : dot;
    let decimal = end > at;
    for (let i = at; i < end && decimal; i++) decimal = isDigit(host.charCodeAt(i));
    if (!decimal) {
      const part = host.slice(at, end);
      throw bad(`${address()} has a part that is not a decimal number (${quote(part)})`, at);
    }
    if (end - at > 1 && host.charCodeAt(at) === ZERO) {
      const part = host.slice(at, end);
      throw bad(
        `${address()} has a number with a leading zero (${quote(part)}), which URL parsers read as octal`,
        at,
      );
    }
    // No leading zero: more than three digits is above 255.
    if (end - at > 3 || Number(host.slice(at, end)) > 255) {
      throw bad(`${address()} has a number above 255 (${quote(host.slice(at, end))})`, at);
    }
    at = end + 1;
  }
}

/**
 * Whether host[from...] is a label a URL parser reads as a number
 * (https://url.spec.whatwg.org/#ends-in-a-number-checker): digits, or `0x`
 * and hex digits.
 */
function isNumberLabel(host: string, from: number): boolean {
  if (from >= host.length) return false;
  let i = from;
  const hex =
    host.charCodeAt(i) === ZERO && (host.charCodeAt(i + 1) | 0x20) === 0x78; /* 0x or 0X */
  if (hex) {
    for (i += 2; i < host.length; i++) if (!isHex(host.charCodeAt(i))) return false;
    return true;
  }
  for (; i < host.length; i++) if (!isDigit(host.charCodeAt(i))) return false;
  return true;
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
  const words = ipv6Words(address);
  return typeof words !== 'string' && words.every((word, index) => word === (index === 7 ? 1 : 0));
}

/**
 * The eight 16-bit words of an IPv6 address in RFC 4291 §2.2 text form
 * (hexadecimal groups, one "::" for a run of zero groups), or what is wrong
 * with it.
 */
function ipv6Words(address: string): number[] | string {
  const halves = address.split('::');
  if (halves.length > 2) return 'has more than one "::"';
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  for (const group of groups.flat()) {
    if (group === '') return 'has an empty group';
    if (!/^[0-9a-fA-F]+$/.test(group))
      return `has a group that is not hexadecimal (${quote(group)})`;
    if (group.length > 4) return `has a group of more than 4 digits (${quote(group)})`;
  }
  const [head = [], tail = []] = groups;
  const present = head.length + tail.length;
  if (halves.length === 1 && present !== 8) {
    return `has ${present} groups; an IPv6 address has 8`;
  }
  if (halves.length === 2 && present > 7) {
    return `has ${present} groups and "::", which stands for at least one more; an IPv6 address has 8`;
  }
  return [...head, ...Array<string>(8 - present).fill('0'), ...tail].map((group) =>
    Number.parseInt(group, 16),
  );
}

/**
 * RFC 5952 §4: lower-case hexadecimal without leading zeros, the first
 * longest run of two or more zero words as "::" (also what the WHATWG URL
 * serialiser writes).
 */
function formatIPv6(words: readonly number[]): string {
  let best = 0;
  let bestLength = 1;
  for (let i = 0; i < words.length;) {
    let j = i;
    while (j < words.length && words[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = Math.max(j, i + 1);
  }
  const hex = (part: readonly number[]) => part.map((word) => word.toString(16)).join(':');
  if (bestLength < 2) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLength))}`;
}

function fail(input: string, reason: string, index?: number, what = 'reference'): VouchError {
  // The scan goes left to right, and everything before an error has passed the
  // grammar, which is ASCII: the index counts characters exactly.
  const where = index === undefined ? '' : ` (at character ${index + 1})`;
  return invalid('INVALID_REFERENCE', `invalid ${what} ${quote(input)}: ${reason}${where}`);
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
