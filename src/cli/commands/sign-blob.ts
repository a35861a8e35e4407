import { invalid } from '../../core/errors.ts';
import { encodeStdBase64 } from '../../core/base64.ts';
import { writeFileSafely } from '../../keys/files.ts';
import { loadSigner } from '../attach-command.ts';
import { MAX_BLOB_BYTES, readCappedFile } from '../blob-files.ts';
import { EXIT_OK } from '../exit-codes.ts';
import { parseCommand } from '../flags.ts';
import { type CliIO, writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import { OUTPUT_FLAGS } from '../options.ts';
import { KEY_PASSWORD_HELP, KEY_PASSWORD_OPTIONS } from '../password.ts';

const FLAGS = { format: OUTPUT_FLAGS };

/** Written as cosign writes them (os.WriteFile(..., 0600)), replacing a file already there. */
const OUTPUT_MODE = 0o600;

export const command: Command = {
  summary: 'Sign a file with a key: a Sigstore bundle as cosign 3 sign-blob writes it',
  help: `Usage: vouch sign-blob --key KEY [--bundle FILE] [--output-signature FILE] [OPTIONS] FILE

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

Keyless signing (no --key: a Fulcio certificate for an OIDC identity, logged
in Rekor) is not here yet: it comes with vouch's keyless signing engine.

Examples:
  vouch sign-blob --key cosign.key --bundle app.tar.gz.sigstore.json app.tar.gz
  VOUCH_PASSWORD=... vouch sign-blob --key cosign.key --output-signature app.sig app
  vouch sign-blob --key cosign.key --bundle app.sigstore.json app -o json

Options:
      --key KEY               the private key: cosign's encrypted format, or a PEM key
      --bundle FILE           write the Sigstore bundle to FILE
      --output-signature FILE write the signature, base64, to FILE (cosign 2)
      --output-certificate FILE
                              write the signing certificate, base64 of PEM (cosign 2;
                              keyless only)
${OUTPUT_FLAGS.help}

Exit codes: 0 signed; 2 invalid input (a wrong password included); 3 could not sign.

${KEY_PASSWORD_HELP}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(args, io, FLAGS, {
      ...KEY_PASSWORD_OPTIONS,
      key: { type: 'string' },
      bundle: { type: 'string' },
      'output-signature': { type: 'string' },
      'output-certificate': { type: 'string' },
    });
    const keyPath = values.key;
    if (keyPath === undefined) {
      // The seam for keyless blob signing: the keyless engine wires it here.
      throw invalid(
        'USAGE',
        'vouch sign-blob needs --key KEY for now: keyless blob signing (a Fulcio certificate for an OIDC identity) comes with the keyless signing engine',
      );
    }
    if (values['output-certificate'] !== undefined) {
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
    const signer = await loadSigner(io, keyPath, values, 'attestation');
    const { signBlob } = await import('../../sign/blob.ts');
    const signed = await signBlob(blob, signer);

    const bundlePath = values.bundle;
    const signaturePath = values['output-signature'];
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
      });
    } else if (bundlePath === undefined && signaturePath === undefined) {
      io.stdout.write(`${signature}\n`);
    } else {
      const written = [bundlePath, signaturePath].filter((p) => p !== undefined).join(' and ');
      io.stderr.write(`vouch: signed ${path}; wrote ${written}\n`);
    }
    return EXIT_OK;
  },
};
