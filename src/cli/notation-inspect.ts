/**
 * `vouch notation inspect IMAGE`: what each of the image's signature
 * envelopes says, as `notation inspect` prints it (notation
 * cmd/notation/inspect.go v1.3: the same JSON document with `-o json`, the
 * same tree otherwise). Nothing is verified: the envelopes are parsed, the
 * timestamp token read and its imprint checked against the signature, as
 * notation does, and that is all. Times are printed in UTC (notation keeps a
 * JWS time's own offset, and prints COSE times in local time).
 *
 * https://github.com/notaryproject/notation/blob/v1.3.2/cmd/notation/inspect.go
 */
import { denied, invalid, isVouchError } from '../core/errors.ts';
import type { NotationEnvelope, NotationSignatureAlgorithm } from '../formats/notation/envelope.ts';
import type { parseNotationEnvelope } from '../formats/notation/parse-envelope.ts';
import type * as Timestamp from '../formats/notation/timestamp.ts';
import type * as X509 from '../formats/notation/x509.ts';
import type { NotationSignatureEvidence } from '../notation/evidence.ts';
import { digestHex, digestOf } from '../oci/digest.ts';
import type { NotationSubcommand } from './commands/notation.ts';
import { cliContext } from './context.ts';
import { parseCommand } from './flags.ts';
import { type CliIO, writeJson } from './io.ts';
import { integerFlag, OUTPUT_FLAGS, REGISTRY_FLAGS, requireTarget } from './options.ts';

/** notation-plugin-framework-go's names of the six algorithms (plugin/proto `EncodeSigningAlgorithm`). */
const ALGORITHM_NAMES: Readonly<Record<NotationSignatureAlgorithm, string>> = {
  PS256: 'RSASSA-PSS-SHA-256',
  PS384: 'RSASSA-PSS-SHA-384',
  PS512: 'RSASSA-PSS-SHA-512',
  ES256: 'ECDSA-SHA-256',
  ES384: 'ECDSA-SHA-384',
  ES512: 'ECDSA-SHA-512',
};

interface CertificateOutput {
  readonly SHA256Fingerprint: string;
  readonly issuedTo: string;
  readonly issuedBy: string;
  readonly expiry: string;
  /** Text output only: notation prints the expiry alone. */
  readonly validFrom: string;
}

interface TimestampOutput {
  readonly timestamp?: string;
  readonly certificates?: readonly CertificateOutput[];
  readonly error?: string;
}

interface SignatureOutput {
  readonly mediaType: string;
  readonly digest: string;
  readonly signatureAlgorithm: string;
  readonly signedAttributes: Readonly<Record<string, string>>;
  readonly userDefinedAttributes: Readonly<Record<string, string>> | null;
  readonly unsignedAttributes: {
    readonly signingAgent?: string;
    readonly timestampSignature?: TimestampOutput;
  };
  readonly certificates: readonly CertificateOutput[];
  readonly signedArtifact: Readonly<Record<string, string | number>>;
}

type Format = 'text' | 'json';

export const subcommand: NotationSubcommand = {
  async run(args: readonly string[], io: CliIO): Promise<number> {
    const { values, positionals, settings } = await parseCommand(
      args,
      io,
      { format: OUTPUT_FLAGS, registry: REGISTRY_FLAGS },
      { 'max-signatures': { type: 'string' }, 'max-envelope-bytes': { type: 'string' } },
    );
    if (positionals.length !== 1) throw invalid('USAGE', 'vouch notation inspect takes one IMAGE');
    const image = positionals[0] as string;
    const maxSignatures = integerFlag('max-signatures', values['max-signatures'], 1, 100_000);
    const maxEnvelopeBytes = integerFlag(
      'max-envelope-bytes',
      values['max-envelope-bytes'],
      1,
      32 * 1024 * 1024,
    );
    const format: Format = settings.format;
    const context = cliContext(io, { registry: settings.registry, workload: 'short' });
    const { gatherNotationSignatures, resolveNotationImage } =
      await import('../notation/evidence.ts');
    let gathered;
    let reference: string;
    try {
      const { store, target } = await context.stores.openImage(image);
      const resolved = await resolveNotationImage(store, requireTarget(image, target), image);
      reference = `${store.location}@${resolved.descriptor.digest}`;
      gathered = await gatherNotationSignatures(store, resolved, {
        ...(maxSignatures === undefined ? {} : { maxSignatures }),
        ...(maxEnvelopeBytes === undefined ? {} : { maxEnvelopeBytes }),
      });
    } finally {
      await context.close();
    }
    const [{ parseNotationEnvelope }, x509, timestamp] = await Promise.all([
      import('../formats/notation/parse-envelope.ts'),
      import('../formats/notation/x509.ts'),
      import('../formats/notation/timestamp.ts'),
    ]);
    const tools = { parseNotationEnvelope, x509, timestamp };
    const signatures: SignatureOutput[] = [];
    let skipped = 0;
    const byIndex = [
      ...gathered.signatures.map((signature) => ({ index: signature.index, signature })),
      ...gathered.rejected.map((rejected) => ({ index: rejected.index, rejected })),
    ].sort((a, b) => a.index - b.index);
    for (const entry of byIndex) {
      if ('rejected' in entry) {
        io.stderr.write(
          `Warning: Skipping signature ${entry.rejected.digest} because of error: ${entry.rejected.reason}\n`,
        );
        skipped++;
        continue;
      }
      try {
        signatures.push(signatureOutput(entry.signature, format, tools));
      } catch (error) {
        if (!isVouchError(error)) throw error;
        io.stderr.write(
          `Warning: Skipping signature ${entry.signature.manifest.digest} because of error: ${error.message}\n`,
        );
        skipped++;
      }
    }
    const mediaType = gathered.image.descriptor.mediaType;
    if (format === 'json') writeJson(io, { mediaType, Signatures: signatures.map(jsonShape) });
    else io.stdout.write(render(reference, signatures));
    if (gathered.notExamined > 0) {
      io.stdout.write(
        `Warning: ${gathered.notExamined} more signature(s) not inspected: more than the maximum number of signatures (--max-signatures)\n`,
      );
    }
    if (skipped > 0) {
      throw denied(
        'NOTATION_INSPECT_INCOMPLETE',
        `at least one signature was skipped and not displayed`,
      );
    }
    return 0;
  },
};

/** The modules the output needs, loaded once the signatures are gathered. */
interface Tools {
  readonly parseNotationEnvelope: typeof parseNotationEnvelope;
  readonly x509: typeof X509;
  readonly timestamp: typeof Timestamp;
}

function signatureOutput(
  signature: NotationSignatureEvidence,
  format: Format,
  tools: Tools,
): SignatureOutput {
  const { manifest, envelope: bytes } = signature;
  if (bytes === undefined) throw invalid('USAGE', 'the envelope was not fetched');
  const envelope = tools.parseNotationEnvelope(manifest.envelopeMediaType, bytes);
  const target = envelope.targetArtifact;
  const annotations = target.annotations;
  return {
    mediaType: envelope.mediaType,
    digest: manifest.digest,
    signatureAlgorithm: ALGORITHM_NAMES[envelope.signatureAlgorithm],
    signedAttributes: signedAttributes(envelope, format),
    userDefinedAttributes: annotations === undefined ? null : annotations,
    unsignedAttributes: {
      ...(envelope.signingAgent === undefined ? {} : { signingAgent: envelope.signingAgent }),
      ...(envelope.timestampToken === undefined
        ? {}
        : { timestampSignature: timestampOutput(envelope, format, tools) }),
    },
    certificates: certificates(envelope.certificateChain, format, tools),
    signedArtifact: {
      mediaType: target.mediaType,
      digest: target.digest,
      size: target.size,
      ...(target.artifactType === undefined ? {} : { artifactType: target.artifactType }),
    },
  };
}

/** inspect.go `getSignedAttributes`: Go map keys, printed sorted. */
function signedAttributes(envelope: NotationEnvelope, format: Format): Record<string, string> {
  const attributes: Record<string, string> = {
    signingScheme: envelope.signingScheme,
    signingTime: formatTime(envelope.signingTime, format),
  };
  if (envelope.expiry !== undefined) attributes.expiry = formatTime(envelope.expiry, format);
  for (const attribute of envelope.extendedAttributes) {
    attributes[attribute.key] =
      typeof attribute.value === 'string'
        ? attribute.value
        : (JSON.stringify(attribute.value) ?? '');
  }
  return Object.fromEntries(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function certificates(
  chain: readonly Uint8Array[],
  format: Format,
  tools: Tools,
): CertificateOutput[] {
  return chain.map((der, i) => {
    const cert = tools.x509.parseCertificate(der, `certificate ${i}`);
    return {
      SHA256Fingerprint: digestHex(digestOf(der)),
      issuedTo: cert.subject,
      issuedBy: cert.issuer,
      expiry: formatTime(cert.notAfter, format),
      validFrom: formatTime(cert.notBefore, format),
    };
  });
}

/** inspect.go `parseTimestamp`: the token's time range and certificates, not verified. */
function timestampOutput(
  envelope: NotationEnvelope,
  format: Format,
  tools: Tools,
): TimestampOutput {
  const token = tools.timestamp.readTimestampToken(
    envelope.timestampToken ?? new Uint8Array(),
    envelope.signature,
  );
  if (!token.ok) return { error: `failed to parse timestamp countersignature: ${token.message}` };
  const range = `[${formatTime(new Date(token.earliest), format)}, ${formatTime(new Date(token.latest), format)}]`;
  return {
    timestamp: range,
    certificates: token.certificates.map(
      (cert) => certificates([cert.der], format, tools)[0] as CertificateOutput,
    ),
  };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's time.RFC3339 (JSON) or time.ANSIC (text) of `date`, in UTC. */
function formatTime(date: Date, format: Format): string {
  if (format === 'json') return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${date.getUTCFullYear()}`;
}

/** The JSON document notation prints: certificates without the text-only field. */
function jsonShape(signature: SignatureOutput) {
  const strip = ({ validFrom: _, ...rest }: CertificateOutput) => rest;
  const stamp = signature.unsignedAttributes.timestampSignature;
  return {
    ...signature,
    unsignedAttributes: {
      ...(signature.unsignedAttributes.signingAgent === undefined
        ? {}
        : { signingAgent: signature.unsignedAttributes.signingAgent }),
      ...(stamp === undefined
        ? {}
        : {
            timestampSignature: {
              ...stamp,
              ...(stamp.certificates === undefined
                ? {}
                : { certificates: stamp.certificates.map(strip) }),
            },
          }),
    },
    certificates: signature.certificates.map(strip),
  };
}

interface Node {
  readonly text: string;
  readonly children: Node[];
}

const node = (text: string, children: Node[] = []): Node => ({ text, children });

/** inspect.go `printOutput`'s tree. */
function render(reference: string, signatures: readonly SignatureOutput[]): string {
  if (signatures.length === 0) return `${reference} has no associated signature\n`;
  const certificateNodes = (certs: readonly CertificateOutput[]) =>
    certs.map((cert) =>
      node(`SHA256 fingerprint: ${cert.SHA256Fingerprint}`, [
        node(`issued to: ${cert.issuedTo}`),
        node(`issued by: ${cert.issuedBy}`),
        node(`valid from: ${cert.validFrom}`),
        node(`expiry: ${cert.expiry}`),
      ]),
    );
  const pairs = (map: Readonly<Record<string, string>> | null) => {
    const entries = Object.entries(map ?? {});
    return entries.length === 0
      ? [node('(empty)')]
      : entries.map(([key, value]) => node(`${key}: ${value}`));
  };
  const root = node(reference, [
    node(
      'application/vnd.cncf.notary.signature',
      signatures.map((signature) => {
        const unsigned: Node[] = [];
        const { signingAgent, timestampSignature: stamp } = signature.unsignedAttributes;
        if (signingAgent !== undefined) unsigned.push(node(`signingAgent: ${signingAgent}`));
        if (stamp !== undefined) {
          unsigned.push(
            node(
              'timestamp signature',
              stamp.error !== undefined
                ? [node(`error: ${stamp.error}`)]
                : [
                    node(`timestamp: ${stamp.timestamp ?? ''}`),
                    node('certificates', certificateNodes(stamp.certificates ?? [])),
                  ],
            ),
          );
        }
        const artifact = signature.signedArtifact;
        return node(signature.digest, [
          node(`media type: ${signature.mediaType}`),
          node(`signature algorithm: ${signature.signatureAlgorithm}`),
          node('signed attributes', pairs(signature.signedAttributes)),
          node('user defined attributes', pairs(signature.userDefinedAttributes)),
          node('unsigned attributes', unsigned),
          node('certificates', certificateNodes(signature.certificates)),
          node('signed artifact', [
            node(`media type: ${String(artifact.mediaType)}`),
            node(`digest: ${String(artifact.digest)}`),
            node(`size: ${String(artifact.size)}`),
          ]),
        ]);
      }),
    ),
  ]);
  const lines = ['Inspecting all signatures for signed artifact', root.text];
  const walk = (children: readonly Node[], prefix: string) => {
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${child.text}`);
      walk(child.children, `${prefix}${last ? '    ' : '│   '}`);
    });
  };
  walk(root.children, '');
  return `${lines.join('\n')}\n`;
}
