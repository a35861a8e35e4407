import type { KeyObject } from 'node:crypto';
import { invalid, isVouchError } from '../../core/errors.ts';
import { readKeyFile } from '../../keys/files.ts';
import { parsePublicKeyPem } from '../../keys/pem.ts';
import type {
  BlobArtifact,
  BlobSignature,
  BlobTrust,
  BlobVerification,
} from '../../verify/blob.ts';
import {
  artifactArgument,
  MAX_BLOB_BYTES,
  MAX_BUNDLE_FILE_BYTES,
  MAX_SIGNATURE_FILE_BYTES,
  readCappedFile,
} from '../blob-files.ts';
import { type CliContext, cliContext } from '../context.ts';
import { EXIT_CODES, EXIT_OK } from '../exit-codes.ts';
import { parseCommand } from '../flags.ts';
import { type CliIO, writeJson } from '../io.ts';
import {
  certificateJson,
  keylessFlags,
  type KeylessSettings,
  loggedText,
  requireOneMode,
} from '../keyless-options.ts';
import type { Command } from '../main.ts';
import { DEADLINE_FLAGS, OUTPUT_FLAGS } from '../options.ts';

/** The verification's result, or why the evidence could not be read. */
type Outcome =
  BlobVerification | { readonly ok: false; readonly code: string; readonly message: string };

const FLAGS = {
  format: OUTPUT_FLAGS,
  keyless: keylessFlags('vouch verify-blob'),
  run: DEADLINE_FLAGS,
};

export const command: Command = {
  summary: 'Verify the signature of a file (a Sigstore bundle, or cosign 2 signature files)',
  help: `Usage: vouch verify-blob --key PUB --bundle FILE [OPTIONS] FILE|sha256:HEX
       vouch verify-blob --certificate-identity ID --certificate-oidc-issuer URL --bundle FILE [OPTIONS] FILE|sha256:HEX
       vouch verify-blob --key PUB --signature FILE [OPTIONS] FILE
       vouch verify-blob --certificate-identity ID --certificate-oidc-issuer URL \\
         --signature FILE --certificate FILE [--certificate-chain FILE] [OPTIONS] FILE

Verifies the signature of FILE as cosign verify-blob does: a Sigstore bundle
(--bundle, what cosign 3 sign-blob and vouch sign-blob write: a message
signature over the file, or a DSSE in-toto statement naming the file's SHA-256
as a subject), or the files cosign 2 wrote (--signature, base64 or raw;
--certificate, PEM or base64 of PEM). Instead of FILE, sha256:HEX names the
file by its digest (when no file has that name): ECDSA and RSA signatures are
checked over the digest; a pure Ed25519 signature cannot be.

With --key, the key decides. Transparency log entries and RFC 3161 timestamps
the bundle carries must verify against the trusted root and name this key; a
bundle without a log entry counts by its key alone unless --require-tlog.
Keylessly, the certificate must chain to a CA of the trusted root, carry an
SCT, be named by a log entry that verifies, and have the identity and issuer
asked for (as vouch verify checks keyless image signatures). A bundle's chain
that carries a root CA is refused (CERT_CHAIN_INCLUDES_ROOT): roots come from
the trusted root only; so does --certificate-chain, whose certificates must
all be CA certificates of the trusted root.

The trusted root is --trusted-root FILE, else the one \`vouch trusted-root
update\` cached, else the Sigstore public-good root shipped with vouch (no
network needed); with a key it is read only when the bundle carries log
entries or timestamps.

Examples:
  vouch verify-blob --key cosign.pub --bundle release.tar.gz.sigstore.json release.tar.gz
  vouch verify-blob --certificate-identity https://github.com/my-org/app/.github/workflows/release.yml@refs/tags/v1.0 \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com \\
    --bundle app.sigstore.json app
  vouch verify-blob --key cosign.pub --bundle app.sigstore.json \\
    sha256:b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c
  vouch verify-blob --key cosign.pub --signature app.sig app -o json

Options:
      --key FILE              the public key (PEM) that must have signed
      --bundle FILE           the Sigstore bundle (v0.1 to v0.3)
      --signature FILE        cosign 2's --output-signature file (instead of --bundle)
      --certificate FILE      cosign 2's --output-certificate file (keyless, with --signature)
      --certificate-chain FILE
                              the certificate's issuers, PEM (keyless, with --certificate)
      --require-tlog          with --key: fail a signature no transparency log entry records
      --insecure-ignore-tlog  keylessly: also accept a bundle no transparency log records when
                              an RFC 3161 timestamp of the trusted root's TSAs proves when it
                              was signed (sign-blob --tlog-upload=false); the certificate's use
                              is then not public
      --offline               never fetch trust material: use the cached trusted root even
                              when its TUF timestamp has expired
${FLAGS.run.help}
${OUTPUT_FLAGS.help}

${FLAGS.keyless.help}

Exit codes: 0 verified; 1 not verified; 2 invalid input; 3 could not check.`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(args, io, FLAGS, {
      key: { type: 'string' },
      bundle: { type: 'string' },
      signature: { type: 'string' },
      certificate: { type: 'string' },
      'certificate-chain': { type: 'string' },
      'require-tlog': { type: 'boolean', default: false },
      'insecure-ignore-tlog': { type: 'boolean', default: false },
      offline: { type: 'boolean', default: false },
    });
    const { format, keyless } = settings;
    const keyPath = values.key;
    requireOneMode(keyPath === undefined ? [] : [keyPath], keyless.identity, 'vouch verify-blob');
    const [target, ...extra] = positionals;
    if (target === undefined || extra.length > 0) {
      throw invalid('USAGE', 'vouch verify-blob needs exactly one FILE (or sha256:HEX)');
    }
    if ((values.bundle === undefined) === (values.signature === undefined)) {
      throw invalid(
        'USAGE',
        'vouch verify-blob needs --bundle FILE or --signature FILE (one of them)',
      );
    }
    if (
      values.bundle !== undefined &&
      (values.certificate ?? values['certificate-chain']) !== undefined
    ) {
      throw invalid(
        'USAGE',
        '--certificate and --certificate-chain go with --signature; a bundle carries its certificate',
      );
    }
    if (
      keyPath !== undefined &&
      (values.certificate ?? values['certificate-chain']) !== undefined
    ) {
      throw invalid(
        'USAGE',
        '--certificate and --certificate-chain are for keyless signatures, not with --key',
      );
    }
    if (values['certificate-chain'] !== undefined && values.certificate === undefined) {
      throw invalid('USAGE', '--certificate-chain needs --certificate');
    }
    if (keyPath !== undefined && values['insecure-ignore-tlog']) {
      throw invalid(
        'USAGE',
        '--insecure-ignore-tlog is for keyless signatures; with --key an unlogged bundle counts unless --require-tlog',
      );
    }
    if (keyPath === undefined && values['require-tlog']) {
      throw invalid(
        'USAGE',
        'keyless signatures always need a transparency log entry; --require-tlog is for --key',
      );
    }

    // Everything typed is read and checked before the evidence is judged.
    const argument = await artifactArgument(target);
    const artifact: BlobArtifact =
      argument.kind === 'sha256'
        ? argument
        : { kind: 'bytes', bytes: await readCappedFile(argument.path, 'the file', MAX_BLOB_BYTES) };
    const publicKey =
      keyPath === undefined
        ? undefined
        : parsePublicKeyPem(await readKeyFile(keyPath, '--key'), { source: keyPath });
    const context = cliContext(io, {
      registry: settings.run,
      workload: 'short',
      offline: values.offline,
    });
    let result: Outcome;
    try {
      result = await outcome(async () => {
        const signature = await readSignature(values);
        const trust = await trustOf(
          context,
          keyless,
          publicKey,
          values['require-tlog'],
          signature,
          values['insecure-ignore-tlog'],
        );
        const { verifyBlob } = await import('../../verify/blob.ts');
        return verifyBlob(artifact, signature, trust);
      });
    } finally {
      await context.close();
    }
    report(io, format, target, result, keyPath);
    return result.ok ? EXIT_OK : EXIT_CODES.denied;
  },
};

/**
 * The verification's result; evidence that cannot be read (a bundle, a
 * signature file: `denied`) is a verdict too, not verified.
 */
async function outcome(verify: () => Promise<BlobVerification>): Promise<Outcome> {
  try {
    return await verify();
  } catch (error) {
    if (!isVouchError(error) || error.category !== 'denied') throw error;
    return { ok: false, code: error.code, message: error.message };
  }
}

/** The signature as given: a parsed bundle, or cosign 2's files. Throws `denied` for unreadable evidence. */
async function readSignature(values: {
  bundle?: string | undefined;
  signature?: string | undefined;
  certificate?: string | undefined;
  'certificate-chain'?: string | undefined;
}): Promise<BlobSignature> {
  if (values.bundle !== undefined) {
    const bytes = await readCappedFile(values.bundle, '--bundle', MAX_BUNDLE_FILE_BYTES);
    const { parseBundle } = await import('../../formats/sigstore-bundle-reader.ts');
    return { kind: 'bundle', bundle: parseBundle(bytes, values.bundle) };
  }
  const files = await import('../../formats/blob-signature-files.ts');
  const read = (path: string, what: string) => readCappedFile(path, what, MAX_SIGNATURE_FILE_BYTES);
  const signaturePath = values.signature ?? '';
  const certificatePath = values.certificate;
  const chainPath = values['certificate-chain'];
  return {
    kind: 'files',
    signature: files.parseSignatureFile(await read(signaturePath, '--signature'), signaturePath),
    certificate:
      certificatePath === undefined
        ? undefined
        : files.parseCertificateFile(await read(certificatePath, '--certificate'), certificatePath),
    chain:
      chainPath === undefined
        ? undefined
        : files.parseCertificateChainFile(await read(chainPath, '--certificate-chain'), chainPath),
  };
}

/**
 * Who may have signed, with the trust material to check against: keylessly
 * the trusted root's; with a key, the trusted root's logs and timestamp
 * authorities only if --trusted-root was given or the bundle carries log
 * entries or timestamps (a plain key signature reads no trust material).
 */
async function trustOf(
  context: CliContext,
  keyless: KeylessSettings,
  publicKey: KeyObject | undefined,
  requireTlog: boolean,
  signature: BlobSignature,
  allowUnlogged: boolean,
): Promise<BlobTrust> {
  const loadRoot = () => context.trustedRoot(keyless.trustedRoot);
  const source = keyless.trustedRoot ?? 'the trusted root';
  if (publicKey !== undefined) {
    const material =
      signature.kind === 'bundle' ? signature.bundle.bundle.verificationMaterial : undefined;
    const needsRoot =
      keyless.trustedRoot !== undefined ||
      (material !== undefined &&
        (material.tlogEntries.length > 0 ||
          (material.timestampVerificationData?.rfc3161Timestamps.length ?? 0) > 0));
    if (!needsRoot) return { kind: 'key', publicKey, trust: undefined, requireTlog };
    const [root, { publicKeyTrustOf }] = await Promise.all([
      loadRoot(),
      import('../../sigstore/keyless-trust.ts'),
    ]);
    return {
      kind: 'key',
      publicKey,
      trust: publicKeyTrustOf(publicKey, root, source),
      requireTlog,
    };
  }
  const trustModule = await import('../../sigstore/keyless-trust.ts');
  if (keyless.identity === undefined)
    throw invalid('USAGE', 'vouch verify-blob needs --key or a certificate identity');
  return {
    kind: 'certificate',
    identity: keyless.identity,
    trust: trustModule.keylessTrustOf(await loadRoot(), source),
    allowUnlogged,
  };
}

function report(
  io: CliIO,
  format: 'text' | 'json',
  target: string,
  result: Outcome,
  keyPath: string | undefined,
): void {
  if (format === 'json') {
    writeJson(
      io,
      result.ok
        ? {
            ok: true,
            artifact: target,
            digest: result.artifact,
            content: result.content,
            predicateType: result.predicateType ?? null,
            key: keyPath ?? null,
            certificate:
              result.certificate === undefined ? null : certificateJson(result.certificate),
            tlog: result.tlog.map((entry) => ({
              logId: entry.logId,
              logUrl: entry.logUrl ?? null,
              logIndex: entry.logIndex,
              integratedTime: entry.integratedTime,
            })),
            signingTime:
              result.signingTime === undefined
                ? null
                : new Date(result.signingTime * 1000).toISOString(),
          }
        : {
            ok: false,
            artifact: target,
            error: { code: result.code, category: 'denied', message: result.message },
          },
    );
    return;
  }
  if (!result.ok) {
    io.stdout.write(`${target}: NOT VERIFIED (${result.code})\n`);
    io.stderr.write(`vouch: ${result.code}: ${result.message}\n`);
    return;
  }
  const signer =
    result.certificate !== undefined
      ? `certificate for ${result.certificate.claims.subject} (issuer ${result.certificate.claims.issuer})${loggedText(result.certificate)}`
      : `${keyPath ?? 'the key'}${result.tlog.length > 0 ? `, logged in ${result.tlog[0]?.logUrl ?? `log ${result.tlog[0]?.logId ?? ''}`} (index ${result.tlog[0]?.logIndex ?? ''})` : ''}`;
  const what =
    result.content === 'dsse-envelope'
      ? `an in-toto statement (${result.predicateType ?? ''}) about it`
      : 'it';
  io.stdout.write(`${target}: verified (${result.artifact})\n  ${what} signed with ${signer}\n`);
}
