/**
 * What was found out about images, as plain data: the input of the pure
 * `evaluatePolicy`. `gatherPolicyEvidence` collects it from registries and
 * notary servers; `vouch policy evaluate --record FILE` writes it as JSON,
 * and `vouch policy test` reads it back (`parseEvidence`) so a policy can be
 * tested without any server.
 *
 * The evidence holds outcomes of the cryptographic checks (done by the
 * verify and trust use-cases when it was gathered), never keys: whether
 * authority `release` verified the image, and the in-toto statements each
 * authority verified per predicate type. Rule selection, thresholds, modes
 * and CEL conditions are applied to it by `evaluatePolicy`, so a recorded
 * file exercises all of them.
 *
 * File format (JSON or YAML), apiVersion vouch.dev/v1alpha1:
 *
 * ```yaml
 * apiVersion: vouch.dev/v1alpha1
 * kind: PolicyEvidence
 * images:
 *   - image: ghcr.io/acme/app:1.0          # as written in the manifest
 *     namespace: prod                      # optional: the namespace to evaluate in
 *     digest: sha256:...                   # absent when the image could not be resolved
 *     error: { code, category, message }   # why it could not be resolved (optional)
 *     authorities:                         # one per authority checked
 *       - { authority: release, status: verified, message: ... }
 *       - { authority: dct, status: verified, digest: sha256:..., message: ... }
 *     attestations:                        # one per (authority, predicate type) checked
 *       - authority: release
 *         predicateType: https://slsa.dev/provenance/v1
 *         status: verified
 *         statements: [ { _type: ..., subject: [...], predicateType: ..., predicate: {...} } ]
 *         message: ...
 *     expect: allowed                      # optional, for `vouch policy test`
 * ```
 *
 * `status` is verified | denied | unavailable | invalid (the categories of
 * docs/design.md "Errors"); `code` (optional) is the VouchError code of a failure.
 */
import type { ErrorCategory } from '../core/errors.ts';
import { type Field, SourceReader } from './source.ts';
import { POLICY_API_VERSION } from './types.ts';

export const EVIDENCE_KIND = 'PolicyEvidence';

export type EvidenceStatus = 'verified' | ErrorCategory;
const STATUSES: readonly EvidenceStatus[] = ['verified', 'denied', 'unavailable', 'invalid'];

/** What the policy decided for an image. */
export type DecisionResult = 'allowed' | 'warned' | 'denied' | 'unavailable';
export const DECISION_RESULTS: readonly DecisionResult[] = [
  'allowed',
  'warned',
  'denied',
  'unavailable',
];

export interface EvidenceError {
  readonly code: string;
  readonly category: ErrorCategory;
  readonly message: string;
}

/** Whether one authority verified the image's signature (or, for notary, its tag). */
export interface AuthorityResult {
  readonly authority: string;
  readonly status: EvidenceStatus;
  /** VouchError code of a failure. */
  readonly code?: string;
  readonly message: string;
  /** Notary: the digest the trust data signs the tag for; notation, gpg: the digest whose signature verified. */
  readonly digest?: string;
  /** Who signed: key file, certificate identity, notary role and keys, GPG key fingerprint. */
  readonly signers?: readonly string[];
}

/** The statements of one predicate type one authority verified for the image. */
export interface AttestationResult {
  readonly authority: string;
  readonly predicateType: string;
  readonly status: EvidenceStatus;
  readonly code?: string;
  readonly message: string;
  /** The verified in-toto statements (empty unless `verified`). */
  readonly statements: readonly Readonly<Record<string, unknown>>[];
}

export interface EvidencedImage {
  /** The image as written (a manifest's `image:`, a command-line argument). */
  readonly image: string;
  /** The namespace the image is evaluated in; absent outside Kubernetes. */
  readonly namespace?: string;
  /** The digest the image resolved to (or was named by). */
  readonly digest?: string;
  /** Why the image could not be resolved. */
  readonly error?: EvidenceError;
  readonly authorities: readonly AuthorityResult[];
  readonly attestations: readonly AttestationResult[];
  /** The decision a policy test expects (`vouch policy test`). */
  readonly expect?: DecisionResult;
}

export interface PolicyEvidence {
  readonly apiVersion: typeof POLICY_API_VERSION;
  readonly kind: typeof EVIDENCE_KIND;
  readonly images: readonly EvidencedImage[];
}

const DIGEST = /^sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$/;

/**
 * Reads an evidence file (JSON or YAML) strictly. Throws PolicyError
 * (`invalid` EVIDENCE_INVALID) listing every problem with its path and line.
 */
export function parseEvidence(text: string, source = 'the evidence'): PolicyEvidence {
  const reader = new SourceReader(text, source);
  reader.throwIfProblems('EVIDENCE_INVALID');
  const top = reader.root.object(['apiVersion', 'kind', 'images']);
  const images: EvidencedImage[] = [];
  if (top !== undefined) {
    top.required('apiVersion').oneOf([POLICY_API_VERSION]);
    top.required('kind').oneOf([EVIDENCE_KIND]);
    for (const item of top.required('images').list() ?? []) {
      const image = readImage(item);
      if (image !== undefined) images.push(image);
    }
  }
  reader.throwIfProblems('EVIDENCE_INVALID');
  return { apiVersion: POLICY_API_VERSION, kind: EVIDENCE_KIND, images };
}

function readImage(field: Field): EvidencedImage | undefined {
  const fields = field.object([
    'image',
    'namespace',
    'digest',
    'error',
    'authorities',
    'attestations',
    'expect',
  ]);
  if (fields === undefined) return undefined;
  const image = fields.required('image').string();
  const namespace = fields.optional('namespace')?.string();
  const digest = readDigest(fields.optional('digest'));
  const errorField = fields.optional('error');
  let error: EvidenceError | undefined;
  if (errorField !== undefined) {
    const e = errorField.object(['code', 'category', 'message']);
    const code = e?.required('code').string();
    const category = e?.required('category').oneOf(['denied', 'unavailable', 'invalid'] as const);
    const message = e?.required('message').string({ nonEmpty: false });
    if (code !== undefined && category !== undefined && message !== undefined) {
      error = { code, category, message };
    }
  }
  const authorities: AuthorityResult[] = [];
  for (const item of fields.optional('authorities')?.list() ?? []) {
    const f = item.object(['authority', 'status', 'code', 'message', 'digest', 'signers']);
    if (f === undefined) continue;
    const authority = f.required('authority').string();
    const status = f.required('status').oneOf(STATUSES);
    const code = f.optional('code')?.string();
    const message = f.optional('message')?.string({ nonEmpty: false }) ?? '';
    const signed = readDigest(f.optional('digest'));
    const signers = f
      .optional('signers')
      ?.list()
      ?.map((s) => s.string())
      .filter((s): s is string => s !== undefined);
    if (authority === undefined || status === undefined) continue;
    authorities.push({
      authority,
      status,
      ...(code === undefined ? {} : { code }),
      message,
      ...(signed === undefined ? {} : { digest: signed }),
      ...(signers === undefined ? {} : { signers }),
    });
  }
  const attestations: AttestationResult[] = [];
  for (const item of fields.optional('attestations')?.list() ?? []) {
    const f = item.object([
      'authority',
      'predicateType',
      'status',
      'code',
      'message',
      'statements',
    ]);
    if (f === undefined) continue;
    const authority = f.required('authority').string();
    const predicateType = f.required('predicateType').string();
    const status = f.required('status').oneOf(STATUSES);
    const code = f.optional('code')?.string();
    const message = f.optional('message')?.string({ nonEmpty: false }) ?? '';
    const statements: Record<string, unknown>[] = [];
    for (const s of f.optional('statements')?.list() ?? []) {
      const value = s.json();
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        s.problem('a statement must be a mapping');
        continue;
      }
      statements.push(value as Record<string, unknown>);
    }
    if (authority === undefined || predicateType === undefined || status === undefined) continue;
    attestations.push({
      authority,
      predicateType,
      status,
      ...(code === undefined ? {} : { code }),
      message,
      statements,
    });
  }
  const expect = fields.optional('expect')?.oneOf(DECISION_RESULTS);
  if (image === undefined) return undefined;
  return {
    image,
    ...(namespace === undefined ? {} : { namespace }),
    ...(digest === undefined ? {} : { digest }),
    ...(error === undefined ? {} : { error }),
    authorities,
    attestations,
    ...(expect === undefined ? {} : { expect }),
  };
}

function readDigest(field: Field | undefined): string | undefined {
  if (field === undefined) return undefined;
  const value = field.string();
  if (value === undefined) return undefined;
  if (!DIGEST.test(value))
    return field.problem('must be a digest (sha256:<64 hex> or sha512:<128 hex>)');
  return value;
}
