/**
 * What `generate-key-pair` and `import-key-pair` share: the flags that name
 * and guard the output files, the new key's password prompt, and the report
 * of the pair written (keys/save-key-pair.ts encrypts and writes `P.key` and
 * `P.pub`).
 */
import type { KeyObject } from 'node:crypto';
import { hasCode, invalid } from '../core/errors.ts';
import { checkKeyPairTargets, type KeyPairPaths, keyPairPaths } from '../keys/files.ts';
import { saveKeyPair as saveEncryptedKeyPair } from '../keys/save-key-pair.ts';
import { type CliIO, type OutputFormat, writeJson } from './io.ts';
import { OUTPUT_FLAGS } from './options.ts';
import { KEY_PASSWORD_HELP, KEY_PASSWORD_OPTIONS, newKeyPassword } from './password.ts';

export const KEY_PAIR_OPTIONS = {
  'output-key-prefix': { type: 'string' },
  force: { type: 'boolean', default: false },
  ...KEY_PASSWORD_OPTIONS,
  ...OUTPUT_FLAGS.options,
} as const;

export function keyPairHelp(defaultPrefix: string): string {
  return `Options:
      --output-key-prefix P  write P.key and P.pub (default ${defaultPrefix}); P's directory must exist
      --force                replace existing files (atomically) instead of refusing
  -o, --output text|json     output format (default text)

The private key file is written with mode 0600 and never overwritten without
--force. Its password protects it (scrypt N=65536, NaCl secretbox, as cosign).

${KEY_PASSWORD_HELP}`;
}

/**
 * The files a command will write, checked before any prompt or key work:
 * the directory exists and, without --force, neither file does.
 */
export async function keyPairTargets(prefix: string, force: boolean): Promise<KeyPairPaths> {
  const paths = keyPairPaths(prefix);
  await withForceHint(checkKeyPairTargets(paths, { force }));
  return paths;
}

/** Asks for the new key's password, saves the pair (keys/save-key-pair.ts) and reports it. */
export async function saveKeyPair(
  io: CliIO,
  paths: KeyPairPaths,
  privateKey: KeyObject,
  values: { readonly 'password-file'?: string | undefined; readonly force?: boolean | undefined },
  format: OutputFormat,
): Promise<void> {
  const password = await newKeyPassword(io, values, paths.privateKey);
  const { algorithm, fingerprint } = await withForceHint(
    saveEncryptedKeyPair(paths, privateKey, password, { force: values.force === true }),
  );
  if (format === 'json') {
    writeJson(io, { ...paths, algorithm, fingerprint });
  } else {
    io.stderr.write(
      `Private key written to ${paths.privateKey}\nPublic key written to ${paths.publicKey}\n` +
        `(${algorithm}, public key SHA-256 ${fingerprint})\n`,
    );
  }
}

async function withForceHint<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (hasCode(error, 'KEY_FILE_EXISTS'))
      throw invalid(error.code, `${error.message} (use --force to replace it)`, { cause: error });
    throw error;
  }
}
