import { invalid } from '../../core/errors.ts';
import { readKeyFile } from '../../keys/files.ts';
import { parsePublicKeyPem } from '../../keys/pem.ts';
import type { TransparencyLog } from '../../sigstore/trusted-root.ts';
import { requiredIdentityRule } from '../../formats/containers-policy/signed-identity.ts';
import { parseReference } from '../../oci/reference.ts';
import { parseImageSpec, specTarget } from '../../registry/open.ts';
import type { AttestationSource } from '../../verify/attestation-evaluate.ts';
import type { LoggedSignature, CosignTrust, Verdict } from '../../verify/evaluate.ts';
import { type ImageVerification, verifyImages } from '../../verify/verify.ts';
import { DEFAULT_VERIFY_CONCURRENCY } from '../../registry/http.ts';
import { type CliContext, cliContext } from '../context.ts';
import { parseCommand } from '../flags.ts';
import type { CliIO } from '../io.ts';
import { writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import { NOTARY_FLAGS } from '../notary-options.ts';
import { CONTAINERS_POLICY_FLAGS, wantsContainersPolicy } from '../containers-policy-options.ts';
import { GPG_VERIFY_HELP } from '../gpg-help.ts';
import { REGISTRIES_D_FLAGS } from '../registries-d-options.ts';
import {
  annotationFlags,
  concurrencyFlags,
  integerFlag,
  OUTPUT_FLAGS,
  REGISTRY_FLAGS,
  requireTarget,
  workloadFor,
} from '../options.ts';
import {
  certificateJson,
  keylessFlags,
  loggedText,
  requireOneMode,
  signerName,
} from '../keyless-options.ts';
import { readPublicKeys } from '../public-keys.ts';
import { errorJson, finishVerification, keyName, statusLine } from '../verify-output.ts';

const FLAGS = {
  format: OUTPUT_FLAGS,
  registry: REGISTRY_FLAGS,
  keyless: keylessFlags('vouch verify'),
  concurrency: concurrencyFlags(DEFAULT_VERIFY_CONCURRENCY, 'images verified'),
};

export const command: Command = {
  summary: "Verify images' signatures with a public key or a keyless certificate identity",
  help: `Usage: vouch verify --key PUB [--key PUB]... [OPTIONS] IMAGE...
       vouch verify --certificate-identity ID --certificate-oidc-issuer URL [OPTIONS] IMAGE...
       vouch verify --notary [--notary-server URL] [OPTIONS] IMAGE:TAG...
       vouch verify --gpg-key KEYRING [--registries.d DIR] [OPTIONS] IMAGE...
       vouch verify --containers-policy [FILE] [--registries.d DIR] [OPTIONS] IMAGE...

Checks the cosign signatures stored beside each image: the layers of the
sha256-<hex>.sig tag, and cosign 3's signatures, Sigstore bundles stored as
OCI referrers of the image (a DSSE in-toto statement of predicate type
https://sigstore.dev/cosign/sign/v1 whose subject is the image digest,
signed with one of the keys; -a annotations are looked for on that subject;
such a signature cannot satisfy --signed-identity, nor --require-tlog with a key; they
are looked for only when no .sig layer verifies). A tag is resolved to its
digest once; a digest is verified as given.
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
Sigstore trusted root cached by \`vouch trusted-root update\` if it has run,
else of the public-good trusted root shipped with vouch (no network needed).
Either is read only when a signature has a bundle. CosignTrust material is never
fetched, except that a cached root whose TUF timestamp has expired is
refreshed through TUF once first; with --offline it is used as it is and
nothing but the registry is contacted. A signature without a bundle counts
by its key alone, unless --require-tlog is given.

Keyless (cosign sign without a key, as Chainguard and most open-source
projects sign): instead of --key, the --certificate-* options name who must
have signed. A signature counts only if its Fulcio certificate chains to a
certificate authority of the trust root, was valid when the signature was
logged, carries an SCT of a trusted CT log, the Rekor bundle's signed entry
timestamp verifies and its entry records this very signature, payload and
certificate, the signature verifies with the certificate's key, and the
certificate's identity and issuer are the ones asked for; then the payload
checks above apply. Signatures without a certificate never count keylessly.
The trust root is --trusted-root, or the Sigstore public-good root shipped
with vouch (no network needed).

For each image, prints the digest, the signatures that verified (with who
signed keylessly, and when the log recorded them), and why each other one
did not count (SIGNATURE_INVALID, PAYLOAD_INVALID, DIGEST_MISMATCH,
ANNOTATION_MISMATCH, IDENTITY_MISMATCH, LAYER_INVALID, TLOG_MISSING,
TLOG_BUNDLE_INVALID, TLOG_LOG_UNKNOWN, TLOG_LOG_INACTIVE, TLOG_SET_INVALID,
TLOG_ENTRY_UNSUPPORTED, TLOG_BINDING_MISMATCH; keylessly also CERT_MISSING,
CERT_INVALID, CERT_CHAIN_INVALID, CERT_CHAIN_INCLUDES_ROOT, CERT_EXPIRED,
SCT_INVALID, CERT_BINDING_MISMATCH, CERT_IDENTITY_MISMATCH,
CERT_ISSUER_MISMATCH, CERT_CLAIM_MISMATCH, TLOG_INCLUSION_PROOF_INVALID,
TIMESTAMP_INVALID).

Examples:
  vouch verify --key cosign.pub registry.example.com/app:1.0
  vouch verify --key release.pub --key backup.pub -a env=prod oci:./layout:1.0
  vouch verify --key cosign.pub --signed-identity registry.example.com/app \\
    registry.example.com/app@sha256:... --output json
  vouch verify --key cosign.pub --require-tlog registry.example.com/app:1.0
  vouch verify --key cosign.pub --trusted-root private-sigstore.json --require-tlog \\
    registry.example.com/app:1.0
  vouch verify \\
    --certificate-identity https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com \\
    cgr.dev/chainguard/static:latest
  vouch verify --certificate-identity-regexp 'https://github\\.com/my-org/.+' \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com \\
    --certificate-github-workflow-trigger push registry.example.com/app:1.0

Options:
      --key FILE              a trusted public key (PEM); repeat for several keys
  -a, --annotations K=V       require this annotation in the signed payload; repeatable
      --signed-identity REF   require the signed docker-reference to match REF: the same
                              repository when REF has no tag, exactly REF when it has one
      --require-tlog          count only signatures with a Rekor bundle that verifies
      --trusted-root FILE     a Sigstore trusted_root.json whose transparency logs (and,
                              keylessly, CAs and CT logs) are trusted (a private deployment)
      --rekor-public-key FILE
                              a Rekor log's public key (PEM) to trust; repeatable
      --offline               never fetch trust material: use the cached trusted root
                              even when its TUF timestamp has expired
  -o, --output text|json      output format (default text)
      --max-signatures N      refuse images with more than N signature layers (default 1000)
      --max-payload-bytes N   skip signature payloads larger than N bytes (default 4194304)
${FLAGS.concurrency.help}

${FLAGS.keyless.help}

Exit codes: 0 every image has a valid signature; 1 some image has none;
2 invalid input; 3 could not check (registry unreachable, refused, timed out).
With several images, the first that applies of 1, 2, 3 is returned.

${NOTARY_FLAGS.help}

${GPG_VERIFY_HELP}

${CONTAINERS_POLICY_FLAGS.help}

Where GPG signatures are (--gpg-key, --containers-policy):
${REGISTRIES_D_FLAGS.help}

${REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    if (wantsContainersPolicy(args)) {
      return (await import('../verify-containers-policy.ts')).runContainersPolicyVerify(args, io);
    }
    if (args.includes('--notary')) {
      return (await import('../verify-notary.ts')).runNotaryVerify(args, io);
    }
    if (args.some((arg) => arg === '--gpg-key' || arg.startsWith('--gpg-key='))) {
      return (await import('../verify-gpg.ts')).runGpgVerify(args, io);
    }
    const { values, positionals, settings } = await parseCommand(args, io, FLAGS, {
      key: { type: 'string', multiple: true },
      annotations: { type: 'string', short: 'a', multiple: true },
      'signed-identity': { type: 'string' },
      'require-tlog': { type: 'boolean', default: false },
      'rekor-public-key': { type: 'string', multiple: true },
      offline: { type: 'boolean', default: false },
      'max-signatures': { type: 'string' },
      'max-payload-bytes': { type: 'string' },
    });
    const { format, registry, keyless, concurrency } = settings;
    const keyPaths = values.key ?? [];
    const { identity } = keyless;
    requireOneMode(keyPaths, identity, 'vouch verify');
    if (identity !== undefined && values['rekor-public-key'] !== undefined) {
      throw invalid(
        'USAGE',
        'keyless verification trusts the logs of --trusted-root (or the public-good root), not --rekor-public-key',
      );
    }
    if (positionals.length === 0) throw invalid('USAGE', 'vouch verify needs at least one IMAGE');
    // Everything the user typed is checked before any network traffic.
    const specs = positionals.map((image) => {
      const spec = parseImageSpec(image);
      requireTarget(image, specTarget(spec));
      return spec;
    });
    const annotations = annotationFlags(values.annotations ?? []);
    const signedIdentityFlag = values['signed-identity'];
    const required =
      signedIdentityFlag === undefined ? undefined : parseReference(signedIdentityFlag);
    // The rule is the same for every image: exact* rules ignore the image's name.
    const identityRule =
      required === undefined
        ? undefined
        : { rule: requiredIdentityRule(required), intended: required };
    const maxLayers = integerFlag('max-signatures', values['max-signatures'], 1, 100_000);
    const maxPayloadBytes = integerFlag(
      'max-payload-bytes',
      values['max-payload-bytes'],
      1,
      2 ** 30,
    );
    const context = cliContext(io, {
      registry,
      workload: workloadFor(positionals.length),
      offline: values.offline,
    });
    let results: ImageVerification[];
    try {
      context.stores.connectAhead(specs);
      const trust: CosignTrust =
        identity === undefined
          ? await keyTrust(context, keyPaths, keyless.trustedRoot, values['rekor-public-key'] ?? [])
          : await context.keylessTrust({ identity, trustedRoot: keyless.trustedRoot });
      results = await verifyImages(context.stores, positionals, {
        trust,
        // Loaded only when a signature carries a bundle, so a plain key
        // verification never reads trust material.
        loadTlogs: () => context.tlogs(),
        policy: {
          annotations,
          ...(identityRule === undefined ? {} : { identityRule }),
          ...(values['require-tlog'] ? { requireTlog: true } : {}),
        },
        limits: {
          ...(maxLayers === undefined ? {} : { maxLayers }),
          ...(maxPayloadBytes === undefined ? {} : { maxPayloadBytes }),
        },
        concurrency,
      });
    } finally {
      await context.close();
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

async function keyTrust(
  context: CliContext,
  keyPaths: readonly string[],
  rootPath: string | undefined,
  rekorKeyPaths: readonly string[],
): Promise<CosignTrust> {
  const keys = await readPublicKeys(keyPaths);
  const tlogs = await trustedLogs(context, rootPath, rekorKeyPaths);
  return { keys, ...(tlogs === undefined ? {} : { tlogs }) };
}

/**
 * The logs of --trusted-root and --rekor-public-key, read now so a bad file is
 * a usage error before any network traffic; undefined when neither is given
 * (then `defaultTlogs` loads them, only if a bundle needs them).
 */
async function trustedLogs(
  context: CliContext,
  rootPath: string | undefined,
  keyPaths: readonly string[],
): Promise<TransparencyLog[] | undefined> {
  if (rootPath === undefined && keyPaths.length === 0) return undefined;
  const logs: TransparencyLog[] = [];
  if (rootPath !== undefined) {
    const { selectTrustedRoot } = await import('../../sigstore/trusted-root-source.ts');
    const selected = await selectTrustedRoot({
      file: rootPath,
      cacheDir: context.dirs.cache,
      offline: true,
    });
    logs.push(...selected.trustedRoot.tlogs);
  }
  const { transparencyLogFromKey } = await import('../../sigstore/trusted-root.ts');
  for (const path of keyPaths) {
    const key = parsePublicKeyPem(await readKeyFile(path, '--rekor-public-key'), { source: path });
    logs.push(transparencyLogFromKey(key));
  }
  return logs;
}

function toText(result: ImageVerification, keyPaths: readonly string[]): string {
  const lines = [statusLine(result.image, result.status, result.error)];
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
        `  valid: layer ${signature.index} (${signature.layer}) signed with ${signerName(keyPaths, signature)} for ${signature.dockerReference}${annotations}${logged}`,
      );
    }
    for (const rejected of verdict.rejected) {
      lines.push(`  not counted: ${rejected.reason.code}: ${rejected.reason.message}`);
    }
  }
  const bundles = result.bundleSignatures;
  if (bundles !== undefined && (bundles.verified.length > 0 || bundles.rejected.length > 0)) {
    lines.push(`  bundle signatures (cosign 3): ${bundles.referrersLocation}`);
    for (const signature of bundles.verified) {
      lines.push(
        `  valid: Sigstore bundle referrer ${signature.index} (${referrerOf(signature.source, signature.layer)}) signed with ${signerName(keyPaths, signature)}${loggedText(signature.certificate)}`,
      );
    }
    for (const rejected of bundles.rejected) {
      lines.push(`  not counted: ${rejected.reason.code}: ${rejected.reason.message}`);
    }
  }
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
      key: signature.key === undefined ? null : keyName(keyPaths, signature.key),
      certificate:
        signature.certificate === undefined ? null : certificateJson(signature.certificate),
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
    bundleSignatures:
      result.bundleSignatures === undefined
        ? null
        : {
            referrers: result.bundleSignatures.referrersLocation,
            verified: result.bundleSignatures.verified.map((signature) => ({
              index: signature.index,
              referrer: referrerOf(signature.source, signature.layer),
              bundle: signature.layer,
              key: signature.key === undefined ? null : keyName(keyPaths, signature.key),
              certificate:
                signature.certificate === undefined ? null : certificateJson(signature.certificate),
              statement: signature.statement,
            })),
            rejected: result.bundleSignatures.rejected.map((rejected) => ({
              index: rejected.index,
              referrer: referrerOf(rejected.source, rejected.layer),
              code: rejected.reason.code,
              message: rejected.reason.message,
              ...(rejected.key === undefined ? {} : { key: keyName(keyPaths, rejected.key) }),
              ...(rejected.problem === undefined ? {} : { problem: rejected.problem }),
            })),
          },
    error: errorJson(result.error),
  };
}

/** The referrer manifest a bundle result came from. */
function referrerOf(source: AttestationSource, layer: string): string {
  return source.form === 'bundle' ? source.referrer : layer;
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
