import { invalid } from '../../core/errors.ts';
import type { Platform } from '../../oci/manifest.ts';
import { isIndexType } from '../../oci/media-types.ts';
import { type BundleAttestResult, signImagesAsBundles } from '../../sign/attest-bundle.ts';
import { defaultDockerReference, parseSignedIdentity } from '../../sign/identity.ts';
import {
  type ManifestSignature,
  type SignEvent,
  type SignResult,
  signImages,
} from '../../sign/sign.ts';
import { attachToImageArguments, imageArguments } from '../attach-command.ts';
import { failureJson, imageResultJson, reportAttach, statusLine } from '../attach-output.ts';
import type { CliIO } from '../io.ts';
import type { Command } from '../main.ts';
import { parseCommand } from '../flags.ts';
import { annotationFlags, concurrencyFlags, OUTPUT_FLAGS, REGISTRY_FLAGS } from '../options.ts';
import { SIGNER_FLAGS, startSigning } from '../signer-flags.ts';
import { GPG_SIGN_HELP } from '../gpg-help.ts';
import { REGISTRIES_D_FLAGS } from '../registries-d-options.ts';

const FLAGS = {
  signer: SIGNER_FLAGS,
  format: OUTPUT_FLAGS,
  registry: REGISTRY_FLAGS,
  concurrency: concurrencyFlags(8, 'manifests signed'),
};

export const command: Command = {
  summary: 'Sign images by digest, stored beside them as cosign does',
  help: `Usage: vouch sign [--key KEY] [OPTIONS] IMAGE...
       vouch sign --gpg-key FINGERPRINT|KEYFILE [--registries.d DIR] [OPTIONS] IMAGE:TAG...

Signs each image by digest: a tag is resolved to its digest once, and the
digest is what is signed, never the tag. The signature is stored as cosign
stores it, a layer of the sha256-<hex>.sig manifest in the same repository or
layout, so cosign and containers/image verify it. Signatures of other keys
are kept; signing again with the same key changes nothing. Concurrent signers
do not lose each other's signatures: a write based on a signature manifest
that changed meanwhile is retried.

Without --key, signs keylessly: an OIDC identity token (--identity-token,
$SIGSTORE_ID_TOKEN, GitHub Actions, or the device flow on a terminal) gets one
Fulcio certificate for an ephemeral key, used for every image; each
signature is logged in Rekor (and timestamped when the signing config names
a TSA), and the layer carries the certificate, chain and log entry as
cosign's do. Every answer is checked against the trusted root before
anything is written.

The signature records the repository without tag (cosign's docker-reference);
an OCI layout records its path (oci:PATH) unless --signed-identity names the
repository the image will be published to.

Examples:
  vouch sign registry.example.com/app@sha256:...      # keyless, e.g. in GitHub Actions
  vouch sign --identity-token @token.jwt --bundle-format registry.example.com/app:1.0
  vouch sign --key cosign.key registry.example.com/app:1.0
  vouch sign --key cosign.key -a build=1234 --recursive registry.example.com/app@sha256:...
  VOUCH_PASSWORD=... vouch sign --key cosign.key --signed-identity registry.example.com/app \\
    oci:./app-layout:1.0

Options:
  -a, --annotations K=V       record this annotation in the signed payload; repeatable.
                              Split at the first '='; one annotation per -a (cosign
                              splits a value at commas and refuses a second '=')
      --recursive             for a multi-platform index, also sign every platform's manifest
      --bundle-format         store the signature as cosign 3 does by default: a DSSE
                              statement (https://sigstore.dev/cosign/sign/v1) in a Sigstore
                              bundle attached as an OCI referrer of the image (-a annotations
                              go on the statement's subject; not with --recursive or
                              --signed-identity)
      --signed-identity REF   the docker-reference to record instead: a repository,
                              optionally with a tag
  -o, --output text|json      output format (default text)
${FLAGS.concurrency.help}

Exit codes: 0 every image signed; 2 invalid input (a wrong password, an
expired token or one for another audience, a service refusing the request;
before anything is written); 3 could not sign (registry, Fulcio, Rekor or
the TSA unreachable, or a conflict with concurrent signers that retries did
not resolve); 1 a signature manifest vouch refuses to extend, or a Sigstore
service's answer that does not verify (nothing is written). With several images, the first
that applies of 1, 2, 3 is returned.

${SIGNER_FLAGS.help}

${GPG_SIGN_HELP}
${REGISTRIES_D_FLAGS.help}

${REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    if (args.some((arg) => /^--(gpg-key|sign-by)(=|$)/.test(arg))) {
      return (await import('../sign-gpg.ts')).runGpgSign(args, io);
    }
    const { values, positionals, settings } = await parseCommand(args, io, FLAGS, {
      annotations: { type: 'string', short: 'a', multiple: true },
      recursive: { type: 'boolean', default: false },
      'signed-identity': { type: 'string' },
      'bundle-format': { type: 'boolean', default: false },
    });
    const { format, registry, concurrency } = settings;
    if (positionals.length === 0) throw invalid('USAGE', 'vouch sign needs at least one IMAGE');
    // Everything typed is checked before the key is decrypted or anything is fetched.
    const annotations = annotationFlags(values.annotations ?? []);
    noteCosignCommaSplitting(annotations, io);
    const identity = values['signed-identity'];
    const signedIdentity = identity === undefined ? undefined : parseSignedIdentity(identity);
    const images = imageArguments(positionals);
    if (values['bundle-format'] && (values.recursive || identity !== undefined)) {
      throw invalid(
        'USAGE',
        `--bundle-format signs the image named only and records no docker-reference: ${values.recursive ? '--recursive' : '--signed-identity'} does not apply`,
      );
    }

    // One key decryption, or one keyless certificate, for every image: a wrong
    // password or a refused token stops the run before any write.
    if (values['bundle-format']) {
      const bundles = await attachToImageArguments(
        io,
        registry,
        images,
        ({ image, target }, store) => ({ store, target, name: image }),
        async (requests, context) =>
          signImagesAsBundles(requests, {
            ...(await startSigning(context, settings.signer, 'attestation')),
            annotations,
            concurrency,
          }),
      );
      return reportAttach(io, format, bundles, { json: bundleToJson, text: bundleToText });
    }

    const progress = signProgress(io);
    let results: SignResult[];
    try {
      results = await attachToImageArguments(
        io,
        registry,
        images,
        ({ image, spec, target }, store) => ({
          store,
          target,
          name: image,
          dockerReference: signedIdentity ?? defaultDockerReference(spec),
        }),
        async (requests, context) =>
          signImages(requests, {
            ...(await startSigning(context, settings.signer, 'image')),
            recursive: values.recursive,
            concurrency,
            onEvent: progress.onEvent,
            ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
          }),
      );
    } finally {
      progress.finish();
    }
    return reportAttach(io, format, results, {
      json: (result) => imageResultJson(result, 'signatures'),
      text: toText,
      summary: (all) => (all.length > 1 ? summary(all) : undefined),
      note: (result) =>
        !values.recursive && result.mediaType !== undefined && isIndexType(result.mediaType)
          ? `vouch: note: ${result.image} is a multi-platform index; only the index was signed (add --recursive to sign each platform's manifest too)\n`
          : undefined,
    });
  },
};

/**
 * cosign's -a is a pflag string slice: it splits at commas, so a script's
 * `-a a=1,b=2` meant two annotations there and means one here. Say so.
 */
function noteCosignCommaSplitting(annotations: Record<string, string>, io: CliIO): void {
  for (const [key, value] of Object.entries(annotations)) {
    if (/,[^,=]+=/.test(value)) {
      io.stderr.write(
        `vouch: note: -a ${key}=${value} records one annotation ${JSON.stringify(key)} with the value ${JSON.stringify(value)}; cosign would read several (split at ','): give each as its own -a\n`,
      );
    }
  }
}

function platformText(platform: Platform | undefined): string {
  if (platform === undefined) return '';
  const variant = platform.variant === undefined ? '' : `/${platform.variant}`;
  return ` (${platform.os}/${platform.architecture}${variant})`;
}

function signatureText(signature: ManifestSignature): string {
  const what =
    signature.outcome === 'signed' ? 'signed, stored in' : 'already signed with this key in';
  return `  ${signature.digest}${platformText(signature.platform)}: ${what} ${signature.location}`;
}

function toText(result: SignResult): string {
  const lines = [statusLine(result.image, result, 'signed', 'NOT SIGNED')];
  lines.push(...result.signatures.map(signatureText));
  return `${lines.join('\n')}\n`;
}

function bundleToText(result: BundleAttestResult): string {
  const lines = [statusLine(result.image, result, 'signed', 'NOT SIGNED')];
  if (result.ok) {
    lines.push(
      `  ${result.digest}: signed, stored as a Sigstore bundle referrer ${result.attestation.location}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function bundleToJson(result: BundleAttestResult) {
  return {
    image: result.image,
    ok: result.ok,
    form: 'bundle',
    ...(result.digest === undefined ? {} : { digest: result.digest }),
    ...(result.mediaType === undefined ? {} : { mediaType: result.mediaType }),
    signatures: result.ok ? [result.attestation] : [],
    ...(result.ok ? {} : { error: failureJson(result.error) }),
  };
}

function summary(results: readonly SignResult[]): string {
  const signatures = results.flatMap((r) => r.signatures);
  const signed = signatures.filter((s) => s.outcome === 'signed').length;
  const unchanged = signatures.length - signed;
  const failed = results.filter((r) => !r.ok).length;
  return `vouch: ${results.length} image(s): ${signed} signature(s) stored, ${unchanged} already present, ${failed} image(s) failed\n`;
}

const REDRAW_MS = 100;

/** One progress line on stderr when it is a terminal, redrawn at most every 100 ms. */
function signProgress(io: CliIO): { onEvent: (event: SignEvent) => void; finish(): void } {
  if (io.stderr.isTTY !== true) return { onEvent: () => {}, finish: () => {} };
  let total = 0;
  let done = 0;
  let failed = 0;
  let settling = false;
  let last = 0;
  let drawn = false;
  const draw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - last < REDRAW_MS) return;
    last = now;
    drawn = true;
    const tail = settling ? ', checking for concurrent writes' : '';
    const line = `signing: ${done}/${total} manifest(s)${failed > 0 ? `, ${failed} image(s) failed` : ''}${tail}`;
    io.stderr.write(`\r\x1b[K${line.slice(0, (io.stderr.columns ?? 100) - 1)}`);
  };
  return {
    onEvent(event) {
      switch (event.type) {
        case 'resolved':
          total += event.manifests;
          break;
        case 'signed':
          done++;
          break;
        case 'failed':
          failed++;
          break;
        case 'settling':
          settling = true;
          break;
        case 'conflict':
          break;
      }
      draw(event.type === 'settling');
    },
    finish() {
      if (drawn) io.stderr.write('\r\x1b[K');
    },
  };
}
