import { invalid } from '../../core/errors.ts';
import { encodeStdBase64 } from '../../core/base64.ts';
import { writeFileSafely } from '../../keys/files.ts';
import { MAX_BLOB_BYTES, readCappedFile } from '../blob-files.ts';
import { cliContext } from '../context.ts';
import { EXIT_OK } from '../exit-codes.ts';
import { parseCommand } from '../flags.ts';
import { type CliIO, writeJson } from '../io.ts';
import type { SignedBlob } from '../../sign/blob.ts';
import type { Command } from '../main.ts';
import { DEFAULT_DEADLINE, OUTPUT_FLAGS } from '../options.ts';
import { SIGNER_FLAGS, startSigning } from '../signer-flags.ts';

const FLAGS = { signer: SIGNER_FLAGS, format: OUTPUT_FLAGS };

/** Written as cosign writes them (os.WriteFile(..., 0600)), replacing a file already there. */
const OUTPUT_MODE = 0o600;

export const command: Command = {
  summary:
    'Sign a file, with a key or keylessly: a Sigstore bundle as cosign 3 sign-blob writes it',
  help: `Usage: vouch sign-blob [--key KEY] [--bundle FILE] [--output-signature FILE] [OPTIONS] FILE

Signs FILE as cosign sign-blob --key does: the signature over its bytes with
the hash the key's type signs with (SHA-256 on P-256 and RSA, SHA-384 on
P-384, SHA-512 on P-521, pure Ed25519). --bundle writes the Sigstore bundle
cosign 3 writes (v0.3: the file's digest and the signature, and the key's
hint); --output-signature writes the signature alone in base64, as cosign 2
did. With neither, the base64 signature is printed.

Nothing is uploaded to a transparency log (cosign 3 logs to Rekor by default):
the bundle has no log entry, so cosign verify-blob needs
--insecure-ignore-tlog=true to accept it; vouch verify-blob --key counts it by
its key unless --require-tlog.

Without --key, signs keylessly as cosign sign-blob does: a Fulcio certificate
for the OIDC identity, the signature logged in Rekor as a hashedrekord entry
(and timestamped when the signing config names a TSA), all checked against
the trusted root before the bundle is written; --output-certificate writes
the certificate as cosign 2 did.

Examples:
  vouch sign-blob --key cosign.key --bundle app.tar.gz.sigstore.json app.tar.gz
  VOUCH_PASSWORD=... vouch sign-blob --key cosign.key --output-signature app.sig app
  vouch sign-blob --key cosign.key --bundle app.sigstore.json app -o json
  vouch sign-blob --bundle app.sigstore.json app      # keyless, e.g. in GitHub Actions

Options:
      --bundle FILE           write the Sigstore bundle to FILE
      --output-signature FILE write the signature, base64, to FILE (cosign 2)
      --output-certificate FILE
                              write the signing certificate, base64 of PEM (cosign 2;
                              keyless only)
${OUTPUT_FLAGS.help}

Exit codes: 0 signed; 2 invalid input (a wrong password, an expired token or
one for another audience); 3 could not sign (Fulcio, Rekor or the TSA
unreachable); 1 a Sigstore service's answer that does not verify (nothing is
written).

${SIGNER_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(args, io, FLAGS, {
      bundle: { type: 'string' },
      'output-signature': { type: 'string' },
      'output-certificate': { type: 'string' },
    });
    const choice = settings.signer;
    if (choice.kind === 'key' && values['output-certificate'] !== undefined) {
      throw invalid(
        'USAGE',
        '--output-certificate writes the certificate of a keyless signature; a signature made with --key has none',
      );
    }
    const [path, ...extra] = positionals;
    if (path === undefined || extra.length > 0) {
      throw invalid('USAGE', 'vouch sign-blob needs exactly one FILE');
    }
    const blob = await readCappedFile(path, 'the file', MAX_BLOB_BYTES);
    const context = cliContext(io, {
      registry: { allowInsecure: false, deadline: DEFAULT_DEADLINE },
      workload: 'short',
    });
    let signed: SignedBlob;
    try {
      const signing = await startSigning(context, choice, 'attestation');
      const { signBlob, signBlobKeylessly } = await import('../../sign/blob.ts');
      signed =
        signing.keyless === undefined
          ? await signBlob(blob, signing.signer)
          : await signBlobKeylessly(blob, signing.keyless);
    } finally {
      await context.close();
    }

    const bundlePath = values.bundle;
    const signaturePath = values['output-signature'];
    const certificatePath = values['output-certificate'];
    if (bundlePath !== undefined) {
      await writeFileSafely(bundlePath, signed.bundle, { mode: OUTPUT_MODE, replace: true });
    }
    if (signaturePath !== undefined) {
      const { encodeSignatureFile } = await import('../../formats/blob-signature-files.ts');
      await writeFileSafely(signaturePath, encodeSignatureFile(signed.signature), {
        mode: OUTPUT_MODE,
        replace: true,
      });
    }
    if (certificatePath !== undefined && signed.certificate !== undefined) {
      const { encodeCertificateFile } = await import('../../formats/blob-signature-files.ts');
      await writeFileSafely(certificatePath, encodeCertificateFile(signed.certificate), {
        mode: OUTPUT_MODE,
        replace: true,
      });
    }
    const signature = encodeStdBase64(signed.signature);
    if (settings.format === 'json') {
      writeJson(io, {
        ok: true,
        file: path,
        digest: {
          algorithm: signed.digestAlgorithm,
          hex: Buffer.from(signed.digest).toString('hex'),
        },
        signature,
        bundle: bundlePath ?? null,
        outputSignature: signaturePath ?? null,
        outputCertificate: certificatePath ?? null,
        ...(signed.logEntry === undefined ? {} : { logEntry: signed.logEntry }),
      });
    } else if (bundlePath === undefined && signaturePath === undefined) {
      io.stdout.write(`${signature}\n`);
    } else {
      const written = [bundlePath, signaturePath, certificatePath]
        .filter((p) => p !== undefined)
        .join(' and ');
      io.stderr.write(`vouch: signed ${path}; wrote ${written}\n`);
    }
    return EXIT_OK;
  },
};
