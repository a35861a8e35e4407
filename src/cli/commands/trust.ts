/**
 * `vouch trust`: the writing half of Docker Content Trust, shaped like
 * `docker trust` (docker/cli cli/command/trust/), plus `migrate` to cosign.
 * One command with subcommands; everything it loads is loaded only here.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { denied, invalid, isVouchError, type VouchError } from '../../core/errors.ts';
import {
  encodeNotaryPublicKey,
  readNotaryKeyFile,
  decodeNotaryPrivateKey,
} from '../../formats/notary/key-file.ts';
import { readKeyFile, writeFileSafely } from '../../keys/files.ts';
import { parseReference, repositoryName, type ImageReference } from '../../oci/reference.ts';
import { HttpClient } from '../../registry/http.ts';
import { Stores } from '../../registry/open.ts';
import {
  inspectTrust,
  prettyTrust,
  type TrustInspection,
  trustInspectJson,
} from '../../dct/inspect.ts';
import { migrateRepository } from '../../dct/migrate.ts';
import { NotaryServer } from '../../dct/notary-server.ts';
import { loadRepository, type TrustWriteOptions } from '../../dct/publish.ts';
import { ROTATABLE_ROLES, type RotatableRole, rotateKey } from '../../dct/rotate.ts';
import { revokeTags, signTag } from '../../dct/sign-tag.ts';
import { addSigner, checkSignerName, removeSigner } from '../../dct/signers.ts';
import { NotaryMetadataStore } from '../../dct/metadata-store.ts';
import { exitCodeOf } from '../exit-codes.ts';
import { type CliIO, writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import {
  credentialLookup,
  OUTPUT_OPTIONS,
  outputFormat,
  parseFlags,
  REGISTRY_HELP,
  REGISTRY_OPTIONS,
  storeOptions,
} from '../options.ts';
import { KEY_PASSWORD_OPTIONS, loadSigningKey } from '../password.ts';
import { trustKeyStore, trustPassphrase, vouchTrustDir } from '../trust-keys.ts';
import { notaryServerUrl } from '../notary-server-url.ts';

const COMMON_OPTIONS = {
  ...OUTPUT_OPTIONS,
  ...REGISTRY_OPTIONS,
  'notary-server': { type: 'string' },
  'trust-dir': { type: 'string' },
} as const;

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
      --notary-server URL   the notary server (default $DOCKER_CONTENT_TRUST_SERVER, else
                            https://notary.docker.io for docker.io, else https://REGISTRY)
      --trust-dir DIR       keys and trusted metadata (default ~/.vouch/trust)
      --pretty              inspect: the table docker prints
      --dir DIR             key generate: where NAME.pub goes (default .)
      --name NAME           key load: the signer name the key is for
      --key FILE            signer add: the signer's public key (repeatable);
                            migrate: the cosign private key to sign with
      --password-file FILE  migrate: the cosign key's password (else $VOUCH_PASSWORD, $COSIGN_PASSWORD)
      --dry-run             migrate: report what would be signed, write nothing
  -o, --output FORMAT       text (default) or json
${REGISTRY_HELP}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseFlags(args, {
      ...COMMON_OPTIONS,
      ...KEY_PASSWORD_OPTIONS,
      pretty: { type: 'boolean', default: false },
      dir: { type: 'string' },
      name: { type: 'string' },
      key: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', default: false },
    });
    const format = outputFormat(values.output);
    const [group, action, ...rest] = positionals;
    const trustDir = vouchTrustDir(values['trust-dir']);
    const out = (text: string, json: unknown) =>
      format === 'json' ? writeJson(io, json) : io.stdout.write(text);
    switch (`${group} ${group === 'key' || group === 'signer' ? action : ''}`.trim()) {
      case 'key generate': {
        const name = single(rest, 'vouch trust key generate NAME');
        checkSignerName(name);
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const path = join(values.dir ?? '.', `${name}.pub`);
        if (
          await stat(path).then(
            () => true,
            () => false,
          )
        ) {
          throw invalid('KEY_FILE_EXISTS', `${path} already exists`);
        }
        // The private key first (it needs the passphrase), as docker does: no stray NAME.pub.
        const id = await trustKeyStore(io, trustDir).add(privateKey, { role: name });
        await writeFileSafely(path, encodeNotaryPublicKey(publicKey, name), { mode: 0o644 });
        out(
          `Successfully generated and loaded private key. Corresponding public key available: ${path}\n`,
          {
            name,
            keyId: id,
            publicKey: path,
          },
        );
        return 0;
      }
      case 'key load': {
        const file = single(rest, 'vouch trust key load FILE --name NAME');
        const name = values.name ?? 'signer';
        checkSignerName(name);
        const info = await stat(file).catch(() => undefined);
        // docker/cli key_load.go: a private key readable by others is refused.
        if (info !== undefined && (info.mode & 0o077) !== 0) {
          throw invalid(
            'KEY_FILE_PERMISSIONS',
            `${file} is readable by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it first`,
          );
        }
        const keyStore = trustKeyStore(io, trustDir);
        const text = Buffer.from(await readKeyFile(file, 'key file')).toString('utf8');
        const parsed = readNotaryKeyFile(text, file);
        const privateKey = await decodeNotaryPrivateKey(parsed, file, () =>
          trustPassphrase(io, {
            role: parsed.headers.role ?? name,
            keyId: '',
            source: file,
            creating: false,
          }),
        );
        const id = await keyStore.add(privateKey, { role: name });
        out(`Successfully imported key from ${file}\n`, { name, keyId: id });
        return 0;
      }
      case 'key rotate': {
        const [repo, role, ...extra] = rest;
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
        const rotation = await withContext(io, values, reference, (options) =>
          rotateKey(repositoryName(reference), role as RotatableRole, options),
        );
        out(
          `Successfully rotated ${role} key for repository ${rotation.gun}: ${rotation.keyId}\n`,
          rotation,
        );
        return 0;
      }
      case 'sign': {
        const image = single(
          [action, ...rest].filter((x) => x !== undefined),
          'vouch trust sign IMAGE:TAG',
        );
        const reference = parseRepo(image);
        const tag = reference.tag;
        if (tag === undefined || reference.digest !== undefined) {
          throw invalid('USAGE', `${image}: name a tag to sign (IMAGE:TAG)`);
        }
        const result = await withContext(io, values, reference, async (options, stores) => {
          const manifest = await stores
            .client(reference.registry)
            .repository(reference.repository)
            .resolve({ tag });
          return signTag(repositoryName(reference), tag, manifest, options);
        });
        out(
          `${result.initialised ? `Initialized trust data for ${result.gun}\n` : ''}Signed ${result.gun}:${tag} (${result.digest}, ${result.length} bytes) into ${result.roles.join(', ')}\n`,
          result,
        );
        return 0;
      }
      case 'revoke': {
        const image = single(
          [action, ...rest].filter((x) => x !== undefined),
          'vouch trust revoke IMAGE[:TAG]',
        );
        const reference = parseRepo(image);
        const result = await withContext(io, values, reference, (options) =>
          revokeTags(repositoryName(reference), reference.tag, options),
        );
        out(
          result.revoked
            .map((entry) => `Revoked ${result.gun}:${entry.tag} from ${entry.roles.join(', ')}\n`)
            .join(''),
          result,
        );
        return 0;
      }
      case 'inspect': {
        const images = [action, ...rest].filter((x): x is string => x !== undefined);
        if (images.length === 0)
          throw invalid('USAGE', 'usage: vouch trust inspect [--pretty] IMAGE[:TAG]...');
        const references = images.map((image) => ({ image, reference: parseRepo(image) }));
        const inspect = async ({ image, reference }: (typeof references)[number]) => {
          const gun = repositoryName(reference);
          const repository = await withContext(io, values, reference, (options) =>
            loadRepository(gun, options),
          );
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
        if (values.pretty) {
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
      }
      case 'signer add': {
        const [name, repo, ...extra] = rest;
        const keyFiles = values.key ?? [];
        if (name === undefined || repo === undefined || extra.length > 0 || keyFiles.length === 0) {
          throw invalid('USAGE', 'usage: vouch trust signer add --key PUB NAME REPO');
        }
        const keys: KeyObject[] = [];
        for (const file of keyFiles) keys.push(await readPublicKey(file));
        const reference = parseRepo(repo);
        const result = await withContext(io, values, reference, (options) =>
          addSigner(repositoryName(reference), name, keys, options),
        );
        out(
          `${result.initialised ? `Initialized trust data for ${result.gun}\n` : ''}Successfully added signer: ${name} to ${result.gun}\n`,
          result,
        );
        return 0;
      }
      case 'signer remove': {
        const [name, repo, ...extra] = rest;
        if (name === undefined || repo === undefined || extra.length > 0) {
          throw invalid('USAGE', 'usage: vouch trust signer remove NAME REPO');
        }
        const reference = parseRepo(repo);
        const result = await withContext(io, values, reference, (options) =>
          removeSigner(repositoryName(reference), name, options),
        );
        out(`Successfully removed ${name} from ${result.gun}\n`, result);
        return 0;
      }
      case 'migrate': {
        const image = single(
          [action, ...rest].filter((x) => x !== undefined),
          'vouch trust migrate IMAGE --key cosign.key',
        );
        const keyFile = (values.key ?? [])[0];
        if (keyFile === undefined || (values.key ?? []).length > 1) {
          throw invalid('USAGE', 'vouch trust migrate needs one --key cosign.key');
        }
        const reference = parseRepo(image);
        const signer = await loadSigningKey(io, keyFile, values);
        const migration = await withContext(io, values, reference, (options, stores) =>
          migrateRepository(image, { ...options, stores, signer, dryRun: values['dry-run'] }),
        );
        const verb = migration.dryRun ? 'would migrate' : 'migrated';
        out(
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
      }
      default:
        throw invalid(
          'USAGE',
          `unknown subcommand "${positionals.slice(0, 2).join(' ')}"; see vouch trust --help`,
        );
    }
  },
};

function single(values: readonly (string | undefined)[], usage: string): string {
  const [first, ...extra] = values;
  if (first === undefined || extra.length > 0) throw invalid('USAGE', `usage: ${usage}`);
  return first;
}

function parseRepo(text: string): ImageReference {
  return parseReference(text.replace(/^docker:\/\//, ''));
}

type Values = {
  'notary-server'?: string | undefined;
  'trust-dir'?: string | undefined;
  'allow-insecure-registry'?: boolean;
  'ca-file'?: string;
  'max-manifest-bytes'?: string;
  timeout?: string;
  deadline?: string;
};

/** The notary server, trust store, key store and registry clients for one repository; closed after. */
async function withContext<T>(
  io: CliIO,
  values: Values,
  reference: ImageReference,
  work: (options: TrustWriteOptions, stores: Stores) => Promise<T>,
): Promise<T> {
  const allowInsecure = values['allow-insecure-registry'] ?? false;
  const url = notaryServerUrl(
    values['notary-server'] ?? io.env.DOCKER_CONTENT_TRUST_SERVER,
    reference.registry,
    allowInsecure,
  );
  const trustDir = vouchTrustDir(values['trust-dir']);
  const storeConfig = await storeOptions(io, values, 'short');
  const stores = new Stores(storeConfig);
  const http = new HttpClient(storeConfig.http);
  const credentials = credentialLookup(io);
  try {
    return await work(
      {
        server: new NotaryServer({
          url,
          http,
          credentials: () => credentials(reference.registry),
          allowInsecure,
        }),
        trustStore: new NotaryMetadataStore(trustDir),
        keyStore: trustKeyStore(io, trustDir),
      },
      stores,
    );
  } finally {
    await Promise.all([stores.close(), http.close()]);
  }
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
