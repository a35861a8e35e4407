/**
 * A containers/image `policy.json` (read and checked by
 * formats/containers-policy/policy-json.ts exactly as containers/image reads
 * it) as an ImagePolicy
 * (https://github.com/containers/image/blob/main/docs/containers-policy.json.5.md):
 *
 * - Each scope of the `docker` transport becomes one rule. containers/image
 *   takes the most specific scope naming an image (the repository, then each
 *   shorter namespace, then the host); an ImagePolicy takes the first rule
 *   that matches. Scopes that match one image are always prefixes of one
 *   another, so rules ordered by segment count, longest first, pick the
 *   scope containers/image picks. A scope covers its repository and every
 *   repository under it: `host/ns` is the globs `host/ns` and `host/ns/**`,
 *   a host is `host/**`. Scopes naming a tag or digest (globs match
 *   repositories) and `*.example.com` wildcards (which match hosts by DNS
 *   suffix, ports included, as no glob does) are refused.
 * - The docker transport's `""` scope, or else `default`, becomes a last rule
 *   for `**`.
 * - A requirement list must hold in full: any `reject` makes a deny rule;
 *   `insecureAcceptAnything` always holds, so it adds nothing (alone: an
 *   allow rule); each `signedBy` GPGKeys requirement becomes one `gpg:`
 *   authority, all of them required (`threshold` = their number).
 * - Refused: `sigstoreSigned` (a key or keyless authority checks the signed
 *   digest, not the signed docker-reference its `signedIdentity` checks),
 *   `signedBaseLayer` and X.509 `signedBy` (containers/image does not
 *   implement them), `remapIdentity`, a `keyData` keyring that is not
 *   ASCII-armored, and scopes of other transports whose requirements differ
 *   from `default`.
 */
import { isDeepStrictEqual } from 'node:util';
import type {
  ContainersPolicy,
  PolicyRequirement,
  PolicyRequirements,
} from '../../formats/containers-policy/policy-json.ts';
import { PolicyError, type PolicyIssue } from '../source.ts';
import {
  type AuthorityDocument,
  type GpgAuthorityDocument,
  POLICY_API_VERSION,
  POLICY_KIND,
  type PolicyDocument,
  type RuleDocument,
} from '../types.ts';
import { NO_EQUIVALENT } from './foreign.ts';
import { finishImport, type ImportResult, uniqueName } from './result.ts';

/** A keyring file a `signedBy` names: the path to write in the policy, and its bytes. */
export interface KeyFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

const ARMOR = '-----BEGIN PGP PUBLIC KEY BLOCK-----';

/**
 * Converts `policy` (read from `source`). `keyFiles` holds each keyring file
 * a `signedBy` names, by the path written in policy.json. Throws PolicyError
 * (`invalid` POLICY_IMPORT_REFUSED) naming each construct that has no exact
 * equivalent.
 */
export function importContainersPolicy(
  policy: ContainersPolicy,
  source: string,
  keyFiles: ReadonlyMap<string, KeyFile>,
): ImportResult {
  const state: State = {
    issues: [],
    files: new Map(),
    authorities: {},
    names: new Set(),
    keyFiles,
  };
  const scoped: { segments: number; rule: RuleDocument }[] = [];
  let last: RuleDocument | undefined;
  for (const [transport, scopes] of policy.transports) {
    if (transport === 'docker') continue;
    for (const [scope, requirements] of scopes) {
      if (isDeepStrictEqual(requirements, policy.default)) continue;
      refuse(
        state,
        `transports.${transport}[${JSON.stringify(scope)}]`,
        `an ImagePolicy checks registry images only; the ${transport} transport's requirements differ from default`,
      );
    }
  }
  for (const [scope, requirements] of policy.transports.get('docker') ?? []) {
    const path = `transports.docker[${JSON.stringify(scope)}]`;
    if (scope === '') {
      last = ruleFor(state, requirements, path, 'docker-default', ['**']);
      continue;
    }
    const images = imagesOf(state, scope, path);
    if (images === undefined) continue;
    const rule = ruleFor(state, requirements, path, scope, images);
    if (rule !== undefined) scoped.push({ segments: scope.split('/').length, rule });
  }
  // The docker "" scope decides every image no other scope names; default is then never used.
  if (!policy.transports.get('docker')?.has('')) {
    last = ruleFor(state, policy.default, 'default', 'default', ['**']);
  }
  if (state.issues.length > 0) {
    throw new PolicyError('POLICY_IMPORT_REFUSED', source, state.issues);
  }
  // Array.prototype.sort is stable: scopes of one length keep their order (they never overlap).
  scoped.sort((a, b) => b.segments - a.segments);
  const document: PolicyDocument = {
    apiVersion: POLICY_API_VERSION,
    kind: POLICY_KIND,
    defaultAction: 'deny',
    ...(Object.keys(state.authorities).length === 0 ? {} : { authorities: state.authorities }),
    rules: [...scoped.map((s) => s.rule), ...(last === undefined ? [] : [last])],
  };
  return finishImport(
    document,
    source,
    `Imported by vouch policy import from the containers policy ${source}.`,
    [],
    state.files,
  );
}

interface State {
  readonly issues: PolicyIssue[];
  readonly files: Map<string, Uint8Array>;
  readonly authorities: Record<string, AuthorityDocument>;
  readonly names: Set<string>;
  readonly keyFiles: ReadonlyMap<string, KeyFile>;
}

function refuse(state: State, path: string, why: string): undefined {
  state.issues.push({ path, line: 0, column: 0, message: `${NO_EQUIVALENT}: ${why}` });
  return undefined;
}

/** The globs covering exactly the repositories a docker scope covers. */
function imagesOf(state: State, scope: string, path: string): string[] | undefined {
  if (scope.startsWith('*.')) {
    return refuse(
      state,
      path,
      `${scope} matches every host ending in ${scope.slice(1)}, with any port; no image glob matches hosts by suffix`,
    );
  }
  const segments = scope.split('/');
  const last = segments.at(-1) ?? '';
  if (segments.length > 1 && (last.includes(':') || last.includes('@') || scope.includes('@'))) {
    return refuse(
      state,
      path,
      `${scope} names one tag or digest; an image glob covers every version of a repository`,
    );
  }
  if (segments.length === 1) return [`${scope}/**`];
  // Every docker.io repository has two segments or more: `docker.io/ns` alone names none.
  if (segments[0] === 'docker.io' && segments.length === 2) return [`${scope}/**`];
  return [scope, `${scope}/**`];
}

/** The rule deciding images as `requirements` (all of which must hold) does. */
function ruleFor(
  state: State,
  requirements: PolicyRequirements,
  path: string,
  wanted: string,
  images: readonly string[],
): RuleDocument | undefined {
  const name = uniqueName(wanted, state.names);
  if (requirements.some((requirement) => requirement.type === 'reject')) {
    return { name, images, action: 'deny' };
  }
  const authorities: string[] = [];
  let refused = false;
  for (const [index, requirement] of requirements.entries()) {
    if (requirement.type === 'insecureAcceptAnything') continue;
    const gpg = gpgOf(state, requirement, `${path}[${index}]`);
    if (gpg === undefined) {
      refused = true;
      continue;
    }
    const authority = uniqueName(`${name}-gpg`, state.names);
    state.authorities[authority] = gpg;
    authorities.push(authority);
  }
  if (refused) return undefined;
  if (authorities.length === 0) return { name, images, action: 'allow' };
  return {
    name,
    images,
    authorities,
    ...(authorities.length > 1 ? { threshold: authorities.length } : {}),
  };
}

function gpgOf(
  state: State,
  requirement: PolicyRequirement,
  path: string,
): GpgAuthorityDocument | undefined {
  if (requirement.type === 'sigstoreSigned') {
    return refuse(
      state,
      path,
      'sigstoreSigned checks the signed docker-reference (signedIdentity); a key or keyless authority checks the signed digest only',
    );
  }
  if (requirement.type !== 'signedBy') {
    return refuse(
      state,
      path,
      `${requirement.type} is not implemented by containers/image, and no authority stands for it`,
    );
  }
  if (requirement.keyType !== 'GPGKeys') {
    return refuse(
      state,
      `${path}.keyType`,
      `${requirement.keyType} is not implemented by containers/image, and no authority stands for it`,
    );
  }
  const identity = requirement.signedIdentity;
  if (identity.type === 'remapIdentity') {
    return refuse(
      state,
      `${path}.signedIdentity`,
      'remapIdentity: a gpg authority does not remap identities',
    );
  }
  const signedIdentity =
    identity.type === 'matchRepoDigestOrExact' ? {} : { signedIdentity: identity };
  const keys = requirement.keys;
  if (keys.kind === 'data') {
    const text = Buffer.from(keys.data).toString('utf8');
    if (!text.trimStart().startsWith(ARMOR) || !Buffer.from(text).equals(keys.data)) {
      return refuse(
        state,
        `${path}.keyData`,
        'a gpg authority takes keyData ASCII-armored; this keyring is binary: export it with gpg --armor --export, or name it with keyPath',
      );
    }
    return { gpg: { keyData: text, ...signedIdentity } };
  }
  const written: string[] = [];
  for (const keyPath of keys.kind === 'path' ? [keys.path] : keys.paths) {
    const file = state.keyFiles.get(keyPath);
    // The caller reads every file named; a missing one is a caller's bug, refused rather than dropped.
    if (file === undefined) return refuse(state, path, `${keyPath} was not read`);
    state.files.set(file.path, file.bytes);
    written.push(file.path);
  }
  return { gpg: { keyPaths: written, ...signedIdentity } };
}

/** Every keyring file a `signedBy` of the docker transport or `default` names. */
export function keyPathsOf(policy: ContainersPolicy): string[] {
  const docker = policy.transports.get('docker');
  const lists = [...(docker?.values() ?? []), ...(docker?.has('') ? [] : [policy.default])];
  const paths = new Set<string>();
  for (const requirement of lists.flat()) {
    if (requirement.type !== 'signedBy') continue;
    const { keys } = requirement;
    if (keys.kind === 'path') paths.add(keys.path);
    if (keys.kind === 'paths') for (const p of keys.paths) paths.add(p);
  }
  return [...paths];
}
