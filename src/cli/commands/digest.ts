import { invalid } from '../../core/errors.ts';
import { cliContext } from '../context.ts';
import { parseCommand } from '../flags.ts';
import type { CliIO } from '../io.ts';
import { writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import { OUTPUT_FLAGS, REGISTRY_FLAGS, requireTarget, workloadFor } from '../options.ts';

export const command: Command = {
  summary: 'Print the digest an image reference resolves to',
  help: `Usage: vouch digest [OPTIONS] IMAGE...

Resolves each image to the digest of its manifest and prints it, one per line.
A tag is resolved through the registry (or the layout's index.json); a digest
is checked to exist.

Examples:
  vouch digest registry.example.com/app:1.0
  vouch digest oci:./layout:latest --output json

Options:
  -o, --output text|json   output format (default text)

${REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { positionals, settings } = await parseCommand(
      args,
      io,
      { format: OUTPUT_FLAGS, registry: REGISTRY_FLAGS },
      {},
    );
    const { format, registry } = settings;
    if (positionals.length === 0) throw invalid('USAGE', 'vouch digest needs at least one IMAGE');
    const context = cliContext(io, { registry, workload: workloadFor(positionals.length) });
    const stores = context.stores;
    try {
      const results = [];
      for (const image of positionals) {
        const { name, store, target } = await stores.openImage(image);
        const descriptor = await store.resolve(requireTarget(image, target));
        results.push({ image: name, ...descriptor });
        if (format === 'text') io.stdout.write(`${descriptor.digest}\n`);
      }
      if (format === 'json') writeJson(io, results);
      return 0;
    } finally {
      await context.close();
    }
  },
};
