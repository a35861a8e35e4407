/**
 * notation's configuration directory, `{NOTATION_CONFIG}` (notation-go
 * `dir/path.go`; notation `cmd/notation/main.go` reads $NOTATION_CONFIG),
 * on its own so the CLI can name it without loading what reads the files in
 * it. The CLI passes the environment in; nothing here reads it.
 *
 * https://notaryproject.dev/docs/user-guides/how-to/directory-structure/
 */
import { isAbsolute, join } from 'node:path';

export interface NotationConfigDirInput {
  /** $NOTATION_CONFIG: the directory itself, when set and not empty. */
  readonly notationConfig?: string | undefined;
  /** $XDG_CONFIG_HOME: used when absolute, as Go's os.UserConfigDir does on Linux. */
  readonly xdgConfigHome?: string | undefined;
  /** The home directory: `~/.config/notation` otherwise. */
  readonly home: string;
}

/**
 * `{NOTATION_CONFIG}`: $NOTATION_CONFIG, else `$XDG_CONFIG_HOME/notation`,
 * else `~/.config/notation`. Go's os.UserConfigDir fails on a relative
 * $XDG_CONFIG_HOME and notation then falls back to `./.notation`; vouch
 * ignores it instead, as the XDG Base Directory spec asks, rather than trust
 * a policy in whatever directory it runs in.
 */
export function notationConfigDir(input: NotationConfigDirInput): string {
  if (input.notationConfig !== undefined && input.notationConfig !== '')
    return input.notationConfig;
  const xdg = input.xdgConfigHome;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'notation');
  return join(input.home, '.config', 'notation');
}
