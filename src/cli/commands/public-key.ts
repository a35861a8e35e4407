import { invalid } from '../../core/errors.ts';
import { writeFileSafely, PUBLIC_KEY_FILE_MODE } from '../../keys/files.ts';
import { publicKeyToPem } from '../../keys/pem.ts';
import type { CliIO } from '../io.ts';
import type { Command } from '../main.ts';
import { parseFlags } from '../options.ts';
import { KEY_PASSWORD_HELP, KEY_PASSWORD_OPTIONS, loadPrivateKeyFile } from '../password.ts';

export const command: Command = {
  summary: 'Print the public key of a private key',
  help: `Usage: vouch public-key --key KEY [OPTIONS]

Prints the public key (SPKI PEM, the form of cosign.pub) of a private key: a
cosign encrypted key (which needs its password) or an unencrypted PEM key.

Examples:
  vouch public-key --key cosign.key                # prompts for the password
  VOUCH_PASSWORD=... vouch public-key --key cosign.key --output-file cosign.pub

Options:
      --key KEY              the private key (required)
      --output-file FILE     write the public key to FILE (replaced if it exists)
                             instead of standard output

${KEY_PASSWORD_HELP}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(
      args,
      {
        key: { type: 'string' },
        'output-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        ...KEY_PASSWORD_OPTIONS,
      },
      false,
    );
    const keyPath = values.key;
    if (keyPath === undefined) throw invalid('USAGE', 'vouch public-key needs --key KEY');
    const pem = publicKeyToPem(await loadPrivateKeyFile(io, keyPath, values));
    const outputFile = values['output-file'];
    if (outputFile === undefined) {
      io.stdout.write(pem);
    } else {
      await writeFileSafely(outputFile, pem, { mode: PUBLIC_KEY_FILE_MODE, replace: true });
      io.stderr.write(`Public key written to ${outputFile}\n`);
    }
    return 0;
  },
};
