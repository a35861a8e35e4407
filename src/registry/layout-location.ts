/**
 * The `oci:PATH`, `oci:PATH:TAG` and `oci:PATH@DIGEST` grammar that names an
 * OCI image layout on disk and, optionally, one manifest in it.
 */
import { invalid, messageOf } from '../core/errors.ts';
import { type Digest, parseDigest } from '../oci/digest.ts';
import { isTag } from '../oci/reference.ts';
import type { ManifestTarget } from './store.ts';

/** A parsed `oci:` location: the layout directory and, if given, a tag or digest. */
export interface LayoutLocation {
  readonly path: string;
  readonly target?: ManifestTarget;
}

/** image-spec descriptor.md digest grammar: what after the last '@' makes it a digest reference. */
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * Parses `oci:PATH`, `oci:PATH:TAG` and `oci:PATH@DIGEST`.
 *
 * As in containers/image's oci transport on non-Windows systems
 * (`oci/internal/oci_util.go`): the path ends at the FIRST ':' and may not
 * contain one (no drive-letter handling), and an empty name (`oci:PATH:`)
 * means no tag. The name must be a tag (`[\w][\w.-]{0,127}`); skopeo also
 * accepts names like `a/b:c`, which vouch refuses rather than reads
 * differently. `@DIGEST` is vouch's own: the text after the last '@' is a
 * digest when it contains a ':' (so a path may contain '@'). skopeo's
 * `oci:PATH:@N` source index is not supported.
 */
export function parseLayoutLocation(spec: string): LayoutLocation {
  const fail = (problem: string, cause?: unknown) =>
    invalid(
      'INVALID_LAYOUT_REFERENCE',
      `invalid OCI layout reference "${spec}": ${problem}`,
      cause === undefined ? undefined : { cause },
    );
  if (!spec.startsWith('oci:')) throw fail('expected oci:PATH, oci:PATH:TAG or oci:PATH@DIGEST');
  const rest = spec.slice('oci:'.length);
  const at = rest.lastIndexOf('@');
  if (at !== -1 && DIGEST_GRAMMAR.test(rest.slice(at + 1))) {
    const path = rest.slice(0, at);
    let digest: Digest;
    try {
      digest = parseDigest(rest.slice(at + 1));
    } catch (error) {
      throw fail(messageOf(error), error);
    }
    if (path === '') throw fail('the layout path is empty');
    if (path.includes(':')) {
      throw fail(
        path.endsWith(':')
          ? 'expected oci:PATH@DIGEST without a ":" before the "@"'
          : 'a manifest is addressed by a tag or a digest, not both (and a path may not contain ":")',
      );
    }
    return { path, target: { digest } };
  }
  const colon = rest.indexOf(':');
  const path = colon === -1 ? rest : rest.slice(0, colon);
  const name = colon === -1 ? '' : rest.slice(colon + 1);
  if (path === '') throw fail('the layout path is empty');
  if (name === '') return { path };
  if (/^@\d+$/.test(name))
    throw fail(`skopeo's source index ${name} is not supported; use a tag or @DIGEST`);
  if (!isTag(name)) {
    throw fail(
      `"${name}" is not a valid tag (expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; the path ends at the first ":")`,
    );
  }
  return { path, target: { tag: name } };
}
