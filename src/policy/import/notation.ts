/**
 * A Notary Project trust policy (`trustpolicy.oci.json`, read and checked by
 * formats/notation/trust-policy.ts exactly as notation reads it) as an
 * ImagePolicy. Each statement becomes one rule with one `notation:`
 * authority made of the statement's own fields, so the authority is the
 * statement (policy/notation-authority.ts builds the same statement back):
 *
 * - `registryScopes` (repositories, compared canonically) become the rule's
 *   image globs, written as the exact repository names; the global statement
 *   (`*`) becomes a last rule for `**`. notation takes the statement naming
 *   an image's repository before the global one, and scopes never repeat
 *   across statements, so scoped rules first, then the global one, decide
 *   every image as notation does; without a global statement an image no
 *   scope names is denied, as notation denies it (`defaultAction: deny`).
 * - level, `verifyTimestamp`, trust stores (their certificate files) and
 *   trusted identities are copied. An `override` maps only when a
 *   `notation:` authority has the same actions: the level's own, or the
 *   level's with revocation skipped (`revocation: false`); any other
 *   override is refused.
 * - level `skip` verifies nothing and admits the image: a rule with
 *   `action: allow`, which admits it without verifying, is exact.
 *
 * https://github.com/notaryproject/specifications/blob/main/specs/trust-store-trust-policy.md#trust-policy
 */
import { isDeepStrictEqual } from 'node:util';
import {
  GLOBAL_SCOPE,
  type TrustPolicyDocument,
  type TrustPolicyStatement,
  TRUST_STORE_TYPES,
  type TrustStoreType,
} from '../../formats/notation/trust-policy.ts';
import { notationTrustPolicy } from '../notation-authority.ts';
import { PolicyError, type PolicyIssue } from '../source.ts';
import {
  type AuthorityDocument,
  type NotationAuthorityDocument,
  POLICY_API_VERSION,
  POLICY_KIND,
  type PolicyDocument,
  type RuleDocument,
} from '../types.ts';
import { NO_EQUIVALENT } from './foreign.ts';
import { finishImport, type ImportResult, uniqueName } from './result.ts';

/** A certificate file of a trust store: the path to write in the policy, and its bytes. */
export interface StoreFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/**
 * Converts `policy` (read from `source`). `stores` holds the files of each
 * trust store a statement names, by `type:name`. Throws PolicyError
 * (`invalid` POLICY_IMPORT_REFUSED) naming each statement that has no
 * exact equivalent.
 */
export function importNotationTrustPolicy(
  policy: TrustPolicyDocument,
  source: string,
  stores: ReadonlyMap<string, readonly StoreFile[]>,
): ImportResult {
  const issues: PolicyIssue[] = [];
  const files = new Map<string, Uint8Array>();
  const authorities: Record<string, AuthorityDocument> = {};
  const scoped: RuleDocument[] = [];
  const global: RuleDocument[] = [];
  const names = new Set<string>();
  const notes: string[] = [];
  for (const [index, statement] of policy.trustPolicies.entries()) {
    const path = `trustPolicies[${index}]`;
    const isGlobal = statement.registryScopes.includes(GLOBAL_SCOPE);
    const name = uniqueName(statement.name, names);
    if (name !== statement.name)
      notes.push(`statement ${JSON.stringify(statement.name)} is rule ${name}`);
    const images = isGlobal ? ['**'] : [...statement.registryScopes];
    const rules = isGlobal ? global : scoped;
    if (statement.verification.base === 'skip') {
      rules.push({ name, images, action: 'allow' });
      continue;
    }
    const notation = authorityOf(statement, stores, files);
    const problem = overrideProblem(statement, notation, path);
    if (problem !== undefined) {
      issues.push({
        path: `${path}.signatureVerification.override`,
        line: 0,
        column: 0,
        message: problem,
      });
      continue;
    }
    authorities[name] = { notation };
    rules.push({ name, images, authorities: [name] });
  }
  if (issues.length > 0) throw new PolicyError('POLICY_IMPORT_REFUSED', source, issues);
  const document: PolicyDocument = {
    apiVersion: POLICY_API_VERSION,
    kind: POLICY_KIND,
    defaultAction: 'deny',
    ...(Object.keys(authorities).length === 0 ? {} : { authorities }),
    rules: [...scoped, ...global],
  };
  return finishImport(
    document,
    source,
    `Imported by vouch policy import from the notation trust policy ${source}.`,
    notes,
    files,
  );
}

function authorityOf(
  statement: TrustPolicyStatement,
  stores: ReadonlyMap<string, readonly StoreFile[]>,
  files: Map<string, Uint8Array>,
): NotationAuthorityDocument['notation'] {
  const trustStore: Partial<Record<TrustStoreType, string[]>> = {};
  for (const type of TRUST_STORE_TYPES) {
    const paths: string[] = [];
    for (const store of statement.trustStores.filter((s) => s.type === type)) {
      for (const file of stores.get(`${store.type}:${store.name}`) ?? []) {
        if (paths.includes(file.path)) continue;
        paths.push(file.path);
        files.set(file.path, file.bytes);
      }
    }
    if (paths.length > 0) trustStore[type] = paths;
  }
  const { base, actions } = statement.verification;
  const level = base as Exclude<typeof base, 'skip'>;
  return {
    trustStore,
    trustedIdentities: statement.trustedIdentities.map((identity) =>
      identity.kind === 'any' ? '*' : identity.text,
    ),
    ...(level === 'strict' ? {} : { level }),
    ...(statement.verifyTimestamp === 'always'
      ? {}
      : { verifyTimestamp: statement.verifyTimestamp }),
    // The level's revocation check turned off by an override to skip.
    ...(actions.revocation === 'skip' ? { revocation: false } : {}),
  };
}

/** Why the authority built would not have the statement's actions, if it would not. */
function overrideProblem(
  statement: TrustPolicyStatement,
  notation: NotationAuthorityDocument['notation'],
  path: string,
): string | undefined {
  const built = notationTrustPolicy(notation, path).trustPolicies[0]?.verification;
  const wanted = statement.verification;
  if (built !== undefined && isDeepStrictEqual(built.actions, wanted.actions)) return undefined;
  const differ = Object.entries(wanted.actions)
    .filter(([type, action]) => built?.actions[type as keyof typeof wanted.actions] !== action)
    .map(([type, action]) => `${type}: ${action}`);
  return `${NO_EQUIVALENT}: statement ${JSON.stringify(statement.name)} overrides its ${wanted.base} level (${differ.join(', ')}); a notation authority runs a level's own actions, only skipping revocation (revocation: false)`;
}
