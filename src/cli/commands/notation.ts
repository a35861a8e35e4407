/**
 * `vouch notation`: Notary Project signatures, as the notation CLI makes
 * and checks them. A thin dispatcher: each subcommand is its own module,
 * loaded only when it runs, so adding one is one line in SUBCOMMANDS.
 */
import { invalid } from '../../core/errors.ts';
import type { CliIO } from '../io.ts';
import type { Command } from '../main.ts';

const SUBCOMMANDS: Readonly<Record<string, { summary: string; load: () => Promise<Command> }>> = {
  sign: {
    summary: 'Sign images by digest: a JWS or COSE envelope stored as an OCI referrer',
    load: async () => (await import('../notation-sign.ts')).command,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((name) => name.length));
  const lines = Object.entries(SUBCOMMANDS).map(
    ([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`,
  );
  return `Usage: vouch notation SUBCOMMAND [OPTIONS] [ARGS]

Notary Project signatures (notation 1.3), read and written as notation does;
notation's configuration directory is $NOTATION_CONFIG, else
$XDG_CONFIG_HOME/notation, else ~/.config/notation.

Subcommands:
${lines.join('\n')}

Run 'vouch notation SUBCOMMAND --help' for a subcommand's options.`;
}

function subcommandOf(args: readonly string[]) {
  const [name] = args;
  return name !== undefined && Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
}

export const command: Command = {
  summary: 'Notary Project (notation) signatures: sign',
  help: usage(),

  async helpFor(args: readonly string[]): Promise<string> {
    const entry = subcommandOf(args);
    return entry === undefined ? usage() : (await entry.load()).help;
  },

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const entry = subcommandOf(args);
    if (entry === undefined) {
      const name = args[0];
      throw invalid(
        'USAGE',
        name === undefined
          ? 'vouch notation needs a subcommand; see vouch notation --help'
          : `unknown subcommand ${JSON.stringify(name)}; see vouch notation --help`,
      );
    }
    return (await entry.load()).run(args.slice(1), io);
  },
};
