import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { CliIO } from './io.ts';

/**
 * vouch's cache directory: $VOUCH_CACHE_DIR, else $XDG_CACHE_HOME/vouch, else
 * ~/.cache/vouch. A relative XDG_CACHE_HOME is ignored, as the XDG Base
 * Directory specification requires.
 */
export function vouchCacheDir(io: CliIO): string {
  const explicit = io.env.VOUCH_CACHE_DIR;
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = io.env.XDG_CACHE_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'vouch');
  return join(io.env.HOME ?? homedir(), '.cache', 'vouch');
}
