/**
 * registries.d: where containers/image keeps and looks for the "simple
 * signing" signatures of images (containers-registries.d(5),
 * https://github.com/containers/image/blob/main/docs/containers-registries.d.5.md),
 * read as containers/image reads it
 * (https://github.com/containers/image/blob/main/docker/registries_d.go):
 *
 *   default-docker: {lookaside: URL, ...}
 *   docker:
 *     example.com/ns/repo: {lookaside: URL, lookaside-staging: URL,
 *                           sigstore: URL, sigstore-staging: URL,
 *                           use-sigstore-attachments: BOOL}
 *
 * Each file is decoded as gopkg.in/yaml.v3 `Unmarshal` decodes it into
 * containers/image's structs: unknown keys are ignored (not `KnownFields`),
 * duplicate keys in a mapping are refused, any scalar is taken as its text
 * for a string field (`lookaside: 123` is "123"), a plain `~`/`null`/empty
 * value is unset, `default-docker: ~` is no default while a `docker` entry
 * with a null value is an entry with nothing configured, and a boolean is
 * plain `true`/`false` (three spellings each) or one of YAML 1.1's
 * `yes`/`no`/`on`/`off`/`y`/`n` forms (yaml.v3 decode.go accepts those only
 * when decoding into a bool); anything else where a field is is an error.
 * Stricter than yaml.v3, on purpose: anchors, aliases, merge keys and
 * explicit tags other than `!!str` are refused (nobody needs them to name a
 * URL, and each would make vouch and containers/image read different text),
 * a file holding more than one YAML document is refused (yaml.v3 reads the
 * first and ignores the rest), and a file is at most 1 MiB and 256 levels
 * deep (core/yaml-documents.ts).
 *
 * Files are merged as `loadAndMergeConfig` merges them: `default-docker` or
 * one `docker` key defined in two files is refused, naming both. The entry
 * for an image is chosen as `signatureTopLevel` chooses: the exact identity
 * (`host/repo:tag` or `host/repo@digest`), then the repository and each
 * parent namespace up to the host, then `*.`-wildcards of the host's parent
 * domains, then `default-docker`; the first entry that has a URL for the
 * purpose wins, so an entry without one passes the choice on.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, type Node, Scalar } from 'yaml';
import { invalid, type VouchError } from '../../core/errors.ts';
import { parseYamlDocument } from '../../core/yaml-documents.ts';
import { type ImageReference, withDefaultTag } from '../../oci/reference.ts';
import type {} from '../error-codes.ts';

/** A registries.d file larger than this is refused before it is parsed. */
export const MAX_REGISTRIES_D_FILE_BYTES = 1024 * 1024;

/** One `default-docker` or `docker` entry (registries_d.go `registryNamespace`); "" is unset. */
export interface RegistriesDNamespace {
  /** For reading, and for writing when no staging location is set. */
  readonly lookaside?: string;
  /** For writing only. */
  readonly lookasideStaging?: string;
  /** The older name of `lookaside`, used when `lookaside` is not set. */
  readonly sigstore?: string;
  /** The older name of `lookaside-staging`. */
  readonly sigstoreStaging?: string;
  readonly useSigstoreAttachments?: boolean;
}

/** One file, or every file of a directory merged. */
export interface RegistriesDConfig {
  readonly defaultDocker?: RegistriesDNamespace;
  /** Keyed by scope as written: `host`, `host/namespace`, `host/repo`, `host/repo:tag`, `*.domain`. */
  readonly docker: ReadonlyMap<string, RegistriesDNamespace>;
}

/** A parsed file and the name its errors give it. */
export interface RegistriesDFile {
  readonly where: string;
  readonly config: RegistriesDConfig;
}

export const EMPTY_REGISTRIES_D: RegistriesDConfig = { docker: new Map() };

const NAMESPACE_FIELDS: Readonly<Record<string, keyof RegistriesDNamespace>> = {
  lookaside: 'lookaside',
  'lookaside-staging': 'lookasideStaging',
  sigstore: 'sigstore',
  'sigstore-staging': 'sigstoreStaging',
  'use-sigstore-attachments': 'useSigstoreAttachments',
};

/** yaml.v3's resolve table: the plain scalars that are null. */
const NULL_SPELLINGS = new Set(['', '~', 'null', 'Null', 'NULL']);
/** yaml.v3: plain booleans, then the YAML 1.1 forms it takes only into a bool field (any style). */
const PLAIN_TRUE = new Set(['true', 'True', 'TRUE']);
const PLAIN_FALSE = new Set(['false', 'False', 'FALSE']);
const COMPAT_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const COMPAT_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const STRING_TAG = 'tag:yaml.org,2002:str';

/**
 * Parses one registries.d file. `where` names it in messages. Throws
 * `invalid` REGISTRIES_D_INVALID naming the line and column.
 */
export function parseRegistriesD(text: string, where: string): RegistriesDConfig {
  if (text.length > MAX_REGISTRIES_D_FILE_BYTES) {
    throw invalid(
      'REGISTRIES_D_INVALID',
      `${where}: larger than ${MAX_REGISTRIES_D_FILE_BYTES} bytes; not a registries.d file`,
    );
  }
  const lineCounter = new LineCounter();
  const fail = (node: unknown, problem: string): VouchError => {
    const offset = isNode(node) ? node.range?.[0] : undefined;
    const at =
      offset === undefined
        ? ''
        : (({ line, col }) => ` (line ${line}, column ${col})`)(lineCounter.linePos(offset));
    return invalid('REGISTRIES_D_INVALID', `${where}${at}: ${problem}`);
  };
  // The failsafe schema reads every scalar as its text, as yaml.v3's Node.Value
  // holds it; what the text means (null, bool) is decided below as yaml.v3 does.
  const document = parseYamlDocument(text, { schema: 'failsafe', uniqueKeys: true, lineCounter });
  const [error] = document.errors;
  if (error !== undefined) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw invalid(
      'REGISTRIES_D_INVALID',
      `${where} (line ${line}, column ${col}): ${error.message.split('\n')[0]}`,
    );
  }
  const root = document.contents;
  if (root === null || isNull(root, fail)) return EMPTY_REGISTRIES_D;
  let defaultDocker: RegistriesDNamespace | undefined;
  const docker = new Map<string, RegistriesDNamespace>();
  for (const [key, value] of pairs(root, 'the document', fail)) {
    if (key === 'default-docker') {
      if (!isNull(value, fail)) defaultDocker = namespace(value, key, fail);
    } else if (key === 'docker') {
      if (isNull(value, fail)) continue;
      for (const [scope, entry] of pairs(value, '"docker"', fail)) {
        docker.set(scope, isNull(entry, fail) ? {} : namespace(entry, `docker "${scope}"`, fail));
      }
    }
    // Other keys are ignored, as yaml.v3 ignores fields the struct does not have.
  }
  return defaultDocker === undefined ? { docker } : { defaultDocker, docker };
}

type Failure = (node: unknown, problem: string) => VouchError;

/**
 * The keys and values of a mapping, as yaml.v3 decodes a mapping into a
 * struct or a map of strings: a key that is null is skipped with its value.
 */
function* pairs(node: unknown, what: string, fail: Failure): Generator<[string, Node | null]> {
  const checked = plainNode(node, fail);
  if (!isMap(checked)) throw fail(checked, `${what} must be a mapping, found ${kindOf(checked)}`);
  for (const pair of checked.items) {
    const key = plainNode(pair.key, fail);
    if (!isScalar(key)) throw fail(key, `a key in ${what} must be a string, found ${kindOf(key)}`);
    if (isNull(key, fail)) continue;
    const name = String(key.value);
    if (name === '<<' && key.type === Scalar.PLAIN && key.tag === undefined) {
      throw fail(key, 'merge keys (<<) are not supported in registries.d files');
    }
    yield [name, isNode(pair.value) ? plainNode(pair.value, fail) : null];
  }
}

function namespace(node: Node | null, what: string, fail: Failure): RegistriesDNamespace {
  const entry: { -readonly [K in keyof RegistriesDNamespace]: RegistriesDNamespace[K] } = {};
  for (const [key, value] of pairs(node, what, fail)) {
    const field = NAMESPACE_FIELDS[key];
    if (field === undefined) continue;
    if (field === 'useSigstoreAttachments') {
      const flag = boolean(value, `${what} ${key}`, fail);
      if (flag !== undefined) entry.useSigstoreAttachments = flag;
    } else {
      const text = string(value, `${what} ${key}`, fail);
      if (text !== '') entry[field] = text;
    }
  }
  return entry;
}

/** A string field: any scalar's text, "" when null. */
function string(node: Node | null, what: string, fail: Failure): string {
  if (node === null || isNull(node, fail)) return '';
  if (!isScalar(node)) throw fail(node, `${what} must be a string, found ${kindOf(node)}`);
  return String(node.value);
}

/** A `*bool` field: undefined when null. */
function boolean(node: Node | null, what: string, fail: Failure): boolean | undefined {
  if (node === null || isNull(node, fail)) return undefined;
  if (isScalar(node)) {
    const text = String(node.value);
    const plain = node.type === Scalar.PLAIN && node.tag === undefined;
    if ((plain && PLAIN_TRUE.has(text)) || COMPAT_TRUE.has(text)) return true;
    if ((plain && PLAIN_FALSE.has(text)) || COMPAT_FALSE.has(text)) return false;
  }
  throw fail(node, `${what} must be true or false, found ${kindOf(node)}`);
}

/** Whether yaml.v3 would read `node` as null: an untagged plain null spelling. */
function isNull(node: Node | null, fail: Failure): boolean {
  if (node === null) return true;
  const checked = plainNode(node, fail);
  return (
    isScalar(checked) &&
    checked.type === Scalar.PLAIN &&
    checked.tag === undefined &&
    NULL_SPELLINGS.has(String(checked.value))
  );
}

/** `node` when it carries no alias, anchor or tag but `!!str`; refused otherwise. */
function plainNode<T>(node: T, fail: Failure): T {
  if (isAlias(node)) throw fail(node, 'aliases are not supported in registries.d files');
  const { anchor, tag } = (node ?? {}) as { anchor?: string; tag?: string };
  if (anchor !== undefined) {
    throw fail(node, 'anchors are not supported in registries.d files');
  }
  if (tag !== undefined && tag !== STRING_TAG) {
    throw fail(node, `the tag ${tag} is not supported in registries.d files`);
  }
  return node;
}

function kindOf(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a sequence';
  if (isScalar(node)) return JSON.stringify(String(node.value)).slice(0, 80);
  return 'nothing';
}

/**
 * Every file of a directory merged as `loadAndMergeConfig` merges them:
 * `default-docker`, or a `docker` scope, defined in two files is refused
 * (`invalid` REGISTRIES_D_INVALID naming both).
 */
export function mergeRegistriesD(files: readonly RegistriesDFile[]): RegistriesDConfig {
  let defaultDocker: { where: string; entry: RegistriesDNamespace } | undefined;
  const docker = new Map<string, RegistriesDNamespace>();
  const dockerFrom = new Map<string, string>();
  for (const { where, config } of files) {
    if (config.defaultDocker !== undefined) {
      if (defaultDocker !== undefined) {
        throw invalid(
          'REGISTRIES_D_INVALID',
          `signature storage configuration: "default-docker" defined both in ${defaultDocker.where} and ${where}`,
        );
      }
      defaultDocker = { where, entry: config.defaultDocker };
    }
    for (const [scope, entry] of config.docker) {
      const earlier = dockerFrom.get(scope);
      if (earlier !== undefined) {
        throw invalid(
          'REGISTRIES_D_INVALID',
          `signature storage configuration: "docker" namespace "${scope}" defined both in ${earlier} and ${where}`,
        );
      }
      docker.set(scope, entry);
      dockerFrom.set(scope, where);
    }
  }
  return defaultDocker === undefined ? { docker } : { defaultDocker: defaultDocker.entry, docker };
}

/**
 * The scope an image is looked up by first (policyconfiguration
 * `DockerReferenceIdentity`): `host/repo:tag`, or `host/repo@digest`. A
 * reference without either gets `latest`, as the docker transport gives it;
 * one with both is looked up by its digest, the form podman and CRI-O pull
 * (containers/image's docker transport refuses a reference with both).
 */
export function policyIdentity(ref: ImageReference): string {
  const name = `${ref.registry}/${ref.repository}`;
  if (ref.digest !== undefined) return `${name}@${ref.digest}`;
  return `${name}:${withDefaultTag(ref).tag ?? 'latest'}`;
}

/**
 * The scopes searched after the identity (policyconfiguration
 * `DockerReferenceNamespaces`): the repository, each parent namespace up to
 * the host, then `*.` and each parent domain of the host (port stripped) —
 * `a.example.com:5000/ns/repo` gives `a.example.com:5000/ns/repo`,
 * `a.example.com:5000/ns`, `a.example.com:5000`, `*.example.com`, `*.com`.
 */
export function policyNamespaces(ref: ImageReference): string[] {
  const namespaces: string[] = [];
  let name = `${ref.registry}/${ref.repository}`;
  for (;;) {
    namespaces.push(name);
    const lastSlash = name.lastIndexOf('/');
    if (lastSlash === -1) break;
    name = name.slice(0, lastSlash);
  }
  // As upstream: the first colon ends the host (an IPv6 literal gets no wildcards).
  const colon = name.indexOf(':');
  if (colon !== -1) name = name.slice(0, colon);
  for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.')) {
    name = name.slice(dot + 1);
    namespaces.push(`*.${name}`);
  }
  return namespaces;
}

/** Where a lookaside location came from, for messages. */
export type LookasideSource =
  | { readonly kind: 'docker'; readonly scope: string; readonly key: LookasideKey }
  | { readonly kind: 'default-docker'; readonly key: LookasideKey }
  | { readonly kind: 'built-in' };

export type LookasideKey = 'lookaside' | 'lookaside-staging' | 'sigstore' | 'sigstore-staging';

export interface LookasideLocation {
  /** The configured URL text, not yet parsed (lookaside-layout.ts parses it when it is used). */
  readonly topLevel: string;
  readonly source: LookasideSource;
}

/**
 * The lookaside location for `ref` (`lookasideStorageBaseURL` before the
 * repository is appended): for writing, `lookaside-staging` (or
 * `sigstore-staging`) before `lookaside` (or `sigstore`); when nothing is
 * configured, `builtinDefault` (see `builtinDefaultLookaside`).
 */
export function lookasideFor(
  config: RegistriesDConfig,
  ref: ImageReference,
  options: { readonly write: boolean; readonly builtinDefault: string },
): LookasideLocation {
  for (const scope of [policyIdentity(ref), ...policyNamespaces(ref)]) {
    const entry = config.docker.get(scope);
    const found = entry === undefined ? undefined : topLevelOf(entry, options.write);
    if (found !== undefined) {
      return { topLevel: found.url, source: { kind: 'docker', scope, key: found.key } };
    }
  }
  const fallback =
    config.defaultDocker === undefined
      ? undefined
      : topLevelOf(config.defaultDocker, options.write);
  if (fallback !== undefined) {
    return { topLevel: fallback.url, source: { kind: 'default-docker', key: fallback.key } };
  }
  return { topLevel: options.builtinDefault, source: { kind: 'built-in' } };
}

/** registries_d.go `registryNamespace.signatureTopLevel`. */
export function topLevelOf(
  entry: RegistriesDNamespace,
  write: boolean,
): { readonly url: string; readonly key: LookasideKey } | undefined {
  if (write && entry.lookasideStaging !== undefined) {
    return { url: entry.lookasideStaging, key: 'lookaside-staging' };
  }
  if (write && entry.sigstoreStaging !== undefined) {
    return { url: entry.sigstoreStaging, key: 'sigstore-staging' };
  }
  if (entry.lookaside !== undefined) return { url: entry.lookaside, key: 'lookaside' };
  if (entry.sigstore !== undefined) return { url: entry.sigstore, key: 'sigstore' };
  return undefined;
}

/**
 * Whether cosign-style signatures (`sha256-<hex>.sig` tags) are expected
 * for `ref` too (`useSigstoreAttachments`): the first entry in the same
 * order that sets `use-sigstore-attachments`, else false.
 */
export function usesSigstoreAttachments(config: RegistriesDConfig, ref: ImageReference): boolean {
  for (const scope of [policyIdentity(ref), ...policyNamespaces(ref)]) {
    const flag = config.docker.get(scope)?.useSigstoreAttachments;
    if (flag !== undefined) return flag;
  }
  return config.defaultDocker?.useSigstoreAttachments ?? false;
}

/**
 * containers/image's built-in lookaside when registries.d names none
 * (`builtinDefaultLookasideStorageDir`): `file:///var/lib/containers/sigstore`
 * for root (effective UID 0), else `file://$HOME/.local/share/containers/sigstore`.
 * The CLI passes the UID and home directory; the library reads no environment.
 */
export function builtinDefaultLookaside(options: {
  readonly root: boolean;
  readonly home: string;
}): string {
  if (options.root) return 'file:///var/lib/containers/sigstore';
  return pathToFileURL(join(options.home, '.local/share/containers/sigstore')).href;
}
