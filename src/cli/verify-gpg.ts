/**
 * `vouch verify --gpg-key KEYRING`: GPG simple-signing verification of
 * registry images, loaded only when `--gpg-key` is given so the cosign
 * paths never load openpgp.js.
 */
import { invalid } from '../core/errors.ts';
import { parseImageSpec, specTarget } from '../registry/open.ts';
import { type GpgImageVerification, verifyGpgImages } from '../simple-signing/verify.ts';
import { cliContext } from './context.ts';
import { parseCommand } from './flags.ts';
import { GPG_VERIFY_FLAGS, gpgKeyring } from './gpg-options.ts';
import { REGISTRIES_D_FLAGS, simpleSigningStores } from './registries-d-options.ts';
import { type CliIO, writeJson } from './io.ts';
import {
  concurrencyFlags,
  OUTPUT_FLAGS,
  REGISTRY_FLAGS,
  requireTarget,
  workloadFor,
} from './options.ts';
import { errorJson, finishVerification, statusLine } from './verify-output.ts';

export async function runGpgVerify(args: readonly string[], io: CliIO): Promise<number> {
  const { positionals, settings } = await parseCommand(
    args,
    io,
    {
      gpg: GPG_VERIFY_FLAGS,
      registriesD: REGISTRIES_D_FLAGS,
      format: OUTPUT_FLAGS,
      registry: REGISTRY_FLAGS,
      concurrency: concurrencyFlags(8, 'images verified'),
    },
    {},
  );
  const { gpg, registriesD, format, registry, concurrency } = settings;
  if (positionals.length === 0) throw invalid('USAGE', 'vouch verify needs at least one IMAGE');
  // Everything typed is checked before any network traffic.
  const images = positionals.map((image) => {
    const spec = parseImageSpec(image);
    const target = requireTarget(image, specTarget(spec));
    if (spec.kind !== 'registry') {
      throw invalid(
        'USAGE',
        `${image}: GPG signatures are kept for registry images (a lookaside or the registry's API extension), not for an OCI layout`,
      );
    }
    return { image, spec, target, reference: spec.reference };
  });
  const keyring = await gpgKeyring(gpg);
  const context = cliContext(io, { registry, workload: workloadFor(images.length) });
  let results: GpgImageVerification[];
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
    results = await verifyGpgImages(requests, { keyring, stores, concurrency });
  } finally {
    await context.close();
  }
  if (format === 'json') {
    writeJson(io, {
      ok: results.every((result) => result.status === 'verified'),
      images: results.map((result) => ({
        image: result.image,
        status: result.status,
        digest: result.digest ?? null,
        signatures: result.signatureStore ?? null,
        verified: result.verified,
        rejected: result.rejected,
        error: errorJson(result.error),
      })),
    });
  } else {
    io.stdout.write(results.map(toText).join(''));
  }
  return finishVerification(io, results);
}

function toText(result: GpgImageVerification): string {
  const lines = [statusLine(result.image, result.status, result.error)];
  if (result.digest !== undefined) lines.push(`  digest: ${result.digest}`);
  if (result.signatureStore !== undefined) lines.push(`  signatures: ${result.signatureStore}`);
  for (const signature of result.verified) {
    lines.push(
      `  valid: ${signature.source} signed with ${signature.fingerprint} for ${signature.dockerReference}`,
    );
  }
  for (const rejected of result.rejected) {
    lines.push(`  not counted: ${rejected.code}: ${rejected.message}`);
  }
  return `${lines.join('\n')}\n`;
}
