/**
 * GPG simple signing in the CLI, as flag groups: `--gpg-key` (`--sign-by`)
 * for `vouch sign`, `--gpg-key KEYRING` for `vouch verify`, with the readers
 * that turn them into a signer and a keyring (where the signatures are stored
 * is registries-d-options.ts). Loaded only when a command is given
 * `--gpg-key` or `--sign-by`.
 */
import { existsSync } from 'node:fs';
import { hasCode, invalid } from '../core/errors.ts';
import {
  DEFAULT_MAX_KEYRING_BYTES,
  type GpgKeyring,
  loadKeyring,
  readSigningKey,
} from '../formats/simple-signing/openpgp.ts';
import { type GpgSigner, gpgBinarySigner, keyFileSigner } from '../simple-signing/gpg-signer.ts';
import { readFileCapped } from '../simple-signing/files.ts';
import type { FlagGroup, Options } from './flags.ts';
import type { CliIO } from './io.ts';
import { GPG_SIGN_HELP, GPG_VERIFY_HELP } from './gpg-help.ts';
import { KEY_PASSWORD_OPTIONS, type PasswordFlags, passwordSource } from './password.ts';

const GPG_SIGN_OPTIONS = {
  'gpg-key': { type: 'string' },
  'sign-by': { type: 'string' },
  ...KEY_PASSWORD_OPTIONS,
} as const satisfies Options;

export interface GpgSignSettings {
  /** A secret key file, or a key gpg knows (a fingerprint). */
  readonly key: string;
  readonly password: PasswordFlags;
}

export const GPG_SIGN_FLAGS = {
  options: GPG_SIGN_OPTIONS,
  help: GPG_SIGN_HELP,
  read(values): GpgSignSettings {
    const { 'gpg-key': gpgKey, 'sign-by': signBy } = values;
    if (gpgKey !== undefined && signBy !== undefined) {
      throw invalid('USAGE', '--sign-by is another name for --gpg-key: give one of them');
    }
    const key = gpgKey ?? signBy;
    if (key === undefined) throw invalid('USAGE', 'GPG signing needs --gpg-key (or --sign-by)');
    return { key, password: values };
  },
} as const satisfies FlagGroup<typeof GPG_SIGN_OPTIONS, GpgSignSettings>;

/** A 40-hex fingerprint or a 16-hex key ID, optionally 0x-prefixed, as gpg takes them. */
const KEY_ID = /^(?:0x)?(?:[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})$/;

/** The signer `settings` ask for, ready to sign: a key file read (and decrypted), or gpg's key exported. */
export async function gpgSigner(io: CliIO, settings: GpgSignSettings): Promise<GpgSigner> {
  const { key, password } = settings;
  if (existsSync(key)) {
    const bytes = await readCapped(key, '--gpg-key', 'GPG_SIGNING_KEY_INVALID');
    try {
      return await keyFileSigner(await readSigningKey(bytes, key));
    } catch (error) {
      if (!hasCode(error, 'GPG_PASSPHRASE_REQUIRED')) throw error;
    }
    const passphrase = await passwordSource(io, password, { keyPath: key })();
    return keyFileSigner(await readSigningKey(bytes, key, { passphrase: text(passphrase) }));
  }
  if (!KEY_ID.test(key)) {
    throw invalid(
      'USAGE',
      `--gpg-key ${key}: neither a key file nor a key fingerprint (40 hex digits)`,
    );
  }
  const supplied =
    password['password-file'] !== undefined ||
    io.env.VOUCH_PASSWORD !== undefined ||
    io.env.COSIGN_PASSWORD !== undefined;
  const passphrase = supplied ? text(await passwordSource(io, password)()) : undefined;
  return gpgBinarySigner({
    key,
    env: io.env,
    ...(passphrase === undefined ? {} : { passphrase }),
  });
}

/** A key or keyring file, refused unread when it is over the keyring cap. */
async function readCapped(
  path: string,
  flag: string,
  code: 'GPG_KEYRING_INVALID' | 'GPG_SIGNING_KEY_INVALID',
): Promise<Uint8Array> {
  const bytes = await readFileCapped(path, DEFAULT_MAX_KEYRING_BYTES, {
    tooLarge: (size) =>
      invalid(
        code,
        `${flag} ${path}: ${size} bytes, more than the ${DEFAULT_MAX_KEYRING_BYTES} accepted`,
      ),
    unreadable: (problem, cause) => invalid(code, `${flag} ${path} ${problem}`, { cause }),
  });
  if (bytes === undefined) throw invalid(code, `cannot read ${flag} ${path}: no such file`);
  return bytes;
}

function text(password: string | Uint8Array): string {
  return typeof password === 'string' ? password : new TextDecoder().decode(password);
}

const GPG_VERIFY_OPTIONS = {
  'gpg-key': { type: 'string', multiple: true },
} as const satisfies Options;

export interface GpgVerifySettings {
  readonly keyrings: readonly string[];
}

export const GPG_VERIFY_FLAGS = {
  options: GPG_VERIFY_OPTIONS,
  help: GPG_VERIFY_HELP,
  read(values): GpgVerifySettings {
    const keyrings = values['gpg-key'] ?? [];
    if (keyrings.length === 0) throw invalid('USAGE', 'GPG verification needs --gpg-key KEYRING');
    return { keyrings };
  },
} as const satisfies FlagGroup<typeof GPG_VERIFY_OPTIONS, GpgVerifySettings>;

/** The keyring of every --gpg-key file; one with no key is refused. */
export async function gpgKeyring(settings: GpgVerifySettings): Promise<GpgKeyring> {
  const blobs: Uint8Array[] = [];
  for (const path of settings.keyrings) {
    blobs.push(await readCapped(path, '--gpg-key', 'GPG_KEYRING_INVALID'));
  }
  const keyring = await loadKeyring(blobs, settings.keyrings.join(', '));
  if (keyring.size === 0) {
    throw invalid('GPG_KEYRING_INVALID', `no public keys in ${settings.keyrings.join(', ')}`);
  }
  return keyring;
}
