/**
 * `vouch notation sign`: Notary Project signatures as `notation sign` 1.3
 * writes them (notation `cmd/notation/sign.go`, `internal/cmd/flags.go`,
 * `internal/cmd/signer.go`), with notation's flag names where vouch has the
 * feature. The signing key comes from, in this order of the flags given:
 * `--key FILE --cert FILE`; `--plugin NAME --id KEYID`; `--key NAME` in
 * `{NOTATION_CONFIG}/signingkeys.json`; its default key. Everything typed
 * is checked, the key loaded (or the plugin asked for its metadata and key),
 * before any image is fetched; nothing is written unless the signature (and
 * its countersignature) checked out. The use-case is src/notation/sign.ts.
 */
import { hasCode, invalid } from '../core/errors.ts';
import type { PluginConfig } from '../formats/notation/plugin-protocol.ts';
import type { NotationSigningKey, NotationSignResult } from '../notation/sign.ts';
import { attachToImageArguments, imageArguments } from './attach-command.ts';
import { failureJson, reportAttach, statusLine } from './attach-output.ts';
import { MAX_SIGNATURE_FILE_BYTES, readCappedFile } from './blob-files.ts';
import type { CliContext } from './context.ts';
import { parseCommand, type Options } from './flags.ts';
import type { CliIO } from './io.ts';
import type { Command } from './main.ts';
import {
  concurrencyFlags,
  durationFlag,
  OUTPUT_FLAGS,
  REGISTRY_FLAGS,
  USER_AGENT,
  keyValueFlags,
} from './options.ts';

const FLAGS = {
  format: OUTPUT_FLAGS,
  registry: REGISTRY_FLAGS,
  concurrency: concurrencyFlags(4, 'images signed'),
};

const OWN_OPTIONS = {
  key: { type: 'string', short: 'k' },
  cert: { type: 'string' },
  plugin: { type: 'string' },
  id: { type: 'string' },
  'plugin-config': { type: 'string', multiple: true },
  'plugin-timeout': { type: 'string' },
  'signature-format': { type: 'string', default: 'jws' },
  expiry: { type: 'string', short: 'e' },
  'user-metadata': { type: 'string', short: 'm', multiple: true },
  'timestamp-url': { type: 'string' },
  'timestamp-root-cert': { type: 'string' },
  'force-referrers-tag': { type: 'string' },
  'signature-manifest': { type: 'string', default: 'config-media-type' },
} as const satisfies Options;

export const command: Command = {
  summary: 'Sign images with Notary Project signatures, as notation sign does',
  help: `Usage: vouch notation sign [--key NAME | --key KEY.pem --cert CHAIN.pem | --plugin NAME --id KEYID] [OPTIONS] IMAGE...

Signs each image by digest as notation 1.3 does: a tag is resolved to its
digest once, and the digest is what the signature names. The signature (a JWS
or COSE envelope) is stored as an OCI referrer of the image: a manifest whose
config media type is application/vnd.cncf.notary.signature (notation 1.3's
form), pushed by digest, listed by the registry's referrers API or in the
fallback index under the tag sha256-<hex>. Every run adds a new signature, as
notation does. Concurrent signers do not lose each other's signatures in the
fallback index.

The key: --key KEY.pem --cert CHAIN.pem (an unencrypted PEM key and its PEM
certificate chain, leaf first); --plugin NAME --id KEYID (a KMS key through
the plugin {NOTATION_CONFIG}/plugins/NAME/notation-NAME); --key NAME (a key
of {NOTATION_CONFIG}/signingkeys.json, a key pair or a plugin key); or, with
none of these, that file's default key. {NOTATION_CONFIG} is $NOTATION_CONFIG,
else $XDG_CONFIG_HOME/notation, else ~/.config/notation. A plugin's answers are
checked before anything is written: the signature must verify with the leaf
certificate it returns, whose key must be the one describe-key named.

Examples:
  vouch notation sign --key e2e.key --cert e2e.crt registry.example.com/app@sha256:...
  vouch notation sign --key mykey --signature-format cose -m build=1234 registry.example.com/app:1.0
  vouch notation sign --plugin com.example.kms --id arn:... --expiry 720h registry.example.com/app:1.0
  vouch notation sign --key mykey --timestamp-url http://timestamp.example.com \\
    --timestamp-root-cert tsa-root.pem oci:./app-layout:1.0

Options:
  -k, --key NAME|FILE             a key name of signingkeys.json, or with --cert a PEM key file
      --cert FILE                 the key's PEM certificate chain, leaf first
      --plugin NAME               sign with a plugin key (with --id)
      --id KEYID                  the plugin's key ID (with --plugin)
      --plugin-config K=V         passed to the plugin as pluginConfig, over the key's own;
                                  repeatable
      --plugin-timeout DURATION   the longest one plugin command may run (default 2m)
      --signature-format jws|cose the envelope (default jws)
  -e, --expiry DURATION           the signature expires this long after signing: 24h, 90m,
                                  8760h (whole seconds)
  -m, --user-metadata K=V         recorded in the signed payload (the descriptor's
                                  annotations); repeatable; keys io.cncf.notary* are reserved
      --timestamp-url URL         countersign each signature with this RFC 3161 TSA (http or
                                  https); with --timestamp-root-cert
      --timestamp-root-cert FILE  the TSA's root certificate (PEM or DER): the answer must
                                  chain to it, stamp this signature, and carry the nonce sent
      --force-referrers-tag=true|false
                                  list the signature in the fallback index even where the
                                  registry has the referrers API (default true, as notation
                                  1.3); false: the referrers API when the registry has it
      --signature-manifest config-media-type|artifact-type
                                  the manifest form: notation 1.3's (default), or the
                                  artifactType form with the empty config (notation-go main)
${FLAGS.format.help}
${FLAGS.concurrency.help}

Exit codes: 0 every image signed; 2 invalid input (no such key, a key and
certificate that do not match, a plugin that refuses the request; before
anything is written); 3 could not sign (registry, plugin or TSA unreachable,
failing or too slow); 1 an answer that does not hold up (a plugin's
signature or chain, a TSA's token; nothing is written). With several images,
the first that applies of 1, 2, 3 is returned.

${REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(args, io, FLAGS, OWN_OPTIONS);
    if (positionals.length === 0) {
      throw invalid('USAGE', 'vouch notation sign needs at least one IMAGE');
    }
    const choice = keyChoice(values);
    const format = oneOf('signature-format', values['signature-format'], ['jws', 'cose']);
    const manifestForm = oneOf('signature-manifest', values['signature-manifest'], [
      'config-media-type',
      'artifact-type',
    ]);
    const forceReferrersTag =
      oneOf('force-referrers-tag', values['force-referrers-tag'] ?? 'true', ['true', 'false']) ===
      'true';
    const expirySeconds = values.expiry === undefined ? undefined : expiryFlag(values.expiry);
    const userMetadata = keyValueFlags('user-metadata', values['user-metadata'] ?? []);
    const pluginConfig = keyValueFlags('plugin-config', values['plugin-config'] ?? []);
    const pluginTimeoutMs = durationFlag('plugin-timeout', values['plugin-timeout'] ?? '2m');
    const timestampUrl = values['timestamp-url'];
    const timestampRoot = values['timestamp-root-cert'];
    if ((timestampUrl === undefined) !== (timestampRoot === undefined)) {
      throw invalid('USAGE', '--timestamp-url and --timestamp-root-cert go together');
    }
    const images = imageArguments(positionals);

    const results = await attachToImageArguments(
      io,
      settings.registry,
      images,
      ({ image, target }, store) => ({ store, target, name: image }),
      async (requests, context) => {
        const [{ signNotationImages }, key, timestamper] = await Promise.all([
          import('../notation/sign.ts'),
          signingKey(context, choice, pluginConfig, pluginTimeoutMs),
          timestampUrl === undefined || timestampRoot === undefined
            ? undefined
            : startTimestamper(context, timestampUrl, timestampRoot),
        ]);
        return signNotationImages(requests, {
          key,
          format,
          ...(expirySeconds === undefined ? {} : { expirySeconds }),
          userMetadata,
          ...(timestamper === undefined ? {} : { timestamper }),
          manifestForm,
          forceReferrersTag,
          signingAgent: USER_AGENT,
          concurrency: settings.concurrency,
        });
      },
    );
    return reportAttach(io, settings.format, results, { json: toJson, text: toText });
  },
};

type KeyChoice =
  | { readonly kind: 'files'; readonly keyPath: string; readonly certPath: string }
  | { readonly kind: 'plugin'; readonly plugin: string; readonly keyId: string }
  | { readonly kind: 'named'; readonly name: string | undefined };

/** notation's rules: --id and --plugin together, neither with --key; --cert only with a --key file. */
function keyChoice(values: {
  key?: string | undefined;
  cert?: string | undefined;
  plugin?: string | undefined;
  id?: string | undefined;
}): KeyChoice {
  const { key, cert, plugin, id } = values;
  if ((plugin === undefined) !== (id === undefined)) {
    throw invalid('USAGE', '--plugin and --id go together');
  }
  if (plugin !== undefined && id !== undefined) {
    if (key !== undefined || cert !== undefined) {
      throw invalid('USAGE', '--plugin and --id name the key: not with --key or --cert');
    }
    return { kind: 'plugin', plugin, keyId: id };
  }
  if (cert !== undefined) {
    if (key === undefined) throw invalid('USAGE', '--cert goes with --key KEY.pem');
    return { kind: 'files', keyPath: key, certPath: cert };
  }
  return { kind: 'named', name: key };
}

async function signingKey(
  context: CliContext,
  choice: KeyChoice,
  pluginConfig: PluginConfig,
  timeoutMs: number,
): Promise<NotationSigningKey> {
  const configDir = context.dirs.notationConfig;
  const { loadKeyPairFiles, loadSigningKeys } = await import('../notation/signing-key.ts');
  let resolved:
    | { kind: 'files'; keyPath: string; certPath: string }
    | { kind: 'plugin'; plugin: string; keyId: string; pluginConfig: PluginConfig };
  if (choice.kind === 'named') {
    const { resolveSigningKey } = await import('../formats/notation/signing-keys.ts');
    const { path, keys } = await loadSigningKeys(configDir);
    try {
      resolved = resolveSigningKey(keys, choice.name, path);
    } catch (error) {
      // `--key FILE` alone reads FILE as a key name, as notation does: say what was meant.
      if (hasCode(error, 'NOTATION_SIGNING_KEY_NOT_FOUND') && /[/\\.]/.test(choice.name ?? '')) {
        throw invalid(
          'NOTATION_SIGNING_KEY_NOT_FOUND',
          `${error.message} (a key file needs --cert with its certificate chain)`,
        );
      }
      throw error;
    }
  } else {
    resolved = choice.kind === 'files' ? choice : { ...choice, pluginConfig: {} };
  }
  if (resolved.kind === 'files') {
    if (Object.keys(pluginConfig).length > 0) {
      throw invalid('USAGE', '--plugin-config applies to plugin keys only');
    }
    const pair = await loadKeyPairFiles(resolved.keyPath, resolved.certPath);
    return { kind: 'key', ...pair };
  }
  const [{ NotationPlugin }, { startPluginSigning }] = await Promise.all([
    import('../notation/plugin.ts'),
    import('../notation/plugin-signer.ts'),
  ]);
  const plugin = await NotationPlugin.open(configDir, resolved.plugin, {
    env: context.io.env,
    timeoutMs,
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  });
  return {
    kind: 'plugin',
    // signer/plugin.go mergeConfig: the flags' entries over the key's.
    plugin: await startPluginSigning({
      plugin,
      keyId: resolved.keyId,
      pluginConfig: { ...resolved.pluginConfig, ...pluginConfig },
    }),
  };
}

async function startTimestamper(context: CliContext, url: string, rootFile: string) {
  const [{ parseTimestampRoot }, { createTimestamper }] = await Promise.all([
    import('../formats/notation/timestamp-authority.ts'),
    import('../notation/timestamper.ts'),
  ]);
  const root = parseTimestampRoot(
    await readCappedFile(rootFile, '--timestamp-root-cert', MAX_SIGNATURE_FILE_BYTES),
    rootFile,
  );
  return createTimestamper({
    url,
    roots: [root],
    http: await context.http(),
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  });
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalid('USAGE', `--${flag} takes ${allowed.join(' or ')}, not ${JSON.stringify(value)}`);
  }
  return value as T;
}

const GO_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/**
 * `--expiry` as Go's time.ParseDuration reads it (`24h`, `1h30m`, `90m`),
 * in whole seconds (notation-go validateSignArguments: "expiry duration
 * supports minimum granularity of seconds"); 0 means none, as in notation.
 */
export function expiryFlag(value: string): number | undefined {
  const parts = /^(?:[0-9]+(?:\.[0-9]*)?(?:ns|us|µs|ms|s|m|h))+$/.test(value)
    ? [...value.matchAll(/([0-9]+(?:\.[0-9]*)?)(ns|us|µs|ms|s|m|h)/g)]
    : value === '0'
      ? []
      : undefined;
  if (parts === undefined) {
    throw invalid(
      'USAGE',
      `--expiry takes a duration such as 24h, 90m or 1h30m, not ${JSON.stringify(value)}`,
    );
  }
  // Whole nanoseconds, summed exactly, as Go keeps a Duration.
  const nanoseconds = parts.reduce((total, [, number, unit]) => {
    const [whole = '0', fraction = ''] = (number ?? '0').split('.');
    const scale = BigInt(Math.round((GO_UNITS[unit ?? ''] ?? 0) * 1e9));
    const digits = 10n ** BigInt(fraction.length);
    return total + ((BigInt(whole) * digits + BigInt(fraction || '0')) * scale) / digits;
  }, 0n);
  if (nanoseconds % 1_000_000_000n !== 0n) {
    throw invalid('USAGE', `--expiry ${value} is not a whole number of seconds`);
  }
  const seconds = Number(nanoseconds / 1_000_000_000n);
  if (!Number.isSafeInteger(seconds)) throw invalid('USAGE', `--expiry ${value} is too long`);
  return seconds === 0 ? undefined : seconds;
}

function toText(result: NotationSignResult): string {
  const lines = [statusLine(result.image, result, 'signed', 'NOT SIGNED')];
  if (result.ok) {
    const s = result.signature;
    const format = s.envelopeMediaType === 'application/cose' ? 'COSE' : 'JWS';
    lines.push(
      `  ${result.digest}: ${format} signature${s.timestamped ? ', timestamped,' : ''} stored as ${s.location}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function toJson(result: NotationSignResult) {
  return {
    image: result.image,
    ok: result.ok,
    ...(result.digest === undefined ? {} : { digest: result.digest }),
    ...(result.mediaType === undefined ? {} : { mediaType: result.mediaType }),
    ...(result.ok
      ? {
          signature: {
            ...result.signature,
            signingTime: result.signature.signingTime.toISOString(),
            ...(result.signature.expiry === undefined
              ? {}
              : { expiry: result.signature.expiry.toISOString() }),
          },
        }
      : { error: failureJson(result.error) }),
  };
}
