import { invalid } from '../../core/errors.ts';
import { predicateTypeUri } from '../../formats/predicate-types.ts';
import { parseImageSpec, specTarget } from '../../registry/open.ts';
import type { AttestationSource, VerifiedAttestation } from '../../verify/attestation-evaluate.ts';
import {
  type AttestationVerification,
  verifyAttestationsOfImages,
} from '../../verify/verify-attestation.ts';
import type { CliIO } from '../io.ts';
import { writeJson } from '../io.ts';
import type { Command } from '../main.ts';
import { cliContext } from '../context.ts';
import { parseCommand } from '../flags.ts';
import {
  concurrencyFlags,
  integerFlag,
  OUTPUT_FLAGS,
  REGISTRY_FLAGS,
  requireTarget,
  workloadFor,
} from '../options.ts';
import {
  certificateJson,
  keylessFlags,
  loggedText,
  requireOneMode,
  signerName,
} from '../keyless-options.ts';
import { readPublicKeys } from '../public-keys.ts';
import type { CosignTrust } from '../../verify/evaluate.ts';
import { DEFAULT_VERIFY_CONCURRENCY } from '../../registry/http.ts';
import { errorJson, finishVerification, keyName, statusLine } from '../verify-output.ts';

const FLAGS = {
  format: OUTPUT_FLAGS,
  registry: REGISTRY_FLAGS,
  keyless: keylessFlags('vouch verify-attestation'),
  concurrency: concurrencyFlags(DEFAULT_VERIFY_CONCURRENCY, 'images verified'),
};

export const command: Command = {
  summary: "Verify images' attestations and print the verified statements",
  help: `Usage: vouch verify-attestation --key PUB [--key PUB]... --type TYPE [OPTIONS] IMAGE...
       vouch verify-attestation --certificate-identity ID --certificate-oidc-issuer URL
                                --type TYPE [OPTIONS] IMAGE...

Checks the attestations stored beside each image in both of cosign's forms:
the layers of the sha256-<hex>.att manifest, and Sigstore bundles stored as
OCI referrers of the image (cosign 3's default; listed through the referrers
API or the sha256-<hex> fallback tag, each referrer opened and checked to
name the image as its subject). A tag is resolved to its digest once; a digest is verified as given. An attestation counts only if its DSSE
envelope is well formed, one of its signatures verifies over the envelope's
PAE bytes with one of the keys, its payload type is
application/vnd.in-toto+json, its in-toto statement (v1 or v0.1) parses
strictly, one of its subjects has the image's digest, and its predicate type
is exactly the one asked for. A valid attestation of another type is listed
as not counted and never satisfies --type. One attestation is enough.

Output: the verified in-toto statements, as one JSON array on stdout (for
jq and other tools; an empty array when none verified), and a report on
stderr: for each image the digest, the attestations that verified, and why
each other one did not count (ENVELOPE_INVALID, SIGNATURE_INVALID,
PAYLOAD_TYPE_MISMATCH, STATEMENT_INVALID, DIGEST_MISMATCH,
PREDICATE_TYPE_MISMATCH, LAYER_INVALID). With --output json, stdout carries
one structured report instead, statements included.

The report says which form each statement came from. With a key, the
transparency log entries in a bundle are reported, not checked, since the
key decides.

Keyless (instead of --key): the attestation's Fulcio certificate must chain
to a certificate authority of the trust root and be valid when it was
logged, carry an SCT of a trusted CT log, the log entry must verify (the
Rekor bundle's signed entry timestamp of an .att layer, or a bundle's
inclusion promise or proof) and record this very envelope, payload and
certificate (dsse 0.0.1, or intoto 0.0.1 from cosign before 2.2), the
envelope signature must verify with the certificate's key, and the
certificate's identity and issuer must be the ones asked for; then the
statement checks above apply. The codes of the keyless checks are those of
vouch verify --help.

Predicate types (--type, required): slsaprovenance1, slsaprovenance
(v0.2), spdxjson, cyclonedx, vuln, openvex, link, custom, or a URI — the
same shorthands as cosign, mapped to the same URIs (vouch attest --help).

Examples:
  vouch verify-attestation --key cosign.pub --type spdxjson registry.example.com/app:1.0 \\
    | jq '.[0].predicate'
  vouch verify-attestation --key cosign.pub --type https://slsa.dev/provenance/v1 \\
    oci:./layout:1.0 --output json
  vouch verify-attestation --type spdxjson \\
    --certificate-identity https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com \\
    cgr.dev/chainguard/static:latest | jq '.[0].predicate.packages | length'

Options:
      --key FILE              a trusted public key (PEM); repeat for several keys
      --type TYPE             the predicate type that must be attested
      --trusted-root FILE     keylessly: a Sigstore trusted_root.json (a private deployment);
                              default: the root cached by vouch trusted-root update, else
                              the public-good root shipped with vouch
      --offline               keylessly: never fetch trust material, even when the cached
                              root's TUF timestamp has expired
  -o, --output text|json      text: statements on stdout, report on stderr (default);
                              json: one structured report on stdout
      --max-attestations N    refuse images with more than N attestation layers (default 1000)
      --max-payload-bytes N   skip envelopes and bundles larger than N bytes (default 16777216)
      --max-referrers N       refuse images with more than N bundle referrers (default 1000)
${FLAGS.concurrency.help}

${FLAGS.keyless.help}

Exit codes: 0 every image has a valid attestation of the type; 1 some image
has none; 2 invalid input; 3 could not check (registry unreachable, refused,
timed out). With several images, the first that applies of 1, 2, 3 is returned.

${REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(args, io, FLAGS, {
      key: { type: 'string', multiple: true },
      type: { type: 'string' },
      'max-attestations': { type: 'string' },
      'max-payload-bytes': { type: 'string' },
      'max-referrers': { type: 'string' },
      offline: { type: 'boolean', default: false },
    });
    const { format, registry, keyless, concurrency } = settings;
    const keyPaths = values.key ?? [];
    const { identity } = keyless;
    requireOneMode(keyPaths, identity, 'vouch verify-attestation');
    if (identity === undefined && keyless.trustedRoot !== undefined) {
      throw invalid(
        'USAGE',
        '--trusted-root is for keyless verification (--certificate-identity ...); attestations verified with --key do not consult a log',
      );
    }
    if (values.type === undefined) {
      throw invalid(
        'USAGE',
        'vouch verify-attestation needs --type TYPE: the predicate type that must be attested (spdxjson, cyclonedx, slsaprovenance1, ... or a URI)',
      );
    }
    if (positionals.length === 0) {
      throw invalid('USAGE', 'vouch verify-attestation needs at least one IMAGE');
    }
    // Everything the user typed is checked before any network traffic.
    const predicateType = predicateTypeUri(values.type);
    const specs = positionals.map((image) => {
      const spec = parseImageSpec(image);
      requireTarget(image, specTarget(spec));
      return spec;
    });
    const maxLayers = integerFlag('max-attestations', values['max-attestations'], 1, 100_000);
    const maxEnvelopeBytes = integerFlag(
      'max-payload-bytes',
      values['max-payload-bytes'],
      1,
      2 ** 30,
    );
    const maxReferrers = integerFlag('max-referrers', values['max-referrers'], 1, 100_000);
    const context = cliContext(io, {
      registry,
      workload: workloadFor(positionals.length),
      offline: values.offline,
    });
    let results: AttestationVerification[];
    try {
      context.stores.connectAhead(specs);
      const trust: CosignTrust =
        identity === undefined
          ? { keys: await readPublicKeys(keyPaths) }
          : await context.keylessTrust({ identity, trustedRoot: keyless.trustedRoot });
      results = await verifyAttestationsOfImages(context.stores, positionals, {
        trust,
        policy: { predicateType },
        limits: {
          ...(maxLayers === undefined ? {} : { maxLayers }),
          ...(maxEnvelopeBytes === undefined
            ? {}
            : { maxEnvelopeBytes, maxBundleBytes: maxEnvelopeBytes }),
          ...(maxReferrers === undefined ? {} : { maxReferrers }),
        },
        concurrency,
      });
    } finally {
      await context.close();
    }

    if (format === 'json') {
      writeJson(io, {
        ok: results.every((result) => result.status === 'verified'),
        predicateType,
        images: results.map((result) => toJson(result, keyPaths)),
      });
    } else {
      writeJson(
        io,
        results.flatMap((result) => (result.verdict?.verified ?? []).map((a) => a.statement)),
      );
      io.stderr.write(results.map((result) => toText(result, keyPaths)).join(''));
    }
    return finishVerification(io, results);
  },
};

function toText(result: AttestationVerification, keyPaths: readonly string[]): string {
  const lines = [statusLine(result.image, result.status, result.error)];
  if (result.digest !== undefined) lines.push(`  digest: ${result.digest}`);
  if (result.attestationLocation !== undefined)
    lines.push(`  attestations: ${result.attestationLocation}`);
  if (result.referrersLocation !== undefined)
    lines.push(`  bundle referrers: ${result.referrersLocation}`);
  const verdict = result.verdict;
  if (verdict !== undefined) {
    if (verdict.predicateType !== null) lines.push(`  predicate type: ${verdict.predicateType}`);
    for (const attestation of verdict.verified) {
      lines.push(
        `  valid: ${where(attestation)} signed with ${signerName(keyPaths, attestation)}, ${attestation.predicateType}${loggedText(attestation.certificate)}`,
      );
    }
    for (const rejected of verdict.rejected) {
      lines.push(`  not counted: ${rejected.reason.code}: ${rejected.reason.message}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Which storage form and which layer or referrer a statement came from. */
function where(attestation: VerifiedAttestation): string {
  const { source } = attestation;
  if (source.form === 'att') return `.att layer ${attestation.index} (${attestation.layer})`;
  // Keylessly the entries were checked (loggedText says where); with a key they are not.
  const logged =
    source.tlogEntries === undefined || source.tlogEntries === 0 || attestation.key === undefined
      ? ''
      : `, ${source.tlogEntries} transparency log entr${source.tlogEntries === 1 ? 'y' : 'ies'} not checked with a key`;
  return `Sigstore bundle referrer ${attestation.index} (${source.referrer}${logged})`;
}

function sourceJson(source: AttestationSource) {
  return source.form === 'att'
    ? { form: 'att' }
    : {
        form: 'bundle',
        referrer: source.referrer,
        ...(source.material === undefined ? {} : { material: source.material }),
        ...(source.tlogEntries === undefined ? {} : { tlogEntries: source.tlogEntries }),
      };
}

function toJson(result: AttestationVerification, keyPaths: readonly string[]) {
  const verdict = result.verdict;
  return {
    image: result.image,
    status: result.status,
    digest: result.digest ?? null,
    mediaType: result.mediaType ?? null,
    attestations: result.attestationLocation ?? null,
    referrers: result.referrersLocation ?? null,
    verified: (verdict?.verified ?? []).map((attestation) => ({
      source: sourceJson(attestation.source),
      index: attestation.index,
      layer: attestation.layer,
      key: attestation.key === undefined ? null : keyName(keyPaths, attestation.key),
      certificate:
        attestation.certificate === undefined ? null : certificateJson(attestation.certificate),
      predicateType: attestation.predicateType,
      statement: attestation.statement,
    })),
    rejected: (verdict?.rejected ?? []).map((rejected) => ({
      source: sourceJson(rejected.source),
      index: rejected.index,
      layer: rejected.layer,
      code: rejected.reason.code,
      message: rejected.reason.message,
      ...(rejected.key === undefined ? {} : { key: keyName(keyPaths, rejected.key) }),
      ...(rejected.predicateType === undefined ? {} : { predicateType: rejected.predicateType }),
      ...(rejected.problem === undefined ? {} : { problem: rejected.problem }),
    })),
    error: errorJson(result.error),
  };
}
