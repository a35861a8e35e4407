/**
 * containers-policy.json's `signedIdentity` rules for a `gpg:` authority:
 * whether the docker-reference a GPG simple signature signs is accepted for
 * the reference that was asked for, as containers/image decides
 * (https://github.com/containers/image/blob/main/signature/policy_reference_match.go).
 * Both references are normalized as `reference.ParseNormalizedNamed` does
 * (`busybox` is docker.io/library/busybox); a signed reference that does not
 * parse is never accepted. `remapIdentity` is not supported.
 */
import { messageOf } from '../core/errors.ts';
import type { ImageReference } from '../oci/reference.ts';
import { formatReference, parseReference, repositoryName } from '../oci/reference.ts';
import type { SignedIdentityDocument } from './types.ts';

/** Whether `signed` (a signature's docker-reference) is accepted for `intended` under `rule`. */
export function acceptsSignedIdentity(
  rule: SignedIdentityDocument,
  intended: ImageReference,
  signed: string,
): boolean {
  let signature: ImageReference;
  try {
    signature = parseReference(signed);
  } catch {
    return false;
  }
  switch (rule.type) {
    case 'matchExact':
      return (
        !nameOnly(signature) &&
        !nameOnly(intended) &&
        formatReference(signature) === formatReference(intended)
      );
    case 'matchRepoDigestOrExact':
      if (nameOnly(signature)) return false;
      // A tagged request (with or without a digest) needs exactly that reference
      // signed; a digest-only request needs the repository (the digest itself
      // is checked against the signature's manifest digest).
      if (intended.tag !== undefined)
        return formatReference(signature) === formatReference(intended);
      if (intended.digest !== undefined)
        return repositoryName(signature) === repositoryName(intended);
      return false;
    case 'matchRepository':
      return repositoryName(signature) === repositoryName(intended);
    case 'exactReference':
      return (
        !nameOnly(signature) &&
        formatReference(signature) === formatReference(parseReference(rule.dockerReference))
      );
    case 'exactRepository':
      return repositoryName(signature) === repositoryName(parseReference(rule.dockerRepository));
  }
}

/**
 * Why `rule`'s reference cannot be used, or undefined: `exactReference`
 * needs a tag or digest (containers/image refuses a name alone);
 * `exactRepository` takes a repository alone (a tag there would be ignored).
 */
export function signedIdentityProblem(rule: SignedIdentityDocument): string | undefined {
  if (rule.type !== 'exactReference' && rule.type !== 'exactRepository') return undefined;
  const text = rule.type === 'exactReference' ? rule.dockerReference : rule.dockerRepository;
  let parsed: ImageReference;
  try {
    parsed = parseReference(text);
  } catch (error) {
    return messageOf(error);
  }
  if (rule.type === 'exactReference' && nameOnly(parsed)) {
    return `${text} names no tag or digest: exactReference needs one`;
  }
  if (rule.type === 'exactRepository' && !nameOnly(parsed)) {
    return `${text} has a tag or digest: exactRepository takes a repository alone`;
  }
  return undefined;
}

function nameOnly(reference: ImageReference): boolean {
  return reference.tag === undefined && reference.digest === undefined;
}
