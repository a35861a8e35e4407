/**
 * `vouch notation list IMAGE`: the image's Notary Project signatures, as
 * `notation list` shows them (a tree under the image's digest), with what
 * each manifest says of itself: storage form, envelope format, the
 * thumbprints of its chain. Manifests are read; envelopes are not fetched,
 * and nothing is verified.
 */
import { invalid } from '../core/errors.ts';
import type { NotationEvidence } from '../notation/evidence.ts';
import { NOTATION_ARTIFACT_TYPE } from '../formats/notation/signature-manifest.ts';
import type { NotationSubcommand } from './commands/notation.ts';
import { cliContext } from './context.ts';
import { parseCommand } from './flags.ts';
import { type CliIO, writeJson } from './io.ts';
import { integerFlag, OUTPUT_FLAGS, REGISTRY_FLAGS, requireTarget } from './options.ts';

const CREATED = 'org.opencontainers.image.created';

export const subcommand: NotationSubcommand = {
  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(
      args,
      io,
      { format: OUTPUT_FLAGS, registry: REGISTRY_FLAGS },
      { 'max-signatures': { type: 'string' } },
    );
    if (positionals.length !== 1) throw invalid('USAGE', 'vouch notation list takes one IMAGE');
    const image = positionals[0] as string;
    const maxSignatures = integerFlag('max-signatures', values['max-signatures'], 1, 100_000);
    const context = cliContext(io, { registry: settings.registry, workload: 'short' });
    let evidence: NotationEvidence;
    let location: string;
    try {
      const { gatherNotationSignatures, resolveNotationImage } =
        await import('../notation/evidence.ts');
      const { store, target } = await context.stores.openImage(image);
      const resolved = await resolveNotationImage(store, requireTarget(image, target), image);
      location = `${store.location}@${resolved.descriptor.digest}`;
      evidence = await gatherNotationSignatures(store, resolved, {
        envelopes: false,
        ...(maxSignatures === undefined ? {} : { maxSignatures }),
      });
    } finally {
      await context.close();
    }
    const listed = evidence.signatures.map(({ index, manifest }) => ({
      index,
      digest: manifest.digest,
      form: manifest.form,
      envelopeMediaType: manifest.envelopeMediaType,
      format: manifest.envelopeMediaType === 'application/cose' ? 'cose' : 'jws',
      size: manifest.envelope.size,
      thumbprints: manifest.thumbprints ?? [],
      created: manifest.annotations[CREATED] ?? null,
    }));
    if (settings.format === 'json') {
      writeJson(io, {
        image,
        digest: evidence.image.descriptor.digest,
        mediaType: evidence.image.descriptor.mediaType,
        referrers: evidence.referrersLocation,
        signatures: listed,
        unreadable: evidence.rejected.map(({ index, digest, problem, reason }) => ({
          index,
          digest,
          problem,
          reason,
        })),
        notExamined: evidence.notExamined,
      });
      return 0;
    }
    const entries = [
      ...listed.map((signature) => ({
        index: signature.index,
        line: `${signature.digest} (${signature.format}, ${signature.form} form${signature.created === null ? '' : `, created ${signature.created}`})`,
        details:
          signature.thumbprints.length === 0
            ? ['no thumbprint annotation']
            : signature.thumbprints.map((thumbprint) => `certificate SHA-256 ${thumbprint}`),
      })),
      ...evidence.rejected.map((rejected) => ({
        index: rejected.index,
        line: `${rejected.digest} (unreadable: ${rejected.problem})`,
        details: [rejected.reason],
      })),
    ].sort((a, b) => a.index - b.index);
    const lines = [location];
    if (entries.length === 0) {
      lines.push('└── no Notary Project signatures');
    } else {
      lines.push(`└── ${NOTATION_ARTIFACT_TYPE}`);
      entries.forEach((entry, i) => {
        const last = i === entries.length - 1;
        lines.push(`    ${last ? '└── ' : '├── '}${entry.line}`);
        entry.details.forEach((detail, j) => {
          const lastDetail = j === entry.details.length - 1;
          lines.push(`    ${last ? '    ' : '│   '}${lastDetail ? '└── ' : '├── '}${detail}`);
        });
      });
    }
    if (evidence.notExamined > 0) {
      lines.push(`(${evidence.notExamined} more not listed: beyond --max-signatures)`);
    }
    io.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
