import { invalid } from '../../core/errors.ts';
import { eraseCredentials } from '../../registry/credentials.ts';
import type { CliIO } from '../io.ts';
import type { Command } from '../main.ts';
import { cliDirs } from '../context.ts';
import { helperRunner, parseFlags, registryHost } from '../options.ts';

export const command: Command = {
  summary: 'Remove stored credentials for a registry',
  help: `Usage: vouch logout REGISTRY

Removes the registry's credentials from the Docker configuration or its
credential helper.

Example:
  vouch logout registry.example.com`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { positionals } = parseFlags(args, {});
    if (positionals.length !== 1) throw invalid('USAGE', 'vouch logout takes exactly one REGISTRY');
    const registry = registryHost(positionals[0] as string);
    const runHelper = await helperRunner(io);
    const removed = await eraseCredentials(registry, {
      configDir: cliDirs(io).dockerConfig,
      runHelper,
    });
    io.stderr.write(
      removed
        ? `Removed credentials for ${registry}\n`
        : `No credentials were stored for ${registry}\n`,
    );
    return 0;
  },
};
