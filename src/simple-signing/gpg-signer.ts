/**
 * Who signs a GPG simple-signing payload: a secret key file through
 * openpgp.js, or a key in a GnuPG home through the `gpg` binary, as
 * containers/image's gpgme mechanism signs (`gpg --sign`, binary, not text
 * mode, the passphrase through loopback pinentry when one is given:
 * https://github.com/containers/image/blob/main/signature/mechanism_gpgme.go
 * `SignWithPassphrase`). Only signing may use `gpg`; verification never
 * does. Each signer also gives its public key, so a signer can tell its own
 * signatures apart (sign.ts adds no second one).
 */
import { spawn } from 'node:child_process';
import { type VouchError, invalid, messageOf, unavailable } from '../core/errors.ts';
import {
  type GpgKeyring,
  type GpgSigningKey,
  loadKeyring,
  signMessage,
} from '../formats/simple-signing/openpgp.ts';

export interface GpgSigner {
  /** The signing key's primary fingerprint, uppercase hex. */
  readonly fingerprint: string;
  /** The signer's public key, to recognise signatures it made. */
  readonly publicKeys: GpgKeyring;
  sign(payload: Uint8Array): Promise<Uint8Array>;
}

/** A signer over a secret key read with `readSigningKey`. */
export async function keyFileSigner(key: GpgSigningKey): Promise<GpgSigner> {
  return {
    fingerprint: key.fingerprint,
    publicKeys: await loadKeyring([key.privateKey.toPublic().write()], 'the signing key'),
    sign: (payload) => signMessage(payload, key),
  };
}

export interface GpgBinaryOptions {
  /** The key as gpg names it (a fingerprint, as `skopeo --sign-by` takes). */
  readonly key: string;
  /** The environment gpg runs in (GNUPGHOME, HOME, PATH, GPG_AGENT_INFO...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly passphrase?: string;
  /** The gpg program; `gpg` on PATH unless given. */
  readonly program?: string;
  readonly timeoutMs?: number;
}

const DEFAULT_GPG_TIMEOUT_MS = 60_000;
const MAX_GPG_OUTPUT_BYTES = 4 * 1024 * 1024;

/**
 * A signer through `gpg`: the key's public part exported once (exactly one
 * key must match), then each payload signed with `gpg --sign`. Throws
 * `invalid` GPG_SIGNING_KEY_INVALID when gpg has no such key or cannot sign.
 */
export async function gpgBinarySigner(options: GpgBinaryOptions): Promise<GpgSigner> {
  const { key } = options;
  const exported = await runGpg(options, ['--export', '--', key], new Uint8Array(), 'export');
  if (exported.byteLength === 0) {
    throw invalid('GPG_SIGNING_KEY_INVALID', `gpg has no key ${JSON.stringify(key)}`);
  }
  const publicKeys = await loadKeyring([exported], `gpg --export ${key}`);
  const [fingerprint, ...others] = publicKeys.fingerprints;
  if (fingerprint === undefined || others.length > 0) {
    throw invalid(
      'GPG_SIGNING_KEY_INVALID',
      `${JSON.stringify(key)} names ${publicKeys.size} keys in gpg's keyring; give one fingerprint`,
    );
  }
  const passphrase = options.passphrase;
  const signArgs = [
    '--sign',
    '--local-user',
    key,
    ...(passphrase === undefined ? [] : ['--pinentry-mode', 'loopback', '--passphrase-fd', '3']),
  ];
  return {
    fingerprint,
    publicKeys,
    sign: (payload) => runGpg(options, signArgs, payload, 'sign', passphrase),
  };
}

/** Runs gpg non-interactively on `input`; its stdout, or a VouchError with its stderr. */
function runGpg(
  options: GpgBinaryOptions,
  args: readonly string[],
  input: Uint8Array,
  what: string,
  passphrase?: string,
): Promise<Uint8Array> {
  const program = options.program ?? 'gpg';
  const timeoutMs = options.timeoutMs ?? DEFAULT_GPG_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['--batch', '--no-tty', '--yes', ...args], {
      stdio: passphrase === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', 'pipe'],
      env: Object.fromEntries(
        Object.entries(options.env).filter(
          (entry): entry is [string, string] => entry[1] !== undefined,
        ),
      ),
      shell: false,
      windowsHide: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (outcome: { error: VouchError } | { output: Uint8Array }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if ('error' in outcome) {
        child.kill('SIGKILL');
        reject(outcome.error);
      } else {
        resolve(outcome.output);
      }
    };
    const timer = setTimeout(
      () =>
        finish({
          error: unavailable(
            'GPG_FAILED',
            `gpg ${what} did not finish within ${timeoutMs / 1000} s`,
          ),
        }),
      timeoutMs,
    );
    child.once('error', (error) =>
      finish({
        error: invalid('GPG_SIGNING_KEY_INVALID', `cannot run ${program}: ${messageOf(error)}`, {
          cause: error,
        }),
      }),
    );
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_GPG_OUTPUT_BYTES) {
        finish({
          error: unavailable(
            'GPG_FAILED',
            `gpg ${what} wrote more than ${MAX_GPG_OUTPUT_BYTES} bytes`,
          ),
        });
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 64) stderr.push(chunk);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    if (passphrase !== undefined) {
      const fd3 = child.stdio[3] as NodeJS.WritableStream & {
        on: (e: string, f: () => void) => void;
      };
      fd3.on('error', () => {});
      fd3.end(`${passphrase}\n`);
    }
    child.once('close', (code) => {
      if (code === 0) {
        finish({ output: new Uint8Array(Buffer.concat(stdout)) });
        return;
      }
      const said = Buffer.concat(stderr).toString('utf8').trim().split('\n').slice(-3).join('; ');
      finish({
        error: invalid(
          'GPG_SIGNING_KEY_INVALID',
          `gpg ${what} failed (exit ${String(code)}): ${said}`,
        ),
      });
    });
  });
}
