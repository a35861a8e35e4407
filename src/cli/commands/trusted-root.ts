import { hasCode, invalid } from '../../core/errors.ts';
import { readKeyFile } from '../../keys/files.ts';
import { PUBLIC_GOOD_TUF_URL } from '../../sigstore/public-good.ts';
import type {
  ServiceConfiguration,
  SigningConfig,
  SigningService,
} from '../../sigstore/signing-config.ts';
import {
  type SelectedSigningConfig,
  selectSigningConfig,
} from '../../sigstore/signing-config-source.ts';
import {
  type CachedTufRepository,
  normalizeMirrorUrl,
  SIGNING_CONFIG_TARGET,
} from '../../sigstore/tuf-cache.ts';
import {
  type SelectedTrustedRoot,
  selectTrustedRoot,
  type TrustedRootOrigin,
} from '../../sigstore/trusted-root-source.ts';
import {
  summarizeTrustedRoot,
  type TrustedAuthoritySummary,
  type TrustedLogSummary,
  type TrustedRootSummary,
} from '../../sigstore/trusted-root-summary.ts';
import type { InitialRootSource, SigningConfigUpdate } from '../../sigstore/tuf-update.ts';
import { cliDirs } from '../context.ts';
import { parseCommand } from '../flags.ts';
import { EXIT_OK } from '../exit-codes.ts';
import { type CliIO, writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import { originName } from '../signing-options.ts';
import {
  DEFAULT_DEADLINE,
  deadlineSignal,
  integerFlag,
  OUTPUT_FLAGS,
  USER_AGENT,
} from '../options.ts';

export const command: Command = {
  summary: 'Update the Sigstore trusted root and signing config through TUF, or show them',
  help: `Usage: vouch trusted-root update [--tuf-url URL] [--tuf-root FILE] [OPTIONS]
       vouch trusted-root show [--trusted-root FILE] [--signing-config FILE] [OPTIONS]

The Sigstore trusted root names the transparency logs (Rekor), certificate
authorities (Fulcio), CT logs and timestamp authorities that verification
trusts. Verification (vouch verify) uses, in this order:
  1. --trusted-root FILE, when given (a private Sigstore deployment);
  2. the root cached by \`vouch trusted-root update\`, when it has run;
  3. the Sigstore public-good root shipped with vouch (no network needed).
Verification never fetches trust material, except that when the cached
root's TUF timestamp has expired it refreshes the cache once first; with
--offline it never does, and uses the expired cached root.

The signing config (${SIGNING_CONFIG_TARGET}) names the Fulcio CA, OIDC
provider, Rekor logs and timestamp authorities keyless signing uses, chosen
the same way: --signing-config FILE, else the one cached from the same TUF
repository, else the Sigstore public-good one shipped with vouch. A private
TUF repository without one makes signing ask for --signing-config or the URL
flags (never the public-good services).

update  Refreshes the trusted root through TUF (The Update Framework): every
        metadata file is checked for signatures, versions (no rollback) and
        expiry, and the trusted_root.json target for its length and hashes;
        the ${SIGNING_CONFIG_TARGET} target too, when the repository has
        one (a repository without one still updates, and says so). The
        result is cached only if all of it verified; a failed update leaves
        the cache as it was. Prints where the root was written, what it
        trusts, the signing config's services, and the TUF metadata versions.
show    Prints which trusted root verification would use now and what it
        trusts, and which signing config keyless signing would use. Never
        touches the network.

Cache: $VOUCH_CACHE_DIR, else $XDG_CACHE_HOME/vouch, else ~/.cache/vouch
(the TUF cache is its tuf/ folder).

Examples:
  vouch trusted-root update
  vouch trusted-root update --tuf-url https://tuf.sigstore.example.com --tuf-root root.json
  vouch trusted-root show --output json

Options:
      --tuf-url URL           the TUF repository (default ${PUBLIC_GOOD_TUF_URL})
      --tuf-root FILE         the repository's initial root.json, trusted only when
                              nothing is cached for it yet (default for the public-good
                              repository: the root embedded in @sigstore/tuf)
      --timeout SECONDS       time each TUF file may take, whole (default 30)
      --deadline DURATION     stop and fail (exit 3, DEADLINE_EXCEEDED) when the update
                              has run this long: 90s, 5m (default ${DEFAULT_DEADLINE})
      --trusted-root FILE     (show) show this file, as verification would use it
      --signing-config FILE   (show) show this signing config, as signing would use it
  -o, --output text|json      output format (default text)

Exit codes: 0 ok; 1 the TUF repository served metadata that failed
verification; 2 invalid input; 3 the repository could not be reached.`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const [action, ...rest] = args;
    if (action === 'update') return update(rest, io);
    if (action === 'show') return show(rest, io);
    throw invalid(
      'USAGE',
      action === undefined
        ? 'vouch trusted-root needs an action: update or show'
        : `unknown action "${action}" for vouch trusted-root: expected update or show`,
    );
  },
};

async function update(args: readonly string[], io: CliIO): Promise<number> {
  const {
    values,
    settings: { format },
  } = await parseCommand(
    args,
    io,
    { format: OUTPUT_FLAGS },
    {
      'tuf-url': { type: 'string', default: PUBLIC_GOOD_TUF_URL },
      'tuf-root': { type: 'string' },
      timeout: { type: 'string' },
      deadline: { type: 'string' },
    },
    false,
  );
  const timeout = integerFlag('timeout', values.timeout, 1, 3600);
  const signal = deadlineSignal(values.deadline ?? DEFAULT_DEADLINE);
  const rootPath = values['tuf-root'];
  const initialRoot =
    rootPath === undefined ? undefined : await readKeyFile(rootPath, '--tuf-root');
  const mirrorUrl = normalizeMirrorUrl(values['tuf-url']);
  const { updateTrustedRoot } = await import('../../sigstore/tuf-update.ts');
  const result = await updateTrustedRoot({
    cacheDir: cliDirs(io).cache,
    mirrorUrl,
    userAgent: USER_AGENT,
    signal,
    ...(initialRoot === undefined ? {} : { initialRoot }),
    ...(timeout === undefined ? {} : { timeoutMs: timeout * 1000 }),
  });
  const summary = summarizeTrustedRoot(result.trustedRoot);
  const { repository } = result;
  if (result.signingConfig.status === 'unusable') {
    io.stderr.write(
      `vouch: warning: ${result.signingConfig.problem}; it was not cached (${signingFallback(repository.mirrorUrl)})\n`,
    );
  }
  if (format === 'json') {
    writeJson(io, {
      path: repository.trustedRootPath,
      mirror: repository.mirrorUrl,
      initialRoot: result.initialRoot,
      tuf: repository.metadata,
      trustedRoot: summary,
      signingConfig: signingConfigUpdateJson(result.signingConfig),
    });
  } else {
    const lines = [
      `Updated the Sigstore trusted root from ${repository.mirrorUrl}`,
      `  written to: ${repository.trustedRootPath}`,
      `  trust started from: ${INITIAL_ROOT_TEXT[result.initialRoot]}${result.initialRoot === 'cached' && rootPath !== undefined ? ' (--tuf-root is used only for an empty cache)' : ''}`,
      signingConfigUpdateLine(result.signingConfig, repository.mirrorUrl),
      tufLine(repository),
      ...summaryLines(summary),
      ...(result.signingConfig.status === 'cached'
        ? ['Signing config:', ...signingConfigLines(result.signingConfig.signingConfig)]
        : []),
    ];
    io.stdout.write(`${lines.join('\n')}\n`);
  }
  return EXIT_OK;
}

/** What signing uses when the repository gives no signing config. */
function signingFallback(mirrorUrl: string): string {
  return mirrorUrl === PUBLIC_GOOD_TUF_URL
    ? 'keyless signing uses the public-good signing config shipped with vouch'
    : 'keyless signing with this repository needs --signing-config FILE or the URL flags';
}

function signingConfigUpdateJson(update: SigningConfigUpdate) {
  return update.status === 'cached'
    ? { status: update.status, path: update.path, ...signingConfigJson(update.signingConfig) }
    : update;
}

function signingConfigUpdateLine(update: SigningConfigUpdate, mirrorUrl: string): string {
  switch (update.status) {
    case 'cached':
      return `  signing config written to: ${update.path}`;
    case 'absent':
      return `  signing config: the repository has no ${SIGNING_CONFIG_TARGET}; ${signingFallback(mirrorUrl)}`;
    case 'unusable':
      return `  signing config: not usable, not cached; ${signingFallback(mirrorUrl)}`;
  }
}

const INITIAL_ROOT_TEXT: Readonly<Record<InitialRootSource, string>> = {
  cached: 'the cached TUF root',
  given: 'the --tuf-root file',
  embedded: 'the TUF root embedded in @sigstore/tuf',
};

async function show(args: readonly string[], io: CliIO): Promise<number> {
  const {
    values,
    settings: { format },
  } = await parseCommand(
    args,
    io,
    { format: OUTPUT_FLAGS },
    { 'trusted-root': { type: 'string' }, 'signing-config': { type: 'string' } },
    false,
  );
  const file = values['trusted-root'];
  const cacheDir = cliDirs(io).cache;
  const selected = await selectTrustedRoot({
    cacheDir,
    offline: true,
    ...(file === undefined ? {} : { file }),
  });
  const signing = await shownSigningConfig(values['signing-config'], cacheDir);
  const summary = summarizeTrustedRoot(selected.trustedRoot);
  if (format === 'json') {
    writeJson(io, {
      ...originJson(selected.origin),
      trustedRoot: summary,
      signingConfig:
        'problem' in signing
          ? { source: null, problem: signing.problem }
          : {
              source: signing.origin.kind,
              ...signingOriginJson(signing),
              ...signingConfigJson(signing.signingConfig),
            },
    });
  } else {
    const signingLines =
      'problem' in signing
        ? [`Signing config: none: ${signing.problem}`]
        : [
            `Signing config: ${originName(signing.origin)}`,
            ...(signing.origin.kind === 'shipped' && signing.origin.fallback !== undefined
              ? [`  (${signing.origin.fallback})`]
              : []),
            ...signingConfigLines(signing.signingConfig),
          ];
    io.stdout.write(
      `${[...originLines(selected), ...summaryLines(summary), ...signingLines].join('\n')}\n`,
    );
  }
  return EXIT_OK;
}

/** The signing config signing would use, or why there is none (a private TUF repository without one). */
async function shownSigningConfig(
  file: string | undefined,
  cacheDir: string,
): Promise<SelectedSigningConfig | { readonly problem: string }> {
  try {
    return await selectSigningConfig({ file, cacheDir, offline: true });
  } catch (error) {
    if (hasCode(error, 'SIGNING_CONFIG_REQUIRED')) return { problem: error.message };
    throw error;
  }
}

function signingOriginJson({ origin }: SelectedSigningConfig) {
  switch (origin.kind) {
    case 'file':
      return { path: origin.path };
    case 'tuf-cache':
      return { path: origin.path, mirror: origin.repository.mirrorUrl, expired: origin.expired };
    case 'shipped':
      return {
        url: origin.url,
        ...(origin.fallback === undefined ? {} : { fallback: origin.fallback }),
      };
  }
}

/** A signing config as JSON: its services with times in RFC 3339, and its selectors. */
function signingConfigJson(config: SigningConfig) {
  const services = (list: readonly SigningService[]) =>
    list.map((service) => ({
      url: service.url,
      majorApiVersion: service.majorApiVersion,
      operator: service.operator,
      validFrom: time(service.validFrom),
      validUntil: time(service.validUntil),
    }));
  const selector = ({ selector, count }: ServiceConfiguration) => ({
    selector: selector ?? null,
    ...(selector === 'EXACT' ? { count } : {}),
  });
  return {
    mediaType: config.mediaType,
    caUrls: services(config.caUrls),
    oidcUrls: services(config.oidcUrls),
    rekorTlogUrls: services(config.rekorTlogUrls),
    rekorTlogConfig: selector(config.rekorTlogConfig),
    tsaUrls: services(config.tsaUrls),
    tsaConfig: selector(config.tsaConfig),
  };
}

function time(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

function signingConfigLines(config: SigningConfig): string[] {
  const lines = (title: string, list: readonly SigningService[]) => [
    `  ${title}:`,
    ...(list.length === 0
      ? ['    (none)']
      : list.map(
          (service) =>
            `    ${service.url}  API v${service.majorApiVersion}${service.operator === '' ? '' : `  ${service.operator}`}  ${validity({ validFrom: time(service.validFrom), validUntil: time(service.validUntil) })}`,
        )),
  ];
  const chosen = ({ selector, count }: ServiceConfiguration) =>
    selector === undefined ? '' : ` (${selector}${selector === 'EXACT' ? ` ${count}` : ''})`;
  return [
    ...lines('Fulcio CAs', config.caUrls),
    ...lines('OIDC providers', config.oidcUrls),
    ...lines(`Rekor logs${chosen(config.rekorTlogConfig)}`, config.rekorTlogUrls),
    ...lines(`Timestamp authorities${chosen(config.tsaConfig)}`, config.tsaUrls),
  ];
}

function originJson(origin: TrustedRootOrigin) {
  if (origin.kind !== 'tuf-cache') return { source: origin.kind, path: origin.path };
  return {
    source: origin.kind,
    path: origin.path,
    mirror: origin.repository.mirrorUrl,
    expired: origin.expired,
    tuf: origin.repository.metadata,
  };
}

function originLines({ origin }: SelectedTrustedRoot): string[] {
  switch (origin.kind) {
    case 'file':
      return [`Trusted root: ${origin.path} (--trusted-root)`];
    case 'shipped':
      return [
        `Trusted root: the Sigstore public-good root shipped with vouch (${origin.path}); run \`vouch trusted-root update\` to refresh it through TUF`,
      ];
    case 'tuf-cache':
      return [
        `Trusted root: ${origin.path}, from ${origin.repository.mirrorUrl} through TUF`,
        tufLine(origin.repository),
        ...(origin.expired
          ? [
              '  the TUF timestamp has expired: verification refreshes it first (or, with --offline, uses it as it is)',
            ]
          : []),
      ];
  }
}

function tufLine({ metadata }: CachedTufRepository): string {
  return `  TUF metadata: root v${metadata.root.version}, timestamp v${metadata.timestamp.version} (expires ${metadata.timestamp.expires}), snapshot v${metadata.snapshot.version}, targets v${metadata.targets.version}`;
}

function summaryLines(summary: TrustedRootSummary): string[] {
  return [
    ...section('Transparency logs', summary.tlogs.map(logLine)),
    ...section('Certificate authorities', summary.certificateAuthorities.map(authorityLine)),
    ...section('CT logs', summary.ctlogs.map(logLine)),
    ...section('Timestamp authorities', summary.timestampAuthorities.map(authorityLine)),
  ];
}

function section(title: string, lines: readonly string[]): string[] {
  return [`${title}:`, ...(lines.length === 0 ? ['  (none)'] : lines)];
}

function validity(entry: { validFrom: string | null; validUntil: string | null }): string {
  const from = `from ${entry.validFrom ?? '(unknown)'}`;
  return entry.validUntil === null ? `${from}, no end` : `${from} until ${entry.validUntil}`;
}

function logLine(log: TrustedLogSummary): string {
  return `  ${log.baseUrl ?? '(no URL)'}  log ID ${log.logId ?? '(none)'}  ${log.keyDetails ?? '(unknown key)'}  ${validity(log)}`;
}

function authorityLine(authority: TrustedAuthoritySummary): string {
  const subject = authority.subject === null ? '' : `  ${authority.subject}`;
  return `  ${authority.uri ?? '(no URI)'}${subject}  ${authority.certificates} certificate${authority.certificates === 1 ? '' : 's'}  ${validity(authority)}`;
}
