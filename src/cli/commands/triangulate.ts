import { invalid } from '../../core/errors.ts';
import { signatureTag } from '../../formats/signature-manifest.ts';
import { type Digest, digestAlgorithm, digestHex } from '../../oci/digest.ts';
import { referrersTag } from '../../registry/referrers-tag.ts';
import type { CliIO } from '../io.ts';
import { writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import { OUTPUT_FLAGS, REGISTRY_FLAGS, requireTarget } from '../options.ts';
import { cliContext } from '../context.ts';
import { parseCommand } from '../flags.ts';

/** cosign's attachment tag suffixes (pkg/oci/remote/options.go); `digest` is the referrers fallback tag. */
const TYPES = ['signature', 'attestation', 'sbom', 'digest'] as const;
type AttachmentType = (typeof TYPES)[number];

const SUFFIXES: Readonly<Record<Exclude<AttachmentType, 'digest'>, string>> = {
  signature: 'sig',
  attestation: 'att',
  sbom: 'sbom',
};

/** The tag cosign uses for an attachment of `digest`: `sha256-<hex>.sig` and so on. */
export function attachmentTag(digest: Digest, type: AttachmentType): string {
  if (type === 'digest') return referrersTag(digest);
  if (type === 'signature') return signatureTag(digest);
  return `${digestAlgorithm(digest)}-${digestHex(digest)}.${SUFFIXES[type]}`;
}

export const command: Command = {
  summary: "Print where an image's signatures are stored",
  help: `Usage: vouch triangulate [OPTIONS] IMAGE

Prints the location of an image's signatures, as cosign triangulate does: the
tag sha256-<hex>.sig beside the image, in the same repository. A tag is
resolved to its digest first; nothing else is fetched, so the location is
printed whether or not anything is stored there.

cosign 3 stores signatures and attestations as Sigstore bundles in OCI
referrers of the image instead: --type digest prints the referrers fallback
tag that lists them where the registry has no referrers API (and in
layouts); vouch tree lists them either way.

Examples:
  vouch triangulate registry.example.com/app:1.0
      registry.example.com/app:sha256-<hex>.sig
  vouch triangulate --type attestation oci:./layout:1.0
      oci:./layout:sha256-<hex>.att
  vouch triangulate registry.example.com/app@sha256:... --output json

Options:
      --type TYPE          signature (default), attestation, sbom, or digest
                           (the referrers fallback tag sha256-<hex>)
  -o, --output text|json   output format (default text)

${REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(
      args,
      io,
      { format: OUTPUT_FLAGS, registry: REGISTRY_FLAGS },
      { type: { type: 'string', default: 'signature' } },
    );
    const { format, registry } = settings;
    const type = values.type as AttachmentType;
    if (!TYPES.includes(type)) {
      throw invalid('USAGE', `--type must be one of ${TYPES.join(', ')}, not "${values.type}"`);
    }
    if (positionals.length !== 1) throw invalid('USAGE', 'vouch triangulate takes one IMAGE');
    const image = positionals[0] as string;
    const context = cliContext(io, { registry, workload: 'short' });
    const stores = context.stores;
    try {
      const { name, store, target } = await stores.openImage(image);
      const checked = requireTarget(image, target);
      const digest = 'digest' in checked ? checked.digest : (await store.resolve(checked)).digest;
      const location = `${store.location}:${attachmentTag(digest, type)}`;
      if (format === 'json') writeJson(io, { image: name, digest, type, location });
      else io.stdout.write(`${location}\n`);
      return 0;
    } finally {
      await context.close();
    }
  },
};
