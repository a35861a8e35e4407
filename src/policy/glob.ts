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
 * `index.docker.io/library/nginx` (research/policy.md §2.1), vouch asks for
 * `docker.io/library/nginx`, so what a rule covers is written in it. Images
 * are matched by their canonical names (oci/reference.ts), so a registry
 * written in a glob must be canonical too: `ghcr.io:443`, `index.docker.io`
 * or `[0:0::1]:5000` would match nothing, and are refused with the name to
 * write instead; so is a docker.io glob with one path segment (`docker.io/nginx`),
 * as every repository there has two.
 *
 * Namespace globs (`team-*`) know only `*`, matching any characters.
 */
import { invalid, messageOf } from '../core/errors.ts';
import { canonicalRegistry } from '../oci/reference.ts';

export interface ImageGlob {
  /** As written in the policy. */
  readonly glob: string;
  readonly pattern: RegExp;
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
  return { glob, pattern: new RegExp(`^${segmentsPattern(segments)}$`) };
}

/** Whether `repository` (`registry/path`) is covered by `glob`. */
export function matchesImageGlob(glob: ImageGlob, repository: string): boolean {
  return glob.pattern.test(repository);
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

function segmentsPattern(segments: readonly string[]): string {
  let pattern = '';
  segments.forEach((segment, index) => {
    const first = index === 0;
    if (segment === '**') {
      // One or more whole segments, each with its separator.
      pattern += first ? '[^/]+(?:/[^/]+)*' : '(?:/[^/]+)+';
      return;
    }
    const literal = segment
      .split('*')
      .map((part) => part.replace(/[.[\]\\^$+?(){}|-]/g, '\\$&'))
      .join('[^/]*');
    pattern += first ? literal : `/${literal}`;
  });
  return pattern;
}

export interface NamespaceGlob {
  readonly glob: string;
  readonly pattern: RegExp;
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
  return { glob, pattern: new RegExp(`^${glob.split('*').join('[a-z0-9-]*')}$`) };
}

export function matchesNamespaceGlob(glob: NamespaceGlob, namespace: string): boolean {
  return glob.pattern.test(namespace);
}
