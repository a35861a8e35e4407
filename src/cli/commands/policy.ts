import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid } from '../../core/errors.ts';
import type { EvidencedImage, PolicyEvidence } from '../../policy/evidence.ts';
import type { ImageDecision } from '../../policy/evaluate.ts';
import type { CompiledPolicy, NotaryAuthority } from '../../policy/types.ts';
import type { ImageLocation } from '../../policy/workloads.ts';
import { exitCodeOf } from '../exit-codes.ts';
import type { CliIO } from '../io.ts';
import { writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import { cliContext } from '../context.ts';
import { type GroupSettings, type Options, parseCommand } from '../flags.ts';
import { concurrencyFlags, REGISTRY_FLAGS, TRUST_DIR_FLAGS, workloadFor } from '../options.ts';
import { REGISTRIES_D_FLAGS, simpleSigningStores } from '../registries-d-options.ts';
import { replaceFile } from '../replace-file.ts';

const COMMON_FLAGS = {
  registry: REGISTRY_FLAGS,
  trustDir: TRUST_DIR_FLAGS,
  concurrency: concurrencyFlags(8, 'images checked'),
  registriesD: REGISTRIES_D_FLAGS,
};

const COMMON_OPTIONS = {
  policy: { type: 'string' },
  output: { type: 'string', short: 'o', default: 'text' },
  help: { type: 'boolean', short: 'h', default: false },
  namespace: { type: 'string', short: 'n' },
  offline: { type: 'boolean', default: false },
} as const satisfies Options;

interface CommonSettings extends GroupSettings<typeof COMMON_FLAGS> {
  readonly offline: boolean;
}

export const command: Command = {
  summary: 'Check images against a policy: one-off, recorded evidence, or deployment files',
  help: `Usage: vouch policy evaluate --policy FILE [--record FILE] [OPTIONS] IMAGE...
       vouch policy test --policy FILE EVIDENCE_FILE
       vouch policy check --policy FILE -f FILE|DIR|- [-f ...] [--fix] [OPTIONS]
       vouch policy import --notation-trust-policy FILE [--trust-store DIR] [IMPORT OPTIONS]
       vouch policy import --cluster-image-policy FILE [--no-match-policy deny|allow|warn] [IMPORT OPTIONS]
       vouch policy import --kyverno FILE [IMPORT OPTIONS]
       vouch policy import --containers-policy FILE [IMPORT OPTIONS]

A policy (YAML or JSON, apiVersion vouch.dev/v1alpha1, kind ImagePolicy; see
the README's "Policies" and schema/policy.schema.json) names authorities
(keys, keyless identities, Docker Content Trust, Notary Project, GPG simple
signing) and rules: the first rule
whose image globs and namespaces match an image decides it; an image no rule
matches gets the policy's defaultAction (deny unless it says otherwise).

evaluate  checks each IMAGE once and prints the decision per image and per
          authority. --record FILE writes the evidence gathered, for
          \`vouch policy test\`.
test      decides the images of a recorded evidence file with the policy, no
          network; an image with \`expect: allowed|warned|denied|unavailable\`
          must get that decision.
check     the CI gate: finds every image in Kubernetes manifests (Pod,
          Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
          ReplicationController; containers, initContainers,
          ephemeralContainers, image volumes; multi-document YAML and List
          kinds, as helm template and kustomize build print them) and
          docker-compose files
          (services.*.image), checks each distinct image once, and prints a
          table: image, file:line, decision, reason. -f takes files,
          directories (every .yaml and .yml inside, recursively) or - (stdin).
          --fix pins each admitted image to its digest in the files
          (image: repo:tag@sha256:...), changing nothing else.
import    converts a notation trust policy (with its trust store: default
          trustpolicy.json's directory/truststore), sigstore policy-controller
          ClusterImagePolicies or Kyverno verifyImages rules into an
          ImagePolicy, written as YAML to stdout or --output-file FILE. A
          construct with no exact ImagePolicy equivalent fails the import,
          named with its path (exit 2): nothing is dropped or weakened.
          --no-match-policy is policy-controller's setting for images no
          ClusterImagePolicy matches (default deny, as there).
          -o json prints a summary with the document instead.

Options:
      --policy FILE           the policy (required)
  -o, --output FORMAT         text (default) or json; check also takes sarif (SARIF 2.1.0)
  -n, --namespace NS          the namespace to evaluate in (check: for objects that
                              name none)
  -f, --filename PATH         check: a file, a directory or - ; repeatable
      --fix                   check: pin admitted images to their digests in the files
      --record FILE           evaluate: write the evidence gathered to FILE (JSON)
${TRUST_DIR_FLAGS.help}
      --offline               never fetch Sigstore trust material
${REGISTRIES_D_FLAGS.help} (gpg authorities)
${COMMON_FLAGS.concurrency.help}

Exit codes: 0 every image allowed (or warned); 1 some image denied (test: or a
decision other than expected); 2 invalid input (policy, files, usage); 3 could
not check some image.

${REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === 'evaluate') return evaluateCommand(rest, io);
    if (sub === 'test') return testCommand(rest, io);
    if (sub === 'check') return checkCommand(rest, io);
    if (sub === 'import') {
      const { importCommand } = await import('../policy-import.ts');
      return importCommand(rest, io);
    }
    throw invalid(
      'USAGE',
      `vouch policy needs evaluate, test, check or import, not ${JSON.stringify(sub ?? '')}`,
    );
  },
};

async function loadPolicy(path: string | undefined): Promise<CompiledPolicy> {
  if (path === undefined) throw invalid('USAGE', 'vouch policy needs --policy FILE');
  const { loadPolicyFile } = await import('../../policy/load.ts');
  return loadPolicyFile(path);
}

function format(value: string | undefined, allowed: readonly string[]): string {
  if (value !== undefined && allowed.includes(value)) return value;
  throw invalid('USAGE', `--output must be ${allowed.join(' or ')}, not "${value}"`);
}

/** The evidence for `subjects`, gathered with the CLI's registries, trust roots and notary servers. */
async function gather(
  io: CliIO,
  policy: CompiledPolicy,
  subjects: readonly { image: string; namespace?: string }[],
  settings: CommonSettings,
): Promise<PolicyEvidence> {
  const { gatherPolicyEvidence } = await import('../../policy/gather.ts');
  const context = cliContext(io, {
    registry: settings.registry,
    workload: workloadFor(subjects.length),
    trustDir: settings.trustDir,
    offline: settings.offline,
  });
  const kinds = new Set([...policy.authorities.values()].map((a) => a.kind));
  try {
    return await gatherPolicyEvidence(policy, subjects, {
      stores: context.stores,
      concurrency: settings.concurrency,
      loadTlogs: () => context.tlogs(),
      ...(kinds.has('keyless')
        ? { keylessTrust: (authority) => context.keylessTrust(authority) }
        : {}),
      ...(kinds.has('notary')
        ? await (async () => {
            const server = await context.notaryServers();
            return {
              notary: {
                trustStore: await context.notaryMetadata(),
                server: (authority: NotaryAuthority, registry: string) =>
                  server(authority.server, registry),
              },
            };
          })()
        : {}),
      ...(kinds.has('gpg')
        ? { gpg: await simpleSigningStores(context, settings.registriesD) }
        : {}),
      ...(kinds.has('notation')
        ? {
            notation: {
              revocation: {
                http: await context.http(),
                cacheDir: join(context.dirs.cache, 'notation-revocation'),
                ...(context.signal === undefined ? {} : { signal: context.signal }),
              },
            },
          }
        : {}),
    });
  } finally {
    await context.close();
  }
}

function exitCode(decisions: readonly ImageDecision[]): number {
  return exitCodeOf(
    decisions.map((d) =>
      d.result === 'denied' ? 'denied' : d.result === 'unavailable' ? 'unavailable' : 'ok',
    ),
  );
}

const RESULT_TEXT: Readonly<Record<ImageDecision['result'], string>> = {
  allowed: 'allowed',
  warned: 'WARNED',
  denied: 'DENIED',
  unavailable: 'could not check',
};

function decisionText(d: ImageDecision): string {
  const lines = [
    `${d.image}${d.namespace === undefined ? '' : ` (namespace ${d.namespace})`}: ${RESULT_TEXT[d.result]}${d.result === 'allowed' && !d.passed ? ' (audit: requirements not met)' : ''}`,
    `  rule: ${d.rule ?? '(none: default action)'}${d.mode === null ? '' : `, mode ${d.mode}`}`,
  ];
  if (d.digest !== undefined) lines.push(`  digest: ${d.digest}`);
  if (d.threshold > 0)
    lines.push(`  authorities: ${d.verified} of ${d.threshold} required verified`);
  for (const a of d.authorities) {
    lines.push(
      `    ${a.authority} (${a.kind}): ${a.status}${a.code === undefined ? '' : ` ${a.code}`}: ${a.message}`,
    );
  }
  for (const a of d.attestations) lines.push(`  attestation ${a.name}: ${a.status}: ${a.message}`);
  if (d.pin !== undefined) lines.push(`  pin: ${d.pin}`);
  lines.push(`  reason: ${d.reason}`);
  return `${lines.join('\n')}\n`;
}

async function evaluateCommand(args: readonly string[], io: CliIO): Promise<number> {
  const { values, positionals, settings } = await parseCommand(args, io, COMMON_FLAGS, {
    ...COMMON_OPTIONS,
    record: { type: 'string' },
  });
  const output = format(values.output, ['text', 'json']);
  if (positionals.length === 0)
    throw invalid('USAGE', 'vouch policy evaluate needs at least one IMAGE');
  const policy = await loadPolicy(values.policy);
  const namespace = values.namespace;
  const evidence = await gather(
    io,
    policy,
    positionals.map((image) => ({ image, ...(namespace === undefined ? {} : { namespace }) })),
    { ...settings, offline: values.offline },
  );
  const { evaluateImage } = await import('../../policy/evaluate.ts');
  const recorded: EvidencedImage[] = evidence.images.map((image) =>
    namespace === undefined ? image : { ...image, namespace },
  );
  const record = values.record;
  if (record !== undefined) {
    await replaceFile(record, `${JSON.stringify({ ...evidence, images: recorded }, null, 2)}\n`);
  }
  const decisions = recorded.map((image) => evaluateImage(image, policy));
  if (output === 'json') {
    writeJson(io, {
      allowed: decisions.every((d) => d.result === 'allowed' || d.result === 'warned'),
      policy: policy.source,
      revision: policy.revision,
      images: decisions,
    });
  } else {
    io.stdout.write(decisions.map(decisionText).join(''));
  }
  return exitCode(decisions);
}

async function testCommand(args: readonly string[], io: CliIO): Promise<number> {
  const { values, positionals } = await parseCommand(args, io, COMMON_FLAGS, COMMON_OPTIONS);
  const output = format(values.output, ['text', 'json']);
  if (positionals.length !== 1) throw invalid('USAGE', 'vouch policy test needs one EVIDENCE_FILE');
  const policy = await loadPolicy(values.policy);
  const path = positionals[0] as string;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw invalid('EVIDENCE_UNREADABLE', `cannot read ${path}: ${(error as Error).message}`);
  }
  const [{ parseEvidence }, { evaluateImage }] = await Promise.all([
    import('../../policy/evidence.ts'),
    import('../../policy/evaluate.ts'),
  ]);
  const evidence = parseEvidence(text, path);
  const results = evidence.images.map((image) => {
    const decision = evaluateImage(image, policy, image.namespace ?? values.namespace);
    return {
      decision,
      expected: image.expect,
      ok: image.expect === undefined || image.expect === decision.result,
    };
  });
  const failed = results.filter((r) => !r.ok);
  if (output === 'json') {
    writeJson(io, {
      ok: failed.length === 0,
      images: results.map((r) => ({ ...r.decision, expected: r.expected ?? null, ok: r.ok })),
    });
  } else {
    for (const { decision, expected, ok } of results) {
      io.stdout.write(decisionText(decision));
      if (expected !== undefined) {
        io.stdout.write(
          ok
            ? `  expected ${expected}: ok\n`
            : `  FAIL: expected ${expected}, got ${decision.result}\n`,
        );
      }
    }
    const expectations = results.filter((r) => r.expected !== undefined).length;
    io.stdout.write(`${expectations - failed.length} of ${expectations} expectations met\n`);
  }
  if (failed.length > 0) return 1;
  return results.some((r) => r.expected === undefined)
    ? exitCode(results.map((r) => r.decision))
    : 0;
}

interface FoundImage extends ImageLocation {
  readonly file: string;
}

async function checkCommand(args: readonly string[], io: CliIO): Promise<number> {
  const { values, settings } = await parseCommand(
    args,
    io,
    COMMON_FLAGS,
    {
      ...COMMON_OPTIONS,
      filename: { type: 'string', short: 'f', multiple: true },
      fix: { type: 'boolean', default: false },
    },
    false,
  );
  const extra = values;
  const output = format(values.output, ['text', 'json', 'sarif']);
  const paths = extra.filename ?? [];
  if (paths.length === 0) throw invalid('USAGE', 'vouch policy check needs -f FILE|DIR|-');
  if (extra.fix === true && paths.includes('-')) {
    throw invalid('USAGE', '--fix rewrites files; it cannot rewrite stdin');
  }
  const policy = await loadPolicy(values.policy);
  const { findImages } = await import('../../policy/workloads.ts');
  const texts = new Map<string, string>();
  for (const path of paths) {
    for (const file of path === '-' ? ['-'] : await manifestFiles(path)) {
      texts.set(file, file === '-' ? await readStdin(io) : await readText(file));
    }
  }
  const found: FoundImage[] = [];
  for (const [file, text] of texts) {
    const name = file === '-' ? '<stdin>' : file;
    for (const location of findImages(text, name)) found.push({ ...location, file: name });
  }
  const namespaceOf = (l: FoundImage) => l.namespace ?? values.namespace;
  const evidence = await gather(
    io,
    policy,
    found.map((l) => {
      const namespace = namespaceOf(l);
      return { image: l.image, ...(namespace === undefined ? {} : { namespace }) };
    }),
    { ...settings, offline: values.offline },
  );
  const { evaluateImage } = await import('../../policy/evaluate.ts');
  const { imageKeyOf } = await import('../../policy/gather.ts');
  const byKey = new Map(evidence.images.map((image) => [imageKeyOf(image.image), image]));
  const rows = found.map((location) => {
    const image = byKey.get(imageKeyOf(location.image)) ?? {
      image: location.image,
      authorities: [],
      attestations: [],
    };
    return {
      location,
      decision: evaluateImage({ ...image, image: location.image }, policy, namespaceOf(location)),
    };
  });

  let pinned = 0;
  if (extra.fix === true) {
    const { pinImages } = await import('../../policy/pin-images.ts');
    // Every file's new text first, so a refusal leaves every file as it was.
    const writes = new Map<string, { file: string; before: string; after: string }>();
    for (const [file, text] of texts) {
      const pins = rows.flatMap(({ location, decision }) =>
        location.file === file && decision.pin !== undefined
          ? [{ location, image: decision.pin }]
          : [],
      );
      if (pins.length === 0) continue;
      const result = pinImages(text, pins, file);
      for (const { pin, reason } of result.refused) {
        io.stderr.write(
          `vouch: ${file}:${pin.location.line}: ${pin.location.image} not pinned: ${reason}\n`,
        );
      }
      pinned += pins.length - result.refused.length;
      if (result.text === text) continue;
      // Two -f naming one file (through a link): it is written once.
      const real = await realpath(file).catch(() => file);
      const planned = writes.get(real);
      if (planned !== undefined && planned.after !== result.text) {
        throw invalid(
          'FILE_CHANGED',
          `${planned.file} and ${file} are one file that changed while read`,
        );
      }
      writes.set(real, { file, before: text, after: result.text });
    }
    for (const { file, before, after } of writes.values())
      await replaceFile(file, after, { expected: before });
  }

  if (output === 'json') {
    writeJson(io, {
      allowed: rows.every((r) => r.decision.result === 'allowed' || r.decision.result === 'warned'),
      policy: policy.source,
      revision: policy.revision,
      images: rows.map((r) => ({
        file: r.location.file,
        line: r.location.line,
        column: r.location.column,
        object: r.location.object,
        ...r.decision,
      })),
    });
  } else if (output === 'sarif') {
    writeJson(io, sarif(policy, rows));
  } else {
    io.stdout.write(table(rows));
    if (extra.fix === true) {
      io.stdout.write(`pinned ${pinned} image reference${pinned === 1 ? '' : 's'} to digests\n`);
    }
  }
  return exitCode(rows.map((r) => r.decision));
}

function table(rows: readonly { location: FoundImage; decision: ImageDecision }[]): string {
  const header = ['IMAGE', 'LOCATION', 'DECISION', 'REASON'];
  const cells = rows.map(({ location, decision }) => [
    location.image,
    `${location.file}:${location.line}`,
    RESULT_TEXT[decision.result],
    decision.reason,
  ]);
  const widths = [0, 1, 2].map((i) =>
    Math.max(header[i]?.length ?? 0, ...cells.map((c) => c[i]?.length ?? 0)),
  );
  const line = (c: readonly string[]) =>
    `${c.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ')}\n`;
  return [header, ...cells].map(line).join('');
}

const SARIF_LEVEL: Readonly<Record<ImageDecision['result'], string>> = {
  allowed: 'note',
  warned: 'warning',
  denied: 'error',
  unavailable: 'error',
};

/** SARIF 2.1.0 (docs.oasis-open.org/sarif/sarif/v2.1.0): one result per image location. */
function sarif(
  policy: CompiledPolicy,
  rows: readonly { location: FoundImage; decision: ImageDecision }[],
) {
  const ruleIds = [...new Set(rows.map((r) => ruleId(r.decision)))];
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'vouch',
            rules: ruleIds.map((id) => ({
              id,
              shortDescription: {
                text:
                  id === 'default-action'
                    ? `images no rule matches (${policy.defaultAction})`
                    : `policy rule ${id.replace(/^rule\//, '')}`,
              },
            })),
          },
        },
        results: rows.map(({ location, decision }) => ({
          ruleId: ruleId(decision),
          level: SARIF_LEVEL[decision.result],
          message: {
            text: `${location.image}: ${RESULT_TEXT[decision.result]}: ${decision.reason}`,
          },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: location.file },
                region: { startLine: location.line, startColumn: location.column },
              },
            },
          ],
          properties: {
            image: location.image,
            result: decision.result,
            ...(decision.digest === undefined ? {} : { digest: decision.digest }),
          },
        })),
      },
    ],
  };
}

function ruleId(decision: ImageDecision): string {
  return decision.rule === null ? 'default-action' : `rule/${decision.rule}`;
}

/** A file, or every .yaml/.yml file under a directory, sorted. */
async function manifestFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw invalid('MANIFEST_UNREADABLE', `cannot read ${path}: ${(error as Error).message}`);
  }
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    if (!/\.ya?ml$/.test(entry.name)) continue;
    const file = join(entry.parentPath, entry.name);
    // A link to a file is read as kubectl reads it (it walks with lstat and opens links).
    if (entry.isFile() || (entry.isSymbolicLink() && (await isFile(file)))) files.push(file);
  }
  return files.sort();
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw invalid('MANIFEST_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`);
  }
}

async function readStdin(io: CliIO): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks).toString('utf8');
}
