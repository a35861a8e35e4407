import { invalid } from '../../core/errors.ts';
import { Stores } from '../../registry/open.ts';
import type { CliIO } from '../io.ts';
import { writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import {
  OUTPUT_OPTIONS,
  outputFormat,
  parseFlags,
  REGISTRY_HELP,
  REGISTRY_OPTIONS,
  requireTarget,
  storeOptions,
  workloadFor,
} from '../options.ts';

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

${REGISTRY_HELP}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseFlags(args, { ...OUTPUT_OPTIONS, ...REGISTRY_OPTIONS });
    const format = outputFormat(values.output);
    if (positionals.length === 0) throw invalid('USAGE', 'vouch digest needs at least one IMAGE');
    const stores = new Stores(await storeOptions(io, values, workloadFor(positionals.length)));
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
      await stores.close();
    }
  },
};
