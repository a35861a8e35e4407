import { invalid } from '../../core/errors.ts';
import { cliContext } from '../context.ts';
import { parseCommand } from '../flags.ts';
import type { CliIO } from '../io.ts';
import type { Command } from '../main.ts';
import { REGISTRY_FLAGS, requireTarget } from '../options.ts';

export const command: Command = {
  summary: "Print an image's manifest, byte for byte",
  help: `Usage: vouch manifest [OPTIONS] IMAGE

Writes the manifest (or index) exactly as stored, so its sha256 is the image's
digest. Fetched by digest, the bytes are checked against the digest first.

Examples:
  vouch manifest registry.example.com/app:1.0 | sha256sum
  vouch manifest oci:./layout@sha256:...

${REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { positionals, settings } = await parseCommand(
      args,
      io,
      { registry: REGISTRY_FLAGS },
      { help: { type: 'boolean', short: 'h' } },
    );
    if (positionals.length !== 1) throw invalid('USAGE', 'vouch manifest takes exactly one IMAGE');
    const image = positionals[0] as string;
    const context = cliContext(io, { registry: settings.registry, workload: 'short' });
    const stores = context.stores;
    try {
      const { store, target } = await stores.openImage(image);
      const manifest = await store.getManifest(requireTarget(image, target));
      io.stdout.write(manifest.bytes);
      return 0;
    } finally {
      await context.close();
    }
  },
};
