/**
 * Notary Project OCI trust policies (`trustpolicy.oci.json`, or the legacy
 * `trustpolicy.json`), read and validated as notation reads them: notation-go
 * `verifier/trustpolicy/oci.go` (`OCIDocument.Validate`,
 * `GetApplicableTrustPolicy`) and `trustpolicy.go` (`validatePolicyCore`),
 * in the same order and with the same messages, each naming the statement.
 *
 * https://github.com/notaryproject/specifications/blob/main/specs/trust-store-trust-policy.md#trust-policy
 * https://github.com/notaryproject/notation-go/blob/main/verifier/trustpolicy/oci.go
 * https://github.com/notaryproject/notation-go/blob/main/verifier/trustpolicy/trustpolicy.go
 *
 * notation decodes the file with Go's encoding/json: unknown keys are
 * ignored (the blob policy's `globalPolicy` among them), `null` reads as
 * the field's zero value (an empty string, list or map), a wrong type fails.
 * vouch does the same, except where Go's decoder would let one file mean two
 * things, which it refuses: duplicate keys (Go keeps the last), keys that
 * differ from a field only in case (Go matches them to the field), text after
 * the document, invalid UTF-8. Size, nesting and list lengths are capped.
 *
 * Registry scopes are compared in vouch's canonical spelling
 * (oci/reference.ts): once a scope passes notation's format check, its
 * registry is folded (`GHCR.IO` → `ghcr.io`, `index.docker.io` → `docker.io`)
 * and `docker.io/x` becomes `docker.io/library/x`, the repository vouch names
 * that image by. A statement thus applies to its repository however the
 * image is spelt, and two scopes naming one repository are the duplicate
 * notation refuses. A scope whose registry vouch cannot name (`library/x`,
 * an explicit default port) is refused: no image vouch reads could match it.
 */
import { denied, invalid, isVouchError, messageOf, type VouchError } from '../../core/errors.ts';
import {
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseStrictJson,
  StrictJsonError,
} from '../../core/strict-json.ts';
import {
  canonicalRegistry,
  type ImageReference,
  parseReference,
  repositoryName,
} from '../../oci/reference.ts';
import { checkFields, describe, quote } from '../json-fields.ts';
import {
  type DistinguishedName,
  isSubsetDN,
  parseDistinguishedName,
} from './distinguished-name.ts';
import { type VerificationActions, verificationActions } from './verification-level.ts';

/** The one version trust policies have (`supportedOCIPolicyVersions`). */
export const TRUST_POLICY_VERSION = '1.0';
/** The scope of the global statement. */
export const GLOBAL_SCOPE = '*';
/** Trust policies are a few kilobytes; this bounds reading and parsing one. */
export const MAX_TRUST_POLICY_BYTES = 1024 * 1024;
/** At most this many statements, and this many entries in each list of one. */
export const MAX_TRUST_POLICY_ENTRIES = 1000;
// The schema nests 5 deep; unknown keys (ignored) may nest a little more.
const MAX_DEPTH = 32;

/** truststore.go `Types`. */
export const TRUST_STORE_TYPES = ['ca', 'signingAuthority', 'tsa'] as const;
export type TrustStoreType = (typeof TRUST_STORE_TYPES)[number];

/** `{type}:{name}` of `trustStores`. */
export interface TrustStoreReference {
  readonly type: TrustStoreType;
  readonly name: string;
}

/**
 * An entry of `trustedIdentities`: `*`, an `x509.subject:` distinguished name,
 * or another `prefix:value`, which notation accepts for verification plugins
 * and does not match itself.
 */
export type TrustedIdentity =
  | { readonly kind: 'any' }
  | { readonly kind: 'x509.subject'; readonly text: string; readonly dn: DistinguishedName }
  | { readonly kind: 'other'; readonly text: string; readonly prefix: string };

/** `verifyTimestamp`: `always` unless the statement says `afterCertExpiry`. */
export type TimestampOption = 'always' | 'afterCertExpiry';

export interface TrustPolicyStatement {
  readonly name: string;
  /** `['*']` for the global statement, else canonical `registry/repository` names. */
  readonly registryScopes: readonly string[];
  /** What each check does: `signatureVerification.level` after `override`. */
  readonly verification: VerificationActions;
  readonly verifyTimestamp: TimestampOption;
  /** Empty exactly when the level is `skip`. */
  readonly trustStores: readonly TrustStoreReference[];
  /** Empty exactly when the level is `skip`. */
  readonly trustedIdentities: readonly TrustedIdentity[];
}

export interface TrustPolicyDocument {
  readonly version: typeof TRUST_POLICY_VERSION;
  readonly trustPolicies: readonly TrustPolicyStatement[];
}

export interface ParseTrustPolicyOptions {
  /** Where the bytes came from (a path), for messages. */
  readonly source?: string;
}

/**
 * Parses and validates a trust policy. Throws `invalid`
 * NOTATION_TRUST_POLICY_INVALID for anything notation refuses, and for the
 * ambiguities and caps above.
 */
export function parseTrustPolicy(
  bytes: Uint8Array,
  options: ParseTrustPolicyOptions = {},
): TrustPolicyDocument {
  const where = options.source === undefined ? 'trust policy' : `trust policy ${options.source}`;
  const fail = (message: string, cause?: unknown): VouchError =>
    invalid(
      'NOTATION_TRUST_POLICY_INVALID',
      `${where}: ${message}`,
      cause === undefined ? undefined : { cause },
    );
  if (bytes.length > MAX_TRUST_POLICY_BYTES) {
    throw fail(`is ${bytes.length} bytes; at most ${MAX_TRUST_POLICY_BYTES} are accepted`);
  }
  let json: JsonValue;
  try {
    json = parseStrictJson(bytes, { maxDepth: MAX_DEPTH });
  } catch (error) {
    if (error instanceof StrictJsonError) throw fail(`malformed trust policy: ${error.message}`);
    throw error;
  }
  const document = decodeDocument(json, (problem) => fail(`malformed trust policy: ${problem}`));
  try {
    return validate(document);
  } catch (error) {
    if (isVouchError(error)) throw fail(error.message, error);
    throw error;
  }
}

/**
 * The statement that applies to `image` (as `parseReference` returns it):
 * the one whose scopes name its repository, else the global one. Throws
 * `denied` NOTATION_NO_APPLICABLE_POLICY when neither exists: the spec has
 * such an image treated as untrusted.
 */
export function applicableStatement(
  policy: TrustPolicyDocument,
  image: ImageReference,
): TrustPolicyStatement {
  const repository = repositoryName(image);
  let global: TrustPolicyStatement | undefined;
  for (const statement of policy.trustPolicies) {
    if (statement.registryScopes.includes(GLOBAL_SCOPE)) global = statement;
    else if (statement.registryScopes.includes(repository)) return statement;
  }
  if (global !== undefined) return global;
  throw denied(
    'NOTATION_NO_APPLICABLE_POLICY',
    `${repository} has no applicable trust policy statement: no statement's registryScopes names it and none is global ("*")`,
  );
}

// --- Decoding: the Go structs notation decodes into, with their zero values.

interface RawDocument {
  readonly version: string;
  readonly trustPolicies: readonly RawStatement[];
}

interface RawStatement {
  readonly name: string;
  readonly registryScopes: readonly string[];
  readonly level: string;
  readonly override: Readonly<Record<string, string>>;
  readonly verifyTimestamp: string;
  readonly trustStores: readonly string[];
  readonly trustedIdentities: readonly string[];
}

type Fail = (problem: string) => VouchError;

function decodeDocument(value: JsonValue, fail: Fail): RawDocument {
  const document = goObject(value, 'the document', fail);
  checkFields(
    document,
    { required: [], optional: ['version', 'trustPolicies'], unknown: 'ignore' },
    'the document',
    fail,
  );
  const statements = goList(document['trustPolicies'], 'trustPolicies', fail);
  return {
    version: goString(document['version'], 'version', fail),
    trustPolicies: statements.map((statement, index) =>
      decodeStatement(statement, `trustPolicies[${index}]`, fail),
    ),
  };
}

const STATEMENT_FIELDS = [
  'name',
  'registryScopes',
  'signatureVerification',
  'trustStores',
  'trustedIdentities',
];
const SIGNATURE_VERIFICATION_FIELDS = ['level', 'override', 'verifyTimestamp'];

function decodeStatement(value: JsonValue, path: string, fail: Fail): RawStatement {
  const statement = goObject(value, path, fail);
  checkFields(
    statement,
    { required: [], optional: STATEMENT_FIELDS, unknown: 'ignore' },
    path,
    fail,
  );
  const svPath = `${path}.signatureVerification`;
  const sv = goObject(statement['signatureVerification'], svPath, fail);
  checkFields(
    sv,
    { required: [], optional: SIGNATURE_VERIFICATION_FIELDS, unknown: 'ignore' },
    svPath,
    fail,
  );
  const overridePath = `${svPath}.override`;
  const override = goObject(sv['override'], overridePath, fail);
  if (Object.keys(override).length > MAX_TRUST_POLICY_ENTRIES) {
    throw fail(`${overridePath} has more than ${MAX_TRUST_POLICY_ENTRIES} entries`);
  }
  return {
    name: goString(statement['name'], `${path}.name`, fail),
    registryScopes: goStrings(statement['registryScopes'], `${path}.registryScopes`, fail),
    level: goString(sv['level'], `${svPath}.level`, fail),
    override: Object.fromEntries(
      Object.entries(override).map(([key, action]) => [
        key,
        goString(action, `${overridePath}[${quote(key)}]`, fail),
      ]),
    ),
    verifyTimestamp: goString(sv['verifyTimestamp'], `${svPath}.verifyTimestamp`, fail),
    trustStores: goStrings(statement['trustStores'], `${path}.trustStores`, fail),
    trustedIdentities: goStrings(statement['trustedIdentities'], `${path}.trustedIdentities`, fail),
  };
}

/** An object, or `{}` for absent and null (a Go struct or map left at its zero value). */
function goObject(value: JsonValue | undefined, path: string, fail: Fail): JsonObject {
  if (value === undefined || value === null) return {};
  if (!isJsonObject(value)) throw fail(`${path} must be an object, found ${describe(value)}`);
  return value;
}

function goString(value: JsonValue | undefined, path: string, fail: Fail): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw fail(`${path} must be a string, found ${describe(value)}`);
  return value;
}

function goList(value: JsonValue | undefined, path: string, fail: Fail): readonly JsonValue[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw fail(`${path} must be an array, found ${describe(value)}`);
  if (value.length > MAX_TRUST_POLICY_ENTRIES) {
    throw fail(
      `${path} has ${value.length} entries; at most ${MAX_TRUST_POLICY_ENTRIES} are accepted`,
    );
  }
  return value;
}

function goStrings(value: JsonValue | undefined, path: string, fail: Fail): readonly string[] {
  return goList(value, path, fail).map((entry, index) =>
    goString(entry, `${path}[${index}]`, fail),
  );
}

// --- Validation: OCIDocument.Validate, in its order.

function validate(document: RawDocument): TrustPolicyDocument {
  if (document.version === '') {
    throw problem('oci trust policy document has empty version, version must be specified');
  }
  if (document.version !== TRUST_POLICY_VERSION) {
    throw problem(
      `oci trust policy document uses unsupported version ${JSON.stringify(document.version)}`,
    );
  }
  if (document.trustPolicies.length === 0) {
    throw problem('oci trust policy document can not have zero trust policy statements');
  }
  const names = new Set<string>();
  const cores = document.trustPolicies.map((statement) => {
    if (names.has(statement.name)) {
      throw problem(
        `multiple oci trust policy statements use the same name ${JSON.stringify(statement.name)}, statement names must be unique`,
      );
    }
    names.add(statement.name);
    return validateCore(statement);
  });
  const scopes = validateRegistryScopes(document.trustPolicies);
  return Object.freeze({
    version: TRUST_POLICY_VERSION,
    trustPolicies: Object.freeze(
      document.trustPolicies.map((statement, index) =>
        Object.freeze({
          name: statement.name,
          registryScopes: scopes[index] as readonly string[],
          ...(cores[index] as Core),
        }),
      ),
    ),
  });
}

type Core = Omit<TrustPolicyStatement, 'name' | 'registryScopes'>;

/** trustpolicy.go `validatePolicyCore`. */
function validateCore(statement: RawStatement): Core {
  const name = JSON.stringify(statement.name);
  if (statement.name === '') {
    throw problem('a trust policy statement is missing a name, every statement requires a name');
  }
  let verification: VerificationActions;
  try {
    verification = verificationActions(statement.level, statement.override);
  } catch (error) {
    throw problem(
      `trust policy statement ${name} has invalid signatureVerification: ${messageOf(error)}`,
    );
  }
  const { verifyTimestamp } = statement;
  if (
    verifyTimestamp !== '' &&
    verifyTimestamp !== 'always' &&
    verifyTimestamp !== 'afterCertExpiry'
  ) {
    throw problem(
      `trust policy statement ${name} has invalid signatureVerification: verifyTimestamp must be "always" or "afterCertExpiry", but got ${JSON.stringify(verifyTimestamp)}`,
    );
  }
  const core = {
    verification,
    verifyTimestamp: verifyTimestamp === 'afterCertExpiry' ? verifyTimestamp : 'always',
  } as const;
  const { trustStores, trustedIdentities } = statement;
  if (verification.base === 'skip') {
    if (trustStores.length > 0 || trustedIdentities.length > 0) {
      throw problem(
        `trust policy statement ${name} is set to skip signature verification but configured with trust stores and/or trusted identities, remove them if signature verification needs to be skipped`,
      );
    }
    return { ...core, trustStores: Object.freeze([]), trustedIdentities: Object.freeze([]) };
  }
  if (trustStores.length === 0 || trustedIdentities.length === 0) {
    throw problem(
      `trust policy statement ${name} is either missing trust stores or trusted identities, both must be specified`,
    );
  }
  return {
    ...core,
    trustStores: Object.freeze(trustStores.map((store) => trustStore(name, store))),
    trustedIdentities: Object.freeze(validateTrustedIdentities(name, trustedIdentities)),
  };
}

// internal/file/file.go IsValidFileName.
const STORE_NAME = /^[a-zA-Z0-9_.-]+$/;

/** trustpolicy.go `validateTrustStore`, for one entry. */
function trustStore(name: string, value: string): TrustStoreReference {
  const colon = value.indexOf(':');
  if (colon === -1) {
    throw problem(
      `trust policy statement ${name} has malformed trust store value ${JSON.stringify(value)}. The required format is <TrustStoreType>:<TrustStoreName>`,
    );
  }
  const type = value.slice(0, colon);
  const store = value.slice(colon + 1);
  if (!(TRUST_STORE_TYPES as readonly string[]).includes(type)) {
    throw problem(
      `trust policy statement ${name} uses an unsupported trust store type ${JSON.stringify(type)} in trust store value ${JSON.stringify(value)}`,
    );
  }
  if (!STORE_NAME.test(store)) {
    throw problem(
      `trust policy statement ${name} uses an unsupported trust store name ${JSON.stringify(store)} in trust store value ${JSON.stringify(value)}. Named store name needs to follow [a-zA-Z0-9_.-]+ format`,
    );
  }
  return Object.freeze({ type: type as TrustStoreType, name: store });
}

const X509_SUBJECT = 'x509.subject';

/** trustpolicy.go `validateTrustedIdentities` and `validateOverlappingDNs`. */
function validateTrustedIdentities(name: string, values: readonly string[]): TrustedIdentity[] {
  if (values.length > 1 && values.includes('*')) {
    throw problem(
      `trust policy statement ${name} uses a wildcard trusted identity '*', a wildcard identity cannot be used in conjunction with other values`,
    );
  }
  const identities = values.map((text): TrustedIdentity => {
    const shown = JSON.stringify(text);
    if (text === '') throw problem(`trust policy statement ${name} has an empty trusted identity`);
    if (text === '*') return Object.freeze({ kind: 'any' });
    const colon = text.indexOf(':');
    if (colon === -1) {
      throw problem(
        `trust policy statement ${name} has trusted identity ${shown} missing separator`,
      );
    }
    const prefix = text.slice(0, colon);
    const value = text.slice(colon + 1);
    if (prefix !== X509_SUBJECT) return Object.freeze({ kind: 'other', text, prefix });
    if (value === '') {
      throw problem(
        `trust policy statement ${name} has trusted identity ${shown} without an identity value`,
      );
    }
    const parsed = parseDistinguishedName(value);
    if (!parsed.ok) {
      throw problem(
        `trust policy statement ${name} has trusted identity ${shown} with invalid identity value: ${parsed.problem}`,
      );
    }
    return Object.freeze({ kind: X509_SUBJECT, text, dn: parsed.dn });
  });
  const subjects = identities.filter((identity) => identity.kind === X509_SUBJECT);
  for (const [i, a] of subjects.entries()) {
    for (const [j, b] of subjects.entries()) {
      if (i !== j && isSubsetDN(a.dn, b.dn)) {
        throw problem(
          `trust policy statement ${name} has overlapping x509 trustedIdentities, ${JSON.stringify(a.text)} overlaps with ${JSON.stringify(b.text)}`,
        );
      }
    }
  }
  return identities;
}

/**
 * oci.go `validateRegistryScopes`: each statement's scopes, canonical. Every
 * statement is checked before duplicates are looked for, as notation does.
 */
function validateRegistryScopes(statements: readonly RawStatement[]): string[][] {
  // canonical scope → how the first statement spelt it, and who named it
  const seen = new Map<string, { readonly scope: string; readonly names: string[] }>();
  const scopes = statements.map((statement) => {
    const name = JSON.stringify(statement.name);
    if (statement.registryScopes.length === 0) {
      throw problem(
        `oci trust policy statement ${name} has zero registry scopes, it must specify registry scopes with at least one value`,
      );
    }
    if (statement.registryScopes.length > 1 && statement.registryScopes.includes(GLOBAL_SCOPE)) {
      throw problem(
        `oci trust policy statement ${name} uses wildcard registry scope '*', a wildcard scope cannot be used in conjunction with other scope values`,
      );
    }
    return statement.registryScopes.map((scope) => {
      const canonical = scope === GLOBAL_SCOPE ? scope : canonicalScope(name, scope);
      const entry = seen.get(canonical) ?? { scope, names: [] };
      entry.names.push(name);
      seen.set(canonical, entry);
      return canonical;
    });
  });
  for (const [canonical, { scope, names }] of seen) {
    if (names.length > 1) {
      const spelt = scope === canonical ? '' : ` (${canonical})`;
      throw problem(
        `registry scope ${JSON.stringify(scope)}${spelt} is present in multiple oci trust policy statements, one registry scope value can only be associated with one statement (named by ${names.join(', ')})`,
      );
    }
  }
  return scopes;
}

const ENSURE =
  'make sure it is a fully qualified repository without the scheme, protocol or tag. For example domain.com/my/repository or a local scope like local/myOCILayout';
// oci.go validateRegistryScopeFormat's domainRegexp and repositoryRegexp
// (distribution's grammar), written so that no input makes them backtrack:
// a domain label, and a path component.
const LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const PORT = /^[0-9]+$/;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** oci.go `validateRegistryScopeFormat`, then vouch's canonical spelling. */
function canonicalScope(name: string, scope: string): string {
  const shown = JSON.stringify(scope);
  const statement = `oci trust policy statement ${name} has an invalid registry scope`;
  if (scope.includes('*')) {
    throw problem(
      `${statement}: registry scope ${shown} with wild card(s) is not valid, ${ENSURE}`,
    );
  }
  const slash = scope.indexOf('/');
  const domain = slash === -1 ? '' : scope.slice(0, slash);
  const repository = slash === -1 ? '' : scope.slice(slash + 1);
  if (
    !isDomain(domain) ||
    repository === '' ||
    !repository.split('/').every((c) => COMPONENT.test(c))
  ) {
    throw problem(`${statement}: registry scope ${shown} is not valid, ${ENSURE}`);
  }
  try {
    return repositoryName(parseReference(`${canonicalRegistry(domain)}/${repository}`));
  } catch (error) {
    throw problem(
      `${statement}: registry scope ${shown} names no repository vouch can reach: ${messageOf(error)}`,
    );
  }
}

function isDomain(domain: string): boolean {
  const colon = domain.indexOf(':');
  const host = colon === -1 ? domain : domain.slice(0, colon);
  if (colon !== -1 && !PORT.test(domain.slice(colon + 1))) return false;
  return host !== '' && host.split('.').every((label) => LABEL.test(label));
}

/** A rule notation enforces; `parseTrustPolicy` adds where the policy came from. */
function problem(message: string): VouchError {
  return invalid('NOTATION_TRUST_POLICY_INVALID', message);
}
