/**
 * `vouch notation verify IMAGE...`: notation's trust policy and trust stores
 * from {NOTATION_CONFIG} (or the flags), src/notation/verify.ts for each
 * image (verification plugins from {NOTATION_CONFIG}/plugins, run with this
 * process's environment, as notation runs them), then a report per image
 * and the exit code of the worst outcome.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { invalid } from '../core/errors.ts';
import type {
  NotationCheckResult,
  NotationFailure,
  NotationSignatureResult,
} from '../notation/evaluate.ts';
import type { NotationImageVerification } from '../notation/verify.ts';
import { DEFAULT_VERIFY_CONCURRENCY } from '../registry/http.ts';
import { parseImageSpec, specTarget } from '../registry/open.ts';
import type { NotationSubcommand } from './commands/notation.ts';
import { cliContext } from './context.ts';
import { parseCommand } from './flags.ts';
import { type CliIO, writeJson } from './io.ts';
import {
  annotationFlags,
  concurrencyFlags,
  durationFlag,
  integerFlag,
  keyValueFlags,
  OUTPUT_FLAGS,
  REGISTRY_FLAGS,
  requireTarget,
  workloadFor,
} from './options.ts';
import { errorJson, finishVerification, statusLine } from './verify-output.ts';

const FLAGS = {
  format: OUTPUT_FLAGS,
  registry: REGISTRY_FLAGS,
  concurrency: concurrencyFlags(DEFAULT_VERIFY_CONCURRENCY, 'images verified'),
};

/** {NOTATION_CONFIG} from the CLI's environment (src/notation/config.ts `notationConfigDir`). */
export async function notationConfigOf(io: CliIO): Promise<string> {
  const { notationConfigDir } = await import('../notation/config.ts');
  const home = io.env.HOME;
  return notationConfigDir({
    notationConfig: io.env.NOTATION_CONFIG,
    xdgConfigHome: io.env.XDG_CONFIG_HOME,
    home: home !== undefined && home !== '' ? home : homedir(),
  });
}

export const subcommand: NotationSubcommand = {
  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(args, io, FLAGS, {
      'trust-policy': { type: 'string' },
      'trust-store': { type: 'string' },
      scope: { type: 'string' },
      'user-metadata': { type: 'string', short: 'm', multiple: true },
      'max-signatures': { type: 'string' },
      'max-envelope-bytes': { type: 'string' },
      'plugin-config': { type: 'string', multiple: true },
      'plugin-timeout': { type: 'string' },
    });
    const { format, registry, concurrency } = settings;
    if (positionals.length === 0) {
      throw invalid('USAGE', 'vouch notation verify needs at least one IMAGE');
    }
    // Everything the user typed is checked before any file or network is read.
    const specs = positionals.map((image) => {
      const spec = parseImageSpec(image);
      requireTarget(image, specTarget(spec));
      return spec;
    });
    const userMetadata = annotationFlags(values['user-metadata'] ?? []);
    const pluginConfig = keyValueFlags('plugin-config', values['plugin-config'] ?? []);
    const pluginTimeoutMs = durationFlag('plugin-timeout', values['plugin-timeout'] ?? '2m');
    const maxSignatures = integerFlag('max-signatures', values['max-signatures'], 1, 100_000);
    const maxEnvelopeBytes = integerFlag(
      'max-envelope-bytes',
      values['max-envelope-bytes'],
      1,
      32 * 1024 * 1024,
    );
    const scope = values.scope;
    if (scope !== undefined) {
      const { parseReference } = await import('../oci/reference.ts');
      const reference = parseReference(scope);
      if (reference.tag !== undefined || reference.digest !== undefined) {
        throw invalid('USAGE', `--scope takes a registry/repository, not ${JSON.stringify(scope)}`);
      }
    }
    const [{ loadTrustPolicy, loadTrustPolicyFile }, { readTrustStoreIn, trustStoreDir }] =
      await Promise.all([import('../notation/config.ts'), import('../notation/trust-store.ts')]);
    const configDir = await notationConfigOf(io);
    const policyFile = values['trust-policy'];
    const { policy } =
      policyFile === undefined
        ? await loadTrustPolicy(configDir)
        : await loadTrustPolicyFile(policyFile);
    const storeRoot = values['trust-store'] ?? trustStoreDir(configDir);
    const context = cliContext(io, { registry, workload: workloadFor(positionals.length) });
    let results: NotationImageVerification[];
    try {
      context.stores.connectAhead(specs);
      const { verifyNotationImages } = await import('../notation/verify.ts');
      results = await verifyNotationImages(context.stores, positionals, {
        policy,
        readTrustStore: (store) => readTrustStoreIn(storeRoot, store),
        revocation: {
          http: await context.http(),
          cacheDir: join(context.dirs.cache, 'notation-revocation'),
          ...(context.signal === undefined ? {} : { signal: context.signal }),
        },
        verificationPlugins: {
          configDir,
          env: io.env,
          timeoutMs: pluginTimeoutMs,
          ...(context.signal === undefined ? {} : { signal: context.signal }),
        },
        ...(Object.keys(pluginConfig).length === 0 ? {} : { pluginConfig }),
        ...(scope === undefined ? {} : { layoutScope: scope }),
        ...(Object.keys(userMetadata).length === 0 ? {} : { userMetadata }),
        limits: {
          ...(maxSignatures === undefined ? {} : { maxSignatures }),
          ...(maxEnvelopeBytes === undefined ? {} : { maxEnvelopeBytes }),
        },
        concurrency,
      });
    } finally {
      await context.close();
    }
    if (format === 'json') {
      writeJson(io, {
        ok: results.every((result) => result.status === 'verified'),
        images: results.map(toJson),
      });
    } else {
      io.stdout.write(results.map(toText).join(''));
    }
    return finishVerification(io, results);
  },
};

function toText(result: NotationImageVerification): string {
  const lines = [statusLine(result.image, result.status, result.error)];
  if (result.digest !== undefined) lines.push(`  digest: ${result.digest}`);
  const statement = result.statement;
  if (statement !== undefined) {
    const level = statement.verification;
    const actions =
      level.base === 'skip'
        ? ''
        : `: enforced ${level.enforced.join(', ')}${level.logged.length === 0 ? '' : `; logged ${level.logged.join(', ')}`}${level.skipped.length === 0 ? '' : `; skipped ${level.skipped.join(', ')}`}`;
    lines.push(
      `  trust policy: statement ${JSON.stringify(statement.name)}, level ${level.name === 'custom' ? `${level.base} with overrides` : level.name}${actions}`,
    );
  }
  if (result.skipped === true) {
    lines.push(
      '  the trust policy skips signature verification for this image: nothing was checked',
    );
  }
  if (result.evidence !== undefined)
    lines.push(`  signatures: ${result.evidence.referrersLocation}`);
  for (const signature of result.verdict?.results ?? []) lines.push(...signatureText(signature));
  const notExamined = result.evidence?.notExamined ?? 0;
  if (notExamined > 0) {
    lines.push(`  not examined: ${notExamined} more signature(s), beyond --max-signatures`);
  }
  return `${lines.join('\n')}\n`;
}

function signatureText(signature: NotationSignatureResult): string[] {
  const signer = signature.signer;
  const who =
    signer === undefined
      ? ''
      : `, signed by "${signer.subject}" at ${signer.signingTime.toISOString()}${signer.timestamp === undefined ? '' : ` (timestamped ${signer.timestamp.genTime.toISOString()} by "${signer.timestamp.tsa}")`}`;
  const head = `  signature ${signature.index} (${signature.digest})`;
  const lines = [
    signature.verified
      ? `${head}: verified${who}`
      : `${head}: not verified: ${failureText(signature.failure)}`,
  ];
  for (const warning of signature.warnings) {
    lines.push(
      `    warning: ${warning.check} (set to log) failed: ${warning.code}: ${warning.message}`,
    );
  }
  return lines;
}

function failureText(failure: NotationFailure | undefined): string {
  return failure === undefined ? 'unknown' : `${failure.code}: ${failure.message}`;
}

function failureJson(failure: NotationFailure) {
  return {
    check: failure.check,
    code: failure.code,
    category: failure.category,
    message: failure.message,
  };
}

function checkJson(check: NotationCheckResult) {
  return {
    check: check.check,
    action: check.action,
    outcome: check.outcome,
    failures: check.failures.map(failureJson),
  };
}

function toJson(result: NotationImageVerification) {
  const statement = result.statement;
  const level = statement?.verification;
  return {
    image: result.image,
    status: result.status,
    digest: result.digest ?? null,
    mediaType: result.mediaType ?? null,
    trustPolicy:
      statement === undefined || level === undefined
        ? null
        : {
            name: statement.name,
            level: level.name,
            baseLevel: level.base,
            enforced: level.enforced,
            logged: level.logged,
            skipped: level.skipped,
            verifyTimestamp: statement.verifyTimestamp,
          },
    verificationSkipped: result.skipped === true,
    referrers: result.evidence?.referrersLocation ?? null,
    signatures: (result.verdict?.results ?? []).map((signature) => ({
      index: signature.index,
      digest: signature.digest,
      verified: signature.verified,
      failure: signature.failure === undefined ? null : failureJson(signature.failure),
      warnings: signature.warnings.map(failureJson),
      checks: signature.checks.map(checkJson),
      signer:
        signature.signer === undefined
          ? null
          : {
              signingScheme: signature.signer.signingScheme,
              signingTime: signature.signer.signingTime.toISOString(),
              expiry: signature.signer.expiry?.toISOString() ?? null,
              subject: signature.signer.subject,
              sha256Fingerprint: signature.signer.thumbprint,
              trustAnchor: signature.signer.trustAnchor ?? null,
              timestamp:
                signature.signer.timestamp === undefined
                  ? null
                  : {
                      genTime: signature.signer.timestamp.genTime.toISOString(),
                      tsa: signature.signer.timestamp.tsa,
                    },
              userMetadata: signature.signer.userMetadata,
            },
    })),
    notExamined: result.evidence?.notExamined ?? 0,
    error: errorJson(result.error),
  };
}
