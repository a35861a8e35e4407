import { invalid } from '../../core/errors.ts';
import { isCosignKeyPem } from '../../keys/cosign-key.ts';
import { readKeyFile } from '../../keys/files.ts';
import { parsePrivateKeyPem } from '../../keys/pem.ts';
import type { CliIO } from '../io.ts';
import { KEY_PAIR_OPTIONS, keyPairHelp, keyPairTargets, saveKeyPair } from '../key-pair-files.ts';
import type { Command } from '../main.ts';
import { outputFormat, parseFlags } from '../options.ts';

/** cosign import-key-pair's default `--output-key-prefix`. */
const DEFAULT_PREFIX = 'import-cosign';

export const command: Command = {
  summary: 'Import a PEM private key into cosign format',
  help: `Usage: vouch import-key-pair --key PEMFILE [OPTIONS]

Reads an unencrypted PEM private key — PKCS#8 ("PRIVATE KEY": ECDSA, Ed25519
or RSA), SEC1 ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY") — and writes it
encrypted with a password to P.key (cosign's format) with its public key in
P.pub, P being "${DEFAULT_PREFIX}" unless --output-key-prefix says otherwise,
as cosign import-key-pair does. Supported keys: ECDSA P-256, P-384, P-521,
Ed25519, RSA 2048, 3072 or 4096 bits.

Examples:
  vouch import-key-pair --key openssl.pem          # writes import-cosign.key and .pub
  vouch import-key-pair --key ec.pem --output-key-prefix release --password-file ./pw

Options:
      --key PEMFILE          the private key to import (required)
${keyPairHelp(DEFAULT_PREFIX).replace(/^Options:\n/, '')}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(args, { ...KEY_PAIR_OPTIONS, key: { type: 'string' } }, false);
    const format = outputFormat(values.output);
    const keyPath = values.key;
    if (keyPath === undefined) throw invalid('USAGE', 'vouch import-key-pair needs --key PEMFILE');
    const bytes = await readKeyFile(keyPath, '--key');
    if (isCosignKeyPem(bytes)) {
      throw invalid(
        'ALREADY_COSIGN_KEY',
        `${keyPath} is already a cosign encrypted key: use it as it is (vouch sign --key ${keyPath}); import-key-pair takes an unencrypted PEM key`,
      );
    }
    const privateKey = parsePrivateKeyPem(bytes, { source: keyPath });
    const paths = await keyPairTargets(values['output-key-prefix'] ?? DEFAULT_PREFIX, values.force);
    await saveKeyPair(io, paths, privateKey, values, format);
    return 0;
  },
};
