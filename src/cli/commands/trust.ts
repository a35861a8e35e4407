/**
 * `vouch trust`: the writing half of Docker Content Trust, shaped like
 * `docker trust` (docker/cli cli/command/trust/), plus `migrate` to cosign.
 * One command with subcommands; everything it loads is loaded only here.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { denied, invalid, isVouchError, type VouchError } from '../../core/errors.ts';
import { readNotaryKeyFile, decodeNotaryPrivateKey } from '../../formats/notary/key-file.ts';
import { readKeyFile } from '../../keys/files.ts';
import { parseReference, repositoryName, type ImageReference } from '../../oci/reference.ts';
import {
  inspectTrust,
  prettyTrust,
  type TrustInspection,
  trustInspectJson,
} from '../../dct/inspect.ts';
import { migrateRepository } from '../../dct/migrate.ts';
import { loadRepository, type TrustWriteOptions } from '../../dct/publish.ts';
import { ROTATABLE_ROLES, type RotatableRole, rotateKey } from '../../dct/rotate.ts';
import { revokeTags, signTag } from '../../dct/sign-tag.ts';
import { addSigner, checkSignerName, removeSigner } from '../../dct/signers.ts';
import { generateSignerKey } from '../../dct/signer-key.ts';
import { exitCodeOf } from '../exit-codes.ts';
import { type CliIO, writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import { type CliContext, cliContext } from '../context.ts';
import { type GroupSettings, type Options, parseCommand } from '../flags.ts';
import { NOTARY_SERVER_FLAGS } from '../notary-options.ts';
import { OUTPUT_FLAGS, REGISTRY_FLAGS, TRUST_DIR_FLAGS } from '../options.ts';
import { KEY_PASSWORD_OPTIONS, loadSigningKey } from '../password.ts';
import { trustKeyStore, trustPassphrase } from '../trust-keys.ts';

/** The flags every subcommand takes, as docker's global ones. */
const COMMON_FLAGS = {
  format: OUTPUT_FLAGS,
  registry: REGISTRY_FLAGS,
  notaryServer: NOTARY_SERVER_FLAGS,
  trustDir: TRUST_DIR_FLAGS,
};

export const command: Command = {
  summary: 'Sign tags with Docker Content Trust, manage its keys and signers, migrate to cosign',
  help: `Usage: vouch trust SUBCOMMAND [OPTIONS]

Docker Content Trust (Notary v1), as \`docker trust\` does it:

  vouch trust key generate NAME [--dir DIR]     new ECDSA P-256 signer key; NAME.pub written to DIR
  vouch trust key load FILE --name NAME         import a key docker or notary wrote (encrypted PEM)
  vouch trust key rotate REPO ROLE              new key for targets, snapshot, timestamp (held by
                                                the server) or root (signed by old and new)
  vouch trust sign IMAGE:TAG                    sign the tag's manifest; initialises the repository
  vouch trust revoke IMAGE[:TAG]                remove the tag's (or every tag's) signature
  vouch trust inspect [--pretty] IMAGE[:TAG]... signed tags, signers and keys
  vouch trust signer add --key PUB NAME REPO    add signer NAME (targets/NAME and targets/releases)
  vouch trust signer remove NAME REPO
  vouch trust migrate IMAGE --key cosign.key [--dry-run]
                                                cosign-sign every tag that verifies through DCT

Keys are stored encrypted in the trust directory's private/ (notary's layout, files 0600)
and also read from $DOCKER_CONFIG/trust/private (~/.docker/trust), where docker keeps them.
Passphrases: $DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE (root keys),
$DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE (the others), then notary's
$NOTARY_{ROOT,TARGETS,SNAPSHOT,DELEGATION}_PASSPHRASE, then a prompt.

Examples:
  vouch trust key generate alice
  vouch trust signer add --key alice.pub alice registry.example.com/team/app
  vouch trust sign registry.example.com/team/app:1.0
  vouch trust inspect --pretty registry.example.com/team/app
  vouch trust migrate registry.example.com/team/app --key cosign.key --dry-run

Options:
${NOTARY_SERVER_FLAGS.help}
      --trust-dir DIR       keys and trusted metadata (default ~/.vouch/trust)
      --pretty              inspect: the table docker prints
      --dir DIR             key generate: where NAME.pub goes (default .)
      --name NAME           key load: the signer name the key is for
      --key FILE            signer add: the signer's public key (repeatable);
                            migrate: the cosign private key to sign with
      --password-file FILE  migrate: the cosign key's password (else $VOUCH_PASSWORD, $COSIGN_PASSWORD)
      --dry-run             migrate: report what would be signed, write nothing
  -o, --output FORMAT       text (default) or json
${REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const [group, action] = args;
    const name = group === 'key' || group === 'signer' ? `${group} ${action}` : `${group}`;
    const subcommand = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
    if (subcommand === undefined) {
      throw invalid(
        'USAGE',
        `unknown subcommand "${args
          .filter((arg) => !arg.startsWith('-'))
          .slice(0, 2)
          .join(' ')}"; see vouch trust --help`,
      );
    }
    const rest = args.slice(name.split(' ').length);
    const { values, positionals, settings } = await parseCommand(
      rest,
      io,
      COMMON_FLAGS,
      subcommand.options,
    );
    const context = cliContext(io, {
      registry: settings.registry,
      workload: 'short',
      trustDir: settings.trustDir,
    });
    try {
      return await subcommand.run({ io, context, settings, positionals, values });
    } finally {
      await context.close();
    }
  },
};

interface Run<O extends Options> {
  readonly io: CliIO;
  readonly context: CliContext;
  readonly settings: GroupSettings<typeof COMMON_FLAGS>;
  readonly positionals: readonly string[];
  readonly values: Awaited<ReturnType<typeof parseCommand<typeof COMMON_FLAGS, O>>>['values'];
}

/** One subcommand: its own flags (refused by the others) and what it does. */
interface Subcommand<O extends Options> {
  readonly options: O;
  run(run: Run<O>): Promise<number>;
}

function subcommand<O extends Options>(options: O, run: (run: Run<O>) => Promise<number>) {
  return { options, run } as Subcommand<Options>;
}

function out(run: { io: CliIO; settings: { format: string } }, text: string, json: unknown): void {
  if (run.settings.format === 'json') writeJson(run.io, json);
  else run.io.stdout.write(text);
}

const SUBCOMMANDS: Readonly<Record<string, Subcommand<Options>>> = {
  'key generate': subcommand({ dir: { type: 'string' } }, async (run) => {
    const name = single(run.positionals, 'vouch trust key generate NAME');
    const generated = await generateSignerKey(
      name,
      trustKeyStore(run.io, run.context.dirs),
      join(run.values.dir ?? '.', `${name}.pub`),
    );
    out(
      run,
      `Successfully generated and loaded private key. Corresponding public key available: ${generated.publicKey}\n`,
      generated,
    );
    return 0;
  }),

  'key load': subcommand({ name: { type: 'string' } }, async (run) => {
    const file = single(run.positionals, 'vouch trust key load FILE --name NAME');
    const name = run.values.name ?? 'signer';
    checkSignerName(name);
    const info = await stat(file).catch(() => undefined);
    // docker/cli key_load.go: a private key readable by others is refused.
    if (info !== undefined && (info.mode & 0o077) !== 0) {
      throw invalid(
        'KEY_FILE_PERMISSIONS',
        `${file} is readable by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it first`,
      );
    }
    const keyStore = trustKeyStore(run.io, run.context.dirs);
    const text = Buffer.from(await readKeyFile(file, 'key file')).toString('utf8');
    const parsed = readNotaryKeyFile(text, file);
    const privateKey = await decodeNotaryPrivateKey(parsed, file, () =>
      trustPassphrase(run.io, {
        role: parsed.headers.role ?? name,
        keyId: '',
        source: file,
        creating: false,
      }),
    );
    const id = await keyStore.add(privateKey, { role: name });
    out(run, `Successfully imported key from ${file}\n`, { name, keyId: id });
    return 0;
  }),

  'key rotate': subcommand({}, async (run) => {
    const [repo, role, ...extra] = run.positionals;
    if (repo === undefined || role === undefined || extra.length > 0) {
      throw invalid('USAGE', 'usage: vouch trust key rotate REPO ROLE');
    }
    if (!(ROTATABLE_ROLES as readonly string[]).includes(role)) {
      throw invalid(
        'USAGE',
        `ROLE must be one of ${ROTATABLE_ROLES.join(', ')}, not ${JSON.stringify(role)}`,
      );
    }
    const reference = parseRepo(repo);
    const rotation = await rotateKey(
      repositoryName(reference),
      role as RotatableRole,
      await writeOptions(run, reference),
    );
    out(
      run,
      `Successfully rotated ${role} key for repository ${rotation.gun}: ${rotation.keyId}\n`,
      rotation,
    );
    return 0;
  }),

  sign: subcommand({}, async (run) => {
    const image = single(run.positionals, 'vouch trust sign IMAGE:TAG');
    const reference = parseRepo(image);
    const tag = reference.tag;
    if (tag === undefined || reference.digest !== undefined) {
      throw invalid('USAGE', `${image}: name a tag to sign (IMAGE:TAG)`);
    }
    const options = await writeOptions(run, reference);
    const manifest = await run.context.stores
      .client(reference.registry)
      .repository(reference.repository)
      .resolve({ tag });
    const result = await signTag(repositoryName(reference), tag, manifest, options);
    out(
      run,
      `${result.initialised ? `Initialized trust data for ${result.gun}\n` : ''}Signed ${result.gun}:${tag} (${result.digest}, ${result.length} bytes) into ${result.roles.join(', ')}\n`,
      result,
    );
    return 0;
  }),

  revoke: subcommand({}, async (run) => {
    const image = single(run.positionals, 'vouch trust revoke IMAGE[:TAG]');
    const reference = parseRepo(image);
    const result = await revokeTags(
      repositoryName(reference),
      reference.tag,
      await writeOptions(run, reference),
    );
    out(
      run,
      result.revoked
        .map((entry) => `Revoked ${result.gun}:${entry.tag} from ${entry.roles.join(', ')}\n`)
        .join(''),
      result,
    );
    return 0;
  }),

  inspect: subcommand({ pretty: { type: 'boolean', default: false } }, async (run) => {
    const { io } = run;
    const images = run.positionals;
    if (images.length === 0)
      throw invalid('USAGE', 'usage: vouch trust inspect [--pretty] IMAGE[:TAG]...');
    const references = images.map((image) => ({ image, reference: parseRepo(image) }));
    const inspect = async ({ image, reference }: (typeof references)[number]) => {
      const gun = repositoryName(reference);
      const repository = await loadRepository(gun, await writeOptions(run, reference));
      if (repository === undefined) {
        // docker: "no signatures or cannot access", exit 1.
        throw denied(
          'NOTARY_NO_TRUST_DATA',
          `no signatures or cannot access ${image}: ${gun} has no trust data`,
        );
      }
      return inspectTrust(image, repository, reference.tag);
    };
    // docker/cli v28.2.2 cli/command/trust/inspect.go runInspect: --pretty prints each
    // reference in turn and stops at the first it cannot inspect; JSON prints every
    // reference it could inspect, `[]` if none, and then fails for the others.
    if (run.values.pretty === true) {
      for (const [index, entry] of references.entries()) {
        io.stdout.write(prettyTrust(await inspect(entry)));
        if (index < references.length - 1) io.stdout.write('\n\n');
      }
      return 0;
    }
    const reports: TrustInspection[] = [];
    const failures: VouchError[] = [];
    for (const entry of references) {
      try {
        reports.push(await inspect(entry));
      } catch (error) {
        if (!isVouchError(error)) throw error;
        failures.push(error);
      }
    }
    io.stdout.write(trustInspectJson(reports));
    for (const failure of failures) io.stderr.write(`vouch: ${failure.message}\n`);
    return exitCodeOf(failures.map((failure) => failure.category));
  }),

  'signer add': subcommand({ key: { type: 'string', multiple: true } }, async (run) => {
    const [name, repo, ...extra] = run.positionals;
    const keyFiles = run.values.key ?? [];
    if (name === undefined || repo === undefined || extra.length > 0 || keyFiles.length === 0) {
      throw invalid('USAGE', 'usage: vouch trust signer add --key PUB NAME REPO');
    }
    const keys: KeyObject[] = [];
    for (const file of keyFiles) keys.push(await readPublicKey(file));
    const reference = parseRepo(repo);
    const result = await addSigner(
      repositoryName(reference),
      name,
      keys,
      await writeOptions(run, reference),
    );
    out(
      run,
      `${result.initialised ? `Initialized trust data for ${result.gun}\n` : ''}Successfully added signer: ${name} to ${result.gun}\n`,
      result,
    );
    return 0;
  }),

  'signer remove': subcommand({}, async (run) => {
    const [name, repo, ...extra] = run.positionals;
    if (name === undefined || repo === undefined || extra.length > 0) {
      throw invalid('USAGE', 'usage: vouch trust signer remove NAME REPO');
    }
    const reference = parseRepo(repo);
    const result = await removeSigner(
      repositoryName(reference),
      name,
      await writeOptions(run, reference),
    );
    out(run, `Successfully removed ${name} from ${result.gun}\n`, result);
    return 0;
  }),

  migrate: subcommand(
    {
      ...KEY_PASSWORD_OPTIONS,
      key: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', default: false },
    },
    async (run) => {
      const image = single(run.positionals, 'vouch trust migrate IMAGE --key cosign.key');
      const keyFiles = run.values.key ?? [];
      const keyFile = keyFiles[0];
      if (keyFile === undefined || keyFiles.length > 1) {
        throw invalid('USAGE', 'vouch trust migrate needs one --key cosign.key');
      }
      const reference = parseRepo(image);
      const signer = await loadSigningKey(run.io, keyFile, run.values);
      const migration = await migrateRepository(image, {
        ...(await writeOptions(run, reference)),
        stores: run.context.stores,
        signer,
        dryRun: run.values['dry-run'] === true,
      });
      const verb = migration.dryRun ? 'would migrate' : 'migrated';
      out(
        run,
        migration.tags
          .map((entry) =>
            entry.status === 'migrated'
              ? `${verb}: ${migration.gun}:${entry.tag} ${entry.digest}\n`
              : `${entry.status}: ${migration.gun}:${entry.tag}: ${entry.reason?.code}: ${entry.reason?.message}\n`,
          )
          .join(''),
        migration,
      );
      // Skipped tags are reported, not errors: they never verified through DCT to begin with.
      return exitCodeOf(
        migration.tags.map((entry) => (entry.status === 'failed' ? 'unavailable' : 'ok')),
      );
    },
  ),
};

function single(values: readonly (string | undefined)[], usage: string): string {
  const [first, ...extra] = values;
  if (first === undefined || extra.length > 0) throw invalid('USAGE', `usage: ${usage}`);
  return first;
}

function parseRepo(text: string): ImageReference {
  return parseReference(text.replace(/^docker:\/\//, ''));
}

/** The notary server, trust store and key store for one repository. */
async function writeOptions(
  run: Run<Options>,
  reference: ImageReference,
): Promise<TrustWriteOptions> {
  const { context } = run;
  return {
    server: await context.notaryServer(run.settings.notaryServer, reference.registry),
    trustStore: await context.notaryMetadata(),
    keyStore: trustKeyStore(run.io, context.dirs),
  };
}

async function readPublicKey(file: string): Promise<KeyObject> {
  const text = Buffer.from(await readKeyFile(file, '--key')).toString('utf8');
  const parsed = readNotaryKeyFile(text, file);
  try {
    if (parsed.type === 'CERTIFICATE') {
      const { X509Certificate } = await import('node:crypto');
      return new X509Certificate(parsed.pem).publicKey;
    }
    return createPublicKey(parsed.pem);
  } catch (error) {
    throw invalid('NOTARY_KEY_INVALID', `${file} is not a public key or certificate`, {
      cause: error,
    });
  }
}
