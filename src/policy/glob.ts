/**
 * Image globs: which repositories a rule covers. A glob is matched against
 * the image's fully qualified repository name, `registry/path` as docker
 * normalises it (`nginx` is `docker.io/library/nginx`); tags and digests are
 * not part of the match, so a rule covers every version of what it names.
 *
 * - `*` matches any characters within one path segment (never `/`);
 * - `**`, only as a whole segment, matches one or more whole segments
 *   (`ghcr.io/acme/**` covers `ghcr.io/acme/app` and `ghcr.io/acme/team/app`,
 *   not `ghcr.io/acme` itself; `**` alone covers everything);
 * - every other character matches itself.
 *
 * A glob must start with a registry (`ghcr.io/...`, `localhost:5000/...`,
 * `*` or `**`): unlike policy-controller, which reads `nginx` as
 * `index.docker.io/library/nginx` (docs/formats.md "Kubernetes admission"), vouch asks for
 * `docker.io/library/nginx`, so what a rule covers is written in it. Images
 * are matched by their canonical names (oci/reference.ts), so a registry
 * written in a glob must be canonical too: `ghcr.io:443`, `index.docker.io`
 * or `[0:0::1]:5000` would match nothing, and are refused with the name to
 * write instead; so is a docker.io glob with one path segment (`docker.io/nginx`),
 * as every repository there has two.
 *
 * Namespace globs (`team-*`) know only `*`, matching any characters.
 *
 * Matching takes O(len(glob)·len(name)) steps, never more (see
 * matchesWildcard and matchesSegments): the names come from admission
 * requests, and a backtracking RegExp of `[^/]*` runs costs len(name)^k for
 * a glob with k stars (`*-*-*-*-svc` against a long name that does not end
 * in `svc`).
 */
import { invalid, messageOf } from '../core/errors.ts';
import { canonicalRegistry } from '../oci/reference.ts';

export interface ImageGlob {
  /** As written in the policy. */
  readonly glob: string;
  /** Its path segments: `**`, or characters and `*`s. */
  readonly segments: readonly string[];
}

/** Counts a matcher's steps, for tests of its bound. */
export interface StepMeter {
  steps: number;
}

// Characters a reference name can hold (distribution/reference), plus `*`.
// Upper case is refused: repository paths are lower case, and a glob with
// capitals would silently match nothing.
const GLOB_CHARACTERS = /^[a-z0-9._\-:[\]/*]+$/;
const SEGMENT_STAR_RUN = /\*{3,}/;

/**
 * Compiles an image glob. Throws `invalid` INVALID_GLOB, saying what is
 * wrong, for anything that is not a glob as described above.
 */
export function compileImageGlob(glob: string): ImageGlob {
  const fail = (why: string) =>
    invalid('INVALID_GLOB', `${JSON.stringify(glob)} is not an image glob: ${why}`);
  if (glob === '') throw fail('it is empty');
  if (!GLOB_CHARACTERS.test(glob)) {
    throw fail('use lower-case letters, digits, . _ - : [ ] / and the wildcards * and **');
  }
  if (SEGMENT_STAR_RUN.test(glob)) throw fail('*** means nothing; use * or **');
  const segments = glob.split('/');
  if (segments.some((segment) => segment === '')) throw fail('it has an empty path segment');
  for (const segment of segments) {
    if (segment.includes('**') && segment !== '**') {
      throw fail(`** must be a whole path segment, not part of ${JSON.stringify(segment)}`);
    }
  }
  const registry = segments[0] as string;
  if (
    segments.length === 1
      ? registry !== '**'
      : !(registry === '*' || registry === '**' || looksLikeRegistry(registry))
  ) {
    throw fail(
      'start with a registry (docker.io/library/nginx, ghcr.io/acme/**, localhost:5000/*) or a wildcard',
    );
  }
  if (segments.length > 1 && !registry.includes('*')) {
    let canonical: string;
    try {
      canonical = canonicalRegistry(registry);
    } catch (error) {
      throw fail(messageOf(error));
    }
    if (canonical !== registry) {
      throw fail(
        `images name this registry ${JSON.stringify(canonical)}, so write that; as written, the glob matches nothing`,
      );
    }
    if (canonical === 'docker.io' && segments.length === 2 && segments[1] !== '**') {
      throw fail(
        'every repository on docker.io has two or more path segments (nginx is docker.io/library/nginx), so it matches nothing',
      );
    }
  }
  return { glob, segments };
}

/**
 * Whether `repository` (`registry/path`) is covered by `glob`, in at most
 * 2·(len(glob)+1)·(len(repository)+1) steps.
 */
export function matchesImageGlob(glob: ImageGlob, repository: string, meter?: StepMeter): boolean {
  return matchesSegments(glob.segments, repository, meter);
}

/** docker's splitDockerDomain test: a registry has a dot or a port, or is localhost. */
function looksLikeRegistry(segment: string): boolean {
  return (
    segment.includes('.') ||
    segment.includes(':') ||
    segment === 'localhost' ||
    segment.includes('*')
  );
}

/** matchesSegments' rows of states, grown to the longest glob seen. */
let rows = new Uint8Array(64);

/**
 * Whether the name's segments match the glob's: a simulation of the
 * nondeterministic automaton whose states are positions in the glob's
 * segments, fed one name segment at a time. `live[i]` says the name's
 * segments so far can be matched by the glob's first `i`; a `**` at `i`,
 * fed a non-empty segment, both stays (it may take more) and moves on (it
 * took at least one). Each pair of a glob segment g and a name segment n is
 * tried at most once, at a cost of (len(g)+1)·(len(n)+1) steps
 * (matchesWildcard), and the sums of len(g)+1 and len(n)+1 are len(glob)+1
 * and len(name)+1: at most 2·(len(glob)+1)·(len(name)+1) steps in all.
 */
function matchesSegments(
  glob: readonly string[],
  name: string,
  meter: StepMeter | undefined,
): boolean {
  // The two rows of states, `live` and `next`, side by side in one reused
  // buffer, and the name's segments read in place, not split: matching runs
  // on every admission review (issue 15: allocation per review), is
  // synchronous and never re-entered.
  const width = glob.length + 1;
  if (rows.length < 2 * width) rows = new Uint8Array(2 * width);
  const state = rows;
  let live = 0;
  let next = width;
  state.fill(0, live, live + width);
  state[live] = 1;
  for (let start = 0; start <= name.length;) {
    const slash = name.indexOf('/', start);
    const end = slash === -1 ? name.length : slash;
    state.fill(0, next, next + width);
    let any = false;
    for (let i = 0; i < glob.length; i++) {
      if (state[live + i] === 0) continue;
      if (meter !== undefined) meter.steps++;
      const pattern = glob[i] as string;
      if (pattern === '**') {
        if (end > start) state[next + i] = state[next + i + 1] = 1;
        else continue;
      } else if (matchesWildcard(pattern, name, start, end, meter)) {
        state[next + i + 1] = 1;
      } else continue;
      any = true;
    }
    if (!any) return false;
    const swap = live;
    live = next;
    next = swap;
    start = end + 1;
  }
  return state[live + glob.length] === 1;
}

/**
 * Whether all of text[start, end) matches `pattern`, where `*` stands for
 * any run of characters (none included) and every other character for
 * itself: the greedy algorithm with one backtrack point
 * (https://research.swtch.com/glob). On a mismatch only the latest `*` takes
 * one more character, and matching resumes after it; an earlier `*` never
 * needs to take more, since whatever it would take the latest one can take
 * instead. Each resumption moves the backtrack point one character on (at
 * most len(text) times), and between two of them the pattern position only
 * advances (at most len(pattern) steps): at most
 * (len(pattern)+1)·(len(text)+1) steps.
 */
function matchesWildcard(
  pattern: string,
  text: string,
  start: number,
  end: number,
  meter?: StepMeter,
): boolean {
  let p = 0;
  let t = start;
  let star = -1; // the latest `*` in pattern
  let resume = start; // where in text the characters after it are tried next
  while (t < end) {
    if (meter !== undefined) meter.steps++;
    if (pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern.charCodeAt(p) === text.charCodeAt(t)) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

export interface NamespaceGlob {
  readonly glob: string;
}

// A Kubernetes namespace is a DNS label (RFC 1123); `*` is the wildcard.
const NAMESPACE_GLOB = /^[a-z0-9*]([a-z0-9*-]{0,61}[a-z0-9*])?$/;

/** Compiles a namespace glob. Throws `invalid` INVALID_GLOB unless it is a DNS label with `*`s. */
export function compileNamespaceGlob(glob: string): NamespaceGlob {
  if (!NAMESPACE_GLOB.test(glob)) {
    throw invalid(
      'INVALID_GLOB',
      `${JSON.stringify(glob)} is not a namespace glob: a namespace name (lower-case letters, digits, -) with * as the wildcard`,
    );
  }
  return { glob };
}

// What a namespace glob's characters and `*`s can match.
const NAMESPACE_CHARACTERS = /^[a-z0-9-]*$/;

/** Whether `namespace` is covered by `glob`, in O(len(glob)·len(namespace)) steps. */
export function matchesNamespaceGlob(glob: NamespaceGlob, namespace: string): boolean {
  return (
    NAMESPACE_CHARACTERS.test(namespace) &&
    matchesWildcard(glob.glob, namespace, 0, namespace.length)
  );
}
