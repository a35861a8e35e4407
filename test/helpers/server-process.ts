/**
 * Starting a real server binary for a test (docker-registry, notary-server)
 * so it never outlives the test process. `setpriv --pdeathsig KILL` makes the
 * kernel kill the server when this process dies for any reason (even
 * SIGKILL); an exit hook covers normal exits and systems without setpriv.
 * Output goes to a file, not a pipe: nothing keeps the event loop alive, and
 * the log survives for error messages.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';

const SETPRIV_BIN = '/usr/bin/setpriv';

/** Servers started and not yet stopped, with the temp dir each leaves behind. */
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;

/** Spawns `bin argv...` writing its output to `logFile`; `dir` is removed with it. */
export function spawnServer(
  bin: string,
  argv: readonly string[],
  logFile: string,
  dir: string,
): ChildProcess {
  const logFd = openSync(logFile, 'w');
  const child = existsSync(SETPRIV_BIN)
    ? spawn(SETPRIV_BIN, ['--pdeathsig', 'KILL', '--', bin, ...argv], {
        stdio: ['ignore', logFd, logFd],
      })
    : spawn(bin, argv, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  child.unref();
  live.set(child, dir);
  installExitHook();
  return child;
}

/** Forgets a server that was stopped (or never started). */
export function forgetServer(child: ChildProcess): void {
  live.delete(child);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [proc, tempDir] of live) {
      try {
        proc.kill('SIGKILL');
      } catch {
        // already gone
      }
      rmSync(tempDir, { recursive: true, force: true });
    }
  });
}
