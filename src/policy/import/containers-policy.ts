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
 *   authority and each `sigstoreSigned` one `key:` authority, all of them
 *   required (`threshold` = their number).
 * - `sigstoreSigned` with `keyPath`/`keyPaths`/`keyData`/`keyDatas`
 *   (signature/policy_eval_sigstore.go
 *   https://github.com/containers/container-libs/blob/main/image/signature/policy_eval_sigstore.go):
 *   a key authority with every key (`keys`, any of which may have signed, as
 *   upstream accepts a signature by any of them; each parsed as upstream
 *   parses it, the first PEM block) and the requirement's `signedIdentity`
 *   written out even when it is the default `matchRepoDigestOrExact`, since
 *   a key authority without one checks no docker-reference. Both then accept
 *   a signature only if it verifies with one of the keys, signs this digest
 *   and claims a docker-reference the rule accepts for the image as named
 *   (formats/containers-policy/signed-identity.ts for both).
 *   `rekorPublicKeyPath(s)`/`rekorPublicKeyData(s)` become the authority's
 *   `rekorKeys` (ECDSA, as upstream requires): then, as upstream, each
 *   signature must carry a Rekor bundle whose SET one of those keys signed
 *   and whose entry binds this signature, key and payload, and no other log
 *   is trusted. Where they still differ, the authority is stricter, never
 *   weaker: without Rekor keys upstream ignores a signature's Rekor bundle,
 *   the authority checks one that is present against the trusted root's
 *   logs; the authority does not read the lookaside's `\x00sigstore-json`
 *   signatures. (Upstream reads cosign attachments only where registries.d
 *   sets `use-sigstore-attachments`; the authority reads them always: that
 *   is where signatures are stored, not which signatures are trusted.)
 * - Refused, for `sigstoreSigned`: `fulcio` (a keyless authority also
 *   requires an SCT from a CT log of its trusted root, which policy.json
 *   cannot name, and builds the chain from the trusted root alone, not from
 *   the signature's chain annotation: it would deny what upstream accepts,
 *   and a trusted root made for it would need CT logs upstream never
 *   checks); `pki` (no authority checks a certificate against a CA pool and
 *   a subject).
 * - Refused: `signedBaseLayer` and X.509 `signedBy` (containers/image does
 *   not implement them), `remapIdentity`, a `keyData` keyring that is not
 *   ASCII-armored, a `sigstoreSigned` key that is not a PEM public key, and
 *   scopes of other transports whose requirements differ from `default`.
 */
import { isDeepStrictEqual } from 'node:util';
import { messageOf } from '../../core/errors.ts';
import type {
  ContainersPolicy,
  MaterialSource,
  PolicyRequirement,
  PolicyRequirements,
} from '../../formats/containers-policy/policy-json.ts';
import { parsePublicKeyPem, publicKeyToPem } from '../../keys/pem.ts';
import { PolicyError, type PolicyIssue } from '../source.ts';
import {
  type AuthorityDocument,
  type GpgAuthorityDocument,
  type KeyAuthorityDocument,
  type PemSource,
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
    const where = `${path}[${index}]`;
    const converted =
      requirement.type === 'sigstoreSigned'
        ? keyOf(state, requirement, where)
        : gpgOf(state, requirement, where);
    if (converted === undefined) {
      refused = true;
      continue;
    }
    const authority = uniqueName(`${name}-${'key' in converted ? 'key' : 'gpg'}`, state.names);
    state.authorities[authority] = converted;
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

type SigstoreSigned = Extract<PolicyRequirement, { type: 'sigstoreSigned' }>;

/** A `sigstoreSigned` with keys as a key authority (see the header for what is refused and why). */
function keyOf(
  state: State,
  requirement: SigstoreSigned,
  path: string,
): KeyAuthorityDocument | undefined {
  let refused = false;
  if (requirement.fulcio !== undefined) {
    refuse(
      state,
      `${path}.fulcio`,
      'a keyless authority also requires an SCT from a CT log of its trusted root, which policy.json cannot name, and builds the certificate chain from the trusted root alone, not from the signature',
    );
    refused = true;
  }
  if (requirement.pki !== undefined) {
    refuse(
      state,
      `${path}.pki`,
      'no authority checks a signing certificate against a CA pool and a subject',
    );
    refused = true;
  }
  const identity = requirement.signedIdentity;
  if (identity.type === 'remapIdentity') {
    refuse(
      state,
      `${path}.signedIdentity`,
      'remapIdentity: a key authority does not remap identities',
    );
    refused = true;
  }
  const { keys: source, rekorPublicKeys } = requirement;
  if (refused || identity.type === 'remapIdentity') return undefined;
  // policy-json.ts requires exactly one of keys, fulcio and pki; refused, never dropped, if not.
  if (source === undefined) return refuse(state, path, 'sigstoreSigned names no keys');
  const keys = pemSources(state, source, `${path}.${sourceField(source, 'key')}`, false);
  const rekorKeys =
    rekorPublicKeys === undefined
      ? undefined
      : pemSources(
          state,
          rekorPublicKeys,
          `${path}.${sourceField(rekorPublicKeys, 'rekorPublicKey')}`,
          true,
        );
  if (keys === undefined || (rekorPublicKeys !== undefined && rekorKeys === undefined)) {
    return undefined;
  }
  return {
    key: {
      keys,
      ...(rekorKeys === undefined ? {} : { rekorKeys }),
      signedIdentity: identity,
    },
  };
}

/**
 * The public keys of `source` as an authority names them: a file by the
 * path it is written under, inline bytes as the PEM of the key. Each is
 * parsed as upstream's prepareTrustRoot parses it
 * (cryptoutils.UnmarshalPEMToPublicKey: the first PEM block), and a Rekor
 * key must be ECDSA, as upstream requires; one that is not is refused.
 */
function pemSources(
  state: State,
  source: MaterialSource,
  field: string,
  rekor: boolean,
): PemSource[] | undefined {
  const named: [string, Uint8Array | KeyFile | undefined][] =
    source.kind === 'path'
      ? [[source.path, state.keyFiles.get(source.path)]]
      : source.kind === 'paths'
        ? source.paths.map((p) => [p, state.keyFiles.get(p)])
        : (source.kind === 'data' ? [source.data] : source.datas).map((d, i) => [`${i}`, d]);
  const pems: PemSource[] = [];
  for (const [name, material] of named) {
    // The caller reads every file named; a missing one is a caller's bug, refused rather than dropped.
    if (material === undefined) return refuse(state, field, `${name} was not read`);
    const bytes = material instanceof Uint8Array ? material : material.bytes;
    let key;
    try {
      key = parsePublicKeyPem(bytes, { source: name });
    } catch (error) {
      return refuse(state, field, `not a PEM public key: ${messageOf(error)}`);
    }
    if (rekor && key.asymmetricKeyType !== 'ec') {
      return refuse(state, field, `${name}: containers/image requires ECDSA Rekor public keys`);
    }
    if (material instanceof Uint8Array) {
      pems.push({ pem: publicKeyToPem(key) });
    } else {
      state.files.set(material.path, material.bytes);
      pems.push({ file: material.path });
    }
  }
  return pems;
}

/** The policy.json field a material source was written as (`keyPath`, `rekorPublicKeyDatas`, ...). */
function sourceField(source: MaterialSource, prefix: 'key' | 'rekorPublicKey'): string {
  const suffix = { path: 'Path', paths: 'Paths', data: 'Data', datas: 'Datas' }[source.kind];
  return `${prefix}${suffix}`;
}

/** Every key file (keyring, public key, Rekor key) a requirement of the docker transport or `default` names. */
export function keyPathsOf(policy: ContainersPolicy): string[] {
  const docker = policy.transports.get('docker');
  const lists = [...(docker?.values() ?? []), ...(docker?.has('') ? [] : [policy.default])];
  const paths = new Set<string>();
  for (const requirement of lists.flat()) {
    const sources =
      requirement.type === 'signedBy'
        ? [requirement.keys]
        : requirement.type === 'sigstoreSigned'
          ? [requirement.keys, requirement.rekorPublicKeys]
          : [];
    for (const source of sources) {
      if (source?.kind === 'path') paths.add(source.path);
      if (source?.kind === 'paths') for (const p of source.paths) paths.add(p);
    }
  }
  return [...paths];
}
