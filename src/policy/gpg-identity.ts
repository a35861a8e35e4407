/**
 * containers-policy.json's `signedIdentity` rules as a `gpg:` authority
 * writes them: which references a rule may name. Matching a signature's
 * docker-reference is formats/containers-policy/signed-identity.ts's, the
 * one implementation of policy_reference_match.go
 * (https://github.com/containers/image/blob/main/signature/policy_reference_match.go).
 * `remapIdentity` is not supported here.
 */
import { messageOf } from '../core/errors.ts';
import { type ImageReference, parseReference } from '../oci/reference.ts';
import type { SignedIdentityDocument } from './types.ts';

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
