/**
 * `vouch notation`: Notary Project signatures, as the notation CLI makes and
 * checks them. A table of subcommands, each in its own module
 * (src/cli/notation-*.ts) loaded only when it runs, so adding one is one
 * entry in SUBCOMMANDS.
 */
import { invalid } from '../../core/errors.ts';
import type { CliIO } from '../io.ts';
import type { Command } from '../main.ts';
import { REGISTRY_FLAGS } from '../options.ts';

/** What a subcommand module without help of its own exports (its help is in the table). */
export interface NotationSubcommand {
  run(args: readonly string[], io: CliIO): Promise<number>;
}

interface Entry {
  /** One line for `vouch notation --help`. */
  readonly summary: string;
  /** Its usage and options, when the module has no help of its own. */
  readonly help?: string;
  readonly load: () => Promise<Pick<Command, 'run'> & { readonly help?: string }>;
}

const SUBCOMMANDS: Readonly<Record<string, Entry>> = {
  sign: {
    summary: 'Sign images by digest: a JWS or COSE envelope stored as an OCI referrer',
    load: async () => (await import('../notation-sign.ts')).command,
  },
  verify: {
    summary: "Verify images' signatures under notation's trust policy and trust stores",
    help: `  vouch notation verify [OPTIONS] IMAGE...
      Verify each image's Notary Project signatures under notation's trust policy and
      trust stores: any one signature that passes the checks the policy's level enforces
      verifies the image; checks the level only logs are reported as warnings.
      --trust-policy FILE       the trust policy (default {NOTATION_CONFIG}/trustpolicy.oci.json,
                                else trustpolicy.json)
      --trust-store DIR         the trust stores, DIR/x509/{ca,signingAuthority,tsa}/NAME/
                                (default {NOTATION_CONFIG}/truststore)
      --scope REPOSITORY        for oci:PATH images: the registry/repository whose statement
                                applies (notation's --scope); without it, the global ("*") one
  -m, --user-metadata K=V       require this annotation in the signed payload; repeatable
      --max-signatures N        examine at most N signatures per image (default 100)
      --max-envelope-bytes N    refuse signature envelopes larger than N bytes (default 4194304)
      --plugin-config K=V       passed as pluginConfig to the verification plugin a signature
                                names ({NOTATION_CONFIG}/plugins/NAME/notation-NAME); repeatable
      --plugin-timeout DURATION the longest one plugin command may run (default 2m)
      --concurrency N           images verified at once (default 16)
  -o, --output text|json        output format (default text)`,
    load: async () => (await import('../notation-verify.ts')).subcommand,
  },
  list: {
    summary: 'List the signatures of an image (unverified)',
    help: `  vouch notation list [OPTIONS] IMAGE
      List the image's Notary Project signatures (nothing is verified): each signature
      manifest's digest, storage form, envelope format and certificate thumbprints.
      --max-signatures N        list at most N signatures (default 100)
  -o, --output text|json        output format (default text)`,
    load: async () => (await import('../notation-list.ts')).subcommand,
  },
  inspect: {
    summary: 'Show what each signature envelope says, as notation inspect',
    help: `  vouch notation inspect [OPTIONS] IMAGE
      Show what each signature envelope says (nothing is verified), as notation inspect
      prints it: signed and unsigned attributes, the certificate chain (subject, issuer,
      validity, SHA-256 fingerprint), the timestamp countersignature, the signed artifact.
      --max-signatures N        inspect at most N signatures (default 100)
      --max-envelope-bytes N    refuse signature envelopes larger than N bytes (default 4194304)
  -o, --output text|json        output format (default text; json is notation inspect's)`,
    load: async () => (await import('../notation-inspect.ts')).subcommand,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((name) => name.length));
  const lines = Object.entries(SUBCOMMANDS).map(
    ([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`,
  );
  return `Usage: vouch notation SUBCOMMAND [OPTIONS] ...

Notary Project signatures (notation 1.x), read and written as notation does:
signature manifests stored as OCI referrers of the image (the referrers API,
or the sha256-<hex> fallback tag), JWS or COSE envelopes, checked against
notation's trust policy and trust stores, read from {NOTATION_CONFIG}:
$NOTATION_CONFIG, else $XDG_CONFIG_HOME/notation, else ~/.config/notation.

Subcommands:
${lines.join('\n')}

Run 'vouch notation SUBCOMMAND --help' for a subcommand's options.

Images are registry references or OCI layouts (oci:PATH:TAG, oci:PATH@sha256:...).

Exit codes: 0 done (every image signed or verified); 1 a signature check failed or
there is none; 2 invalid input (no trust policy, a trust store or key that cannot be
read, no such image); 3 could not reach a registry, revocation server, TSA or plugin.

${REGISTRY_FLAGS.help}`;
}

function entryOf(args: readonly string[]): Entry | undefined {
  const [name] = args;
  return name !== undefined && Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
}

export const command: Command = {
  summary: 'Notary Project (notation) signatures: sign, verify, list, inspect',
  help: usage(),

  async helpFor(args: readonly string[]): Promise<string> {
    const entry = entryOf(args);
    if (entry === undefined) return usage();
    return entry.help ?? (await entry.load()).help ?? usage();
  },

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const entry = entryOf(args);
    if (entry === undefined) {
      const name = args[0];
      throw invalid(
        'USAGE',
        `${name === undefined ? 'a subcommand is needed' : `unknown subcommand ${JSON.stringify(name)}`}: one of ${Object.keys(SUBCOMMANDS).join(', ')}; see vouch notation --help`,
      );
    }
    return (await entry.load()).run(args.slice(1), io);
  },
};
