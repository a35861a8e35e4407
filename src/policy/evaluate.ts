/**
 * Deciding, as a pure and synchronous function of the evidence and the
 * compiled policy (docs/design.md principle 2), what happens to each image:
 *
 * 1. the rule: the first that matches (match.ts); none: `defaultAction`;
 * 2. a rule with `action` allows or denies without evidence;
 * 3. otherwise the image passes when at least `threshold` distinct
 *    authorities of the rule verified it (a notary authority counts only if
 *    the digest its trust data signs is the image's digest, a notation or
 *    gpg one only if the digest it verified is) and every
 *    required attestation has a statement of its predicate type, verified by
 *    one of its authorities, that satisfies its CEL condition;
 * 4. the mode turns a failure into `denied` (enforce), `warned` (warn) or
 *    `allowed` with `passed: false` (audit). A failure that only missing
 *    evidence explains (a registry that could not be reached, an authority
 *    the evidence does not cover) is `unavailable` under enforce, so the
 *    caller applies its failure policy instead of calling it a denial;
 *    as soon as evidence says no, it is `denied`.
 *
 * An admitted image named by tag is pinned (`pin`: `image@digest`, the tag
 * kept, as policy-controller, Kyverno and Connaisseur write it) when the
 * rule's `mutateDigest` is on.
 */
import { type ImageReference, parseReference } from '../oci/reference.ts';
import { type ConditionBudget, conditionBudget } from './condition.ts';
import type {
  AttestationResult,
  AuthorityResult,
  DecisionResult,
  EvidencedImage,
  EvidenceStatus,
  PolicyEvidence,
} from './evidence.ts';
import { selectRuleForReference } from './match.ts';
import type { AuthorityKind, CompiledPolicy, CompiledRule, Mode } from './types.ts';

/** What one authority said about an image, as the decision used it. */
export interface AuthorityOutcome {
  readonly authority: string;
  readonly kind: AuthorityKind;
  /** `missing`: the evidence has nothing from this authority. */
  readonly status: EvidenceStatus | 'missing';
  /** Whether it counts toward the threshold. */
  readonly counted: boolean;
  readonly code?: string;
  readonly message: string;
  readonly signers?: readonly string[];
}

/** Whether a required attestation was found, and by whom or why not. */
export interface AttestationOutcome {
  readonly name: string;
  readonly predicateType: string;
  readonly status: 'satisfied' | 'denied' | 'unavailable';
  /** The authority whose statement satisfied it. */
  readonly authority?: string;
  readonly message: string;
}

export interface ImageDecision {
  readonly image: string;
  readonly namespace?: string;
  readonly digest?: string;
  /** The rule that decided; null when none matched (`defaultAction`). */
  readonly rule: string | null;
  /** The rule's mode; null when none matched. */
  readonly mode: Mode | null;
  readonly result: DecisionResult;
  /** Whether the rule's requirements were met (false under warn/audit for a failing image). */
  readonly passed: boolean;
  /** One sentence: why. */
  readonly reason: string;
  readonly threshold: number;
  /** How many distinct authorities verified the image. */
  readonly verified: number;
  readonly authorities: readonly AuthorityOutcome[];
  readonly attestations: readonly AttestationOutcome[];
  /** The reference to run instead, pinned to the verified digest: `repo:tag@sha256:...`. */
  readonly pin?: string;
}

export interface PolicyDecision {
  /** The policy's revision (sha256 of its document). */
  readonly revision: string;
  /** True when no image is denied or unavailable. */
  readonly allowed: boolean;
  readonly images: readonly ImageDecision[];
}

/** Decides every image of `evidence`, each in its own namespace. */
export function evaluatePolicy(evidence: PolicyEvidence, policy: CompiledPolicy): PolicyDecision {
  const images = evidence.images.map((image) => evaluateImage(image, policy));
  return {
    revision: policy.revision,
    allowed: images.every((image) => image.result === 'allowed' || image.result === 'warned'),
    images,
  };
}

/**
 * Decides one image in `namespace` (default: the evidence's). The same
 * evidence can be decided in several namespaces: what was verified does
 * not depend on where the image runs. `parsed`, when given, is
 * `parseReference(evidence.image)` already made by the caller (the webhook
 * parses each image once per review).
 */
export function evaluateImage(
  evidence: EvidencedImage,
  policy: CompiledPolicy,
  namespace: string | undefined = evidence.namespace,
  parsed?: ImageReference,
): ImageDecision {
  const base = {
    image: evidence.image,
    ...(namespace === undefined ? {} : { namespace }),
    ...(evidence.digest === undefined ? {} : { digest: evidence.digest }),
  };
  let reference: ImageReference;
  try {
    reference = parsed ?? parseReference(evidence.image);
  } catch (error) {
    return {
      ...base,
      rule: null,
      mode: null,
      result: 'denied',
      passed: false,
      reason: `not an image reference: ${error instanceof Error ? error.message : String(error)}`,
      ...NOTHING_CHECKED,
    };
  }
  const rule = selectRuleForReference(policy, reference, namespace);
  if (rule === undefined) {
    const action = policy.defaultAction;
    return {
      ...base,
      rule: null,
      mode: null,
      result: action === 'allow' ? 'allowed' : action === 'warn' ? 'warned' : 'denied',
      passed: action === 'allow',
      reason: `no rule matches; the default action is ${action}`,
      ...NOTHING_CHECKED,
    };
  }
  const checked = check(evidence, rule, policy);
  const result = resultOf(rule.mode, checked.failure);
  const pinned = pin(evidence, reference, rule, result);
  return {
    ...base,
    rule: rule.name,
    mode: rule.mode,
    result,
    passed: checked.failure === undefined,
    reason:
      checked.failure === undefined ? checked.reason : `${checked.reason}${modeNote(rule.mode)}`,
    threshold: rule.action === 'verify' ? rule.threshold : 0,
    verified: checked.authorities.filter((a) => a.counted).length,
    authorities: checked.authorities,
    attestations: checked.attestations,
    ...(pinned === undefined ? {} : { pin: pinned }),
  };
}

const NOTHING_CHECKED = { threshold: 0, verified: 0, authorities: [], attestations: [] } as const;

interface Checked {
  /** Absent: the requirements are met. */
  readonly failure?: 'denied' | 'unavailable';
  readonly reason: string;
  readonly authorities: readonly AuthorityOutcome[];
  readonly attestations: readonly AttestationOutcome[];
}

function check(evidence: EvidencedImage, rule: CompiledRule, policy: CompiledPolicy): Checked {
  const none = { authorities: [], attestations: [] };
  if (rule.action === 'allow') return { reason: `rule ${rule.name} allows it`, ...none };
  if (rule.action === 'deny')
    return { failure: 'denied', reason: `rule ${rule.name} denies it`, ...none };
  if (evidence.error !== undefined || evidence.digest === undefined) {
    const error = evidence.error;
    return {
      failure: error?.category === 'unavailable' || error === undefined ? 'unavailable' : 'denied',
      reason: `rule ${rule.name}: the image could not be resolved: ${error === undefined ? 'no digest in the evidence' : `${error.code}: ${error.message}`}`,
      ...none,
    };
  }
  const digest = evidence.digest;
  // Loops rather than chained filter/map: this runs for every admission
  // review, cached or not (issue 15: allocation per review).
  const authorities: AuthorityOutcome[] = [];
  let counted = 0;
  let open = 0;
  for (const name of rule.authorities) {
    let result: AuthorityResult | undefined;
    for (const r of evidence.authorities) {
      if (r.authority === name) {
        result = r;
        break;
      }
    }
    const outcome = authorityOutcome(name, policy, result, digest);
    authorities.push(outcome);
    if (outcome.counted) counted++;
    else if (outcome.status === 'unavailable' || outcome.status === 'missing') open++;
  }
  const attestations: AttestationOutcome[] = [];
  if (rule.attestations.length > 0) {
    // One budget for every condition this decision evaluates (condition.ts).
    const budget = conditionBudget();
    for (const requirement of rule.attestations) {
      const results = evidence.attestations.filter(
        (r) =>
          requirement.authorities.includes(r.authority) &&
          r.predicateType === requirement.predicateType,
      );
      attestations.push(attestationOutcome(requirement, results, budget));
    }
  }

  let satisfied = counted >= rule.threshold;
  for (const attestation of attestations) satisfied &&= attestation.status === 'satisfied';
  if (satisfied) {
    let by = '';
    for (const a of authorities)
      if (a.counted) by = by === '' ? a.authority : `${by}, ${a.authority}`;
    let attested = '';
    for (const a of attestations) attested = attested === '' ? a.name : `${attested}, ${a.name}`;
    return {
      reason: `rule ${rule.name}: verified by ${by}${attested === '' ? '' : `; attested: ${attested}`}`,
      authorities,
      attestations,
    };
  }
  const problems: string[] = [];
  let failure: 'denied' | 'unavailable' | undefined;
  const fail = (kind: 'denied' | 'unavailable', message: string) => {
    problems.push(message);
    if (failure !== 'denied') failure = kind;
  };
  if (counted < rule.threshold) {
    const said = authorities
      .filter((a) => !a.counted)
      .map((a) => `${a.authority}: ${a.code === undefined ? '' : `${a.code}: `}${a.message}`)
      .join('; ');
    fail(
      counted + open >= rule.threshold ? 'unavailable' : 'denied',
      `${counted} of ${rule.threshold} required authorit${rule.threshold === 1 ? 'y' : 'ies'} verified it (${said})`,
    );
  }
  for (const attestation of attestations) {
    if (attestation.status !== 'satisfied') {
      fail(attestation.status, `attestation ${attestation.name}: ${attestation.message}`);
    }
  }
  return {
    // Always set by now (not satisfied means a failure was recorded); denied if it were not.
    failure: failure ?? 'denied',
    reason: `rule ${rule.name}: ${problems.join('; ')}`,
    authorities,
    attestations,
  };
}

function authorityOutcome(
  name: string,
  policy: CompiledPolicy,
  result: AuthorityResult | undefined,
  digest: string,
): AuthorityOutcome {
  const kind = policy.authorities.get(name)?.kind ?? 'key';
  if (result === undefined) {
    return {
      authority: name,
      kind,
      status: 'missing',
      counted: false,
      code: 'EVIDENCE_MISSING',
      message: 'the evidence has no result from this authority',
    };
  }
  const fields = {
    authority: name,
    kind,
    ...(result.signers === undefined ? {} : { signers: result.signers }),
  };
  if (result.status === 'verified' && kind === 'notary' && result.digest !== digest) {
    return {
      ...fields,
      status: 'denied',
      counted: false,
      code: 'NOTARY_DIGEST_MISMATCH',
      message: `the trust data signs ${result.digest ?? 'no digest'}, the image is ${digest}`,
    };
  }
  // A Notary Project signature counts only for the manifest it was verified on.
  if (result.status === 'verified' && kind === 'notation' && result.digest !== digest) {
    return {
      ...fields,
      status: 'denied',
      counted: false,
      code: 'NOTATION_DIGEST_MISMATCH',
      message: `the verified signature is of ${result.digest ?? 'no digest'}, the image is ${digest}`,
    };
  }
  // A GPG simple signature counts only for the manifest digest it signs.
  if (result.status === 'verified' && kind === 'gpg' && result.digest !== digest) {
    return {
      ...fields,
      status: 'denied',
      counted: false,
      code: 'GPG_DIGEST_MISMATCH',
      message: `the verified signature is of ${result.digest ?? 'no digest'}, the image is ${digest}`,
    };
  }
  return {
    ...fields,
    status: result.status,
    counted: result.status === 'verified',
    ...(result.code === undefined ? {} : { code: result.code }),
    message: result.message,
  };
}

function attestationOutcome(
  requirement: CompiledRule['attestations'][number],
  results: readonly AttestationResult[],
  budget: ConditionBudget,
): AttestationOutcome {
  const { name, predicateType, condition } = requirement;
  const why: string[] = [];
  signers: for (const result of results) {
    if (result.status !== 'verified') {
      why.push(
        `${result.authority}: ${result.code === undefined ? '' : `${result.code}: `}${result.message}`,
      );
      continue;
    }
    for (const statement of result.statements) {
      const outcome = condition?.test(statement, budget) ?? { holds: true as const };
      if (outcome.holds) {
        return {
          name,
          predicateType,
          status: 'satisfied',
          authority: result.authority,
          message:
            condition === undefined
              ? `verified by ${result.authority}`
              : `verified by ${result.authority}; ${condition.expression} holds`,
        };
      }
      const code = outcome.code === undefined ? '' : `${outcome.code}: `;
      why.push(`${result.authority}: ${code}${outcome.reason} (${condition?.expression ?? ''})`);
      // The rest would be stopped at once, each saying so.
      if (budget.remaining <= 0) break signers;
    }
    if (result.statements.length === 0) why.push(`${result.authority}: no statements`);
  }
  const covered = new Set(results.map((r) => r.authority));
  const missing = requirement.authorities.filter((a) => !covered.has(a));
  if (missing.length > 0) why.push(`no evidence from ${missing.join(', ')}`);
  // Only a definite answer from every signer makes it a denial.
  const unavailable = missing.length > 0 || results.some((r) => r.status === 'unavailable');
  const conditionFailed = results.some((r) => r.status === 'verified' && r.statements.length > 0);
  return {
    name,
    predicateType,
    status: unavailable && !conditionFailed ? 'unavailable' : 'denied',
    message: `no verified ${predicateType} statement${condition === undefined ? '' : ' satisfies the condition'}: ${why.join('; ')}`,
  };
}

function resultOf(mode: Mode, failure: 'denied' | 'unavailable' | undefined): DecisionResult {
  if (failure === undefined) return 'allowed';
  if (mode === 'warn') return 'warned';
  if (mode === 'audit') return 'allowed';
  return failure;
}

function modeNote(mode: Mode): string {
  return mode === 'enforce'
    ? ''
    : mode === 'warn'
      ? ' (warn mode: allowed with a warning)'
      : ' (audit mode: allowed, recorded)';
}

function pin(
  evidence: EvidencedImage,
  named: ImageReference,
  rule: CompiledRule,
  result: DecisionResult,
): string | undefined {
  if (!rule.mutateDigest || evidence.digest === undefined) return undefined;
  if (result !== 'allowed' && result !== 'warned') return undefined;
  if (named.digest !== undefined) return undefined;
  return `${evidence.image}@${evidence.digest}`;
}
