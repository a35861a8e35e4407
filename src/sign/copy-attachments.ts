/**
 * Copying an image together with what cosign stores beside it, as `cosign
 * copy` does (sigstore/cosign cmd/cosign/cli/copy/copy.go): the image is
 * copied first (registry/copy.ts), then, for the image and every manifest
 * its index lists (nested indexes included, as cosign's walk.SignedEntity
 * visits them), each of the `sha256-<hex>.sig`, `.att` and `.sbom` tags that
 * exists in the source is copied to the same tag at the destination, byte
 * for byte, so the attachment manifest keeps its digest.
 *
 * A tag that does not exist is the normal case (most images have no SBOM,
 * the children of an index are often unsigned) and is skipped, as cosign
 * skips a 404; every other failure fails the copy with its own category.
 *
 * An attachment tag the destination already holds with other content is
 * someone's signatures: it is never overwritten unless `replaceAttachments`
 * says so (cosign refuses likewise without -f). All attachment tags are
 * checked before the first is written, so a refused copy writes none.
 */
import { createLimiter } from '../core/concurrency.ts';
import { hasCode, invalid } from '../core/errors.ts';
import { type AttachmentSuffix, attachmentTag } from '../formats/cosign-signature.ts';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import { type CopyOptions, type CopyResult, copyImage } from '../registry/copy.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';

/** What `cosign copy` carries by default, in its order. */
export const ATTACHMENT_SUFFIXES: readonly AttachmentSuffix[] = ['sig', 'att', 'sbom'];

export interface CopyWithAttachmentsOptions extends CopyOptions {
  /** Which attachments to carry: all of ATTACHMENT_SUFFIXES by default; none copies the image alone. */
  readonly attachments?: readonly AttachmentSuffix[];
  /** Replace attachment tags the destination holds with other content (default: refuse). */
  readonly replaceAttachments?: boolean;
}

export interface CopiedAttachment {
  /** The manifest the attachment belongs to: the image, or one its index lists. */
  readonly subject: Digest;
  readonly suffix: AttachmentSuffix;
  /** `sha256-<hex>.<suffix>`, the same at both ends. */
  readonly tag: string;
  /** The attachment manifest, unchanged. */
  readonly descriptor: Descriptor;
}

export interface CopyWithAttachmentsResult extends CopyResult {
  /** The image's attachments first, then its children's, each in ATTACHMENT_SUFFIXES order. */
  readonly attachments: readonly CopiedAttachment[];
}

export async function copyWithAttachments(
  source: ImageStore,
  target: ManifestTarget,
  destination: ImageStore,
  options: CopyWithAttachmentsOptions = {},
): Promise<CopyWithAttachmentsResult> {
  const {
    attachments: suffixes = ATTACHMENT_SUFFIXES,
    replaceAttachments = false,
    ...copyOptions
  } = options;
  // Every manifest the copy pushes (children first, the image last) is a subject.
  const pushed: Digest[] = [];
  const image = await copyImage(source, target, destination, {
    ...copyOptions,
    onEvent: (event) => {
      if (event.type === 'manifest') pushed.push(event.descriptor.digest);
      copyOptions.onEvent?.(event);
    },
  });
  const top = image.descriptor.digest;
  const subjects = [top, ...new Set(pushed.filter((digest) => digest !== top))];

  const limit = createLimiter(options.concurrency ?? 4);
  const found = (
    await Promise.all(
      subjects.flatMap((subject) =>
        suffixes.map((suffix) =>
          limit(async () => {
            const tag = attachmentTag(subject, suffix);
            const descriptor = await resolveIfPresent(source, tag);
            if (descriptor === undefined) return undefined;
            const existing = await resolveIfPresent(destination, tag);
            return { subject, suffix, tag, descriptor, existing };
          }),
        ),
      ),
    )
  ).filter((entry) => entry !== undefined);

  const conflict = found.find(
    (entry) => entry.existing !== undefined && entry.existing.digest !== entry.descriptor.digest,
  );
  if (conflict !== undefined && !replaceAttachments) {
    throw invalid(
      'ATTACHMENT_EXISTS',
      `${destination.location}:${conflict.tag} already holds ${conflict.existing?.digest}, not the source's ${conflict.descriptor.digest}; copying would replace the destination's ${conflict.suffix === 'sig' ? 'signatures' : 'attachments'} (use --force to replace them)`,
    );
  }

  const copied = await Promise.all(
    found.map(({ subject, suffix, tag, descriptor, existing }) =>
      limit(async (): Promise<CopiedAttachment> => {
        if (existing?.digest === descriptor.digest) return { subject, suffix, tag, descriptor };
        const result = await copyImage(source, { digest: descriptor.digest }, destination, {
          ...copyOptions,
          tag,
        });
        return { subject, suffix, tag, descriptor: result.descriptor };
      }),
    ),
  );
  return { ...image, attachments: copied };
}

/** The descriptor `tag` points to, or undefined when the store has no such tag. */
async function resolveIfPresent(store: ImageStore, tag: string): Promise<Descriptor | undefined> {
  try {
    return await store.resolve({ tag });
  } catch (error) {
    if (hasCode(error, 'MANIFEST_UNKNOWN')) return undefined;
    throw error;
  }
}
