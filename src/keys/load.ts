/**
 * One entry point for the `--key` of signing commands: a cosign encrypted key
 * (which needs a password) or a plain PEM private key (which does not).
 */
import type { KeyObject } from 'node:crypto';
import { invalid } from '../core/errors.ts';
import { where } from './algorithms.ts';
import { decryptCosignKey, isCosignKeyPem, type Password } from './cosign-key.ts';
import { parsePrivateKeyPem, type PemSourceOptions } from './pem.ts';

export interface LoadPrivateKeyOptions extends PemSourceOptions {
  /**
   * The password of a cosign encrypted key, or a function that supplies it.
   * The function is called only when the key is encrypted, so a prompt is
   * shown only when it is needed.
   */
  readonly password?: Password | (() => Password | Promise<Password>);
}

export async function loadPrivateKey(
  input: string | Uint8Array,
  options?: LoadPrivateKeyOptions,
): Promise<KeyObject> {
  const pemOptions = options?.source === undefined ? undefined : { source: options.source };
  if (!isCosignKeyPem(input)) return parsePrivateKeyPem(input, pemOptions);
  const supplied = options?.password;
  if (supplied === undefined) {
    throw invalid(
      'PASSWORD_REQUIRED',
      `the private key${where(options?.source)} is encrypted and no password was given`,
    );
  }
  const password = typeof supplied === 'function' ? await supplied() : supplied;
  return decryptCosignKey(input, password, pemOptions);
}
