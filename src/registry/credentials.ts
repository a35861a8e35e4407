/**
 * Registry credentials from the Docker client configuration
 * (`<configDir>/config.json`), compatible with docker/cli: the same file
 * layout, the same choice of store per registry, and the same credential
 * helper protocol (`docker-credential-<name> get|store|erase`).
 *
 * Store selection follows docker/cli's `ConfigFile.GetCredentialsStore`: the
 * registry's `credHelpers` entry if there is one (an empty name there opts the
 * registry out of `credsStore`), else `credsStore`, else the `auths` entries in
 * the file itself. Only the selected store is consulted, as in docker: a
 * helper answering "not found" means no credentials, not "try `auths`".
 *
 * Credentials are keyed by host[:port] and matched exactly (case-insensitive),
 * so one host's secrets are never handed to another; Docker Hub (`docker.io`,
 * `index.docker.io`) uses docker's historical key `https://index.docker.io/v1/`.
 *
 * The caller passes the configuration directory; this module reads no
 * environment variables. Not supported: docker's `DOCKER_AUTH_CONFIG`
 * variable (the CLI may layer it on top), `registrytoken` entries, and
 * docker's platform default store detection when `credsStore` is unset.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  access,
  mkdir,
  open,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { invalid, messageOf, unavailable } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';

/** A username and password, sent with HTTP basic auth or the token service's password grant. */
export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
  readonly identityToken?: never;
}

/** Docker's `identitytoken`: an OAuth2 refresh token for the registry's token service. */
export interface IdentityTokenCredentials {
  readonly identityToken: string;
  readonly username?: never;
  readonly password?: never;
}

/** Narrow with `credentials.identityToken !== undefined`. */
export type Credentials = BasicCredentials | IdentityTokenCredentials;

export interface HelperResult {
  /** The exit code; a helper killed by a signal is reported by a rejected promise instead. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a credential helper program with `args`, writing `stdin` to it. Rejects
 * when the program cannot be started or does not finish in time.
 */
export type HelperRunner = (
  program: string,
  args: readonly string[],
  stdin: string,
) => Promise<HelperResult>;

export interface DockerConfigOptions {
  /** The directory holding `config.json`: `$DOCKER_CONFIG` or `~/.docker`, decided by the caller. */
  readonly configDir: string;
  /** Runs credential helpers; defaults to {@link createHelperRunner}`()`. */
  readonly runHelper?: HelperRunner;
}

export interface HelperRunnerOptions {
  /**
   * Directories to search for the helper, joined with the platform's path
   * delimiter like `PATH`. Without it, the program is found through the PATH
   * of the current process.
   */
  readonly searchPath?: string;
  /** Time a helper may run before it is killed; default 30 s. */
  readonly timeoutMs?: number;
  /** Cap on each of stdout and stderr; default 1 MiB. */
  readonly maxOutputBytes?: number;
}

/** The key docker/cli stores Docker Hub credentials under. */
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';

const CONFIG_FILE = 'config.json';
const HELPER_PREFIX = 'docker-credential-';
/** The helper protocol's username for an identity token in `Secret`. */
const TOKEN_USERNAME = '<token>';
/** What every helper prints (on stdout, exiting non-zero) when it holds no credentials. */
const NOT_FOUND_MESSAGE = 'credentials not found in native keychain';
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
/** Fields of an `auths` entry that hold secrets. */
const SECRET_FIELDS = ['auth', 'username', 'password', 'identitytoken', 'registrytoken'] as const;
/** A hostname, dotted IPv4 or bracketed IPv6 address, with an optional port (lower case). */
const HOST_PATTERN =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/;
const HELPER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

type JsonObject = Record<string, unknown>;

/** The registry as docker keys it, and the host its credentials belong to. */
interface Target {
  readonly host: string;
  readonly key: string;
}

interface LoadedConfig {
  readonly file: string;
  /** The whole parsed file, kept so a rewrite preserves every other field. */
  readonly raw: JsonObject;
  readonly auths: JsonObject;
  readonly credsStore: string;
  readonly credHelpers: JsonObject;
}

/**
 * The credentials for `registry` (a host[:port] such as `ghcr.io` or
 * `localhost:5000`; `docker.io` for Docker Hub), or `undefined` when none are
 * configured.
 */
export async function findCredentials(
  registry: string,
  options: DockerConfigOptions,
): Promise<Credentials | undefined> {
  const target = targetOf(registry);
  const config = await loadConfig(options.configDir);
  if (config === undefined) return undefined;
  const helper = helperFor(config, target);
  if (helper !== undefined) {
    return helperGet(helper, target, options.runHelper ?? defaultRunner);
  }
  const found = findAuthEntry(config, target);
  return found === undefined
    ? undefined
    : credentialsFromEntry(found.entry, found.key, config.file);
}

/**
 * Saves credentials for `registry` (for `vouch login`): through the registry's
 * credential helper if one applies, else as an `auths` entry in config.json.
 */
export async function storeCredentials(
  registry: string,
  credentials: Credentials,
  options: DockerConfigOptions,
): Promise<void> {
  const target = targetOf(registry);
  checkCredentials(credentials);
  const config = (await loadConfig(options.configDir)) ?? emptyConfig(options.configDir);
  const helper = helperFor(config, target);
  const previous = asObject(config.auths[target.key]) ?? {};
  const entry = withoutSecrets(previous);
  if (helper !== undefined) {
    await helperStore(helper, target, credentials, options.runHelper ?? defaultRunner);
    // Like docker, keep an entry without secrets in the file: it records the
    // login and replaces any plain-text secret left there from before.
    if (Object.hasOwn(config.auths, target.key) && !hasSecrets(previous)) return;
  } else if (credentials.identityToken !== undefined) {
    entry.identitytoken = credentials.identityToken;
  } else {
    entry.auth = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString(
      'base64',
    );
  }
  const auths = { ...config.auths, [target.key]: entry };
  await writeConfig(options.configDir, config.file, { ...config.raw, auths });
}

/**
 * Removes the credentials for `registry` (for `vouch logout`) from its
 * credential helper, if one applies, and every `auths` entry that matches the
 * registry's host. Resolves to whether anything was removed.
 */
export async function eraseCredentials(
  registry: string,
  options: DockerConfigOptions,
): Promise<boolean> {
  const target = targetOf(registry);
  const config = await loadConfig(options.configDir);
  if (config === undefined) return false;
  const helper = helperFor(config, target);
  const erased =
    helper !== undefined && (await helperErase(helper, target, options.runHelper ?? defaultRunner));
  const keys = Object.keys(config.auths).filter((key) => keyMatches(key, target));
  if (keys.length === 0) return erased;
  const auths = Object.fromEntries(
    Object.entries(config.auths).filter(([key]) => !keys.includes(key)),
  );
  await writeConfig(options.configDir, config.file, { ...config.raw, auths });
  return true;
}

/**
 * The default {@link HelperRunner}: spawns the program without a shell, writes
 * stdin, collects stdout and stderr (capped), and kills it after a timeout.
 * The helper inherits the environment of the current process.
 */
export function createHelperRunner(options: HelperRunnerOptions = {}): HelperRunner {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const searchPath = options.searchPath;
  return async (program, args, stdin) => {
    const file = searchPath === undefined ? program : await findProgram(program, searchPath);
    return runProgram(file, args, stdin, timeoutMs, maxOutputBytes);
  };
}

const defaultRunner = createHelperRunner();

// --- Registry keys -----------------------------------------------------------

function targetOf(registry: string): Target {
  const host = convertToHostname(registry.trim()).toLowerCase();
  if (!HOST_PATTERN.test(host)) {
    throw invalid(
      'REGISTRY_INVALID',
      `expected a registry host such as "ghcr.io" or "localhost:5000", found ${JSON.stringify(registry)}`,
    );
  }
  return { host, key: isDockerHub(host) ? DOCKER_HUB_CONFIG_KEY : host };
}

function isDockerHub(host: string): boolean {
  return host === 'docker.io' || host === 'index.docker.io';
}

/**
 * The host[:port] of a config key, which may carry a scheme and a path
 * (`https://host/v1/`, `http://host:5000`), like docker/cli's
 * `ConvertToHostname`. Default ports are kept: `host:443` is not `host`.
 */
function convertToHostname(maybeUrl: string): string {
  let rest = maybeUrl;
  const scheme = rest.indexOf('://');
  if (scheme >= 0) {
    rest = rest.slice(scheme + 3);
    const end = rest.search(/[/?#]/);
    if (end >= 0) rest = rest.slice(0, end);
    return rest.slice(rest.lastIndexOf('@') + 1);
  }
  const slash = rest.indexOf('/');
  return slash >= 0 ? rest.slice(0, slash) : rest;
}

/** Whether an `auths` key names exactly the target's host. */
function keyMatches(key: string, target: Target): boolean {
  if (key === target.key) return true;
  const host = convertToHostname(key).toLowerCase();
  return isDockerHub(target.host) ? isDockerHub(host) : host === target.host;
}

// --- The config file ---------------------------------------------------------

function emptyConfig(configDir: string): LoadedConfig {
  return {
    file: join(configDir, CONFIG_FILE),
    raw: {},
    auths: {},
    credsStore: '',
    credHelpers: {},
  };
}

async function loadConfig(configDir: string): Promise<LoadedConfig | undefined> {
  const file = join(configDir, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw invalid('DOCKER_CONFIG_UNREADABLE', `cannot read ${file}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  // docker/cli accepts an empty file as an empty configuration.
  if (text.trim() === '') return emptyConfig(configDir);
  let parsed: unknown;
  try {
    parsed = parseJson(text);
  } catch (error) {
    throw invalid('DOCKER_CONFIG_INVALID', `${file} is not valid JSON: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const raw = asObject(parsed);
  if (raw === undefined) {
    throw invalid('DOCKER_CONFIG_INVALID', `${file}: expected a JSON object at the top level`);
  }
  const auths = optionalObject(raw.auths, file, '"auths"');
  for (const [key, entry] of Object.entries(auths)) {
    const fields = optionalObject(entry, file, `"auths" entry ${JSON.stringify(key)}`);
    for (const [name, value] of Object.entries(fields)) {
      if (value !== null && typeof value !== 'string') {
        throw invalid(
          'DOCKER_CONFIG_INVALID',
          `${file}: expected a string for "${name}" of "auths" entry ${JSON.stringify(key)}`,
        );
      }
    }
  }
  const credHelpers = optionalObject(raw.credHelpers, file, '"credHelpers"');
  for (const [key, value] of Object.entries(credHelpers)) {
    if (typeof value !== 'string') {
      throw invalid(
        'DOCKER_CONFIG_INVALID',
        `${file}: expected a helper name (string) for "credHelpers" entry ${JSON.stringify(key)}`,
      );
    }
  }
  const credsStore = raw.credsStore ?? '';
  if (typeof credsStore !== 'string') {
    throw invalid(
      'DOCKER_CONFIG_INVALID',
      `${file}: expected a helper name (string) for "credsStore"`,
    );
  }
  return { file, raw, auths, credsStore, credHelpers };
}

/** The helper for the target, or `undefined` when the `auths` entries apply. */
function helperFor(config: LoadedConfig, target: Target): string | undefined {
  const name = Object.hasOwn(config.credHelpers, target.key)
    ? config.credHelpers[target.key]
    : config.credsStore;
  if (typeof name !== 'string' || name === '') return undefined;
  if (!HELPER_NAME_PATTERN.test(name)) {
    throw invalid(
      'DOCKER_CONFIG_INVALID',
      `${config.file}: expected a credential helper name such as "osxkeychain", found ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** The entry under the exact key, else the first whose key names the same host. */
function findAuthEntry(
  config: LoadedConfig,
  target: Target,
): { key: string; entry: JsonObject } | undefined {
  const keys = Object.hasOwn(config.auths, target.key)
    ? [target.key]
    : Object.keys(config.auths).filter((key) => keyMatches(key, target));
  const key = keys[0];
  if (key === undefined) return undefined;
  return { key, entry: asObject(config.auths[key]) ?? {} };
}

function credentialsFromEntry(
  entry: JsonObject,
  key: string,
  file: string,
): Credentials | undefined {
  const identityToken = stringField(entry, 'identitytoken');
  if (identityToken !== '') return { identityToken };
  const auth = stringField(entry, 'auth');
  if (auth !== '') return decodeAuth(auth, key, file);
  const username = stringField(entry, 'username');
  const password = stringField(entry, 'password');
  if (username === '' && password === '') return undefined;
  return { username, password };
}

/** Docker's `auth`: base64 of `username:password`, split at the first colon. */
function decodeAuth(auth: string, key: string, file: string): BasicCredentials {
  const compact = auth.replace(/[\r\n]/g, '');
  const decoded = BASE64_PATTERN.test(compact)
    ? Buffer.from(compact, 'base64').toString('utf8')
    : undefined;
  const colon = decoded?.indexOf(':') ?? -1;
  if (decoded === undefined || colon <= 0) {
    throw invalid(
      'DOCKER_CONFIG_INVALID',
      `${file}: expected "auth" of "auths" entry ${JSON.stringify(key)} to be base64 of "username:password"`,
    );
  }
  // docker/cli trims NUL padding from the password.
  return {
    username: decoded.slice(0, colon),
    password: decoded.slice(colon + 1).replace(/^\0+|\0+$/g, ''),
  };
}

function checkCredentials(credentials: Credentials): void {
  if (credentials.identityToken !== undefined) {
    if (credentials.identityToken === '') {
      throw invalid('CREDENTIALS_INVALID', 'expected a non-empty identity token');
    }
    return;
  }
  const { username } = credentials;
  if (username === '' || username.includes(':') || username === TOKEN_USERNAME) {
    throw invalid(
      'CREDENTIALS_INVALID',
      `expected a non-empty username without ":" and other than "${TOKEN_USERNAME}", found ${JSON.stringify(username)}`,
    );
  }
}

function withoutSecrets(entry: JsonObject): JsonObject {
  const copy: JsonObject = { ...entry };
  for (const field of SECRET_FIELDS) delete copy[field];
  return copy;
}

function hasSecrets(entry: JsonObject): boolean {
  return SECRET_FIELDS.some((field) => Object.hasOwn(entry, field));
}

/**
 * Writes the file atomically: a temporary file in the target's directory,
 * mode 0600, then a rename. A symlinked config.json is written through.
 */
async function writeConfig(configDir: string, file: string, config: JsonObject): Promise<void> {
  const data = `${JSON.stringify(config, null, '\t')}\n`;
  let temp: string | undefined;
  try {
    await mkdir(configDir, { recursive: true, mode: 0o700 });
    const target = await resolveLink(file);
    temp = join(dirname(target), `.${basename(target)}.${randomBytes(8).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.chmod(0o600);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    temp = undefined;
  } catch (error) {
    throw invalid('DOCKER_CONFIG_UNWRITABLE', `cannot write ${file}: ${messageOf(error)}`, {
      cause: error,
    });
  } finally {
    if (temp !== undefined) await rm(temp, { force: true });
  }
}

/** The file a path leads to through symlinks, allowing a dangling one. */
async function resolveLink(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  try {
    return resolve(dirname(file), await readlink(file));
  } catch {
    return file;
  }
}

// --- The credential helper protocol ------------------------------------------

type HelperAction = 'get' | 'store' | 'erase';

/** The helper's stdout on success, or `undefined` when it answered "not found". */
async function callHelper(
  helper: string,
  action: HelperAction,
  input: string,
  target: Target,
  runner: HelperRunner,
  secret?: string,
): Promise<string | undefined> {
  const program = HELPER_PREFIX + helper;
  const failed = (reason: string, cause?: unknown): never => {
    const message = `credential helper ${program} failed to ${action} credentials for ${target.host}: ${reason}`;
    throw unavailable(
      'CREDENTIAL_HELPER_FAILED',
      secret === undefined || secret === '' ? message : message.replaceAll(secret, '***'),
      cause === undefined ? undefined : { cause },
    );
  };
  let result: HelperResult;
  try {
    result = await runner(program, [action], input);
  } catch (error) {
    return failed(messageOf(error), error);
  }
  if (result.code === 0) return result.stdout;
  const stdout = result.stdout.trim();
  const stderr = result.stderr.trim();
  if (action !== 'store' && (stdout === NOT_FOUND_MESSAGE || stderr === NOT_FOUND_MESSAGE)) {
    return undefined;
  }
  const output = (stdout || stderr).replace(/\s+/g, ' ');
  const excerpt = output.length > 300 ? `${output.slice(0, 300)}…` : output;
  return failed(`exit code ${result.code}${excerpt === '' ? '' : `: ${excerpt}`}`);
}

async function helperGet(
  helper: string,
  target: Target,
  runner: HelperRunner,
): Promise<Credentials | undefined> {
  const stdout = await callHelper(helper, 'get', target.key, target, runner);
  if (stdout === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = parseJson(stdout);
  } catch {
    parsed = undefined;
  }
  const answer = asObject(parsed);
  const username = answer?.Username ?? '';
  const secret = answer?.Secret ?? '';
  if (answer === undefined || typeof username !== 'string' || typeof secret !== 'string') {
    // Never quote the output: it may hold the secret.
    throw unavailable(
      'CREDENTIAL_HELPER_FAILED',
      `credential helper ${HELPER_PREFIX}${helper} answered get for ${target.host} with output that is not {"ServerURL","Username","Secret"} JSON`,
    );
  }
  if (username === TOKEN_USERNAME) return secret === '' ? undefined : { identityToken: secret };
  if (username === '' && secret === '') return undefined;
  return { username, password: secret };
}

async function helperStore(
  helper: string,
  target: Target,
  credentials: Credentials,
  runner: HelperRunner,
): Promise<void> {
  const isToken = credentials.identityToken !== undefined;
  const secret = isToken ? credentials.identityToken : credentials.password;
  const input = JSON.stringify({
    ServerURL: target.key,
    Username: isToken ? TOKEN_USERNAME : credentials.username,
    Secret: secret,
  });
  await callHelper(helper, 'store', input, target, runner, secret);
}

async function helperErase(helper: string, target: Target, runner: HelperRunner): Promise<boolean> {
  return (await callHelper(helper, 'erase', target.key, target, runner)) !== undefined;
}

/** The first executable `program` in the directories of `searchPath`. */
async function findProgram(program: string, searchPath: string): Promise<string> {
  const names = process.platform === 'win32' ? [`${program}.exe`, program] : [program];
  for (const dir of searchPath.split(delimiter)) {
    if (dir === '') continue;
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        if ((await stat(candidate)).isFile()) {
          await access(candidate, constants.X_OK);
          return candidate;
        }
      } catch {
        // not here; keep looking
      }
    }
  }
  throw new Error(`${program} not found in the helper search path`);
}

function runProgram(
  file: string,
  args: readonly string[],
  stdin: string,
  timeoutMs: number,
  maxOutputBytes: number,
): Promise<HelperResult> {
  return new Promise((resolvePromise, rejectPromise) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    // Stop at once; a grandchild holding the pipes open must not keep us waiting.
    const abort = (error: Error): void => {
      child.kill('SIGKILL');
      child.stdout.destroy();
      child.stderr.destroy();
      settle(() => rejectPromise(error));
    };
    const timer = setTimeout(() => abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    const collect = (chunks: Buffer[]) => {
      let size = 0;
      return (chunk: Buffer): void => {
        size += chunk.length;
        if (size > maxOutputBytes) abort(new Error(`output exceeds ${maxOutputBytes} bytes`));
        else chunks.push(chunk);
      };
    };
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));
    child.on('error', (error) => settle(() => rejectPromise(error)));
    child.on('close', (code, signal) =>
      settle(() => {
        if (code === null) {
          rejectPromise(new Error(`killed by signal ${signal ?? 'unknown'}`));
          return;
        }
        resolvePromise({
          code,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        });
      }),
    );
    // A helper may exit without reading its input (EPIPE); its exit code tells.
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
  });
}

// --- Small helpers -----------------------------------------------------------

function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

/** An object field that may be absent or null (an empty map to docker). */
function optionalObject(value: unknown, file: string, what: string): JsonObject {
  if (value === undefined || value === null) return {};
  const object = asObject(value);
  if (object === undefined) {
    throw invalid('DOCKER_CONFIG_INVALID', `${file}: expected an object for ${what}`);
  }
  return object;
}

function stringField(entry: JsonObject, name: string): string {
  const value = entry[name];
  return typeof value === 'string' ? value : '';
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}
