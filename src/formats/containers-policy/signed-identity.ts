/**
 * `signedIdentity` rules of policy.json: does the identity a signature
 * claims (`critical.identity.docker-reference`) satisfy the rule for the
 * image being evaluated? containers/image signature/policy_reference_match.go,
 * rule by rule:
 *
 * - `matchExact`: both have a tag or digest and are the same reference;
 * - `matchRepoDigestOrExact`: an image named by tag needs that exact
 *   reference; an image named by digest accepts any tag or digest of the
 *   same repository (the digest itself is checked against the signed
 *   manifest digest separately);
 * - `matchRepository`: same repository, any tag or digest;
 * - `exactReference` / `exactRepository`: the signature's claim against the
 *   rule's reference / repository, whatever the image is called;
 * - `remapIdentity`: `matchRepoDigestOrExact` after replacing `prefix` with
 *   `signedPrefix` in the image's reference, when its name is `prefix` or
 *   starts with `prefix` + "/"; a rewrite that is not a canonical reference
 *   (`reference.ParseNamed`) matches nothing.
 *
 * References are parsed as docker's ParseNormalizedNamed (oci/reference.ts),
 * so `busybox:latest` and `docker.io/library/busybox:latest` are one; a
 * claim that does not parse matches nothing. Every rule is a few string
 * comparisons after linear-time parses.
 */
import {
  formatReference,
  type ImageReference,
  parseReference,
  repositoryName,
} from '../../oci/reference.ts';
import type { IdentityRule } from './policy-json.ts';

/**
 * The rule a required reference stands for (`vouch verify
 * --signed-identity`): `exactRepository` for a repository, `exactReference`
 * for a reference with a tag or digest, as skopeo's
 * `--signed-identity` / `exactReference` reads one.
 */
export function requiredIdentityRule(required: ImageReference): IdentityRule {
  return required.tag === undefined && required.digest === undefined
    ? { type: 'exactRepository', dockerRepository: repositoryName(required) }
    : { type: 'exactReference', dockerReference: formatReference(required) };
}

/** `rule` in words, for the image `intended`: what a refused claim was measured against. */
export function describeIdentityRule(rule: IdentityRule, intended: ImageReference): string {
  switch (rule.type) {
    case 'exactReference':
      return `exactReference ${rule.dockerReference}`;
    case 'exactRepository':
      return `exactRepository ${rule.dockerRepository}`;
    case 'remapIdentity':
      return `remapIdentity (${rule.prefix} as ${rule.signedPrefix}) for ${formatReference(intended)}`;
    default:
      return `${rule.type} for ${formatReference(intended)}`;
  }
}

/**
 * Whether `signedReference` (what the signature claims) is accepted by
 * `rule` for the image `intended`, the reference it is evaluated under
 * (a tag or a digest, as containers/image's docker transport has it).
 */
export function matchesSignedIdentity(
  rule: IdentityRule,
  intended: ImageReference,
  signedReference: string,
): boolean {
  const signed = parse(signedReference);
  if (signed === undefined) return false;
  switch (rule.type) {
    case 'matchExact':
      return exact(intended, signed);
    case 'matchRepoDigestOrExact':
      return repoDigestOrExact(intended, signed);
    case 'matchRepository':
      return repositoryName(signed) === repositoryName(intended);
    case 'exactReference': {
      const wanted = parse(rule.dockerReference);
      return wanted !== undefined && exact(wanted, signed);
    }
    case 'exactRepository': {
      const wanted = parse(rule.dockerRepository);
      return wanted !== undefined && repositoryName(signed) === repositoryName(wanted);
    }
    case 'remapIdentity': {
      const remapped = remapReferencePrefix(rule.prefix, rule.signedPrefix, intended);
      return remapped !== undefined && repoDigestOrExact(remapped, signed);
    }
  }
}

/** matchExact: neither name-only, same canonical string (tag and digest both compared). */
function exact(a: ImageReference, b: ImageReference): boolean {
  if (isNameOnly(a) || isNameOnly(b)) return false;
  return formatReference(a) === formatReference(b);
}

/** matchRepoDigestOrExactReferenceValues. */
function repoDigestOrExact(intended: ImageReference, signed: ImageReference): boolean {
  if (isNameOnly(signed)) return false;
  // A tagged reference (with or without a digest) is matched exactly.
  if (intended.tag !== undefined) return formatReference(signed) === formatReference(intended);
  if (intended.digest !== undefined) return repositoryName(signed) === repositoryName(intended);
  return false;
}

/** prmRemapIdentity.refMatchesPrefix: the name is the prefix, or continues it after a "/". */
export function refMatchesPrefix(prefix: string, ref: ImageReference): boolean {
  const name = repositoryName(ref);
  if (name.length < prefix.length) return false;
  if (name.length === prefix.length) return name === prefix;
  return name.startsWith(prefix) && name[prefix.length] === '/';
}

/**
 * prmRemapIdentity.remapReferencePrefix: `ref` with `prefix` replaced by
 * `signedPrefix`, `ref` itself when the prefix does not match, undefined
 * when the rewrite is not a reference in canonical form.
 */
export function remapReferencePrefix(
  prefix: string,
  signedPrefix: string,
  ref: ImageReference,
): ImageReference | undefined {
  if (!refMatchesPrefix(prefix, ref)) return ref;
  // The name starts with the prefix, so its first occurrence is at 0.
  const rewritten = signedPrefix + formatReference(ref).slice(prefix.length);
  const parsed = parse(rewritten);
  // reference.ParseNamed: only the canonical spelling is accepted
  // ("notlocalhost:tag" would be docker.io/library/notlocalhost:tag).
  if (parsed === undefined || formatReference(parsed) !== rewritten) return undefined;
  return parsed;
}

function isNameOnly(ref: ImageReference): boolean {
  return ref.tag === undefined && ref.digest === undefined;
}

function parse(text: string): ImageReference | undefined {
  try {
    return parseReference(text);
  } catch {
    return undefined;
  }
}
