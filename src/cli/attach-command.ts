/**
 * The preamble shared by `vouch sign` and `vouch attest`: the images named
 * (each parsed, and naming a manifest, before the key is decrypted or
 * anything is fetched), the signer (the key decrypted once for every image,
 * so a wrong password stops the command before any write), and the stores
 * the requests are built on, closed however the run ends.
 */
import type { Signer } from '../keys/signer.ts';
import { type ImageSpec, parseImageSpec, specTarget } from '../registry/open.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';
import { attestationSigner } from '../sign/image-signer.ts';
import { type CliContext, cliContext } from './context.ts';
import type { CliIO } from './io.ts';
import { type RegistrySettings, requireTarget, workloadFor } from './options.ts';
import { loadPrivateKeyFile, loadSigningKey, type PasswordFlags } from './password.ts';

/** One IMAGE argument: as typed, parsed, and the manifest it names. */
export interface ImageArgument {
  readonly image: string;
  readonly spec: ImageSpec;
  readonly target: ManifestTarget;
}

/** Parses every IMAGE argument; one without a tag or digest is refused (USAGE). */
export function imageArguments(positionals: readonly string[]): ImageArgument[] {
  return positionals.map((image) => {
    const spec = parseImageSpec(image);
    return { image, spec, target: requireTarget(image, specTarget(spec)) };
  });
}

/**
 * The signer over the private key in `keyPath`: `image` signs `.sig`
 * payloads (`imageSigner`), `attestation` signs DSSE envelopes
 * (`attestationSigner`).
 */
export async function loadSigner(
  io: CliIO,
  keyPath: string,
  values: PasswordFlags,
  use: 'image' | 'attestation',
): Promise<Signer> {
  return use === 'image'
    ? loadSigningKey(io, keyPath, values)
    : attestationSigner(await loadPrivateKeyFile(io, keyPath, values));
}

/**
 * Opens a store for each image, builds its request and runs `attach` on
 * them all; the stores are closed when it ends, however it ends.
 */
export async function attachToImageArguments<Q, T>(
  io: CliIO,
  registry: RegistrySettings,
  images: readonly ImageArgument[],
  toRequest: (argument: ImageArgument, store: ImageStore) => Q,
  attach: (requests: Q[], context: CliContext) => Promise<T>,
): Promise<T> {
  const context = cliContext(io, { registry, workload: workloadFor(images.length) });
  try {
    const requests = await Promise.all(
      images.map(async (argument) => toRequest(argument, await context.stores.open(argument.spec))),
    );
    return await attach(requests, context);
  } finally {
    await context.close();
  }
}
