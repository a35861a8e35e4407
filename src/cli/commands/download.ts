import { writeFile } from 'node:fs/promises';
import { denied, hasCode, invalid, isVouchError, messageOf } from '../../core/errors.ts';
import { DEFAULT_MAX_ATTESTATION_BYTES } from '../../formats/cosign-attestation.ts';
import { attachmentTag } from '../../formats/signature-manifest.ts';
import { parseEnvelope } from '../../formats/dsse.ts';
import { parseStatement } from '../../formats/in-toto.ts';
import { PREDICATE_TYPES, predicateTypeUri } from '../../formats/predicate-types.ts';
import { parseStrictJson } from '../../core/strict-json.ts';
import type { ParsedManifest } from '../../oci/manifest.ts';
import type { ImageStore } from '../../registry/store.ts';
import {
  evaluateAttestations,
  type VerifiedAttestation,
} from '../../verify/attestation-evaluate.ts';
import { type AttestationEvidence, fetchAttestations } from '../../verify/attestation-evidence.ts';
import { type ImageEvidence, resolveImage, tagLocation } from '../../verify/evidence.ts';
import type { CosignTrust } from '../../verify/evaluate.ts';
import { decideAttestations } from '../../verify/verify-attestation.ts';
import { EXIT_CODES, EXIT_OK } from '../exit-codes.ts';
import type { CliIO } from '../io.ts';
import type { Command } from '../main.ts';
import { cliContext } from '../context.ts';
import { parseCommand } from '../flags.ts';
import { integerFlag, REGISTRY_FLAGS, requireTarget } from '../options.ts';
import { keylessFlags, requireOneMode, signerName } from '../keyless-options.ts';
import { readPublicKeys } from '../public-keys.ts';

/** The SBOM predicate types `download sbom --key` looks for unless --type names one. */
const SBOM_PREDICATE_TYPES = [PREDICATE_TYPES.spdxjson, PREDICATE_TYPES.cyclonedx] as string[];

export const command: Command = {
  summary: 'Download the attestations or SBOMs attached to an image',
  help: `Usage: vouch download attestation [--key PUB]... [--type TYPE] [OPTIONS] IMAGE
       vouch download sbom [--key PUB]... [--type TYPE] [OPTIONS] IMAGE
       vouch download attestation|sbom --certificate-identity ID
                      --certificate-oidc-issuer URL [--type TYPE] [OPTIONS] IMAGE

Writes documents attached to an image to stdout (or --output-file), and says
on stderr whether they were verified. Nothing is written when nothing
qualifies (exit 1).

download attestation
  The DSSE envelopes of the image's attestations (the layers of its
  sha256-<hex>.att manifest, and the envelopes inside the Sigstore bundles
  stored as OCI referrers of the image, cosign 3's form), one JSON document
  per line, as stored.
  Without --key or the keyless options they are UNVERIFIED: nobody checked
  who signed them or that they are about this image; --type keeps those
  whose (unverified) statement has that predicate type. With --key, or
  keylessly with --certificate-identity and --certificate-oidc-issuer, only
  the attestations that verify are written, as vouch verify-attestation
  checks them (signature over the PAE, or keylessly the certificate, log
  entry and identity; in-toto payload, subject digest = the image, and
  --type if given), and they are labelled VERIFIED.

download sbom
  Without --key or the keyless options: cosign's legacy SBOM attachment
  (cosign attach sbom: the one layer of the sha256-<hex>.sbom manifest),
  written as stored, UNVERIFIED. cosign deprecated these attachments
  (v2.2.1); nothing signed binds them to the image. With --key or keylessly:
  the SBOM from the image's verified SBOM attestations instead — the
  predicate of each attestation of type spdxjson or cyclonedx (or --type)
  that verifies and names this digest, one per line, labelled VERIFIED.

Examples:
  vouch download attestation registry.example.com/app:1.0 | head -1 | jq -r .payload | base64 -d
  vouch download attestation --key cosign.pub --type slsaprovenance1 registry.example.com/app:1.0
  vouch download sbom --key cosign.pub --output-file sbom.spdx.json registry.example.com/app:1.0
  vouch download sbom --type spdxjson \\
    --certificate-identity https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com cgr.dev/chainguard/static:latest

Options:
      --key FILE              write only what verifies with this public key (PEM); repeatable
      --type TYPE             a predicate type: cosign shorthand (spdxjson, cyclonedx,
                              slsaprovenance1, ...) or URI
      --output-file FILE      write to FILE instead of stdout
      --max-payload-bytes N   skip documents larger than N bytes (default 16777216)
      --trusted-root FILE     keylessly: a Sigstore trusted_root.json; default: the root
                              cached by vouch trusted-root update, else the shipped one
      --offline               keylessly: never fetch trust material

${keylessFlags('vouch download').help}

Exit codes: 0 written; 1 nothing qualified (none attached, none verified);
2 invalid input; 3 could not check.

${REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(
      args,
      io,
      { registry: REGISTRY_FLAGS },
      {
        ...keylessFlags('vouch download').options,
        offline: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        key: { type: 'string', multiple: true },
        type: { type: 'string' },
        'output-file': { type: 'string' },
        'max-payload-bytes': { type: 'string' },
      },
    );
    const { registry } = settings;
    const [what, image, ...rest] = positionals;
    if (what !== 'attestation' && what !== 'sbom') {
      throw invalid('USAGE', 'vouch download needs what to download: attestation or sbom');
    }
    if (image === undefined || rest.length > 0) {
      throw invalid('USAGE', `vouch download ${what} takes one IMAGE`);
    }
    const predicateType = values.type === undefined ? null : predicateTypeUri(values.type);
    const maxBytes =
      integerFlag('max-payload-bytes', values['max-payload-bytes'], 1, 2 ** 30) ??
      DEFAULT_MAX_ATTESTATION_BYTES;
    const keyPaths = values.key ?? [];
    // Read once the subcommand is known, which its usage errors name.
    const keyless = await keylessFlags(`vouch download ${what}`).read(values);
    const { identity } = keyless;
    if (keyPaths.length > 0 || identity !== undefined) {
      requireOneMode(keyPaths, identity, `vouch download ${what}`);
    } else if (keyless.trustedRoot !== undefined) {
      throw invalid(
        'USAGE',
        '--trusted-root is for keyless verification: add --certificate-identity and --certificate-oidc-issuer',
      );
    }
    if (
      what === 'sbom' &&
      keyPaths.length === 0 &&
      identity === undefined &&
      predicateType !== null
    ) {
      throw invalid(
        'USAGE',
        '--type applies to SBOM attestations, which need --key or the keyless options; the legacy .sbom attachment has no predicate type',
      );
    }
    const context = cliContext(io, { registry, workload: 'short', offline: values.offline });
    // Read and checked before any registry traffic: keys, or the keyless trust root.
    const trust: CosignTrust | undefined =
      identity !== undefined
        ? await context.keylessTrust({ identity, trustedRoot: keyless.trustedRoot })
        : keyPaths.length > 0
          ? { keys: await readPublicKeys(keyPaths) }
          : undefined;
    let download: Download;
    try {
      const opened = await context.stores.openImage(image);
      const target = requireTarget(image, opened.target);
      const resolved = await resolveImage(opened.store, target, image);
      const request = {
        store: opened.store,
        image: resolved,
        trust,
        keyPaths,
        predicateType,
        maxBytes,
      };
      download =
        what === 'attestation'
          ? await downloadAttestations(request)
          : trust !== undefined
            ? await downloadSbomAttestations(request, trust)
            : await downloadSbomAttachment(request);
    } catch (error) {
      if (!isVouchError(error)) throw error;
      io.stderr.write(`vouch: ${error.message}\n`);
      return EXIT_CODES[error.category];
    } finally {
      await context.close();
    }

    const output = values['output-file'];
    if (output === undefined) {
      io.stdout.write(download.data);
    } else {
      try {
        await writeFile(output, download.data);
      } catch (error) {
        throw invalid(
          'OUTPUT_UNWRITABLE',
          `cannot write --output-file ${output}: ${messageOf(error)}`,
          {
            cause: error,
          },
        );
      }
    }
    const destination = output === undefined ? '' : ` to ${output}`;
    io.stderr.write(`vouch: wrote ${download.label}${destination}\n`);
    for (const note of download.notes) io.stderr.write(`vouch: note: ${note}\n`);
    return EXIT_OK;
  },
};

interface DownloadRequest {
  readonly store: ImageStore;
  readonly image: ImageEvidence;
  /** Who may have signed; undefined: write what is stored, unverified. */
  readonly trust: CosignTrust | undefined;
  readonly keyPaths: readonly string[];
  readonly predicateType: string | null;
  readonly maxBytes: number;
}

interface Download {
  readonly data: Uint8Array;
  /** What was written and whether it was verified, for stderr. */
  readonly label: string;
  readonly notes: readonly string[];
}

const encoder = new TextEncoder();

async function downloadAttestations(request: DownloadRequest): Promise<Download> {
  const { store, image, trust, predicateType } = request;
  const evidence = await fetchAttestations(store, image, { maxEnvelopeBytes: request.maxBytes });
  const of = `of ${image.reference} (${image.digest}) from ${places(evidence)}`;
  const typed = predicateType === null ? '' : ` of type ${predicateType}`;
  if (trust !== undefined) {
    const verified = verifiedAttestations(evidence, request, trust);
    const lines = verified
      .map((attestation) => oneLine(attestation.envelope))
      .filter((l) => l !== undefined);
    return {
      data: encoder.encode(lines.join('')),
      label: `${lines.length} attestation${plural(lines.length)}${typed} ${of}, VERIFIED with ${keyNames(request, verified)}`,
      notes: skipped(evidence, verified.length),
    };
  }
  const notes: string[] = [];
  const lines: string[] = [];
  for (const attestation of storedEnvelopes(evidence, notes)) {
    const { where } = attestation;
    if (predicateType !== null) {
      let type: string;
      try {
        type = parseStatement(
          parseEnvelope(attestation.envelope, where).payload,
          where,
        ).predicateType;
      } catch (error) {
        if (!isVouchError(error)) throw error;
        notes.push(`skipped ${where}: ${error.message}`);
        continue;
      }
      if (type !== predicateType) continue;
    }
    const line = oneLine(attestation.envelope);
    if (line === undefined) notes.push(`skipped ${where}: not a JSON document`);
    else lines.push(line);
  }
  for (const layer of evidence.rejectedLayers) notes.push(`skipped ${layer.reason}`);
  for (const referrer of evidence.bundles?.rejectedReferrers ?? []) {
    notes.push(`skipped ${referrer.reason}`);
  }
  if (lines.length === 0) {
    throw denied(
      'NO_ATTESTATIONS',
      `no attestations${typed} ${of}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`,
    );
  }
  return {
    data: encoder.encode(lines.join('')),
    label: `${lines.length} attestation${plural(lines.length)}${typed} ${of}, UNVERIFIED: nobody checked who signed them or what they are about (add --key or --certificate-identity and --certificate-oidc-issuer to write only verified ones)`,
    notes,
  };
}

async function downloadSbomAttestations(
  request: DownloadRequest,
  trust: CosignTrust,
): Promise<Download> {
  const { store, image, predicateType } = request;
  const evidence = await fetchAttestations(store, image, { maxEnvelopeBytes: request.maxBytes });
  const wanted = predicateType === null ? SBOM_PREDICATE_TYPES : [predicateType];
  const verified = verifiedAttestations(
    evidence,
    { ...request, predicateType: null },
    trust,
    wanted,
  );
  const lines = verified.map(({ statement }) => {
    const predicate = statement.predicate;
    // A text SBOM (cosign's legacy --type spdx) is written as its text.
    return typeof predicate === 'string'
      ? `${predicate}\n`
      : `${JSON.stringify(predicate ?? null)}\n`;
  });
  return {
    data: encoder.encode(lines.join('')),
    label: `the SBOM${plural(lines.length)} (${[...new Set(verified.map((a) => a.predicateType))].join(', ')}) of ${image.reference} (${image.digest}) from ${lines.length} attestation${plural(lines.length)} at ${places(evidence)}, VERIFIED with ${keyNames(request, verified)}`,
    notes: skipped(evidence, verified.length),
  };
}

/** The attestations that verify, with the types wanted; throws `denied` when there are none. */
function verifiedAttestations(
  evidence: AttestationEvidence,
  request: DownloadRequest,
  trust: CosignTrust,
  types?: readonly string[],
): VerifiedAttestation[] {
  const options = {
    trust,
    policy: { predicateType: request.predicateType },
  };
  const verdict = evaluateAttestations(evidence, options.trust, options.policy);
  const verified = verdict.verified.filter(
    (attestation) => types === undefined || types.includes(attestation.predicateType),
  );
  if (verified.length === 0) {
    const decided = decideAttestations(evidence, options);
    const reasons = verdict.rejected.map((r) => `${r.reason.code}: ${r.reason.message}`);
    const other =
      types === undefined
        ? undefined
        : `no verified attestation of type ${types.join(' or ')} for ${evidence.image.reference} (${evidence.image.digest})`;
    const detail = reasons.length > 0 ? `; ${reasons.join('; ')}` : '';
    if (other === undefined && hasCode(decided.error, 'NO_ATTESTATIONS', 'NO_VALID_ATTESTATION')) {
      throw denied(decided.error.code, decided.error.message + detail);
    }
    throw denied('NO_VALID_ATTESTATION', `${other ?? 'no valid attestation'}${detail}`);
  }
  return verified;
}

async function downloadSbomAttachment(request: DownloadRequest): Promise<Download> {
  const { store, image, maxBytes } = request;
  const tag = attachmentTag(image.digest, 'sbom');
  const location = tagLocation(store.location, tag);
  let manifest: ParsedManifest;
  try {
    manifest = await store.getManifest({ tag });
  } catch (error) {
    if (hasCode(error, 'MANIFEST_UNKNOWN')) {
      throw denied(
        'NO_SBOM',
        `no SBOM attached to ${image.reference} (${image.digest}): nothing at ${location}. cosign's SBOM attachments are deprecated; SBOMs are published as attestations now: vouch download sbom --key KEY ${image.reference}`,
      );
    }
    throw error;
  }
  // cosign's `attach sbom` pushes one static file: a manifest with exactly one layer.
  if (manifest.kind !== 'image' || manifest.manifest.layers.length !== 1) {
    throw denied(
      'SBOM_ATTACHMENT_INVALID',
      `${location} (${manifest.digest}) is not an SBOM attachment: expected an image manifest with exactly one layer`,
    );
  }
  const layer = manifest.manifest.layers[0] as (typeof manifest.manifest.layers)[number];
  if (layer.size > maxBytes) {
    throw denied(
      'SBOM_TOO_LARGE',
      `the SBOM at ${location} declares ${layer.size} bytes, more than the ${maxBytes} allowed (--max-payload-bytes)`,
    );
  }
  const data = await store.readBlob(layer, maxBytes);
  return {
    data,
    label: `the SBOM attachment (${layer.mediaType}, ${data.byteLength} bytes) of ${image.reference} (${image.digest}) from ${location}, UNVERIFIED: cosign's SBOM attachments are not signed with the image; for a verified SBOM use --key or the keyless options (SBOM attestations)`,
    notes: [],
  };
}

/** One line of JSON Lines: the bytes as stored when they hold no line break, else re-encoded compactly. */
function oneLine(bytes: Uint8Array): string | undefined {
  const text = new TextDecoder().decode(bytes);
  if (!/[\r\n]/.test(text)) return `${text}\n`;
  try {
    return `${JSON.stringify(parseStrictJson(bytes))}\n`;
  } catch {
    return undefined;
  }
}

/**
 * The DSSE envelopes of both storage forms, as stored: each `.att` layer, and
 * the envelope inside each Sigstore bundle referrer (a bundle holding a
 * message signature has none, and is noted in `notes`).
 */
function storedEnvelopes(
  evidence: AttestationEvidence,
  notes: string[],
): { readonly where: string; readonly envelope: Uint8Array }[] {
  const envelopes = evidence.attestations.map((attestation) => ({
    where: `.att layer ${attestation.index} (${attestation.layer.digest})`,
    envelope: attestation.envelope,
  }));
  for (const referrer of evidence.bundles?.bundles ?? []) {
    const where = `Sigstore bundle referrer ${referrer.index} (${referrer.referrer})`;
    const { content } = referrer.bundle;
    if (content.kind === 'dsse-envelope') envelopes.push({ where, envelope: content.envelopeJson });
    else notes.push(`skipped ${where}: it holds a message signature, not a DSSE envelope`);
  }
  return envelopes;
}

/** Where the attestations were looked for, in both storage forms. */
function places(evidence: AttestationEvidence): string {
  const referrers = evidence.bundles?.referrersLocation;
  return referrers === undefined
    ? evidence.attestationLocation
    : `${evidence.attestationLocation} and the bundle referrers at ${referrers}`;
}

function skipped(evidence: AttestationEvidence, written: number): string[] {
  const bundles = evidence.bundles;
  const total =
    evidence.attestations.length +
    evidence.rejectedLayers.length +
    (bundles === undefined ? 0 : bundles.bundles.length + bundles.rejectedReferrers.length);
  const left = total - written;
  return left > 0
    ? [
        `${left} other attestation${plural(left)} at ${places(evidence)} not written (not verified, or not of the type asked for); vouch verify-attestation says why`,
      ]
    : [];
}

function keyNames(request: DownloadRequest, verified: readonly VerifiedAttestation[]): string {
  return [...new Set(verified.map((a) => signerName(request.keyPaths, a)))].join(', ');
}

function plural(count: number): string {
  return count === 1 ? '' : 's';
}
