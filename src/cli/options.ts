/**
 * Flags shared by every command that talks to registries, and the parsing
 * helpers on top of node:util parseArgs. The CLI is the only layer that reads
 * the environment: it turns DOCKER_CONFIG and the flags into library options.
 */
import { readFile } from 'node:fs/promises';
import { invalid, unavailable } from '../core/errors.ts';
import { canonicalRegistry } from '../oci/reference.ts';
import type { HelperRunner } from '../registry/credentials.ts';
import type { ManifestTarget } from '../registry/store.ts';
import type { FlagGroup, FlagValues, Options } from './flags.ts';
import type { CliIO, OutputFormat } from './io.ts';

/** What vouch calls itself in HTTP requests (registries, notary servers, TUF mirrors). */
export const USER_AGENT = 'vouch/0.1.0';

// `import ... from 'node:util'` builds an ESM facade that reads every export,
// and node:util's lazy getters then load worker_threads, the diff and
// stream modules a CLI run never uses (several ms of a one-shot command).
// Taking parseArgs from the CommonJS module object reads nothing else.
const { parseArgs } = process.getBuiltinModule('node:util');

/** `-o text|json` (and `-h`, which main.ts answers before a command runs). */
const OUTPUT_OPTIONS = {
  output: { type: 'string', short: 'o', default: 'text' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

export const OUTPUT_FLAGS = {
  options: OUTPUT_OPTIONS,
  help: '  -o, --output text|json      output format (default text)',
  read: (values): OutputFormat => outputFormat(values.output),
} as const satisfies FlagGroup<typeof OUTPUT_OPTIONS, OutputFormat>;

const SERVER_REGISTRY_OPTIONS = {
  'allow-insecure-registry': { type: 'boolean', default: false },
  'ca-file': { type: 'string' },
  'max-manifest-bytes': { type: 'string' },
  timeout: { type: 'string' },
} as const satisfies Options;

const REGISTRY_OPTIONS = {
  ...SERVER_REGISTRY_OPTIONS,
  deadline: { type: 'string' },
} as const satisfies Options;

/** How long a command may run before it stops all work (`--deadline`). */
export const DEFAULT_DEADLINE = '5m';
/** `vouch copy` moves whole images, whose blobs take as long as they are large. */
export const COPY_DEADLINE = '1h';

const REGISTRY_HELP_LINES = `Registry options:
      --allow-insecure-registry  allow plain HTTP to registries that are not on loopback
      --ca-file FILE             PEM certificates to trust in addition to the system roots
      --max-manifest-bytes N     refuse manifests larger than N bytes (default 4194304)
      --timeout SECONDS          the longest one request to a registry or notary server may
                                 take, whole answer and retries included (default 30;
                                 blob transfers of a copy need only keep moving)`;

const CREDENTIALS_HELP = `Credentials come from the Docker configuration ($DOCKER_CONFIG or ~/.docker/config.json),
including credential helpers; use \`vouch login\` to add them.`;

/** What the registry flags ask for, before a command's deadline starts. */
export interface RegistrySettings {
  readonly allowInsecure: boolean;
  /** PEM certificates of --ca-file. */
  readonly ca?: string;
  readonly requestTimeoutMs?: number;
  readonly maxManifestBytes?: number;
  /** --deadline as typed (checked), or the command's default; null for a server. */
  readonly deadline: string | null;
}

async function readRegistrySettings(
  values: FlagValues<typeof SERVER_REGISTRY_OPTIONS>,
  deadline: string | null,
): Promise<RegistrySettings> {
  const caFile = values['ca-file'];
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = await readFile(caFile, 'utf8');
    } catch (error) {
      throw invalid(
        'CA_FILE_UNREADABLE',
        `cannot read --ca-file ${caFile}: ${(error as Error).message}`,
      );
    }
  }
  const timeout = integerFlag('timeout', values.timeout, 1, 3600);
  const maxManifestBytes = integerFlag('max-manifest-bytes', values['max-manifest-bytes']);
  if (deadline !== null) durationFlag('deadline', deadline);
  return {
    allowInsecure: values['allow-insecure-registry'] ?? false,
    ...(ca === undefined ? {} : { ca }),
    ...(timeout === undefined ? {} : { requestTimeoutMs: timeout * 1000 }),
    ...(maxManifestBytes === undefined ? {} : { maxManifestBytes }),
    deadline,
  };
}

const deadlineHelp = (deadline: string) =>
  `      --deadline DURATION        stop all work and fail (exit 3, DEADLINE_EXCEEDED) when the
                                 command has run this long: 90s, 5m, 1h30m; a bare number is
                                 seconds (default ${deadline})`;

/** The registry flags of a command whose `--deadline` defaults to `deadline`. */
export function registryFlags(deadline: string = DEFAULT_DEADLINE) {
  return {
    options: REGISTRY_OPTIONS,
    help: `${REGISTRY_HELP_LINES}
${deadlineHelp(deadline)}
${CREDENTIALS_HELP}`,
    read: (values) => readRegistrySettings(values, values.deadline ?? deadline),
  } as const satisfies FlagGroup<typeof REGISTRY_OPTIONS, RegistrySettings>;
}

export const REGISTRY_FLAGS = registryFlags();

const DEADLINE_OPTIONS = { deadline: { type: 'string' } } as const satisfies Options;

/**
 * `--deadline` alone, for a command that talks to no registry but may fetch
 * trust material (a TUF refresh): the run's settings with no registry
 * options, for `cliContext`.
 */
export const DEADLINE_FLAGS = {
  options: DEADLINE_OPTIONS,
  help: deadlineHelp(DEFAULT_DEADLINE),
  read: (values) =>
    readRegistrySettings({ 'allow-insecure-registry': false }, values.deadline ?? DEFAULT_DEADLINE),
} as const satisfies FlagGroup<typeof DEADLINE_OPTIONS, RegistrySettings>;

/**
 * For a server, which bounds each of its requests instead of its whole run
 * (no --deadline here: `admission serve` has a --deadline of its own).
 */
export const SERVER_REGISTRY_FLAGS = {
  options: SERVER_REGISTRY_OPTIONS,
  help: `${REGISTRY_HELP_LINES}
${CREDENTIALS_HELP}`,
  read: (values) => readRegistrySettings(values, null),
} as const satisfies FlagGroup<typeof SERVER_REGISTRY_OPTIONS, RegistrySettings>;

/** `--concurrency N`: how many things a command works on at once, from 1 to 64. */
export function concurrencyFlags(defaultValue: number, what: string) {
  const options = { concurrency: { type: 'string' } } as const satisfies Options;
  return {
    options,
    help: `      --concurrency N         ${what} at once (default ${defaultValue})`,
    read: (values): number => integerFlag('concurrency', values.concurrency, 1, 64) ?? defaultValue,
  } as const satisfies FlagGroup<typeof options, number>;
}

const TRUST_DIR_OPTIONS = { 'trust-dir': { type: 'string' } } as const satisfies Options;

/** `--trust-dir DIR`: Docker Content Trust keys and metadata; the context supplies the default. */
export const TRUST_DIR_FLAGS = {
  options: TRUST_DIR_OPTIONS,
  help: '      --trust-dir DIR         Docker Content Trust metadata cache (default ~/.vouch/trust)',
  read: (values): string | undefined => values['trust-dir'],
} as const satisfies FlagGroup<typeof TRUST_DIR_OPTIONS, string | undefined>;

/** parseArgs, with its usage errors turned into ours (exit code 2). */
export function parseFlags<T extends Options>(
  args: readonly string[],
  options: T,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (error) {
    throw invalid('USAGE', error instanceof Error ? error.message : String(error));
  }
}

export function outputFormat(value: string | undefined): OutputFormat {
  if (value === 'text' || value === 'json') return value;
  throw invalid('USAGE', `--output must be text or json, not "${value}"`);
}

/** An integer flag within [min, max]; undefined when the flag is absent. */
export function integerFlag(
  name: string,
  value: string | undefined,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER
        ? `a whole number of at least ${min}`
        : `an integer from ${min} to ${max}`;
    throw invalid('USAGE', `--${name} must be ${range}, not "${value}"`);
  }
  return parsed;
}

/**
 * `-a key=value` flags, split at the first '=': the key must not be empty,
 * the value may be. A key given twice is refused, even with the same value.
 */
export function annotationFlags(pairs: readonly string[]): Record<string, string> {
  const annotations = new Map<string, string>();
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw invalid('USAGE', `-a takes key=value, not ${JSON.stringify(pair)}`);
    const key = pair.slice(0, equals);
    if (annotations.has(key)) throw invalid('USAGE', `-a ${key} is given more than once`);
    annotations.set(key, pair.slice(equals + 1));
  }
  return Object.fromEntries(annotations);
}

export async function helperRunner(io: CliIO): Promise<HelperRunner> {
  const { createHelperRunner } = await import('../registry/credentials.ts');
  return createHelperRunner(io.env.PATH === undefined ? {} : { searchPath: io.env.PATH });
}

/**
 * Credentials from the Docker configuration in `configDir`, looked up only
 * when a registry asks for them: an anonymous pull never loads the
 * credential code (nor node:child_process for the helpers).
 */
export function credentialLookup(io: CliIO, configDir: string) {
  return async (registry: string) => {
    const { findCredentials } = await import('../registry/credentials.ts');
    return findCredentials(registry, { configDir, runHelper: await helperRunner(io) });
  };
}

/**
 * How many images a command works on decides its HTTP transport: a few
 * requests from a process that then exits are cheapest on Node's built-in
 * client; beyond this many images undici's load time pays for itself
 * (registry/transport.ts, docs/benchmarks.md).
 */
export const SHORT_WORK_MAX_IMAGES = 8;

export type Workload = 'short' | 'sustained';

export function workloadFor(images: number): Workload {
  return images > SHORT_WORK_MAX_IMAGES ? 'sustained' : 'short';
}

/** Units of `--deadline`, in milliseconds. */
const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
/** Timers take at most 2^31 - 1 ms; a day is far beyond any command's need. */
const MAX_DURATION_MS = 24 * 3_600_000;

/**
 * A duration as Go's `time.ParseDuration` writes it for what a command may
 * need (`500ms`, `90s`, `5m`, `1h30m`, `1.5h`): one or more decimal numbers,
 * each with a unit, or a bare number of seconds as `--timeout` takes; more
 * than zero and at most a day.
 */
export function durationFlag(name: string, value: string): number {
  const text = /^[0-9]+(?:\.[0-9]+)?$/.test(value) ? `${value}s` : value;
  const parts = /^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+$/.test(text)
    ? [...text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)]
    : [];
  const ms = parts.reduce(
    (total, [, number, unit]) => total + Number(number) * (DURATION_UNITS[unit ?? ''] ?? NaN),
    0,
  );
  if (parts.length === 0 || !(ms > 0) || ms > MAX_DURATION_MS) {
    throw invalid(
      'USAGE',
      `--${name} takes a duration of at most 24h such as 90s, 5m or 1h30m, not "${value}"`,
    );
  }
  return Math.ceil(ms);
}

/**
 * The signal that stops a command's work when its `--deadline` passes:
 * every request of its HTTP clients and TUF fetches fails at once with
 * DEADLINE_EXCEEDED (`unavailable`, exit 3), so the command reports what it
 * could not finish and ends.
 */
export function deadlineSignal(value: string): AbortSignal {
  const deadline = new AbortController();
  AbortSignal.timeout(durationFlag('deadline', value)).addEventListener(
    'abort',
    () =>
      deadline.abort(
        unavailable('DEADLINE_EXCEEDED', `the deadline of ${value} passed (--deadline)`),
      ),
    { once: true },
  );
  return deadline.signal;
}

/** A layout named without a tag or digest points at no manifest; say so. */
export function requireTarget(image: string, target: ManifestTarget | undefined): ManifestTarget {
  if (target === undefined)
    throw invalid(
      'USAGE',
      `${image} names no manifest: add a tag or digest (oci:PATH:TAG or oci:PATH@DIGEST)`,
    );
  return target;
}

/**
 * A registry host as `vouch login` takes it: `host[:port]`, or a URL as
 * docker accepts, in the canonical form references name it (so credentials
 * are stored under the name they are looked up by).
 */
export function registryHost(text: string): string {
  const host = text.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return host === '' ? 'docker.io' : canonicalRegistry(host);
}

/**
 * `K=V` flags as notation's ParseFlagMap reads them (split at the first
 * '=', neither side empty), except that a key given twice is refused
 * rather than the last one kept.
 */
export function keyValueFlags(flag: string, pairs: readonly string[]): Record<string, string> {
  const map = new Map<string, string>();
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0 || equals === pair.length - 1) {
      throw invalid(
        'USAGE',
        `--${flag} takes key=value, neither empty, not ${JSON.stringify(pair)}`,
      );
    }
    const key = pair.slice(0, equals);
    if (map.has(key)) throw invalid('USAGE', `--${flag} ${key} is given more than once`);
    map.set(key, pair.slice(equals + 1));
  }
  return Object.fromEntries(map);
}
