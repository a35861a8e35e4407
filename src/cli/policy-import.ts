/**
 * `vouch policy import`: a foreign policy converted to an ImagePolicy by
 * src/policy/import/ (which refuses what has no exact equivalent, and
 * checks that the result loads), written as YAML to stdout or a file.
 */
import { open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { invalid, isVouchError, messageOf } from '../core/errors.ts';
import type { ImportResult } from '../policy/import/result.ts';
import { MAX_IMPORT_BYTES } from '../policy/import/foreign.ts';
import type { DefaultAction } from '../policy/types.ts';
import { parseCommand } from './flags.ts';
import type { CliIO } from './io.ts';
import { writeJson } from './io.ts';
import { replaceFile } from './replace-file.ts';

const SOURCES = [
  'notation-trust-policy',
  'cluster-image-policy',
  'kyverno',
  'containers-policy',
] as const;

export async function importCommand(args: readonly string[], io: CliIO): Promise<number> {
  const { values } = await parseCommand(
    args,
    io,
    {},
    {
      'notation-trust-policy': { type: 'string' },
      'trust-store': { type: 'string' },
      'cluster-image-policy': { type: 'string' },
      'no-match-policy': { type: 'string' },
      kyverno: { type: 'string' },
      'containers-policy': { type: 'string' },
      'output-file': { type: 'string' },
      output: { type: 'string', short: 'o', default: 'text' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    false,
  );
  const output = values.output;
  if (output !== 'text' && output !== 'json') {
    throw invalid('USAGE', `--output must be text or json, not ${JSON.stringify(output)}`);
  }
  const given = SOURCES.filter((source) => values[source] !== undefined);
  if (given.length !== 1) {
    throw invalid(
      'USAGE',
      `vouch policy import needs exactly one of ${SOURCES.map((s) => `--${s} FILE`).join(', ')}`,
    );
  }
  const kind = given[0] as (typeof SOURCES)[number];
  const file = values[kind] as string;
  if (values['trust-store'] !== undefined && kind !== 'notation-trust-policy') {
    throw invalid('USAGE', '--trust-store goes with --notation-trust-policy');
  }
  if (values['no-match-policy'] !== undefined && kind !== 'cluster-image-policy') {
    throw invalid('USAGE', '--no-match-policy goes with --cluster-image-policy');
  }
  const noMatch = values['no-match-policy'];
  const defaultAction = noMatch === undefined ? undefined : noMatchPolicy(noMatch);
  const outputFile = values['output-file'];
  const policyDir = outputFile === undefined ? undefined : dirname(resolve(outputFile));
  let result: ImportResult;
  if (kind === 'notation-trust-policy') {
    const { importNotationFiles } = await import('../policy/import/notation-files.ts');
    result = await importNotationFiles(file, {
      // notation keeps its trust stores beside its trust policy: {NOTATION_CONFIG}/truststore.
      trustStoreDir: values['trust-store'] ?? join(dirname(file), 'truststore'),
      ...(policyDir === undefined ? {} : { policyDir }),
    });
  } else if (kind === 'cluster-image-policy') {
    const { importClusterImagePolicies } = await import('../policy/import/cluster-image-policy.ts');
    const text = await readImportFile(file);
    result = importClusterImagePolicies(text, file, {
      ...(defaultAction === undefined ? {} : { noMatchPolicy: defaultAction }),
    });
  } else if (kind === 'containers-policy') {
    const { importContainersPolicyFiles } =
      await import('../policy/import/containers-policy-files.ts');
    result = await importContainersPolicyFiles(file, {
      ...(policyDir === undefined ? {} : { policyDir }),
    });
  } else {
    const { importKyvernoPolicies } = await import('../policy/import/kyverno.ts');
    result = importKyvernoPolicies(await readImportFile(file), file);
  }
  if (outputFile !== undefined) await replaceFile(outputFile, result.text);
  if (output === 'json') {
    writeJson(io, {
      source: file,
      from: kind,
      ...(outputFile === undefined ? {} : { outputFile }),
      rules: result.document.rules.length,
      authorities: Object.keys(result.document.authorities ?? {}).length,
      notes: result.notes,
      policy: result.document,
    });
  } else if (outputFile === undefined) {
    io.stdout.write(result.text);
  } else {
    io.stderr.write(
      `vouch: wrote ${outputFile}: ${result.document.rules.length} rules, ${Object.keys(result.document.authorities ?? {}).length} authorities\n`,
    );
  }
  for (const note of result.notes) io.stderr.write(`vouch: note: ${note}\n`);
  return 0;
}

/** A foreign policy file, refused above MAX_IMPORT_BYTES before it is read whole. */
async function readImportFile(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    if (size > MAX_IMPORT_BYTES) {
      throw invalid('POLICY_IMPORT_INVALID', `${path} is larger than ${MAX_IMPORT_BYTES} bytes`);
    }
    const bytes = await handle.readFile();
    if (bytes.length > MAX_IMPORT_BYTES) {
      throw invalid('POLICY_IMPORT_INVALID', `${path} is larger than ${MAX_IMPORT_BYTES} bytes`);
    }
    return bytes.toString('utf8');
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw invalid('POLICY_IMPORT_INVALID', `cannot read ${path}: ${messageOf(error)}`);
  } finally {
    await handle?.close();
  }
}

function noMatchPolicy(value: string): DefaultAction {
  if (value === 'deny' || value === 'allow' || value === 'warn') return value;
  throw invalid(
    'USAGE',
    `--no-match-policy must be deny, allow or warn, not ${JSON.stringify(value)}`,
  );
}
