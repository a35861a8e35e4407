/**
 * The `critical.identity.docker-reference` a signature records.
 *
 * cosign records the repository the image was signed in, without tag or
 * digest: go-containerregistry's `Repository.Name()`, Docker Hub spelled
 * `index.docker.io` (docs/formats.md "Cosign signatures", go-containerregistry
 * pkg/name/repository.go; `cosignDockerReference`).
 * Verifiers bind on the digest; the reference is only checked when asked
 * (`vouch verify --signed-identity`, containers/image's `signedIdentity`).
 *
 * An OCI layout has no registry name. By default its signatures record the
 * layout as it was named, without tag or digest (`oci:./app-layout`): it
 * says where the image was signed and cannot be mistaken for a registry
 * repository. An image signed in a layout and published later should be
 * signed with the repository it will be published to as its identity
 * (`vouch sign --signed-identity registry.example.com/app oci:./app:1.0`),
 * so that `--signed-identity` checks pass there.
 */
import { invalid } from '../core/errors.ts';
import { cosignDockerReference } from '../formats/simple-signing.ts';
import { parseReference } from '../oci/reference.ts';
import type { ImageSpec } from '../registry/open.ts';

/** The docker-reference cosign would record for an image, or the layout's tag-less name. */
export function defaultDockerReference(spec: ImageSpec): string {
  if (spec.kind === 'registry') return cosignDockerReference(spec.reference);
  return `oci:${spec.path}`;
}

/**
 * A user-given identity to record instead (cosign's deprecated
 * `--sign-container-identity`): a registry repository, optionally with a tag,
 * normalised as cosign writes names (`ubuntu` → `index.docker.io/library/ubuntu`).
 * A tag is kept, as containers/image records it, and then
 * `--signed-identity` with that tag must match exactly. A digest is refused:
 * the digest signed is always the one resolved.
 */
export function parseSignedIdentity(text: string): string {
  const reference = parseReference(text);
  if (reference.digest !== undefined) {
    throw invalid(
      'INVALID_IDENTITY',
      `the signed identity "${text}" has a digest; give a repository (registry/name) or repository:tag`,
    );
  }
  const repository = cosignDockerReference(reference);
  return reference.tag === undefined ? repository : `${repository}:${reference.tag}`;
}
