import { invalid } from '../../core/errors.ts';
import { copyWithAttachments } from '../../sign/copy-attachments.ts';
import type { CliIO } from '../io.ts';
import { writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import { cliContext } from '../context.ts';
import { parseCommand } from '../flags.ts';
import {
  concurrencyFlags,
  COPY_DEADLINE,
  OUTPUT_FLAGS,
  registryFlags,
  requireTarget,
} from '../options.ts';

const COPY_REGISTRY_FLAGS = registryFlags(COPY_DEADLINE);
import { copyProgress, formatBytes } from '../progress.ts';

export const command: Command = {
  summary: 'Copy an image and its signatures between registries and OCI layouts',
  help: `Usage: vouch copy [OPTIONS] SOURCE DESTINATION

Copies an image, with every platform of a multi-platform index, byte for byte:
the digest at the destination is the digest at the source. Blobs stream without
being held in memory, are mounted across repositories of one registry, and are
skipped when the destination has them.

Its cosign attachments come with it, as cosign copy carries them: for the image
and every manifest its index lists, the sha256-<hex>.sig (signatures), .att
(attestations) and .sbom tags that exist at the source are copied unchanged to
the same tags at the destination, so \`vouch verify\` passes there too. Tags that
do not exist are skipped; --no-attachments copies the image alone.

The destination keeps the source's tag unless it names its own; a layout is
created if it does not exist.

Examples:
  vouch copy registry.example.com/app:1.0 oci:./app-layout:1.0
  vouch copy oci:./app-layout:1.0 127.0.0.1:5000/app:1.0
  vouch copy registry.example.com/app@sha256:... mirror.example.com/app:1.0

Options:
  -o, --output text|json   output format (default text)
      --concurrency N      blobs transferred at once (default 4)
      --no-attachments     copy the image only, not its .sig, .att and .sbom tags
      --force              replace attachment tags the destination holds with other
                           content (by default the copy refuses: they are someone's signatures)

${COPY_REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(
      args,
      io,
      {
        format: OUTPUT_FLAGS,
        registry: COPY_REGISTRY_FLAGS,
        concurrency: concurrencyFlags(4, 'blobs transferred'),
      },
      {
        // A flag of its own, not parseArgs' allowNegative, which would negate every boolean.
        'no-attachments': { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
      },
    );
    const { format, registry, concurrency } = settings;
    if (positionals.length !== 2)
      throw invalid('USAGE', 'vouch copy takes a SOURCE and a DESTINATION');
    const [sourceImage, destinationImage] = positionals as [string, string];
    const context = cliContext(io, { registry, workload: 'sustained' });
    const stores = context.stores;
    try {
      const source = await stores.openImage(sourceImage);
      const sourceTarget = requireTarget(sourceImage, source.target);
      const destination = await stores.openImage(destinationImage, { create: true });
      if (destination.target !== undefined && 'digest' in destination.target) {
        throw invalid(
          'USAGE',
          `${destinationImage}: a destination takes a tag, not a digest (the digest is the source's)`,
        );
      }
      const tag = destination.target?.tag ?? ('tag' in sourceTarget ? sourceTarget.tag : undefined);
      const progress = copyProgress(io, `copying ${source.name}`);
      let result: Awaited<ReturnType<typeof copyWithAttachments>>;
      try {
        result = await copyWithAttachments(source.store, sourceTarget, destination.store, {
          concurrency,
          ...(values['no-attachments'] ? { attachments: [] } : {}),
          replaceAttachments: values.force,
          onEvent: progress.onEvent,
          ...(tag === undefined ? {} : { tag }),
        });
      } finally {
        progress.finish();
      }
      const summary = {
        source: source.name,
        destination: destination.name,
        digest: result.descriptor.digest,
        mediaType: result.descriptor.mediaType,
        manifests: result.manifests,
        blobs: result.blobs,
        bytes: result.bytes,
        attachments: result.attachments.map((attachment) => ({
          subject: attachment.subject,
          kind: attachment.suffix,
          tag: attachment.tag,
          digest: attachment.descriptor.digest,
        })),
      };
      if (format === 'json') {
        writeJson(io, summary);
      } else {
        const { copied, mounted, present } = result.blobs;
        io.stdout.write(`${result.descriptor.digest}\n`);
        io.stderr.write(
          `copied ${source.name} to ${destination.name}: ${result.manifests} manifest(s), ${copied} blob(s) copied (${formatBytes(result.bytes)}), ${mounted} mounted, ${present} already present, ${attachmentSummary(result.attachments.length, values['no-attachments'])}\n`,
        );
        for (const attachment of result.attachments) {
          io.stderr.write(`  ${attachment.tag} ${attachment.descriptor.digest}\n`);
        }
      }
      return 0;
    } finally {
      await context.close();
    }
  },
};

function attachmentSummary(count: number, skipped: boolean): string {
  if (skipped) return 'attachments not copied (--no-attachments)';
  return `${count} attachment(s) copied${count > 0 ? ':' : ''}`;
}
