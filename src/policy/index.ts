/**
 * Policies: which images may run, decided once per image from gathered
 * evidence. Parse and compile a policy once (`parsePolicy`, `compilePolicy`,
 * or `loadPolicyFile` which also reads the key files it names), gather what
 * the matching rules need (`gatherPolicyEvidence`, I/O), then decide
 * (`evaluatePolicy` / `evaluateImage`, pure and synchronous).
 */
export type { Condition, ConditionBudget, ConditionResult } from './condition.ts';
export {
  compileCondition,
  CONDITION_VARIABLES,
  conditionBudget,
  DECISION_COST_BUDGET,
  EVALUATION_COST_LIMIT,
} from './condition.ts';
export { compilePolicy, compilePolicyText } from './compile.ts';
export type {
  AttestationOutcome,
  AuthorityOutcome,
  ImageDecision,
  PolicyDecision,
} from './evaluate.ts';
export { evaluateImage, evaluatePolicy } from './evaluate.ts';
export type {
  AttestationResult,
  AuthorityResult,
  DecisionResult,
  EvidencedImage,
  EvidenceError,
  EvidenceStatus,
  PolicyEvidence,
} from './evidence.ts';
export { DECISION_RESULTS, EVIDENCE_KIND, parseEvidence } from './evidence.ts';
export type { GatherPolicyOptions, PolicySubject } from './gather.ts';
export { gatherPolicyEvidence, imageKeyOf } from './gather.ts';
export type { ImageGlob, NamespaceGlob } from './glob.ts';
export {
  compileImageGlob,
  compileNamespaceGlob,
  matchesImageGlob,
  matchesNamespaceGlob,
} from './glob.ts';
export type { ImageLocation } from './workloads.ts';
export type { ImagePin, PinResult } from './pin-images.ts';
export { pinImages } from './pin-images.ts';
export { findImages } from './workloads.ts';
export { CONTAINER_LISTS, IMAGE_VOLUME_PATH, POD_SPEC_PATHS, WORKLOAD_KINDS } from './pod-spec.ts';
export { loadPolicyFile } from './load.ts';
export type { Requirements } from './match.ts';
export { requirementsOf, selectRule } from './match.ts';
export type { FileReference, ParsedPolicy } from './parse.ts';
export { parsePolicy } from './parse.ts';
export type { PolicyIssue } from './source.ts';
export { formatIssue, PolicyError } from './source.ts';
export * from './types.ts';
export type { PolicyErrorCode, PolicyErrorCodes } from './error-codes.ts';
