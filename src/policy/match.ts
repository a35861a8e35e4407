/**
 * Which rule decides an image: the first rule, in document order, one of
 * whose globs covers the image's repository and whose namespaces (if any)
 * include the namespace the image runs in.
 *
 * First match rather than most specific: the order is written in the
 * policy, so a reviewer reads the outcome top to bottom, as with firewall
 * rules. "Most specific" needs tie-breaks between globs that are not
 * comparable (`ghcr.io/*\/app` against `ghcr.io/acme/**`) — Connaisseur has
 * three levels of them (docs/formats.md "Kubernetes admission") — and authors must know
 * them to predict a decision. A rule that an earlier one hides completely is
 * refused when the policy loads (parse.ts).
 */
import { type ImageReference, parseReference, repositoryName } from '../oci/reference.ts';
import { matchesImageGlob, matchesNamespaceGlob } from './glob.ts';
import type { CompiledPolicy, CompiledRule } from './types.ts';

/**
 * The rule for `image` (a reference as written in a manifest:
 * `nginx:1.27`, `ghcr.io/acme/app@sha256:...`) in `namespace`; undefined
 * when none matches (then the policy's `defaultAction` applies). A rule
 * scoped to namespaces never matches without a namespace. Throws `invalid`
 * INVALID_REFERENCE when `image` is not a reference.
 */
export function selectRule(
  policy: CompiledPolicy,
  image: string,
  namespace?: string,
): CompiledRule | undefined {
  return selectRuleForReference(policy, parseReference(image), namespace);
}

/** `selectRule` for a reference already parsed (so a caller that needs it too parses once). */
export function selectRuleForReference(
  policy: CompiledPolicy,
  reference: ImageReference,
  namespace?: string,
): CompiledRule | undefined {
  const repository = repositoryName(reference);
  return policy.rules.find(
    (rule) =>
      rule.images.some((glob) => matchesImageGlob(glob, repository)) &&
      (rule.namespaces === undefined ||
        (namespace !== undefined &&
          rule.namespaces.some((glob) => matchesNamespaceGlob(glob, namespace)))),
  );
}

/**
 * The authorities `rule` needs evidence from, by what must be checked:
 * signatures (key, keyless), Docker Content Trust (notary), attestations
 * (authority and predicate type pairs).
 */
export interface Requirements {
  readonly signatures: ReadonlySet<string>;
  readonly notary: ReadonlySet<string>;
  /** Notary Project signatures (notation). */
  readonly notation: ReadonlySet<string>;
  /** GPG simple signing signatures (gpg). */
  readonly gpg: ReadonlySet<string>;
  readonly attestations: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Merges what each rule needs (several namespaces may match different rules for one image). */
export function requirementsOf(
  policy: CompiledPolicy,
  rules: Iterable<CompiledRule>,
): Requirements {
  const signatures = new Set<string>();
  const notary = new Set<string>();
  const notation = new Set<string>();
  const gpg = new Set<string>();
  const attestations = new Map<string, Set<string>>();
  for (const rule of rules) {
    if (rule.action !== 'verify') continue;
    for (const name of rule.authorities) {
      const kind = policy.authorities.get(name)?.kind;
      (kind === 'notary'
        ? notary
        : kind === 'notation'
          ? notation
          : kind === 'gpg'
            ? gpg
            : signatures
      ).add(name);
    }
    for (const requirement of rule.attestations) {
      for (const name of requirement.authorities) {
        let types = attestations.get(name);
        if (types === undefined) attestations.set(name, (types = new Set()));
        types.add(requirement.predicateType);
      }
    }
  }
  return { signatures, notary, notation, gpg, attestations };
}
