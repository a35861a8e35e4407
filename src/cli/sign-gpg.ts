/**
 * `vouch sign --gpg-key` (`--sign-by`): GPG simple signing of registry
 * images, loaded only when one of those flags is given.
 */
import { invalid } from '../core/errors.ts';
import { type GpgSignResult, signGpgImages } from '../simple-signing/sign.ts';
import { imageArguments } from './attach-command.ts';
import { failureJson, reportAttach, statusLine } from './attach-output.ts';
import { cliContext } from './context.ts';
import { parseCommand } from './flags.ts';
import { GPG_SIGN_FLAGS, gpgSigner } from './gpg-options.ts';
import { REGISTRIES_D_FLAGS, simpleSigningStores } from './registries-d-options.ts';
import type { CliIO } from './io.ts';
import { concurrencyFlags, OUTPUT_FLAGS, REGISTRY_FLAGS, workloadFor } from './options.ts';
import { vouchVersion } from './version.ts';

export async function runGpgSign(args: readonly string[], io: CliIO): Promise<number> {
  const { positionals, settings } = await parseCommand(
    args,
    io,
    {
      gpg: GPG_SIGN_FLAGS,
      registriesD: REGISTRIES_D_FLAGS,
      format: OUTPUT_FLAGS,
      registry: REGISTRY_FLAGS,
      concurrency: concurrencyFlags(4, 'images signed'),
    },
    {},
  );
  const { gpg, registriesD, format, registry, concurrency } = settings;
  if (positionals.length === 0) throw invalid('USAGE', 'vouch sign needs at least one IMAGE');
  // Everything typed is checked before the key is read or anything is fetched.
  const images = imageArguments(positionals).map((argument) => {
    if (argument.spec.kind !== 'registry') {
      throw invalid(
        'USAGE',
        `${argument.image}: GPG signatures are kept for registry images (a lookaside or the registry's API extension), not for an OCI layout`,
      );
    }
    if (argument.spec.reference.digest !== undefined && argument.spec.reference.tag === undefined) {
      throw invalid(
        'USAGE',
        `${argument.image}: GPG signing records the repository:tag signed, as skopeo copy --sign-by does; name the image by tag`,
      );
    }
    return { ...argument, reference: argument.spec.reference };
  });
  const signer = await gpgSigner(io, gpg);
  const creator = `vouch ${await vouchVersion()}`;
  const context = cliContext(io, { registry, workload: workloadFor(images.length) });
  let results: GpgSignResult[];
  try {
    const stores = await simpleSigningStores(context, registriesD);
    const requests = await Promise.all(
      images.map(async ({ image, spec, target, reference }) => ({
        image,
        store: await context.stores.open(spec),
        reference,
        target,
      })),
    );
    results = await signGpgImages(requests, { signer, stores, creator, concurrency });
  } finally {
    await context.close();
  }
  return reportAttach(io, format, results, {
    json: (result) => ({
      image: result.image,
      ok: result.ok,
      key: signer.fingerprint,
      ...(result.digest === undefined ? {} : { digest: result.digest }),
      ...(result.ok
        ? {
            dockerReference: result.dockerReference,
            outcome: result.outcome,
            location: result.location,
          }
        : { error: failureJson(result.error) }),
    }),
    text: (result) => {
      const lines = [statusLine(result.image, result, 'signed', 'NOT SIGNED')];
      if (result.ok) {
        const what =
          result.outcome === 'unchanged' ? 'already signed with this key in' : 'signed, stored in';
        lines.push(
          `  ${result.digest} as ${result.dockerReference} with ${signer.fingerprint}: ${what} ${result.location}`,
        );
      }
      return `${lines.join('\n')}\n`;
    },
  });
}
