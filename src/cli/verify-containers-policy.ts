/**
 * `vouch verify --containers-policy`: the containers/image policy path of
 * `vouch verify`, loaded only when the flag is given.
 */
import { invalid } from '../core/errors.ts';
import {
  MAX_POLICY_BYTES,
  parseContainersPolicy,
} from '../formats/containers-policy/policy-json.ts';
import { readCappedFile } from '../containers-policy/material.ts';
import {
  type ContainersPolicyVerification,
  verifyContainersPolicyImages,
} from '../containers-policy/verify.ts';
import { DEFAULT_VERIFY_CONCURRENCY } from '../registry/http.ts';
import { argsWithPolicyFile, CONTAINERS_POLICY_FLAGS } from './containers-policy-options.ts';
import { cliContext } from './context.ts';
import { parseCommand } from './flags.ts';
import type { CliIO } from './io.ts';
import { writeJson } from './io.ts';
import { concurrencyFlags, OUTPUT_FLAGS, REGISTRY_FLAGS, workloadFor } from './options.ts';
import { REGISTRIES_D_FLAGS, simpleSigningStores } from './registries-d-options.ts';
import { errorJson, finishVerification, statusLine } from './verify-output.ts';

export async function runContainersPolicyVerify(
  args: readonly string[],
  io: CliIO,
): Promise<number> {
  const { positionals, settings } = await parseCommand(
    argsWithPolicyFile(args),
    io,
    {
      format: OUTPUT_FLAGS,
      registry: REGISTRY_FLAGS,
      policy: CONTAINERS_POLICY_FLAGS,
      registriesD: REGISTRIES_D_FLAGS,
      concurrency: concurrencyFlags(DEFAULT_VERIFY_CONCURRENCY, 'images verified'),
    },
    {},
  );
  const { format, registry, policy: files, registriesD: stores, concurrency } = settings;
  if (positionals.length === 0) {
    throw invalid('USAGE', 'vouch verify --containers-policy needs at least one IMAGE');
  }
  const policy = parseContainersPolicy(
    await readCappedFile(files.policyFile, MAX_POLICY_BYTES),
    files.policyFile,
  );
  const context = cliContext(io, { registry, workload: workloadFor(positionals.length) });
  let results: ContainersPolicyVerification[];
  try {
    const { registriesD, ...simpleSigning } = await simpleSigningStores(context, stores);
    results = await verifyContainersPolicyImages(context.stores, positionals, {
      policy,
      registriesD,
      simpleSigning,
      concurrency,
    });
  } finally {
    await context.close();
  }
  if (format === 'json') {
    writeJson(io, {
      ok: results.every((result) => result.status === 'verified'),
      policy: files.policyFile,
      images: results.map((result) => ({
        image: result.image,
        status: result.status,
        reference: result.reference ?? null,
        digest: result.digest ?? null,
        transport: result.transport ?? null,
        scope: result.scope ?? null,
        requirements: (result.requirements ?? []).map((outcome) => ({
          index: outcome.index,
          type: outcome.type,
          holds: outcome.holds,
          reason: outcome.reason,
          ...(outcome.signatures === undefined ? {} : { signatures: outcome.signatures }),
        })),
        error: errorJson(result.error),
      })),
    });
  } else {
    io.stdout.write(results.map(toText).join(''));
  }
  return finishVerification(io, results);
}

function toText(result: ContainersPolicyVerification): string {
  const status =
    result.status === 'verified'
      ? `${result.image}: allowed`
      : statusLine(result.image, result.status, result.error);
  const lines = [status];
  if (result.digest !== undefined) lines.push(`  digest: ${result.digest}`);
  if (result.reference !== undefined) {
    const section =
      result.scope === undefined
        ? 'default'
        : `transports.${result.transport}[${JSON.stringify(result.scope)}]`;
    lines.push(`  policy: ${section}`);
  }
  for (const outcome of result.requirements ?? []) {
    lines.push(
      `  requirement ${outcome.index} ${outcome.type}: ${outcome.holds ? 'holds' : 'fails'}: ${outcome.reason}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
