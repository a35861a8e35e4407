import { invalid } from '../../core/errors.ts';
import { type Credentials, storeCredentials } from '../../registry/credentials.ts';
import type { CliIO } from '../io.ts';
import type { Command } from '../main.ts';
import { cliContext } from '../context.ts';
import { parseCommand } from '../flags.ts';
import { helperRunner, REGISTRY_FLAGS, registryHost } from '../options.ts';
import { promptHidden, promptLine, readAllStdin } from '../prompt.ts';

export const command: Command = {
  summary: 'Store credentials for a registry',
  help: `Usage: vouch login [OPTIONS] REGISTRY

Checks the credentials against the registry, then stores them where docker
does: in the credential helper the Docker configuration names for the
registry, or else in $DOCKER_CONFIG/config.json (default ~/.docker). The
password is never taken from the command line.

Examples:
  vouch login registry.example.com -u alice            # prompts for the password
  printf '%s' "$TOKEN" | vouch login ghcr.io -u bot --password-stdin

Options:
  -u, --username NAME     user name (prompted for on a terminal when missing)
      --password-stdin    read the password from standard input
      --allow-insecure-registry, --ca-file FILE, --timeout SECONDS, --deadline DURATION
                          as for other commands`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(
      args,
      io,
      { registry: REGISTRY_FLAGS },
      {
        username: { type: 'string', short: 'u' },
        'password-stdin': { type: 'boolean', default: false },
      },
    );
    if (positionals.length !== 1) throw invalid('USAGE', 'vouch login takes exactly one REGISTRY');
    const registry = registryHost(positionals[0] as string);
    const username =
      values.username ?? (io.stdin.isTTY === true ? await promptLine(io, 'Username: ') : undefined);
    if (username === undefined || username === '')
      throw invalid('USAGE', 'vouch login needs --username');
    let password: string;
    if (values['password-stdin']) {
      password = await readAllStdin(io);
    } else if (io.stdin.isTTY === true) {
      password = await promptHidden(io, 'Password: ');
    } else {
      throw invalid(
        'USAGE',
        'no terminal to prompt for the password: pipe it in with --password-stdin',
      );
    }
    if (password === '') throw invalid('USAGE', 'the password is empty');
    const credentials: Credentials = { username, password };
    const context = cliContext(io, {
      registry: settings.registry,
      workload: 'short',
      credentials: async () => credentials,
    });
    try {
      await context.stores.client(registry).checkAccess();
    } finally {
      await context.close();
    }
    const runHelper = await helperRunner(io);
    await storeCredentials(registry, credentials, {
      configDir: context.dirs.dockerConfig,
      runHelper,
    });
    io.stderr.write(`Login succeeded for ${registry}\n`);
    return 0;
  },
};
