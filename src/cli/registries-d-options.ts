/**
 * `--registries.d DIR`: where GPG simple signatures are stored and looked
 * for, one flag group for every command that reads or writes them (`vouch
 * sign --gpg-key`, `vouch verify --gpg-key`, `vouch verify
 * --containers-policy`). Its help is here without the stores' code, which
 * `simpleSigningStores` loads only when a command uses it.
 */
import type { SimpleSigningStoreOptions } from '../simple-signing/signature-stores.ts';
import type { CliContext } from './context.ts';
import { homeOf } from './context.ts';
import type { FlagGroup, Options } from './flags.ts';

const OPTIONS = { 'registries.d': { type: 'string' } } as const satisfies Options;

export interface RegistriesDSettings {
  /** `--registries.d`; absent: containers/image's default directory. */
  readonly directory?: string;
}

export const REGISTRIES_D_FLAGS = {
  options: OPTIONS,
  help: `      --registries.d DIR      where GPG signatures are stored and looked for: containers/image's
                              registries.d directory (default $HOME/.config/containers/registries.d
                              if it exists, else /etc/containers/registries.d); a registry that
                              serves the signature API extension keeps them itself`,
  read: (values): RegistriesDSettings =>
    values['registries.d'] === undefined ? {} : { directory: values['registries.d'] },
} as const satisfies FlagGroup<typeof OPTIONS, RegistriesDSettings>;

/**
 * The signature stores' options for a run: the registries.d directory found
 * and read once (as containers/image finds it: `--registries.d`, else the
 * user's, else the system's), the built-in lookaside for this user (root's
 * or the rootless one), the context's HTTP client and deadline.
 */
export async function simpleSigningStores(
  context: CliContext,
  settings: RegistriesDSettings,
): Promise<SimpleSigningStoreOptions> {
  const [{ loadRegistriesD, registriesDDirectory }, { builtinDefaultLookaside }] =
    await Promise.all([
      import('../simple-signing/registries-d-files.ts'),
      import('../formats/simple-signing/registries-d.ts'),
    ]);
  const { env } = context.io;
  const directory = await registriesDDirectory({
    ...(settings.directory === undefined ? {} : { override: settings.directory }),
    ...(env.HOME === undefined || env.HOME === '' ? {} : { home: env.HOME }),
  });
  return {
    registriesD: await loadRegistriesD(directory),
    builtinLookaside: builtinDefaultLookaside({
      root: process.geteuid?.() === 0,
      home: homeOf(context.io),
    }),
    http: await context.http(),
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  };
}
