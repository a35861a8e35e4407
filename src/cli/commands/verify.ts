import { invalid } from '../../core/errors.ts';
import { readKeyFile } from '../../keys/files.ts';
import { parsePublicKeyPem } from '../../keys/pem.ts';
import {
  parseTrustedRoot,
  type TransparencyLog,
  transparencyLogFromKey,
} from '../../sigstore/trusted-root.ts';
import { type ImageReference, parseReference } from '../../oci/reference.ts';
import { parseImageSpec, specTarget, Stores } from '../../registry/open.ts';
import type { LoggedSignature, Verdict } from '../../verify/evaluate.ts';
import { type ImageVerification, verifyImages } from '../../verify/verify.ts';
import type { CliIO } from '../io.ts';
import { writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import { NOTARY_HELP } from '../notary-help.ts';
import {
  annotationFlags,
  integerFlag,
  OUTPUT_OPTIONS,
  outputFormat,
  parseFlags,
  REGISTRY_HELP,
  REGISTRY_OPTIONS,
  requireTarget,
  storeOptions,
  workloadFor,
} from '../options.ts';
import { readPublicKeys } from '../public-keys.ts';
import { errorJson, finishVerification, keyName, STATUS_TEXT } from '../verify-output.ts';

export const command: Command = {
  summary: "Verify images' signatures with a public key",
  help: `Usage: vouch verify --key PUB [--key PUB]... [OPTIONS] IMAGE...

Checks the cosign signatures stored beside each image (the sha256-<hex>.sig
tag). A tag is resolved to its digest once; a digest is verified as given.
A signature counts only if it verifies over the exact payload bytes with one
of the keys, the payload is a well-formed simple-signing payload, it names the
digest being verified, and it carries every required annotation. One valid
signature is enough. The identity in the payload is reported, and checked only
with --signed-identity, so signatures survive copying between registries.

A signature that carries a Rekor bundle (the dev.sigstore.cosign/bundle
annotation cosign adds when it uploads to the transparency log) counts only if
the bundle's signed entry timestamp verifies with a trusted log key and the
log entry is for this very signature, key and payload. The trusted logs are
those of --trusted-root and --rekor-public-key; with neither, those of the
Sigstore public-good trusted root shipped with vouch (no network needed, read
only when a signature has a bundle). A signature without a bundle counts by
its key alone, unless --require-tlog is given.

For each image, prints the digest, the signatures that verified (with when
the log recorded them), and why each other one did not count
(SIGNATURE_INVALID, PAYLOAD_INVALID, DIGEST_MISMATCH, ANNOTATION_MISMATCH,
IDENTITY_MISMATCH, LAYER_INVALID, TLOG_MISSING, TLOG_BUNDLE_INVALID,
TLOG_LOG_UNKNOWN, TLOG_LOG_INACTIVE, TLOG_SET_INVALID, TLOG_ENTRY_UNSUPPORTED,
TLOG_BINDING_MISMATCH).

Examples:
  vouch verify --key cosign.pub registry.example.com/app:1.0
  vouch verify --key release.pub --key backup.pub -a env=prod oci:./layout:1.0
  vouch verify --key cosign.pub --signed-identity registry.example.com/app \\
    registry.example.com/app@sha256:... --output json
  vouch verify --key cosign.pub --require-tlog registry.example.com/app:1.0
  vouch verify --key cosign.pub --trusted-root private-sigstore.json --require-tlog \\
    registry.example.com/app:1.0

Options:
      --key FILE              a trusted public key (PEM); repeat for several keys
  -a, --annotations K=V       require this annotation in the signed payload; repeatable
      --signed-identity REF   require the signed docker-reference to match REF: the same
                              repository when REF has no tag, exactly REF when it has one
      --require-tlog          count only signatures with a Rekor bundle that verifies
      --trusted-root FILE     a Sigstore trusted_root.json whose transparency logs are
                              trusted (a private Sigstore deployment)
      --rekor-public-key FILE
                              a Rekor log's public key (PEM) to trust; repeatable
  -o, --output text|json      output format (default text)
      --max-signatures N      refuse images with more than N signature layers (default 1000)
      --max-payload-bytes N   skip signature payloads larger than N bytes (default 4194304)
      --concurrency N         images verified at once (default 8)

Exit codes: 0 every image has a valid signature; 1 some image has none;
2 invalid input; 3 could not check (registry unreachable, refused, timed out).
With several images, the first that applies of 1, 2, 3 is returned.

${NOTARY_HELP}

${REGISTRY_HELP}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    if (args.includes('--notary')) {
      return (await import('../verify-notary.ts')).runNotaryVerify(args, io);
    }
    const { values, positionals } = parseFlags(args, {
      ...OUTPUT_OPTIONS,
      ...REGISTRY_OPTIONS,
      key: { type: 'string', multiple: true },
      annotations: { type: 'string', short: 'a', multiple: true },
      'signed-identity': { type: 'string' },
      'require-tlog': { type: 'boolean', default: false },
      'trusted-root': { type: 'string' },
      'rekor-public-key': { type: 'string', multiple: true },
      'max-signatures': { type: 'string' },
      'max-payload-bytes': { type: 'string' },
      concurrency: { type: 'string', default: '8' },
    });
    const format = outputFormat(values.output);
    const keyPaths = values.key ?? [];
    if (keyPaths.length === 0) throw invalid('USAGE', 'vouch verify needs --key FILE');
    if (positionals.length === 0) throw invalid('USAGE', 'vouch verify needs at least one IMAGE');
    // Everything the user typed is checked before any network traffic.
    for (const image of positionals) requireTarget(image, specTarget(parseImageSpec(image)));
    const annotations = annotationFlags(values.annotations ?? []);
    const identity = values['signed-identity'];
    const signedIdentity: ImageReference | undefined =
      identity === undefined ? undefined : parseReference(identity);
    const maxLayers = integerFlag('max-signatures', values['max-signatures'], 1, 100_000);
    const maxPayloadBytes = integerFlag(
      'max-payload-bytes',
      values['max-payload-bytes'],
      1,
      2 ** 30,
    );
    const concurrency = integerFlag('concurrency', values.concurrency, 1, 64) ?? 8;
    const keys = await readPublicKeys(keyPaths);
    const tlogs = await trustedLogs(values['trusted-root'], values['rekor-public-key'] ?? []);

    const stores = new Stores(await storeOptions(io, values, workloadFor(positionals.length)));
    let results: ImageVerification[];
    try {
      results = await verifyImages(stores, positionals, {
        trust: { keys, ...(tlogs === undefined ? {} : { tlogs }) },
        policy: {
          annotations,
          ...(signedIdentity === undefined ? {} : { signedIdentity }),
          ...(values['require-tlog'] ? { requireTlog: true } : {}),
        },
        limits: {
          ...(maxLayers === undefined ? {} : { maxLayers }),
          ...(maxPayloadBytes === undefined ? {} : { maxPayloadBytes }),
        },
        concurrency,
      });
    } finally {
      await stores.close();
    }

    if (format === 'json') {
      writeJson(io, {
        ok: results.every((result) => result.status === 'verified'),
        images: results.map((result) => toJson(result, keyPaths)),
      });
    } else {
      io.stdout.write(results.map((result) => toText(result, keyPaths)).join(''));
    }
    return finishVerification(io, results);
  },
};

/**
 * The logs of --trusted-root and --rekor-public-key, read now so a bad file is
 * a usage error before any network traffic; undefined when neither is given
 * (the library then loads the public-good root, only if a bundle needs it).
 */
async function trustedLogs(
  rootPath: string | undefined,
  keyPaths: readonly string[],
): Promise<TransparencyLog[] | undefined> {
  if (rootPath === undefined && keyPaths.length === 0) return undefined;
  const logs: TransparencyLog[] = [];
  if (rootPath !== undefined) {
    logs.push(...parseTrustedRoot(await readKeyFile(rootPath, '--trusted-root'), rootPath).tlogs);
  }
  for (const path of keyPaths) {
    const key = parsePublicKeyPem(await readKeyFile(path, '--rekor-public-key'), { source: path });
    logs.push(transparencyLogFromKey(key));
  }
  return logs;
}

function toText(result: ImageVerification, keyPaths: readonly string[]): string {
  const lines = [`${result.image}: ${STATUS_TEXT[result.status]}`];
  if (result.digest !== undefined) lines.push(`  digest: ${result.digest}`);
  if (result.signatureLocation !== undefined)
    lines.push(`  signatures: ${result.signatureLocation}`);
  const verdict = result.verdict;
  if (verdict !== undefined) {
    for (const signature of verdict.verified) {
      const annotations =
        signature.annotations === null
          ? ''
          : `, annotations ${JSON.stringify(signature.annotations)}`;
      const logged = signature.tlog === undefined ? '' : `, ${describeLogged(signature.tlog)}`;
      lines.push(
        `  valid: layer ${signature.index} (${signature.layer}) signed with ${keyName(keyPaths, signature.key)} for ${signature.dockerReference}${annotations}${logged}`,
      );
    }
    for (const rejected of verdict.rejected) {
      lines.push(`  not counted: ${rejected.reason.code}: ${rejected.reason.message}`);
    }
  }
  if (result.error !== undefined) lines.push(`  ${result.error.code}: ${result.error.message}`);
  return `${lines.join('\n')}\n`;
}

function toJson(result: ImageVerification, keyPaths: readonly string[]) {
  const verdict: Verdict | undefined = result.verdict;
  return {
    image: result.image,
    status: result.status,
    digest: result.digest ?? null,
    mediaType: result.mediaType ?? null,
    signatures: result.signatureLocation ?? null,
    verified: (verdict?.verified ?? []).map((signature) => ({
      index: signature.index,
      layer: signature.layer,
      key: keyName(keyPaths, signature.key),
      dockerReference: signature.dockerReference,
      annotations: signature.annotations,
      tlog:
        signature.tlog === undefined
          ? null
          : {
              logId: signature.tlog.logId,
              logUrl: signature.tlog.logUrl ?? null,
              logIndex: signature.tlog.logIndex,
              integratedTime: signature.tlog.integratedTime,
              integratedAt: isoTime(signature.tlog.integratedTime) ?? null,
            },
    })),
    rejected: (verdict?.rejected ?? []).map((rejected) => ({
      index: rejected.index,
      layer: rejected.layer,
      code: rejected.reason.code,
      message: rejected.reason.message,
      ...(rejected.key === undefined ? {} : { key: keyName(keyPaths, rejected.key) }),
      ...(rejected.problem === undefined ? {} : { problem: rejected.problem }),
    })),
    error: errorJson(result.error),
  };
}

function describeLogged(tlog: LoggedSignature): string {
  const log = tlog.logUrl ?? `log ${tlog.logId}`;
  const at = isoTime(tlog.integratedTime) ?? `${tlog.integratedTime} s after the epoch`;
  return `logged in ${log} at ${at} (index ${tlog.logIndex})`;
}

/** Unix seconds as an ISO 8601 time, or undefined when out of the Date range. */
function isoTime(seconds: number): string | undefined {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
