/**
 * sigstore policy-controller ClusterImagePolicies (`policy.sigstore.dev`,
 * one or more YAML documents) as an ImagePolicy, refusing whatever has no
 * exact equivalent. How policy-controller decides, from its source
 * (https://github.com/sigstore/policy-controller, pkg/webhook/validator.go,
 * pkg/apis/glob/glob.go, pkg/apis/policy/v1beta1/clusterimagepolicy_types.go):
 *
 * - every ClusterImagePolicy whose globs match an image must pass (AND);
 *   within one, any authority passing is enough (OR). An ImagePolicy applies
 *   the first matching rule only, so policies whose globs could match one
 *   image are refused (glob-overlap.ts); the others become one rule each,
 *   their authorities the rule's, threshold 1.
 * - a glob is matched against the whole reference, tag or digest included
 *   (`index.docker.io/library/nginx@sha256:...`), `*` within a segment and
 *   `**` across. Only globs that match every version of the repositories
 *   they name have an equivalent: a last segment `**` or ending in one `*`.
 *   `index.docker.io/...` is `docker.io/...` in vouch; `*` and `*\/*` are
 *   policy-controller's shorthands for Docker Hub. A registry segment other
 *   than a literal or `**` is refused: glob.go also matches the reference as
 *   written, so `*\/app*` matches `acme/app:1` (a Docker Hub image) there.
 * - a key authority (`key.data`, each PEM key an authority) verifies without
 *   a transparency log unless `ctlog.url` names one (then `requireTlog`);
 *   a keyless one checks each identity (issuer or issuerRegExp, subject or
 *   subjectRegExp) against the public-good Fulcio and Rekor. cosign's
 *   regexps are searched for anywhere in the value (Go `MatchString`); an
 *   ImagePolicy's are anchored, so each is written wrapped in `(?s:.*)`.
 * - `static: pass` admits (`action: allow`), `static: fail` alone denies
 *   (`action: deny`); a failing static authority beside others changes
 *   nothing (OR).
 * - an authority with `attestations` checks those *instead of* the image's
 *   signature; an ImagePolicy rule always requires signatures, so that is
 *   refused, as are CUE/Rego policies, secrets, KMS keys, TrustRoot
 *   resources, custom certificate authorities, signature sources, TSA
 *   authorities, `match` and `insecureIgnoreSCT`.
 * - images no policy matches get `no-match-policy` (the controller's
 *   config-policy-controller ConfigMap; its default is deny).
 */
import type { Field } from '../source.ts';
import {
  type AuthorityDocument,
  type DefaultAction,
  POLICY_API_VERSION,
  POLICY_KIND,
  type PolicyDocument,
  type RuleDocument,
} from '../types.ts';
import { ForeignReader, unanchored } from './foreign.ts';
import { globsMayOverlap } from './glob-overlap.ts';
import { finishImport, type ImportResult, uniqueName } from './result.ts';

export const CLUSTER_IMAGE_POLICY_VERSIONS = [
  'policy.sigstore.dev/v1beta1',
  'policy.sigstore.dev/v1alpha1',
] as const;

/** The public-good services policy-controller verifies against when no TrustRoot is named. */
const PUBLIC_FULCIO = 'https://fulcio.sigstore.dev';
const PUBLIC_REKOR = 'https://rekor.sigstore.dev';

export interface ClusterImagePolicyImportOptions {
  /** policy-controller's `no-match-policy`; default deny, as there. */
  readonly noMatchPolicy?: DefaultAction;
}

interface Scoped {
  readonly policy: string;
  readonly globs: readonly { readonly glob: string; readonly field: Field }[];
}

/**
 * Converts the ClusterImagePolicies in `text` (read from `source`). Throws
 * PolicyError (`invalid` POLICY_IMPORT_REFUSED, or POLICY_IMPORT_INVALID for
 * malformed input) with every problem, each with its path and line.
 */
export function importClusterImagePolicies(
  text: string,
  source: string,
  options: ClusterImagePolicyImportOptions = {},
): ImportResult {
  const reader = new ForeignReader(text, source);
  const authorities: Record<string, AuthorityDocument> = {};
  const rules: RuleDocument[] = [];
  const ruleNames = new Set<string>();
  const authorityNames = new Set<string>();
  const scopes: Scoped[] = [];
  for (const document of reader.documents) {
    const top = document.root.object(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    if (top === undefined) continue;
    top.required('apiVersion').oneOf(CLUSTER_IMAGE_POLICY_VERSIONS);
    top.required('kind').oneOf(['ClusterImagePolicy']);
    const metadataName = top
      .required('metadata')
      .entries()
      ?.find((entry) => entry.name === 'name')
      ?.string();
    const spec = top.required('spec').object(['images', 'authorities', 'policy', 'mode', 'match']);
    if (metadataName === undefined || spec === undefined) {
      if (metadataName === undefined) top.required('metadata').problem('needs a name');
      continue;
    }
    const name = uniqueName(metadataName, ruleNames);
    const policyField = spec.optional('policy');
    if (policyField !== undefined) {
      const type = policyField.object([
        'type',
        'data',
        'remote',
        'configMapRef',
        'url',
        'fetchConfigFile',
        'includeSpec',
        'includeObjectMeta',
        'includeTypeMeta',
      ]);
      const kind = type?.optional('type')?.string() ?? 'a';
      reader.refuse(
        policyField,
        `a ${kind} policy over the authorities' results; ImagePolicy conditions are CEL over attestations`,
      );
    }
    const match = spec.optional('match');
    if (match !== undefined) {
      reader.refuse(match, 'an ImagePolicy applies to every workload kind, not selected resources');
    }
    const mode = spec.optional('mode')?.oneOf(['enforce', 'warn']);
    const globs: Scoped['globs'][number][] = [];
    for (const item of spec.required('images').list({ minItems: 1 }) ?? []) {
      const globField = item.object(['glob'])?.required('glob');
      const glob = globField?.string();
      if (globField === undefined || glob === undefined) continue;
      const converted = imageGlob(glob);
      if ('why' in converted) reader.refuse(globField, converted.why);
      else globs.push({ glob: converted.glob, field: globField });
    }
    scopes.push({ policy: metadataName, globs });

    let pass = false;
    let fail = false;
    const names: string[] = [];
    const items = spec.optional('authorities')?.list() ?? [];
    if (items.length === 0) {
      (spec.optional('authorities') ?? top.required('spec')).problem(
        'needs authorities (policy-controller refuses a policy without them)',
      );
    }
    for (const [index, item] of items.entries()) {
      const fields = item.object([
        'name',
        'key',
        'keyless',
        'static',
        'source',
        'ctlog',
        'attestations',
        'rfc3161timestamp',
        'signatureFormat',
      ]);
      if (fields === undefined) continue;
      const authorityName = fields.optional('name')?.string() ?? `authority-${index}`;
      for (const [field, why] of [
        [
          'attestations',
          'policy-controller checks these attestations instead of the image signature; an ImagePolicy rule always requires a signature',
        ],
        ['source', 'vouch reads signatures from the image repository itself'],
        ['rfc3161timestamp', 'a TrustRoot resource of the cluster, which vouch cannot read'],
      ] as const) {
        const value = fields.optional(field);
        if (value !== undefined) reader.refuse(value, why);
      }
      fields.optional('signatureFormat')?.oneOf(['legacy', 'bundle']);
      const ctlog = readCtlog(reader, fields.optional('ctlog'));
      const kind = fields.exactlyOne(['key', 'keyless', 'static']);
      const label = `${name}-${authorityName}`;
      if (kind === 'static') {
        const action = fields
          .required('static')
          .object(['action', 'message'])
          ?.required('action')
          .oneOf(['pass', 'fail']);
        if (action === 'pass') pass = true;
        if (action === 'fail') fail = true;
      } else if (kind === 'key') {
        for (const pem of readKey(reader, fields.required('key'))) {
          const authority = uniqueName(label, authorityNames);
          authorities[authority] = { key: { pem, ...(ctlog ? { requireTlog: true } : {}) } };
          names.push(authority);
        }
      } else if (kind === 'keyless') {
        for (const keyless of readKeyless(reader, fields.required('keyless'))) {
          const authority = uniqueName(label, authorityNames);
          authorities[authority] = { keyless };
          names.push(authority);
        }
      }
    }
    if (pass) {
      // One authority passing passes the policy: `static: pass` admits every image it matches.
      for (const unused of names) Reflect.deleteProperty(authorities, unused);
      rules.push({ name, images: globs.map((g) => g.glob), action: 'allow' });
    } else if (names.length === 0 && fail) {
      rules.push({
        name,
        images: globs.map((g) => g.glob),
        action: 'deny',
        ...(mode === 'warn' ? { mode } : {}),
      });
    } else {
      rules.push({
        name,
        images: globs.map((g) => g.glob),
        authorities: names,
        ...(mode === 'warn' ? { mode } : {}),
      });
    }
  }
  refuseOverlaps(reader, scopes);
  reader.finish();
  const document: PolicyDocument = {
    apiVersion: POLICY_API_VERSION,
    kind: POLICY_KIND,
    defaultAction: options.noMatchPolicy ?? 'deny',
    ...(Object.keys(authorities).length === 0 ? {} : { authorities }),
    rules,
  };
  return finishImport(
    document,
    source,
    `Imported by vouch policy import from the ClusterImagePolicies in ${source}.`,
  );
}

/**
 * A policy-controller glob as an ImagePolicy glob matching the same images,
 * or why there is none.
 */
export function imageGlob(glob: string): { glob: string } | { why: string } {
  // glob.go Compile: the two Docker Hub shorthands.
  if (glob === '*') return { glob: 'docker.io/library/*' };
  if (glob === '*/*') return { glob: 'docker.io/*/*' };
  if (glob === '**') return { glob: '**' };
  const segments = glob.split('/');
  const [first, ...rest] = segments;
  const last = segments[segments.length - 1] as string;
  if (rest.length === 0) {
    return {
      why: 'a glob of one segment matches only references written that way, never a repository',
    };
  }
  if (first === 'docker.io') {
    return {
      why: 'policy-controller names Docker Hub images index.docker.io/..., so this glob matches only references written docker.io/...; write index.docker.io',
    };
  }
  if (first !== undefined && first.includes('*') && first !== '**') {
    // glob.go Match also tries the reference as written: `*/app*` matches
    // `acme/app:1` (index.docker.io/acme/app) there, with `acme` in the registry's place.
    return {
      why: 'a wildcard registry segment: policy-controller also matches it against references written without a registry (Docker Hub), with their first path segment in its place; name the registry, or start with **',
    };
  }
  if (first !== undefined && !/[.:*]/.test(first) && first !== 'localhost') {
    return {
      why: `policy-controller does not qualify globs: this one matches only images written without a registry (${first}/...); write the registry (index.docker.io/${glob})`,
    };
  }
  if (rest.some((segment) => /[:@]/.test(segment))) {
    return {
      why: 'it names tags or digests; an ImagePolicy rule covers every version of a repository',
    };
  }
  if (last !== '**' && !/^[^*]*\*$/.test(last)) {
    return {
      why: 'policy-controller matches the whole reference, tag or digest included: only a last segment ** or ending in one * matches every version of a repository, as an ImagePolicy glob does (write ghcr.io/acme/app* or ghcr.io/acme/**)',
    };
  }
  return { glob: [first === 'index.docker.io' ? 'docker.io' : first, ...rest].join('/') };
}

/** Whether `ctlog` asks for the public-good Rekor (true), or nothing (false). */
function readCtlog(reader: ForeignReader, field: Field | undefined): boolean {
  if (field === undefined) return false;
  const fields = field.object(['url', 'trustRootRef']);
  const trustRoot = fields?.optional('trustRootRef');
  if (trustRoot !== undefined) {
    reader.refuse(trustRoot, 'a TrustRoot resource of the cluster, which vouch cannot read');
  }
  const urlField = fields?.optional('url');
  const url = urlField?.string();
  if (urlField !== undefined && url !== undefined && url.replace(/\/$/, '') !== PUBLIC_REKOR) {
    reader.refuse(
      urlField,
      `a transparency log other than ${PUBLIC_REKOR}; give vouch its trusted root instead`,
    );
  }
  return urlField !== undefined;
}

function readKey(reader: ForeignReader, field: Field): string[] {
  const fields = field.object(['data', 'secretRef', 'kms', 'hashAlgorithm']);
  if (fields === undefined) return [];
  for (const [name, why] of [
    ['secretRef', 'a Kubernetes secret, which vouch does not read; give the key as data'],
    ['kms', 'a KMS key, which ImagePolicy does not name'],
  ] as const) {
    const value = fields.optional(name);
    if (value !== undefined) reader.refuse(value, why);
  }
  const hash = fields.optional('hashAlgorithm');
  const algorithm = hash?.string();
  if (hash !== undefined && algorithm !== undefined && algorithm !== 'sha256') {
    reader.refuse(hash, `signatures over a ${algorithm} digest; cosign and vouch sign sha256`);
  }
  if (fields.optional('secretRef') !== undefined || fields.optional('kms') !== undefined) return [];
  const data = fields.required('data').string();
  if (data === undefined) return [];
  // policy-controller reads every PEM block of data as a key, any of which may verify.
  const blocks = data.match(/-----BEGIN [^-\n]+-----[\s\S]*?-----END [^-\n]+-----/g) ?? [];
  if (blocks.length === 0) fields.required('data').problem('holds no PEM public key');
  return blocks.map((block) => `${block}\n`);
}

type Keyless = Extract<AuthorityDocument, { keyless: unknown }>['keyless'];

function readKeyless(reader: ForeignReader, field: Field): Keyless[] {
  const fields = field.object([
    'url',
    'identities',
    'ca-cert',
    'trustRootRef',
    'insecureIgnoreSCT',
  ]);
  if (fields === undefined) return [];
  for (const [name, why] of [
    [
      'ca-cert',
      'a certificate authority of its own; give vouch a trusted root (keyless.trustedRoot) instead',
    ],
    ['trustRootRef', 'a TrustRoot resource of the cluster, which vouch cannot read'],
  ] as const) {
    const value = fields.optional(name);
    if (value !== undefined) reader.refuse(value, why);
  }
  const sct = fields.optional('insecureIgnoreSCT');
  if (sct?.boolean() === true) reader.refuse(sct, 'vouch always checks the certificate SCT');
  const urlField = fields.optional('url');
  const url = urlField?.string();
  if (urlField !== undefined && url !== undefined && url.replace(/\/$/, '') !== PUBLIC_FULCIO) {
    reader.refuse(
      urlField,
      `policy-controller verifies against the public-good roots whatever url says; a Fulcio other than ${PUBLIC_FULCIO} needs its trusted root`,
    );
  }
  const result: Keyless[] = [];
  for (const item of fields.required('identities').list({ minItems: 1 }) ?? []) {
    const identity = item.object(['issuer', 'subject', 'issuerRegExp', 'subjectRegExp']);
    if (identity === undefined) continue;
    const issuerKind = identity.exactlyOne(['issuer', 'issuerRegExp']);
    const subjectKind = identity.exactlyOne(['subject', 'subjectRegExp']);
    if (issuerKind === undefined || subjectKind === undefined) continue;
    const issuer = identity.required(issuerKind).string();
    const subject = identity.required(subjectKind).string();
    if (issuer === undefined || subject === undefined) continue;
    result.push({
      ...(subjectKind === 'subject'
        ? { identity: subject }
        : { identityRegExp: unanchored(subject) }),
      ...(issuerKind === 'issuer' ? { issuer } : { issuerRegExp: unanchored(issuer) }),
    });
  }
  return result;
}

/** Refuses any two policies that could match one image (policy-controller would AND them). */
function refuseOverlaps(reader: ForeignReader, scopes: readonly Scoped[]): void {
  for (const [i, a] of scopes.entries()) {
    for (const b of scopes.slice(i + 1)) {
      for (const x of a.globs) {
        const y = b.globs.find((candidate) => globsMayOverlap(x.glob, candidate.glob));
        if (y === undefined) continue;
        reader.refuse(
          y.field,
          `its images may also match ClusterImagePolicy ${a.policy} (${x.glob}); policy-controller requires every policy matching an image to pass, an ImagePolicy applies the first matching rule only`,
        );
      }
    }
  }
}
