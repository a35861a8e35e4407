import { invalid } from '../../core/errors.ts';
import { predicateTypeUri } from '../../formats/predicate-types.ts';
import {
  type AttestEvent,
  type AttestRequest,
  type AttestResult,
  attestImages,
  type ManifestAttestation,
} from '../../sign/attest.ts';
import { attestImagesAsBundles, type BundleAttestResult } from '../../sign/attest-bundle.ts';
import { defaultDockerReference } from '../../sign/identity.ts';
import { readPredicateFile } from '../../sign/predicate-file.ts';
import { attachToImageArguments, imageArguments } from '../attach-command.ts';
import { failureJson, imageResultJson, reportAttach, statusLine } from '../attach-output.ts';
import type { CliIO } from '../io.ts';
import type { Command } from '../main.ts';
import { parseCommand } from '../flags.ts';
import { concurrencyFlags, OUTPUT_FLAGS, REGISTRY_FLAGS } from '../options.ts';
import { SIGNER_FLAGS, startSigning } from '../signer-flags.ts';

const FLAGS = {
  signer: SIGNER_FLAGS,
  format: OUTPUT_FLAGS,
  registry: REGISTRY_FLAGS,
  concurrency: concurrencyFlags(8, 'images attested'),
};

export const command: Command = {
  summary: 'Attach a signed in-toto attestation (SBOM, provenance) to images',
  help: `Usage: vouch attest [--key KEY] --predicate FILE --type TYPE [OPTIONS] IMAGE...

Wraps the predicate (a JSON document: an SBOM, SLSA provenance, a scan) in
an in-toto Statement v1 whose only subject is the image's digest, signs it
in a DSSE envelope (payload type application/vnd.in-toto+json), and stores
the envelope as cosign stores attestations: a layer of the
sha256-<hex>.att manifest in the same repository or layout, with the
annotations dev.cosignproject.cosign/signature: "" and predicateType: <URI>.
A tag is resolved to its digest once. Attestations accumulate: other types,
other keys and other predicates add layers; attesting the same statement
with the same key again changes nothing. Concurrent writers do not lose
each other's attestations.

With --bundle-format the attestation is stored as cosign 3 stores it by
default (--new-bundle-format): the envelope in a Sigstore bundle (v0.3,
the key's hint, no transparency log entry), attached as an OCI referrer of
the image (artifact type application/vnd.dev.sigstore.bundle.v0.3+json,
subject = the image). Registries without the referrers API and layouts list
it under the fallback tag sha256-<hex>. Each run adds a new referrer, as
cosign does.

With a key, cosign verifies these with
  cosign verify-attestation --key cosign.pub --type TYPE --insecure-ignore-tlog IMAGE
(vouch logs nothing with a key). Without --key, attests keylessly: an OIDC
identity token gets one Fulcio certificate for an ephemeral key, each
envelope is logged in Rekor as a dsse entry (a bundle is also timestamped
when the signing config names a TSA), and every answer is checked against
the trusted root before anything is written.

Predicate types (--type): a cosign shorthand or a URI
  slsaprovenance1    https://slsa.dev/provenance/v1
  slsaprovenance     https://slsa.dev/provenance/v0.2 (also slsaprovenance02)
  spdxjson           https://spdx.dev/Document (also spdx)
  cyclonedx          https://cyclonedx.org/bom
  vuln               https://cosign.sigstore.dev/attestation/vuln/v1
  openvex            https://openvex.dev/ns
  link               https://in-toto.io/Link/v1
  URI                any absolute URI, e.g. https://example.com/attestation/v1
The predicate is embedded as given (a JSON object; keys are written sorted,
as cosign writes them). cosign's "custom" wrapper ({"Data": text,
"Timestamp": ...}) and text SPDX are not written: give a URI and a JSON file.

Examples:
  vouch attest --type slsaprovenance1 --predicate provenance.json \\
    registry.example.com/app@sha256:...              # keyless, e.g. in GitHub Actions
  vouch attest --key cosign.key --type spdxjson --predicate sbom.spdx.json \\
    registry.example.com/app:1.0
  vouch attest --key cosign.key --type slsaprovenance1 --predicate provenance.json \\
    --replace oci:./app-layout:1.0

Options:
      --predicate FILE        the predicate: a JSON object (at most 16 MiB)
      --type TYPE             the predicate type: a shorthand above, or a URI
      --replace               first remove the attestations of the same predicate type
                              (whoever signed them), as cosign attest --replace does
      --bundle-format         store a Sigstore bundle as an OCI referrer (cosign 3's form)
                              instead of a layer of the .att manifest
  -o, --output text|json      output format (default text)
${FLAGS.concurrency.help}

Exit codes: 0 every image attested; 2 invalid input (a wrong password, an
unreadable or non-JSON predicate; before anything is written); 3 could not
attest (registry unreachable, refused, or concurrent writers that retries
did not resolve); 1 an attestation manifest vouch refuses to extend.

${SIGNER_FLAGS.help}

${REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(args, io, FLAGS, {
      predicate: { type: 'string' },
      type: { type: 'string' },
      replace: { type: 'boolean', default: false },
      'bundle-format': { type: 'boolean', default: false },
    });
    const { format, registry, concurrency } = settings;
    if (values.predicate === undefined) {
      throw invalid('USAGE', 'vouch attest needs --predicate FILE');
    }
    if (values.type === undefined) {
      throw invalid(
        'USAGE',
        'vouch attest needs --type TYPE (slsaprovenance1, spdxjson, cyclonedx, vuln, ... or a URI)',
      );
    }
    if (positionals.length === 0) throw invalid('USAGE', 'vouch attest needs at least one IMAGE');
    // Everything typed is checked before the key is decrypted or anything is fetched.
    const predicateType = predicateTypeUri(values.type);
    if (values.type === 'custom' || values.type === 'spdx') {
      throw invalid(
        'USAGE',
        values.type === 'custom'
          ? `--type custom is cosign's wrapper for text predicates ({"Data": ..., "Timestamp": ...}), which vouch does not write; give a predicate type URI for a JSON predicate`
          : '--type spdx is for text SPDX documents, which vouch does not write; use --type spdxjson with an SPDX JSON document',
      );
    }
    const bundleFormat = values['bundle-format'];
    if (bundleFormat && values.replace) {
      throw invalid(
        'USAGE',
        '--replace applies to the .att manifest; --bundle-format adds a referrer and replaces nothing',
      );
    }
    const images = imageArguments(positionals);
    const predicate = await readPredicateFile(values.predicate);

    const results = await attachToImageArguments(
      io,
      registry,
      images,
      ({ image, spec, target }, store): AttestRequest => ({
        store,
        target,
        name: image,
        subjectName: defaultDockerReference(spec),
      }),
      // One key decryption, or one keyless certificate, for every image: a
      // wrong password or a refused token stops the run before any write.
      async (requests, context): Promise<ReadonlyArray<AttestResult | BundleAttestResult>> => {
        const signing = await startSigning(context, settings.signer, 'attestation');
        return bundleFormat
          ? attestImagesAsBundles(requests, { ...signing, predicateType, predicate, concurrency })
          : attestImages(requests, {
              ...signing,
              predicateType,
              predicate,
              replace: values.replace,
              concurrency,
              onEvent: progress(io),
            });
      },
    );
    return reportAttach(io, format, results, {
      json: (r) => ('attestations' in r ? imageResultJson(r, 'attestations') : bundleToJson(r)),
      text: (r) => ('attestations' in r ? toText(r) : bundleToText(r)),
    });
  },
};

/** On a terminal, say when concurrent writers made vouch retry; nothing on pipes. */
function progress(io: CliIO): (event: AttestEvent) => void {
  if (io.stderr.isTTY !== true) return () => {};
  return (event) => {
    if (event.type === 'conflict' && event.attempt === 1) {
      io.stderr.write(
        `vouch: ${event.image}: the attestation manifest changed meanwhile; retrying\n`,
      );
    }
  };
}

function attestationText(attestation: ManifestAttestation): string {
  const what =
    attestation.outcome === 'attested'
      ? 'attested, stored in'
      : 'already attested with this key and statement in';
  return `  ${attestation.digest}: ${what} ${attestation.location} (${attestation.predicateType})`;
}

function toText(result: AttestResult): string {
  const lines = [statusLine(result.image, result, 'attested', 'NOT ATTESTED')];
  lines.push(...result.attestations.map(attestationText));
  return `${lines.join('\n')}\n`;
}

function bundleToText(result: BundleAttestResult): string {
  const lines = [statusLine(result.image, result, 'attested', 'NOT ATTESTED')];
  if (result.ok) {
    const { attestation } = result;
    lines.push(
      `  ${attestation.digest}: attested, stored as a Sigstore bundle referrer ${attestation.location} (${attestation.predicateType})`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function bundleToJson(result: BundleAttestResult) {
  return {
    image: result.image,
    ok: result.ok,
    ...(result.digest === undefined ? {} : { digest: result.digest }),
    ...(result.mediaType === undefined ? {} : { mediaType: result.mediaType }),
    ...(result.ok
      ? { form: 'bundle', attestations: [result.attestation] }
      : { form: 'bundle', attestations: [] }),
    ...(result.ok ? {} : { error: failureJson(result.error) }),
  };
}
