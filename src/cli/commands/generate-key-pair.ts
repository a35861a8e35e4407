import { invalid } from '../../core/errors.ts';
import {
  DEFAULT_ALGORITHM,
  GENERATE_ALGORITHMS,
  generateKeyPair,
  isGenerateAlgorithm,
} from '../../keys/generate.ts';
import type { CliIO } from '../io.ts';
import { KEY_PAIR_OPTIONS, keyPairHelp, keyPairTargets, saveKeyPair } from '../key-pair-files.ts';
import type { Command } from '../main.ts';
import { outputFormat, parseFlags } from '../options.ts';

const DEFAULT_PREFIX = 'cosign';

export const command: Command = {
  summary: 'Generate a signing key pair (cosign format)',
  help: `Usage: vouch generate-key-pair [OPTIONS]

Generates a key pair and writes the private key, encrypted with a password,
to P.key (cosign's "ENCRYPTED SIGSTORE PRIVATE KEY" format, which cosign
reads) and the public key to P.pub (SPKI PEM), P being "${DEFAULT_PREFIX}" unless
--output-key-prefix says otherwise. Sign with P.key; give P.pub to verifiers.

Examples:
  vouch generate-key-pair                          # prompts for the password twice
  VOUCH_PASSWORD=... vouch generate-key-pair --output-key-prefix keys/release
  vouch generate-key-pair --algorithm ed25519 --password-file ./pw --output json

Options:
      --algorithm A          ${GENERATE_ALGORITHMS.join(', ')}
                             (default ${DEFAULT_ALGORITHM})
${keyPairHelp(DEFAULT_PREFIX).replace(/^Options:\n/, '')}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(
      args,
      { ...KEY_PAIR_OPTIONS, algorithm: { type: 'string', default: DEFAULT_ALGORITHM } },
      false,
    );
    const format = outputFormat(values.output);
    const algorithm = values.algorithm;
    if (!isGenerateAlgorithm(algorithm)) {
      throw invalid(
        'USAGE',
        `--algorithm must be one of ${GENERATE_ALGORITHMS.join(', ')}, not "${algorithm}"`,
      );
    }
    const paths = await keyPairTargets(values['output-key-prefix'] ?? DEFAULT_PREFIX, values.force);
    const { privateKey } = await generateKeyPair(algorithm);
    await saveKeyPair(io, paths, privateKey, values, format);
    return 0;
  },
};
