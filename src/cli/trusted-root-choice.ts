/**
 * The Sigstore trusted root a verification uses, as the CLI chooses it:
 * `--trusted-root FILE`, else the root `vouch trusted-root update` cached
 * (refreshed once when its TUF timestamp has expired, never with
 * `--offline`), else the public-good root shipped with vouch
 * (sigstore/trusted-root-source.ts). Says on stderr when the cache was
 * refreshed or is used expired. Loaded with `import()` only when trust
 * material is needed, so a plain key verification never reads any.
 */
import type { TrustedRoot } from '../sigstore/trusted-root.ts';
import { selectTrustedRoot } from '../sigstore/trusted-root-source.ts';
import type { CliIO } from './io.ts';
import { USER_AGENT } from './options.ts';

export async function chooseTrustedRoot(
  io: CliIO,
  options: {
    readonly file?: string | undefined;
    /** The trusted-root cache (context.ts `CliDirs.cache`). */
    readonly cacheDir: string;
    readonly offline: boolean;
    /** The command's deadline, which a TUF refresh is held to too. */
    readonly signal?: AbortSignal | undefined;
  },
): Promise<TrustedRoot> {
  const { trustedRoot, origin } = await selectTrustedRoot({
    ...(options.file === undefined ? {} : { file: options.file }),
    cacheDir: options.cacheDir,
    offline: options.offline,
    update: {
      userAgent: USER_AGENT,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    },
  });
  if (origin.kind === 'tuf-cache' && origin.refreshed) {
    io.stderr.write(
      `vouch: the cached trusted root's TUF timestamp had expired; refreshed it from ${origin.repository.mirrorUrl}\n`,
    );
  } else if (origin.kind === 'tuf-cache' && origin.expired) {
    io.stderr.write(
      `vouch: warning: using the cached trusted root although its TUF timestamp expired at ${origin.repository.metadata.timestamp.expires} (--offline)\n`,
    );
  }
  return trustedRoot;
}
