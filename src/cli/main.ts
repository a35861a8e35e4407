/**
 * The vouch command line. Each command lives in its own module and is loaded
 * only when it runs, so `vouch digest` never loads what `vouch copy` needs.
 * Commands return an exit code; this file is the one place that exits.
 */

import { isVouchError } from '../core/errors.ts';
import { EXIT_CODES, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE } from './exit-codes.ts';
import { type CliIO, writeJson } from './io.ts';
import { vouchVersion } from './version.ts';

export interface Command {
  readonly summary: string;
  readonly help: string;
  /** The help for these arguments, for a command with subcommands (`vouch notation sign --help`). */
  helpFor?(args: readonly string[]): Promise<string>;
  run(args: readonly string[], io: CliIO): Promise<number>;
}

const COMMANDS: Readonly<Record<string, { summary: string; load: () => Promise<Command> }>> = {
  digest: {
    summary: 'Print the digest an image reference resolves to',
    load: async () => (await import('./commands/digest.ts')).command,
  },
  manifest: {
    summary: "Print an image's manifest, byte for byte",
    load: async () => (await import('./commands/manifest.ts')).command,
  },
  copy: {
    summary: 'Copy an image between registries and OCI layouts',
    load: async () => (await import('./commands/copy.ts')).command,
  },
  login: {
    summary: 'Store credentials for a registry',
    load: async () => (await import('./commands/login.ts')).command,
  },
  logout: {
    summary: 'Remove stored credentials for a registry',
    load: async () => (await import('./commands/logout.ts')).command,
  },
  'generate-key-pair': {
    summary: 'Generate a signing key pair (cosign format)',
    load: async () => (await import('./commands/generate-key-pair.ts')).command,
  },
  'import-key-pair': {
    summary: 'Import a PEM private key into cosign format',
    load: async () => (await import('./commands/import-key-pair.ts')).command,
  },
  'public-key': {
    summary: 'Print the public key of a private key',
    load: async () => (await import('./commands/public-key.ts')).command,
  },
  sign: {
    summary: 'Sign images by digest, stored beside them as cosign does',
    load: async () => (await import('./commands/sign.ts')).command,
  },
  verify: {
    summary: "Verify images' signatures with a public key",
    load: async () => (await import('./commands/verify.ts')).command,
  },
  'sign-blob': {
    summary: 'Sign a file with a key: a Sigstore bundle as cosign 3 sign-blob writes it',
    load: async () => (await import('./commands/sign-blob.ts')).command,
  },
  'verify-blob': {
    summary: 'Verify the signature of a file (a Sigstore bundle, or cosign 2 signature files)',
    load: async () => (await import('./commands/verify-blob.ts')).command,
  },
  attest: {
    summary: 'Attach a signed in-toto attestation (SBOM, provenance) to images',
    load: async () => (await import('./commands/attest.ts')).command,
  },
  'verify-attestation': {
    summary: "Verify images' attestations and print the verified statements",
    load: async () => (await import('./commands/verify-attestation.ts')).command,
  },
  'trusted-root': {
    summary: 'Update the Sigstore trusted root through TUF, or show the one in use',
    load: async () => (await import('./commands/trusted-root.ts')).command,
  },
  policy: {
    summary: 'Check images against a policy: one-off, recorded evidence, or deployment files',
    load: async () => (await import('./commands/policy.ts')).command,
  },
  download: {
    summary: 'Download the attestations or SBOMs attached to an image',
    load: async () => (await import('./commands/download.ts')).command,
  },
  triangulate: {
    summary: "Print where an image's signatures are stored",
    load: async () => (await import('./commands/triangulate.ts')).command,
  },
  trust: {
    summary: 'Docker Content Trust: sign tags, manage keys and signers, migrate to cosign',
    load: async () => (await import('./commands/trust.ts')).command,
  },
  notation: {
    summary: 'Notary Project (notation) signatures: sign, verify, list, inspect',
    load: async () => (await import('./commands/notation.ts')).command,
  },
  tree: {
    summary: 'Show the signatures and other attachments of an image',
    load: async () => (await import('./commands/tree.ts')).command,
  },
  admission: {
    summary: 'Run the Kubernetes admission webhook, or print what installs it',
    load: async () => (await import('./commands/admission.ts')).command,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(
    ([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`,
  );
  return `vouch: sign container images, verify them, and let only trusted images run

Usage: vouch COMMAND [OPTIONS] [ARGS]

Commands:
${lines.join('\n')}

Images are registry references (registry.example.com/app:1.0, ubuntu@sha256:...)
or OCI image layouts on disk (oci:PATH:TAG, oci:PATH@sha256:...).

Run 'vouch COMMAND --help' for a command's options.
Exit codes: 0 ok, 1 denied (verification failed), 2 invalid input, 3 could not check.
`;
}

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(usage());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === '--version' || name === 'version') {
    io.stdout.write(`vouch ${await vouchVersion()}\n`);
    return EXIT_OK;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    io.stderr.write(`vouch: unknown command "${name}"\n\n${usage()}`);
    return EXIT_USAGE;
  }
  const command = await entry.load();
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(
      `${command.helpFor === undefined ? command.help : await command.helpFor(args)}\n`,
    );
    return EXIT_OK;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    return reportError(error, io, wantsJson(args));
  }
}

/**
 * Whether the arguments ask for JSON output (`-o json`, `--output json`,
 * `--output=json`, `-ojson`; `-o` is --output in every command that has
 * it). A command that fails before writing its report then still writes
 * JSON on stdout, so a script reading it is not left with nothing.
 */
function wantsJson(args: readonly string[]): boolean {
  for (let i = 0; i < args.length && args[i] !== '--'; i++) {
    const arg = args[i];
    if (arg === '--output=json' || arg === '-ojson') return true;
    if ((arg === '-o' || arg === '--output') && args[i + 1] === 'json') return true;
  }
  return false;
}

function reportError(error: unknown, io: CliIO, json: boolean): number {
  if (isVouchError(error)) {
    io.stderr.write(`vouch: ${error.message}\n`);
    if (io.env.VOUCH_DEBUG !== undefined && error.cause !== undefined)
      io.stderr.write(`  caused by: ${String(error.cause)}\n`);
    if (json) {
      const { code, category, message } = error;
      writeJson(io, { error: { code, category, message } });
    }
    return EXIT_CODES[error.category];
  }
  io.stderr.write(
    `vouch: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return EXIT_INTERNAL;
}
