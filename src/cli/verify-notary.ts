/**
 * `vouch verify --notary`: the Docker Content Trust path of `vouch verify`,
 * loaded only when `--notary` is given so the `--key` path never loads it.
 */
import { invalid } from '../core/errors.ts';
import { readKeyFile } from '../keys/files.ts';
import { parseReference } from '../oci/reference.ts';
import { pinnedKeyIds } from '../dct/pins.ts';
import type { TrustedRepository } from '../dct/update.ts';
import { type NotaryVerification, verifyNotaryImage } from '../dct/verify-notary.ts';
import { cliContext } from './context.ts';
import { parseCommand } from './flags.ts';
import type { CliIO } from './io.ts';
import { notaryServerUrl } from './notary-server-url.ts';
import { NOTARY_FLAGS } from './notary-options.ts';
import { writeJson } from './io.ts';
import { OUTPUT_FLAGS, REGISTRY_FLAGS, TRUST_DIR_FLAGS } from './options.ts';
import { errorJson, finishVerification, statusLine } from './verify-output.ts';

export async function runNotaryVerify(args: readonly string[], io: CliIO): Promise<number> {
  const { positionals, settings } = await parseCommand(
    args,
    io,
    {
      format: OUTPUT_FLAGS,
      registry: REGISTRY_FLAGS,
      notary: NOTARY_FLAGS,
      trustDir: TRUST_DIR_FLAGS,
    },
    {},
  );
  const { format, registry, notary } = settings;
  if (positionals.length === 0)
    throw invalid('USAGE', 'vouch verify --notary needs at least one IMAGE:TAG');
  // Everything the user typed is checked before any network traffic.
  const images = positionals.map((image) => {
    const reference = parseReference(image.replace(/^docker:\/\//, ''));
    if (reference.digest !== undefined) {
      throw invalid('USAGE', `${image}: Docker Content Trust signs tags; name a tag, not a digest`);
    }
    notaryServerUrl(notary.server, reference.registry, registry.allowInsecure);
    return { image, registry: reference.registry };
  });
  const pins: string[] = [];
  for (const path of notary.rootKeys) {
    pins.push(...pinnedKeyIds(await readKeyFile(path, '--notary-root-key'), path));
  }
  const context = cliContext(io, { registry, workload: 'short', trustDir: settings.trustDir });
  const results: NotaryVerification[] = [];
  try {
    const trustStore = await context.notaryMetadata();
    // One update per repository in a run, however many of its tags are named.
    const updated = new Map<string, TrustedRepository>();
    // One after another: each update reads and writes the trust store of its repository.
    for (const { image, registry } of images) {
      results.push(
        await verifyNotaryImage(image, context.stores, {
          server: await context.notaryServer(notary.server, registry),
          trustStore,
          updated,
          ...(pins.length === 0 ? {} : { pinnedRootKeys: pins }),
        }),
      );
    }
  } finally {
    await context.close();
  }

  if (format === 'json') {
    writeJson(io, {
      ok: results.every((result) => result.status === 'verified'),
      images: results.map((result) => ({
        image: result.image,
        gun: result.gun,
        tag: result.tag,
        status: result.status,
        digest: result.digest ?? null,
        length: result.length ?? null,
        role: result.role ?? null,
        signers: result.signers ?? [],
        rejectedRoles: result.rejectedRoles,
        error: errorJson(result.error),
      })),
    });
  } else {
    io.stdout.write(results.map(toText).join(''));
  }
  return finishVerification(io, results);
}

function toText(result: NotaryVerification): string {
  const lines = [statusLine(result.image, result.status, result.error)];
  if (result.digest !== undefined)
    lines.push(`  digest: ${result.digest} (${result.length} bytes)`);
  if (result.role !== undefined) {
    lines.push(`  signed by: ${result.role} (keys ${(result.signers ?? []).join(', ')})`);
  }
  for (const rejected of result.rejectedRoles) {
    lines.push(`  role not trusted: ${rejected.role}: ${rejected.code}: ${rejected.message}`);
  }
  return `${lines.join('\n')}\n`;
}
