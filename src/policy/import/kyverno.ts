/**
 * Kyverno `verifyImages` rules (ClusterPolicy / Policy, `kyverno.io/v1`) as
 * an ImagePolicy, refusing whatever has no exact equivalent. How Kyverno
 * decides, from its source (https://github.com/kyverno/kyverno,
 * api/kyverno/v1/image_verification_types.go, pkg/engine/internal/imageverifier.go,
 * pkg/image/verifiers/cpol/cosign/cosign.go, pkg/utils/image/infos.go):
 *
 * - each verifyImages entry applies to the images its `imageReferences`
 *   match, and every entry matching an image must pass (AND); an image no
 *   entry matches is not checked (`defaultAction: allow`). An ImagePolicy
 *   applies the first matching rule only, so entries whose references could
 *   match one image are refused; the others become one rule each.
 * - references are Kyverno wildcards (`*` any characters, `/` included)
 *   matched against `registry/path:tag` or `registry/path@digest`. Only a
 *   pattern ending in its one `*` after a registry matches every version of
 *   the repositories it names: `ghcr.io/acme/*` is `ghcr.io/acme/**`,
 *   `ghcr.io/acme/app*` is `ghcr.io/acme/app*` and `ghcr.io/acme/app*\/**`;
 *   `*` alone is `**`. Docker Hub's spelling depends on Kyverno's
 *   configuration (`defaultRegistry`), so patterns for it are refused.
 * - attestor sets must all pass, each with `count` of its entries (default:
 *   all). One set maps to the rule's authorities with `threshold: count`;
 *   several sets only when each needs all its entries (threshold: all).
 * - keys (`publicKeys`, one PEM key per entry) verify with the Rekor log
 *   unless `rekor.ignoreTlog` (`requireTlog`). Keyless `subject` and `issuer`
 *   are wildcards over the certificate's SAN and issuer, written as anchored
 *   regexps; `subjectRegExp`/`issuerRegExp` are searched for anywhere (Go
 *   `MatchString`), written wrapped in `(?s:.*)`; absent, anything matches.
 * - attestations without conditions become requirements signed by their
 *   attestors (one set, any entry); JMESPath `conditions` are refused
 *   (ImagePolicy conditions are CEL), as is an entry with attestations and no
 *   attestors (Kyverno then checks no signature, an ImagePolicy rule always does).
 * - `failureAction` (or the policy's `validationFailureAction`, default
 *   Audit) is the rule's mode; `mutateDigest` maps; `verifyDigest` (default
 *   true) holds when tags are pinned to digests (mutateDigest) and is refused
 *   without it; `required: false` is refused.
 */
import type { Field, FieldMap } from '../source.ts';
import {
  type AttestationRequirementDocument,
  type AuthorityDocument,
  POLICY_API_VERSION,
  POLICY_KIND,
  type PolicyDocument,
  type RuleDocument,
} from '../types.ts';
import { ForeignReader, unanchored, wildcardRegexp } from './foreign.ts';
import { globsMayOverlap } from './glob-overlap.ts';
import { finishImport, type ImportResult, uniqueName } from './result.ts';

const PUBLIC_REKOR = 'https://rekor.sigstore.dev';
const ANYTHING = '(?s:.*)';

interface Scoped {
  readonly label: string;
  readonly globs: readonly { readonly glob: string; readonly field: Field }[];
}

interface Context {
  readonly reader: ForeignReader;
  readonly authorities: Record<string, AuthorityDocument>;
  readonly authorityNames: Set<string>;
}

/**
 * Converts the Kyverno policies in `text` (read from `source`). Throws
 * PolicyError (`invalid` POLICY_IMPORT_REFUSED, or POLICY_IMPORT_INVALID for
 * malformed input) with every problem, each with its path and line.
 */
export function importKyvernoPolicies(text: string, source: string): ImportResult {
  const reader = new ForeignReader(text, source);
  const context: Context = { reader, authorities: {}, authorityNames: new Set() };
  const rules: RuleDocument[] = [];
  const ruleNames = new Set<string>();
  const scopes: Scoped[] = [];
  for (const document of reader.documents) {
    const top = document.root.object(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    if (top === undefined) continue;
    top.required('apiVersion').oneOf(['kyverno.io/v1']);
    const kind = top.required('kind').oneOf(['ClusterPolicy', 'Policy']);
    const metadata = top.required('metadata').entries();
    const policyName = metadata?.find((entry) => entry.name === 'name')?.string();
    const namespace = metadata?.find((entry) => entry.name === 'namespace')?.string();
    if (policyName === undefined) top.required('metadata').problem('needs a name');
    if (kind === 'Policy' && namespace === undefined) {
      top.required('metadata').problem('a Policy needs its namespace');
    }
    const spec = top
      .required('spec')
      .object([
        'rules',
        'validationFailureAction',
        'validationFailureActionOverrides',
        'background',
        'admission',
        'failurePolicy',
        'webhookTimeoutSeconds',
        'webhookConfiguration',
        'emitWarning',
        'schemaValidation',
        'useServerSideApply',
        'applyRules',
        'generateExisting',
        'mutateExistingOnPolicyUpdate',
      ]);
    if (spec === undefined || policyName === undefined) continue;
    readPolicySettings(reader, spec);
    const policyMode = spec
      .optional('validationFailureAction')
      ?.oneOf(['Audit', 'Enforce', 'audit', 'enforce']);
    for (const ruleField of spec.required('rules').list({ minItems: 1 }) ?? []) {
      const rule = ruleField.object([
        'name',
        'match',
        'exclude',
        'preconditions',
        'celPreconditions',
        'context',
        'verifyImages',
        'validate',
        'mutate',
        'generate',
        'skipBackgroundRequests',
        'reportProperties',
      ]);
      if (rule === undefined) continue;
      const ruleName = rule.required('name').string() ?? 'rule';
      for (const [name, why] of [
        ['exclude', 'an ImagePolicy rule cannot exclude resources'],
        ['preconditions', 'JMESPath preconditions; ImagePolicy rules have none'],
        ['celPreconditions', 'preconditions over the admitted object; ImagePolicy rules have none'],
        ['context', 'context variables; ImagePolicy rules have none'],
        ['validate', 'not image verification'],
        ['mutate', 'not image verification'],
        ['generate', 'not image verification'],
      ] as const) {
        const field = rule.optional(name);
        if (field !== undefined) reader.refuse(field, why);
      }
      const namespaces =
        kind === 'Policy'
          ? readMatch(reader, rule.required('match'), true) && [namespace as string]
          : readMatch(reader, rule.required('match'), false);
      const entries = rule.optional('verifyImages')?.list({ minItems: 1 });
      if (entries === undefined && rule.optional('verifyImages') === undefined) {
        reader.refuse(ruleField, 'a rule without verifyImages');
      }
      for (const [index, entry] of (entries ?? []).entries()) {
        const name = uniqueName(
          `${policyName}-${ruleName}${entries !== undefined && entries.length > 1 ? `-${index}` : ''}`,
          ruleNames,
        );
        const converted = readEntry(context, entry, name, policyMode);
        if (converted === undefined) continue;
        scopes.push({ label: `${policyName}/${ruleName}`, globs: converted.globs });
        rules.push({
          name,
          images: converted.globs.map((g) => g.glob),
          ...(Array.isArray(namespaces) ? { namespaces } : {}),
          ...converted.rule,
        });
      }
    }
  }
  refuseOverlaps(reader, scopes);
  reader.finish();
  const document: PolicyDocument = {
    apiVersion: POLICY_API_VERSION,
    kind: POLICY_KIND,
    // Kyverno checks only the images its rules match.
    defaultAction: 'allow',
    ...(Object.keys(context.authorities).length === 0 ? {} : { authorities: context.authorities }),
    rules,
  };
  return finishImport(
    document,
    source,
    `Imported by vouch policy import from the Kyverno policies in ${source}.`,
  );
}

function readPolicySettings(reader: ForeignReader, spec: FieldMap): void {
  const overrides = spec.optional('validationFailureActionOverrides');
  if (overrides !== undefined) {
    reader.refuse(overrides, 'a mode per namespace; an ImagePolicy rule has one mode');
  }
  const admission = spec.optional('admission');
  if (admission?.boolean() === false) {
    reader.refuse(admission, 'a policy applied in background scans only');
  }
  const failure = spec.optional('failurePolicy');
  if (failure?.oneOf(['Fail', 'Ignore']) === 'Ignore') {
    reader.refuse(
      failure,
      "the webhook's failure policy is set where vouch's webhook is installed",
    );
  }
  const webhook = spec
    .optional('webhookConfiguration')
    ?.object(['failurePolicy', 'timeoutSeconds', 'matchConditions']);
  const hookFailure = webhook?.optional('failurePolicy');
  if (hookFailure?.oneOf(['Fail', 'Ignore']) === 'Ignore') {
    reader.refuse(
      hookFailure,
      "the webhook's failure policy is set where vouch's webhook is installed",
    );
  }
  const conditions = webhook?.optional('matchConditions');
  if (conditions !== undefined) reader.refuse(conditions, 'CEL match conditions over the request');
  const apply = spec.optional('applyRules');
  if (apply?.oneOf(['All', 'One']) === 'One') {
    reader.refuse(apply, 'Kyverno then applies one matching rule of this policy only');
  }
}

/**
 * The namespaces a rule's `match` selects: a list, `true` for every
 * namespace, false when refused. Only Pods (and the workloads Kyverno
 * generates rules for from them, which an ImagePolicy checks too) and
 * namespaces are selectable.
 */
function readMatch(reader: ForeignReader, field: Field, namespaced: boolean): string[] | boolean {
  const match = field.object(['any', 'all', 'resources']);
  if (match === undefined) return false;
  const filters: Field[] = [];
  const resources = match.optional('resources');
  if (resources !== undefined) filters.push(resources);
  for (const item of match.optional('any')?.list({ minItems: 1 }) ?? []) {
    const resource = item.object(['resources'])?.required('resources');
    if (resource !== undefined) filters.push(resource);
  }
  const all = match.optional('all')?.list({ minItems: 1 });
  if (all !== undefined && all.length > 1) {
    reader.refuse(match.required('all'), 'several filters that must all hold');
  }
  for (const item of all ?? []) {
    const resource = item.object(['resources'])?.required('resources');
    if (resource !== undefined) filters.push(resource);
  }
  if (filters.length === 0) {
    field.problem('needs resources');
    return false;
  }
  const namespaces = new Set<string>();
  let everywhere = false;
  for (const filter of filters) {
    const fields = filter.object([
      'kinds',
      'namespaces',
      'names',
      'name',
      'selector',
      'namespaceSelector',
      'annotations',
      'operations',
    ]);
    if (fields === undefined) continue;
    for (const name of [
      'names',
      'name',
      'selector',
      'namespaceSelector',
      'annotations',
      'operations',
    ]) {
      const value = fields.optional(name);
      if (value !== undefined)
        reader.refuse(value, 'an ImagePolicy rule selects images by repository and namespace only');
    }
    for (const kind of fields.required('kinds').list({ minItems: 1 }) ?? []) {
      const value = kind.string();
      if (value !== undefined && value !== 'Pod' && value !== 'v1/Pod') {
        reader.refuse(
          kind,
          `${value}: an ImagePolicy checks the images of Pods and of every workload kind alike`,
        );
      }
    }
    const list = fields.optional('namespaces');
    if (list === undefined) {
      everywhere = true;
      continue;
    }
    if (namespaced) {
      reader.refuse(list, 'namespaces in a namespaced Policy');
      continue;
    }
    for (const item of list.list({ minItems: 1 }) ?? []) {
      const value = item.string();
      if (value === undefined) continue;
      if (value.includes('?'))
        reader.refuse(item, 'ImagePolicy namespace globs know * only, not ?');
      else namespaces.add(value);
    }
  }
  return everywhere || namespaces.size === 0 ? true : [...namespaces];
}

type RuleFields = Omit<RuleDocument, 'name' | 'images' | 'namespaces'>;

function readEntry(
  context: Context,
  field: Field,
  name: string,
  policyMode: string | undefined,
): { globs: Scoped['globs']; rule: RuleFields } | undefined {
  const { reader } = context;
  const entry = field.object([
    'type',
    'imageReferences',
    'skipImageReferences',
    'attestors',
    'attestations',
    'failureAction',
    'mutateDigest',
    'verifyDigest',
    'required',
    'useCache',
    'repository',
    'cosignOCI11',
    'imageRegistryCredentials',
    'validate',
  ]);
  if (entry === undefined) return undefined;
  const type = entry.optional('type');
  const typeName = type?.oneOf(['Cosign', 'Notary', 'SigstoreBundle']);
  if (typeName !== undefined && typeName !== 'Cosign') {
    reader.refuse(type as Field, `${typeName} verification; only Cosign entries are imported`);
  }
  for (const [key, why] of [
    ['skipImageReferences', 'exceptions inside a rule; write an earlier rule instead'],
    ['repository', 'vouch reads signatures from the image repository itself'],
    ['validate', 'JMESPath checks of the verified image'],
  ] as const) {
    const value = entry.optional(key);
    if (value !== undefined) reader.refuse(value, why);
  }
  const required = entry.optional('required');
  if (required?.boolean() === false) {
    reader.refuse(required, 'Kyverno then admits images its mutating webhook did not verify');
  }
  const mutateDigest = entry.optional('mutateDigest')?.boolean() ?? true;
  const verifyDigest = entry.optional('verifyDigest');
  if ((verifyDigest?.boolean() ?? true) && !mutateDigest) {
    reader.refuse(
      verifyDigest ?? field,
      'verifyDigest without mutateDigest refuses images named by tag; vouch pins them (mutateDigest) or admits them',
    );
  }
  const globs: { glob: string; field: Field }[] = [];
  for (const item of entry.required('imageReferences').list({ minItems: 1 }) ?? []) {
    const pattern = item.string();
    if (pattern === undefined) continue;
    const converted = imageGlobs(pattern);
    if ('why' in converted) reader.refuse(item, converted.why);
    else for (const glob of converted.globs) globs.push({ glob, field: item });
  }
  const failureAction = entry.optional('failureAction')?.oneOf(['Audit', 'Enforce']);
  const mode = (failureAction ?? policyMode ?? 'Audit').toLowerCase() as 'audit' | 'enforce';

  const sets = entry.optional('attestors')?.list() ?? [];
  const names: string[] = [];
  const thresholds: { count: number; size: number }[] = [];
  for (const [index, set] of sets.entries()) {
    const read = readAttestorSet(context, set, `${name}-${index}`);
    if (read === undefined) continue;
    names.push(...read.names);
    thresholds.push({ count: read.count, size: read.names.length });
  }
  let threshold = thresholds[0]?.count ?? 0;
  if (thresholds.length > 1) {
    if (thresholds.some((t) => t.count !== t.size)) {
      reader.refuse(
        entry.required('attestors'),
        'several attestor sets with counts: each must hold on its own, an ImagePolicy rule has one threshold',
      );
    }
    threshold = names.length;
  }
  const attestations: AttestationRequirementDocument[] = [];
  const attestationItems = entry.optional('attestations')?.list() ?? [];
  if (attestationItems.length > 0 && sets.length === 0) {
    reader.refuse(
      entry.required('attestations'),
      'attestations without attestors: Kyverno then checks no image signature, an ImagePolicy rule always does',
    );
  }
  for (const [index, item] of attestationItems.entries()) {
    const attestation = readAttestation(context, item, `${name}-att${index}`);
    if (attestation !== undefined) attestations.push(attestation);
  }
  if (sets.length === 0 && attestationItems.length === 0) {
    reader.refuse(field, 'an entry without attestors verifies nothing');
  }
  return {
    globs,
    rule: {
      authorities: names,
      ...(threshold > 1 ? { threshold } : {}),
      ...(attestations.length === 0 ? {} : { attestations }),
      ...(mode === 'enforce' ? {} : { mode }),
      ...(mutateDigest ? {} : { mutateDigest: false }),
    },
  };
}

function readAttestorSet(
  context: Context,
  field: Field,
  label: string,
): { names: string[]; count: number } | undefined {
  const set = field.object(['count', 'entries']);
  if (set === undefined) return undefined;
  const entries = set.required('entries').list({ minItems: 1 }) ?? [];
  const names: string[] = [];
  for (const entry of entries) {
    const authority = readAttestor(context, entry);
    if (authority === undefined) continue;
    const name = uniqueName(label, context.authorityNames);
    context.authorities[name] = authority;
    names.push(name);
  }
  const count = set.optional('count')?.integer(1, Math.max(1, entries.length)) ?? entries.length;
  return { names, count };
}

function readAttestor(context: Context, field: Field): AuthorityDocument | undefined {
  const { reader } = context;
  const entry = field.object([
    'keys',
    'keyless',
    'certificates',
    'attestor',
    'annotations',
    'repository',
  ]);
  if (entry === undefined) return undefined;
  for (const [key, why] of [
    ['annotations', 'signature annotations that must match; ImagePolicy does not read them'],
    ['repository', 'vouch reads signatures from the image repository itself'],
  ] as const) {
    const value = entry.optional(key);
    if (value !== undefined) reader.refuse(value, why);
  }
  const kind = entry.exactlyOne(['keys', 'keyless', 'certificates', 'attestor']);
  if (kind === 'certificates' || kind === 'attestor') {
    reader.refuse(
      entry.required(kind),
      kind === 'certificates'
        ? 'a certificate attestor; ImagePolicy names keys or keyless identities'
        : 'a nested attestor set; ImagePolicy has one threshold per rule',
    );
    return undefined;
  }
  if (kind === 'keys') {
    const keys = entry
      .required('keys')
      .object(['publicKeys', 'signatureAlgorithm', 'kms', 'secret', 'rekor', 'ctlog']);
    if (keys === undefined) return undefined;
    for (const [key, why] of [
      ['kms', 'a KMS key, which ImagePolicy does not name'],
      ['secret', 'a Kubernetes secret, which vouch does not read; give the key as publicKeys'],
    ] as const) {
      const value = keys.optional(key);
      if (value !== undefined) reader.refuse(value, why);
    }
    const algorithm = keys.optional('signatureAlgorithm');
    const algorithmName = algorithm?.string();
    if (algorithmName !== undefined && algorithmName !== 'sha256') {
      reader.refuse(
        algorithm as Field,
        `signatures over a ${algorithmName} digest; cosign and vouch sign sha256`,
      );
    }
    const ignoreTlog = readRekor(reader, keys.optional('rekor'));
    readCtlog(reader, keys.optional('ctlog'), false);
    const publicKeys = keys.optional('publicKeys');
    if (publicKeys === undefined) {
      if (keys.optional('kms') === undefined && keys.optional('secret') === undefined) {
        keys.required('publicKeys');
      }
      return undefined;
    }
    const text = publicKeys.string();
    if (text === undefined) return undefined;
    const blocks = text.match(/-----BEGIN [^-\n]+-----[\s\S]*?-----END [^-\n]+-----/g) ?? [];
    if (blocks.length !== 1) {
      return reader.refuse(
        publicKeys,
        blocks.length === 0
          ? 'not PEM text (a k8s:// or KMS reference); give the key itself'
          : 'several keys in one entry; give each key its own entry',
      );
    }
    return {
      key: { pem: `${blocks[0] as string}\n`, ...(ignoreTlog ? {} : { requireTlog: true }) },
    };
  }
  if (kind === 'keyless') {
    const keyless = entry
      .required('keyless')
      .object([
        'subject',
        'subjectRegExp',
        'issuer',
        'issuerRegExp',
        'roots',
        'additionalExtensions',
        'rekor',
        'ctlog',
      ]);
    if (keyless === undefined) return undefined;
    for (const [key, why] of [
      ['roots', 'roots of its own; give vouch a trusted root (keyless.trustedRoot) instead'],
      [
        'additionalExtensions',
        'certificate extensions by OID; ImagePolicy names the GitHub claims only',
      ],
    ] as const) {
      const value = keyless.optional(key);
      if (value !== undefined) reader.refuse(value, why);
    }
    const rekor = keyless.optional('rekor');
    if (readRekor(reader, rekor)) {
      reader.refuse(
        rekor as Field,
        'keyless signatures without a transparency log; vouch requires the log entry',
      );
    }
    readCtlog(reader, keyless.optional('ctlog'), true);
    const identity = matcher(reader, keyless, 'subject', 'subjectRegExp');
    const issuer = matcher(reader, keyless, 'issuer', 'issuerRegExp');
    if (identity === undefined || issuer === undefined) return undefined;
    return {
      keyless: {
        ...('exact' in identity
          ? { identity: identity.exact }
          : { identityRegExp: identity.regexp }),
        ...('exact' in issuer ? { issuer: issuer.exact } : { issuerRegExp: issuer.regexp }),
      },
    };
  }
  return undefined;
}

/** A Kyverno wildcard or unanchored regexp as an exact value or anchored regexp. */
function matcher(
  reader: ForeignReader,
  fields: FieldMap,
  wildcard: string,
  regexp: string,
): { exact: string } | { regexp: string } | undefined {
  const a = fields.optional(wildcard);
  const b = fields.optional(regexp);
  if (a !== undefined && b !== undefined) {
    reader.refuse(b, `Kyverno accepts a value matching either ${wildcard} or ${regexp}; give one`);
    return undefined;
  }
  if (a !== undefined) {
    const value = a.string();
    if (value === undefined) return undefined;
    return /[*?]/.test(value) ? { regexp: wildcardRegexp(value) } : { exact: value };
  }
  if (b !== undefined) {
    const value = b.string();
    return value === undefined ? undefined : { regexp: unanchored(value) };
  }
  // Kyverno checks nothing when neither is given.
  return { regexp: ANYTHING };
}

/** Whether `rekor` turns the log off; refuses a log other than the public-good one. */
function readRekor(reader: ForeignReader, field: Field | undefined): boolean {
  const rekor = field?.object(['url', 'pubkey', 'ignoreTlog']);
  if (rekor === undefined) return false;
  const pubkey = rekor.optional('pubkey');
  if (pubkey !== undefined)
    reader.refuse(pubkey, 'a Rekor key of its own; give vouch a trusted root instead');
  const url = rekor.optional('url');
  const value = url?.string();
  if (value !== undefined && value.replace(/\/$/, '') !== PUBLIC_REKOR) {
    reader.refuse(
      url as Field,
      `a transparency log other than ${PUBLIC_REKOR}; give vouch its trusted root instead`,
    );
  }
  return rekor.optional('ignoreTlog')?.boolean() === true;
}

function readCtlog(reader: ForeignReader, field: Field | undefined, keyless: boolean): void {
  const ctlog = field?.object([
    'ignoreSCT',
    'pubkey',
    'tsaCertChain',
    'ctLogPubKey',
    'tsaCertChainPubKey',
  ]);
  if (ctlog === undefined) return;
  for (const key of ['pubkey', 'tsaCertChain', 'ctLogPubKey', 'tsaCertChainPubKey']) {
    const value = ctlog.optional(key);
    if (value !== undefined)
      reader.refuse(value, 'trust material of its own; give vouch a trusted root instead');
  }
  const sct = ctlog.optional('ignoreSCT');
  if (keyless && sct?.boolean() === true)
    reader.refuse(sct, 'vouch always checks the certificate SCT');
}

function readAttestation(
  context: Context,
  field: Field,
  label: string,
): AttestationRequirementDocument | undefined {
  const { reader } = context;
  const fields = field.object(['name', 'type', 'predicateType', 'attestors', 'conditions']);
  if (fields === undefined) return undefined;
  const conditions = fields.optional('conditions');
  if (conditions !== undefined) {
    const keys = JSON.stringify(conditions.node?.toJSON() ?? null).match(/\{\{[^}]*\}\}/g) ?? [];
    reader.refuse(
      conditions,
      `JMESPath conditions${keys.length === 0 ? '' : ` (${[...new Set(keys)].slice(0, 3).join(', ')})`}; ImagePolicy conditions are CEL: write them as a condition by hand`,
    );
  }
  const which = fields.exactlyOne(['type', 'predicateType']);
  const predicateType = which === undefined ? undefined : fields.required(which).string();
  const sets = fields.optional('attestors')?.list() ?? [];
  if (sets.length !== 1) {
    reader.refuse(
      fields.optional('attestors') ?? field,
      'an attestation requirement needs one attestor set here: ImagePolicy takes any one of its signers',
    );
    return undefined;
  }
  const set = readAttestorSet(context, sets[0] as Field, label);
  if (set === undefined || predicateType === undefined) return undefined;
  if (set.count !== 1 && set.names.length > 1) {
    reader.refuse(
      sets[0] as Field,
      'an attestation signed by several attestors at once; ImagePolicy takes any one',
    );
  }
  return {
    predicateType,
    authorities: set.names,
  };
}

/** A Kyverno image reference pattern as the ImagePolicy globs matching the same images, or why none do. */
export function imageGlobs(pattern: string): { globs: string[] } | { why: string } {
  if (pattern === '*') return { globs: ['**'] };
  if (pattern.includes('?')) return { why: 'a ? can match the : of a tag; write * at the end' };
  const star = pattern.indexOf('*');
  if (star === -1) {
    return {
      why: 'Kyverno compares the whole reference, tag or digest included: a pattern without * matches one tag or digest, not a repository (end it with *)',
    };
  }
  if (star !== pattern.length - 1) {
    return { why: 'a * before the end can match across /, tags and digests; only a final * maps' };
  }
  const prefix = pattern.slice(0, -1);
  const slash = prefix.indexOf('/');
  const registry = slash === -1 ? prefix : prefix.slice(0, slash);
  if (slash === -1 || !(/[.:]/.test(registry) || registry === 'localhost')) {
    return {
      why: 'start with a registry (ghcr.io/...): Kyverno names images without one by its defaultRegistry setting',
    };
  }
  if (registry === 'docker.io' || registry === 'index.docker.io') {
    return { why: "Kyverno's name for Docker Hub images depends on its defaultRegistry settings" };
  }
  if (/[:@]/.test(prefix.slice(slash + 1))) {
    return {
      why: 'it names tags or digests; an ImagePolicy rule covers every version of a repository',
    };
  }
  return { globs: prefix.endsWith('/') ? [`${prefix}**`] : [`${prefix}*`, `${prefix}*/**`] };
}

function refuseOverlaps(reader: ForeignReader, scopes: readonly Scoped[]): void {
  for (const [i, a] of scopes.entries()) {
    for (const b of scopes.slice(i + 1)) {
      for (const x of a.globs) {
        const y = b.globs.find((candidate) => globsMayOverlap(x.glob, candidate.glob));
        if (y === undefined) continue;
        reader.refuse(
          y.field,
          `its images may also match the verifyImages of ${a.label} (${x.glob}); Kyverno requires every entry matching an image to pass, an ImagePolicy applies the first matching rule only`,
        );
      }
    }
  }
}
