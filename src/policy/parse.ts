/**
 * Reading a policy document strictly: every field known, every value of the
 * right type and shape, every cross-reference resolved (an authority a rule
 * names exists, a rule name is unique). Globs, regular expressions and CEL
 * conditions are compiled here too, so nothing that cannot work loads.
 * Problems are collected with their paths and lines and thrown together as
 * one PolicyError (`invalid` POLICY_INVALID). Pure: files a policy names
 * (PEM keys) are read by the caller and handed to `compilePolicy`.
 */
import { predicateTypeUri } from '../formats/predicate-types.ts';
import { isVouchError, messageOf } from '../core/errors.ts';
import { matchingRegexp } from '../sigstore/certificate-identity.ts';
import { TRUST_STORE_TYPES, type TrustStoreType } from '../formats/notation/trust-policy.ts';
import { compileCondition } from './condition.ts';
import { NOTATION_POLICY_LEVELS, notationTrustPolicy } from './notation-authority.ts';
import { compileImageGlob, compileNamespaceGlob } from './glob.ts';
import { signedIdentityProblem } from './gpg-identity.ts';
import { type Field, type FieldMap, type Position, SourceReader } from './source.ts';
import {
  type AttestationRequirementDocument,
  type AuthorityDocument,
  DEFAULT_ACTIONS,
  type GpgAuthorityDocument,
  MODES,
  type NotationAuthorityDocument,
  type PemSource,
  POLICY_API_VERSION,
  POLICY_KIND,
  type PolicyDocument,
  type RuleDocument,
  SIGNED_IDENTITY_TYPES,
  type SignedIdentityDocument,
} from './types.ts';

/** A validated document, with where each file it names was written (for errors while reading them). */
export interface ParsedPolicy {
  readonly source: string;
  readonly document: PolicyDocument;
  /** The files the policy names (key PEMs, trusted roots), as written, with their positions. */
  readonly files: ReadonlyMap<string, FileReference>;
}

export interface FileReference {
  readonly path: string;
  readonly position: Position;
  /** What the file must hold: `pem` (public keys, certificates), a `trusted-root` JSON or an OpenPGP `keyring`. */
  readonly holds: 'pem' | 'trusted-root' | 'keyring';
}

const NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
const NAME_RULE =
  'lower-case letters, digits, . _ - (at most 63), starting and ending with a letter or digit';
const GITHUB_CLAIMS = ['trigger', 'sha', 'name', 'repository', 'ref'] as const;

/**
 * Parses and validates a policy (YAML or JSON). Throws PolicyError (`invalid`
 * POLICY_INVALID) listing every problem with its path and line.
 */
export function parsePolicy(text: string, source = 'the policy'): ParsedPolicy {
  const reader = new SourceReader(text, source);
  reader.throwIfProblems('POLICY_INVALID');
  const files = new Map<string, FileReference>();
  const top = reader.root.object([
    'apiVersion',
    'kind',
    'name',
    'defaultAction',
    'authorities',
    'rules',
  ]);
  if (top === undefined) reader.throwIfProblems('POLICY_INVALID');
  const fields = top as NonNullable<typeof top>;
  const apiVersion = fields.required('apiVersion').oneOf([POLICY_API_VERSION]);
  const kind = fields.required('kind').oneOf([POLICY_KIND]);
  const name = fields.optional('name')?.string();
  const defaultAction = fields.optional('defaultAction')?.oneOf(DEFAULT_ACTIONS);

  const authorities: Record<string, AuthorityDocument> = {};
  const authorityKinds = new Map<string, string>();
  for (const entry of fields.optional('authorities')?.entries() ?? []) {
    const key = entry.name;
    if (!NAME.test(key)) {
      entry.problem(`an authority name must be ${NAME_RULE}`);
      continue;
    }
    const authority = readAuthority(entry, files);
    if (authority !== undefined) {
      authorities[key] = authority;
      authorityKinds.set(key, Object.keys(authority)[0] as string);
    }
  }

  const rules: RuleDocument[] = [];
  const ruleNames = new Set<string>();
  const unscopedGlobs = new Set<string>();
  for (const ruleField of fields.required('rules').list({ minItems: 1 }) ?? []) {
    const rule = readRule(ruleField, authorityKinds, fields.has('authorities') ? authorities : {});
    if (rule === undefined) continue;
    if (ruleNames.has(rule.name))
      ruleField.problem(`another rule is named ${JSON.stringify(rule.name)}`);
    ruleNames.add(rule.name);
    // First match wins: a rule every glob of which an earlier unscoped rule
    // already has (or after a `**` rule) can never match — almost certainly
    // a mistake in the order.
    if (
      rule.images.length > 0 &&
      (unscopedGlobs.has('**') || rule.images.every((glob) => unscopedGlobs.has(glob)))
    ) {
      ruleField.problem(
        'this rule can never match: an earlier rule without namespaces covers all its images (rules are tried in order, the first match decides)',
      );
    }
    if (rule.namespaces === undefined) for (const glob of rule.images) unscopedGlobs.add(glob);
    rules.push(rule);
  }
  reader.throwIfProblems('POLICY_INVALID');
  const document: PolicyDocument = {
    apiVersion: apiVersion as typeof POLICY_API_VERSION,
    kind: kind as typeof POLICY_KIND,
    ...(name === undefined ? {} : { name }),
    ...(defaultAction === undefined ? {} : { defaultAction }),
    ...(fields.has('authorities') ? { authorities } : {}),
    rules,
  };
  return { source, document, files };
}

function readAuthority(
  field: Field,
  files: Map<string, FileReference>,
): AuthorityDocument | undefined {
  const fields = field.object(['key', 'keyless', 'notary', 'notation', 'gpg']);
  if (fields === undefined) return undefined;
  const kind = fields.exactlyOne(['key', 'keyless', 'notary', 'notation', 'gpg']);
  if (kind === 'notation') return readNotation(fields.required('notation'), files);
  if (kind === 'gpg') return readGpg(fields.required('gpg'), files);
  if (kind === 'key') {
    const keyField = fields.required('key');
    const key = keyField.object([
      'file',
      'pem',
      'keys',
      'requireTlog',
      'rekorKeys',
      'signedIdentity',
    ]);
    if (key === undefined) return undefined;
    const pem = readKeys(key, files);
    const requireTlogField = key.optional('requireTlog');
    const requireTlog = requireTlogField?.boolean();
    const rekorField = key.optional('rekorKeys');
    let rekorKeys: PemSource[] | undefined;
    if (rekorField !== undefined) {
      rekorKeys = [];
      for (const item of rekorField.list({ minItems: 1 }) ?? []) {
        const pemFields = item.object(['file', 'pem']);
        const rekorKey = pemFields === undefined ? undefined : readPem(pemFields, files);
        if (rekorKey !== undefined) rekorKeys.push(rekorKey);
      }
      if (requireTlog === false) {
        requireTlogField?.problem('rekorKeys requires the log: requireTlog cannot be false');
      }
    }
    const signedIdentity = readOptionalIdentity(key);
    if (pem === undefined) return undefined;
    return {
      key: {
        ...pem,
        ...(requireTlog === undefined ? {} : { requireTlog }),
        ...(rekorKeys === undefined ? {} : { rekorKeys }),
        ...(signedIdentity === undefined ? {} : { signedIdentity }),
      },
    };
  }
  if (kind === 'keyless') return readKeyless(fields.required('keyless'), files);
  if (kind === 'notary') {
    const notaryField = fields.required('notary');
    const notary = notaryField.object(['server', 'rootKeys']);
    if (notary === undefined) return undefined;
    const serverField = notary.optional('server');
    const server = serverField?.string();
    if (server !== undefined && !isHttpUrl(server)) {
      serverField?.problem('must be an https:// (or, on loopback, http://) URL');
    }
    const rootKeys: PemSource[] = [];
    for (const item of notary.required('rootKeys').list({ minItems: 1 }) ?? []) {
      const pemFields = item.object(['file', 'pem']);
      const pem = pemFields === undefined ? undefined : readPem(pemFields, files);
      if (pem !== undefined) rootKeys.push(pem);
    }
    return { notary: { ...(server === undefined ? {} : { server }), rootKeys } };
  }
  return undefined;
}

function readNotation(
  field: Field,
  files: Map<string, FileReference>,
): AuthorityDocument | undefined {
  const fields = field.object([
    'trustStore',
    'trustedIdentities',
    'level',
    'verifyTimestamp',
    'revocation',
  ]);
  if (fields === undefined) return undefined;
  const storeFields = fields.required('trustStore').object([...TRUST_STORE_TYPES]);
  const trustStore: Partial<Record<TrustStoreType, string[]>> = {};
  for (const type of TRUST_STORE_TYPES) {
    const listField = storeFields?.optional(type);
    if (listField === undefined) continue;
    const paths: string[] = [];
    for (const item of listField.list({ minItems: 1 }) ?? []) {
      const file = item.string();
      if (file === undefined) continue;
      files.set(file, { path: file, position: item.position, holds: 'pem' });
      paths.push(file);
    }
    trustStore[type] = paths;
  }
  if (storeFields !== undefined && Object.keys(trustStore).length === 0) {
    fields.required('trustStore').problem(`needs one of ${TRUST_STORE_TYPES.join(', ')}`);
  }
  const identitiesField = fields.required('trustedIdentities');
  const trustedIdentities: string[] = [];
  for (const item of identitiesField.list({ minItems: 1 }) ?? []) {
    const identity = item.string();
    if (identity !== undefined) trustedIdentities.push(identity);
  }
  const levelField = fields.optional('level');
  const named = levelField?.oneOf([...NOTATION_POLICY_LEVELS, 'skip']);
  const level = named === 'skip' ? undefined : named;
  if (named === 'skip') {
    levelField?.problem('skip verifies nothing: a policy authority cannot use it');
  }
  const verifyTimestamp = fields.optional('verifyTimestamp')?.oneOf(['always', 'afterCertExpiry']);
  const revocation = fields.optional('revocation')?.boolean();
  const notation: NotationAuthorityDocument['notation'] = {
    trustStore,
    trustedIdentities,
    ...(level === undefined ? {} : { level }),
    ...(verifyTimestamp === undefined ? {} : { verifyTimestamp }),
    ...(revocation === undefined ? {} : { revocation }),
  };
  try {
    // notation's own checks of the statement: identities, distinguished names, store types.
    notationTrustPolicy(notation, field.path);
  } catch (error) {
    return field.problem(messageOf(error));
  }
  return { notation };
}

function readGpg(field: Field, files: Map<string, FileReference>): AuthorityDocument | undefined {
  const fields = field.object(['keyPaths', 'keyData', 'signedIdentity']);
  if (fields === undefined) return undefined;
  const which = fields.exactlyOne(['keyPaths', 'keyData']);
  const identityField = fields.optional('signedIdentity');
  const signedIdentity =
    identityField === undefined ? undefined : readSignedIdentity(identityField);
  const identity = signedIdentity === undefined ? {} : { signedIdentity };
  if (which === 'keyPaths') {
    const keyPaths: string[] = [];
    for (const item of fields.required('keyPaths').list({ minItems: 1 }) ?? []) {
      const file = item.string();
      if (file === undefined) continue;
      files.set(file, { path: file, position: item.position, holds: 'keyring' });
      keyPaths.push(file);
    }
    return { gpg: { keyPaths, ...identity } } satisfies GpgAuthorityDocument;
  }
  if (which === 'keyData') {
    const dataField = fields.required('keyData');
    const keyData = dataField.string();
    if (keyData === undefined) return undefined;
    if (!keyData.includes('-----BEGIN PGP ')) {
      return dataField.problem(
        'must be ASCII-armored OpenPGP keys (-----BEGIN PGP PUBLIC KEY BLOCK-----)',
      );
    }
    return { gpg: { keyData, ...identity } } satisfies GpgAuthorityDocument;
  }
  return undefined;
}

function readSignedIdentity(field: Field): SignedIdentityDocument | undefined {
  const fields = field.object([
    'type',
    'dockerReference',
    'dockerRepository',
    'prefix',
    'signedPrefix',
  ]);
  if (fields === undefined) return undefined;
  const typeField = fields.required('type');
  const type = typeField.oneOf([...SIGNED_IDENTITY_TYPES, 'remapIdentity']);
  if (type === undefined) return undefined;
  if (type === 'remapIdentity') return typeField.problem('remapIdentity is not supported');
  const wants =
    type === 'exactReference'
      ? 'dockerReference'
      : type === 'exactRepository'
        ? 'dockerRepository'
        : undefined;
  for (const name of ['dockerReference', 'dockerRepository', 'prefix', 'signedPrefix']) {
    if (name !== wants) fields.optional(name)?.problem(`${type} takes no ${name}`);
  }
  let rule: SignedIdentityDocument;
  if (type === 'exactReference' || type === 'exactRepository') {
    const referenceField = fields.required(wants ?? '');
    const text = referenceField.string();
    if (text === undefined) return undefined;
    rule =
      type === 'exactReference'
        ? { type, dockerReference: text }
        : { type, dockerRepository: text };
    const problem = signedIdentityProblem(rule);
    if (problem !== undefined) return referenceField.problem(problem);
  } else {
    rule = { type };
  }
  return rule;
}

/** A key authority's keys: one (`file` or `pem`) or a list (`keys`), any of which may have signed. */
function readKeys(
  fields: FieldMap,
  files: Map<string, FileReference>,
): PemSource | { keys: PemSource[] } | undefined {
  const which = fields.exactlyOne(['file', 'pem', 'keys']);
  if (which === undefined) return undefined;
  if (which === 'keys') {
    const keys: PemSource[] = [];
    for (const item of fields.required('keys').list({ minItems: 1 }) ?? []) {
      const pemFields = item.object(['file', 'pem']);
      const pem = pemFields === undefined ? undefined : readPem(pemFields, files);
      if (pem !== undefined) keys.push(pem);
    }
    return { keys };
  }
  return readPem(fields, files);
}

/** `signedIdentity` of a key or keyless authority, when written. */
function readOptionalIdentity(fields: FieldMap): SignedIdentityDocument | undefined {
  const identityField = fields.optional('signedIdentity');
  return identityField === undefined ? undefined : readSignedIdentity(identityField);
}

function readPem(fields: FieldMap, files: Map<string, FileReference>): PemSource | undefined {
  const which = fields.exactlyOne(['file', 'pem']);
  if (which === 'file') {
    const fileField = fields.required('file');
    const file = fileField.string();
    if (file === undefined) return undefined;
    files.set(file, { path: file, position: fileField.position, holds: 'pem' });
    return { file };
  }
  if (which === 'pem') {
    const pemField = fields.required('pem');
    const pem = pemField.string();
    if (pem === undefined) return undefined;
    if (!pem.includes('-----BEGIN ')) return pemField.problem('must be PEM text (-----BEGIN ...)');
    return { pem };
  }
  return undefined;
}

function readKeyless(
  field: Field,
  files: Map<string, FileReference>,
): AuthorityDocument | undefined {
  const fields = field.object([
    'identity',
    'identityRegExp',
    'issuer',
    'issuerRegExp',
    'github',
    'trustedRoot',
    'signedIdentity',
  ]);
  if (fields === undefined) return undefined;
  const result: Record<string, unknown> = {};
  const signedIdentity = readOptionalIdentity(fields);
  if (signedIdentity !== undefined) result['signedIdentity'] = signedIdentity;
  for (const [exact, regexp] of [
    ['identity', 'identityRegExp'],
    ['issuer', 'issuerRegExp'],
  ] as const) {
    const which = fields.exactlyOne([exact, regexp]);
    if (which === undefined) continue;
    const valueField = fields.required(which);
    const value = valueField.string();
    if (value === undefined) continue;
    if (which === regexp) {
      try {
        matchingRegexp(value);
      } catch (error) {
        valueField.problem(isVouchError(error) ? error.message : messageOf(error));
        continue;
      }
    }
    result[which] = value;
  }
  const githubField = fields.optional('github');
  if (githubField !== undefined) {
    const github = githubField.object(GITHUB_CLAIMS);
    if (github !== undefined) {
      const claims: Record<string, string> = {};
      for (const claim of GITHUB_CLAIMS) {
        const value = github.optional(claim)?.string();
        if (value !== undefined) claims[claim] = value;
      }
      if (Object.keys(claims).length === 0) githubField.problem('name at least one claim');
      result['github'] = claims;
    }
  }
  const rootField = fields.optional('trustedRoot');
  const trustedRoot = rootField?.string();
  if (rootField !== undefined && trustedRoot !== undefined) {
    files.set(trustedRoot, {
      path: trustedRoot,
      position: rootField.position,
      holds: 'trusted-root',
    });
    result['trustedRoot'] = trustedRoot;
  }
  return { keyless: result } as AuthorityDocument;
}

function readRule(
  field: Field,
  authorityKinds: ReadonlyMap<string, string>,
  authorities: Readonly<Record<string, AuthorityDocument>>,
): RuleDocument | undefined {
  const fields = field.object([
    'name',
    'images',
    'namespaces',
    'action',
    'authorities',
    'threshold',
    'attestations',
    'mode',
    'mutateDigest',
  ]);
  if (fields === undefined) return undefined;
  const nameField = fields.required('name');
  const name = nameField.string();
  if (name !== undefined && !NAME.test(name)) nameField.problem(`a rule name must be ${NAME_RULE}`);

  const images: string[] = [];
  for (const item of fields.required('images').list({ minItems: 1 }) ?? []) {
    const glob = item.string();
    if (glob === undefined) continue;
    try {
      compileImageGlob(glob);
      images.push(glob);
    } catch (error) {
      item.problem(messageOf(error));
    }
  }
  const namespacesField = fields.optional('namespaces');
  let namespaces: string[] | undefined;
  if (namespacesField !== undefined) {
    namespaces = [];
    for (const item of namespacesField.list({ minItems: 1 }) ?? []) {
      const glob = item.string();
      if (glob === undefined) continue;
      try {
        compileNamespaceGlob(glob);
        namespaces.push(glob);
      } catch (error) {
        item.problem(messageOf(error));
      }
    }
  }
  const mode = fields.optional('mode')?.oneOf(MODES);
  const mutateDigest = fields.optional('mutateDigest')?.boolean();
  const common = {
    name: name ?? '',
    images,
    ...(namespaces === undefined ? {} : { namespaces }),
    ...(mode === undefined ? {} : { mode }),
    ...(mutateDigest === undefined ? {} : { mutateDigest }),
  };

  const actionField = fields.optional('action');
  if (actionField !== undefined) {
    const action = actionField.oneOf(['allow', 'deny'] as const);
    for (const other of ['authorities', 'threshold', 'attestations'] as const) {
      if (fields.has(other)) {
        fields
          .optional(other)
          ?.problem(
            `a rule with an action (${action ?? '?'}) verifies nothing, so it takes no ${other}`,
          );
      }
    }
    return action === undefined ? undefined : { ...common, action };
  }

  const names = authorityNames(fields.required('authorities'), authorityKinds, {
    minItems: 1,
  });
  const thresholdField = fields.optional('threshold');
  const threshold = thresholdField?.integer(1, Math.max(1, names.length));
  const attestations: AttestationRequirementDocument[] = [];
  const attestationNames = new Set<string>();
  for (const item of fields.optional('attestations')?.list({ minItems: 1 }) ?? []) {
    const attestation = readAttestation(item, authorityKinds, names, authorities);
    if (attestation === undefined) continue;
    const label = attestation.name ?? attestation.predicateType;
    if (attestationNames.has(label)) {
      item.problem(
        `another attestation of this rule is named ${JSON.stringify(label)}; give each a name`,
      );
    }
    attestationNames.add(label);
    attestations.push(attestation);
  }
  return {
    ...common,
    authorities: names,
    ...(threshold === undefined ? {} : { threshold }),
    ...(attestations.length === 0 ? {} : { attestations }),
  };
}

function authorityNames(
  field: Field,
  authorityKinds: ReadonlyMap<string, string>,
  options: { readonly minItems: number; readonly signers?: boolean },
): string[] {
  const names: string[] = [];
  for (const item of field.list({ minItems: options.minItems }) ?? []) {
    const name = item.string();
    if (name === undefined) continue;
    const kind = authorityKinds.get(name);
    if (kind === undefined) {
      item.problem(
        `no authority is named ${JSON.stringify(name)}${authorityKinds.size === 0 ? ' (define it under authorities)' : `; defined: ${[...authorityKinds.keys()].join(', ')}`}`,
      );
      continue;
    }
    if (options.signers === true && kind === 'notary') {
      item.problem(
        `${name} is a notary authority: Docker Content Trust signs tags, not attestations`,
      );
      continue;
    }
    if (options.signers === true && kind === 'notation') {
      item.problem(
        `${name} is a notation authority: vouch checks Notary Project signatures on images, not attestations`,
      );
      continue;
    }
    if (options.signers === true && kind === 'gpg') {
      item.problem(`${name} is a gpg authority: GPG simple signing signs images, not attestations`);
      continue;
    }
    if (names.includes(name)) {
      item.problem(`${name} is listed twice`);
      continue;
    }
    names.push(name);
  }
  return names;
}

function readAttestation(
  field: Field,
  authorityKinds: ReadonlyMap<string, string>,
  ruleAuthorities: readonly string[],
  authorities: Readonly<Record<string, AuthorityDocument>>,
): AttestationRequirementDocument | undefined {
  const fields = field.object(['name', 'predicateType', 'authorities', 'condition']);
  if (fields === undefined) return undefined;
  const nameField = fields.optional('name');
  const name = nameField?.string();
  if (name !== undefined && !NAME.test(name))
    nameField?.problem(`an attestation name must be ${NAME_RULE}`);
  const typeField = fields.required('predicateType');
  const predicateType = typeField.string();
  if (predicateType !== undefined) {
    try {
      predicateTypeUri(predicateType);
    } catch (error) {
      typeField.problem(messageOf(error));
    }
  }
  const signersField = fields.optional('authorities');
  let signers: string[] | undefined;
  if (signersField !== undefined) {
    signers = authorityNames(signersField, authorityKinds, { minItems: 1, signers: true });
  } else if (
    !ruleAuthorities.some((authority) => {
      const document = authorities[authority] ?? {};
      return !('notary' in document) && !('notation' in document) && !('gpg' in document);
    })
  ) {
    field.problem(
      'the rule has no key or keyless authority to sign attestations; name the signers under authorities',
    );
  }
  // An in-toto statement names no docker-reference: no attestation could satisfy the rule.
  const signing =
    signers ??
    ruleAuthorities.filter((name) => {
      const document = authorities[name] ?? {};
      return 'key' in document || 'keyless' in document;
    });
  for (const name of signing) {
    const document = authorities[name];
    const identity =
      document === undefined
        ? undefined
        : 'key' in document
          ? document.key.signedIdentity
          : 'keyless' in document
            ? document.keyless.signedIdentity
            : undefined;
    if (identity !== undefined) {
      (signersField ?? field).problem(
        `authority ${name} has a signedIdentity, which no attestation can satisfy (an in-toto statement names no docker-reference); name other signers under authorities`,
      );
    }
  }
  const conditionField = fields.optional('condition');
  const condition = conditionField?.string();
  if (condition !== undefined) {
    try {
      compileCondition(condition);
    } catch (error) {
      conditionField?.problem(messageOf(error));
    }
  }
  if (predicateType === undefined) return undefined;
  return {
    ...(name === undefined ? {} : { name }),
    predicateType,
    ...(signers === undefined ? {} : { authorities: signers }),
    ...(condition === undefined ? {} : { condition }),
  };
}

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'https:' || protocol === 'http:';
}
