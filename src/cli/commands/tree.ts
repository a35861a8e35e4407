import { hasCode, invalid } from '../../core/errors.ts';
import {
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  COSIGN_SIGN_PREDICATE_TYPE,
  isBundleMediaType,
} from '../../formats/sigstore-bundle.ts';
import type { Digest } from '../../oci/digest.ts';
import type { Descriptor, ParsedManifest } from '../../oci/manifest.ts';
import type { ImageStore } from '../../registry/store.ts';
import type { CliIO } from '../io.ts';
import { writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import { OUTPUT_FLAGS, REGISTRY_FLAGS, requireTarget } from '../options.ts';
import { cliContext } from '../context.ts';
import { parseCommand } from '../flags.ts';
import { attachmentTag } from './triangulate.ts';

interface Entry {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType?: string;
  /** For a Sigstore bundle referrer: the predicate type its listing claims (unverified). */
  readonly bundlePredicateType?: string;
}

interface Attachment {
  /** Where it is looked for: `repo:sha256-<hex>.sig`. */
  readonly location: string;
  /** The attachment manifest's digest, or null when the tag does not exist. */
  readonly manifest: Digest | null;
  /** Its layers (for an index, the manifests it lists). */
  readonly entries: readonly Entry[];
}

const SECTIONS = [
  { key: 'signatures', title: 'signatures' },
  { key: 'attestations', title: 'attestations' },
  { key: 'sboms', title: 'SBOMs' },
] as const;

export const command: Command = {
  summary: 'Show the signatures and other attachments of an image',
  help: `Usage: vouch tree [OPTIONS] IMAGE

Shows what is attached to an image, as cosign tree does: signatures in the
sha256-<hex>.sig tag, attestations in .att, SBOMs in .sbom (one layer each),
and the OCI referrers of the image's digest (through the referrers API, or
the sha256-<hex> fallback tag where the registry has none), where cosign 3
stores its signatures and attestations as Sigstore bundles; a bundle
referrer is shown with the predicate type its listing claims. Nothing is
verified: use vouch verify and vouch verify-attestation for that.

Examples:
  vouch tree registry.example.com/app:1.0
  vouch tree oci:./layout:1.0 --output json

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
    if (positionals.length !== 1) throw invalid('USAGE', 'vouch tree takes one IMAGE');
    const image = positionals[0] as string;
    const context = cliContext(io, { registry, workload: 'short' });
    const stores = context.stores;
    try {
      const { name, store, target } = await stores.openImage(image);
      const checked = requireTarget(image, target);
      const digest = 'digest' in checked ? checked.digest : (await store.resolve(checked)).digest;
      const find = (type: 'signature' | 'attestation' | 'sbom') => {
        const tag = attachmentTag(digest, type);
        return attachment(store, `${store.location}:${tag}`, tag);
      };
      const [signatures, attestations, sboms, referrers] = await Promise.all([
        find('signature'),
        find('attestation'),
        find('sbom'),
        store.referrers(digest),
      ]);
      const tree = {
        image: name,
        digest,
        signatures,
        attestations,
        sboms,
        referrers: referrers.map(entry),
      };
      if (format === 'json') writeJson(io, tree);
      else io.stdout.write(render(store, tree));
      return 0;
    } finally {
      await context.close();
    }
  },
};

async function attachment(store: ImageStore, location: string, tag: string): Promise<Attachment> {
  let manifest: ParsedManifest;
  try {
    manifest = await store.getManifest({ tag });
  } catch (error) {
    if (hasCode(error, 'MANIFEST_UNKNOWN')) {
      return { location, manifest: null, entries: [] };
    }
    throw error;
  }
  const listed =
    manifest.kind === 'image'
      ? manifest.manifest.layers
      : manifest.kind === 'index'
        ? manifest.manifest.manifests
        : manifest.manifest.blobs;
  return { location, manifest: manifest.digest, entries: listed.map(entry) };
}

function entry(descriptor: Descriptor): Entry {
  const predicateType = isBundleMediaType(descriptor.artifactType)
    ? descriptor.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION]
    : undefined;
  return {
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    size: descriptor.size,
    ...(descriptor.artifactType === undefined ? {} : { artifactType: descriptor.artifactType }),
    ...(predicateType === undefined ? {} : { bundlePredicateType: predicateType }),
  };
}

/** How a referrer is shown: a Sigstore bundle is named as such, with what it claims to hold. */
function describeEntry(item: Entry): string {
  const kind = item.artifactType ?? item.mediaType;
  if (!isBundleMediaType(item.artifactType)) return kind;
  const what =
    item.bundlePredicateType === undefined
      ? ''
      : item.bundlePredicateType === COSIGN_SIGN_PREDICATE_TYPE
        ? ': a cosign 3 signature'
        : `: an attestation of ${item.bundlePredicateType}`;
  return `${kind} (Sigstore bundle${what})`;
}

function render(
  store: ImageStore,
  tree: {
    image: string;
    digest: Digest;
    signatures: Attachment;
    attestations: Attachment;
    sboms: Attachment;
    referrers: readonly Entry[];
  },
): string {
  const lines = [`${store.location}@${tree.digest}`];
  const sections: Array<{ title: string; entries: readonly Entry[] }> = SECTIONS.map(
    ({ key, title }) => {
      const found = tree[key];
      return {
        title:
          found.manifest === null
            ? `${title}: none (${found.location})`
            : `${title} (${found.location})`,
        entries: found.entries,
      };
    },
  );
  sections.push({
    title: tree.referrers.length === 0 ? 'referrers: none' : 'referrers',
    entries: tree.referrers,
  });
  sections.forEach((section, i) => {
    const last = i === sections.length - 1;
    lines.push(`${last ? '└── ' : '├── '}${section.title}`);
    section.entries.forEach((item, j) => {
      const branch = j === section.entries.length - 1 ? '└── ' : '├── ';
      lines.push(
        `${last ? '    ' : '│   '}${branch}${item.digest} ${describeEntry(item)} (${item.size} bytes)`,
      );
    });
  });
  return `${lines.join('\n')}\n`;
}
