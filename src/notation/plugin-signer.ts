/**
 * Signing through a notation plugin, as notation-go v1.3 `signer/plugin.go`
 * `PluginSigner` does and plugin-extensibility.md "Signing interfaces"
 * describes:
 *
 * 1. `get-plugin-metadata` says what the plugin can do: with
 *    `SIGNATURE_GENERATOR.RAW` (tried first, as notation-go does) vouch
 *    builds the envelope and the plugin signs its payload; with
 *    `SIGNATURE_GENERATOR.ENVELOPE` the plugin builds the whole envelope;
 *    without either it cannot sign.
 * 2. RAW: `describe-key` names the key's spec, which fixes the algorithm
 *    (and so the JWS `alg` or COSE label); `generate-signature` signs the
 *    payload to sign. Before anything is written its answer is checked: the
 *    same key ID, the signing algorithm the key spec calls for, a leaf
 *    certificate whose key is of that spec, and a signature that verifies
 *    with the leaf's key over exactly the bytes given (the spec's step 4).
 * 3. ENVELOPE: `generate-envelope` gets the payload; its envelope must be of
 *    the type asked for, parse, verify with its own leaf certificate, and
 *    sign the descriptor given: same media type, digest and size, every
 *    annotation given with its value (a plugin may add annotations, never
 *    change one; signer/plugin.go isPayloadDescriptorValid).
 *
 * Metadata and the key spec are asked once per run (notation asks per
 * artifact; the answers are static by the spec). Failures are the plugin's
 * (plugin.ts) or `denied` NOTATION_PLUGIN_RESPONSE_INVALID for an answer that
 * does not hold up, each naming the plugin.
 */
import { denied, invalid, isVouchError } from '../core/errors.ts';
import {
  marshalPayload,
  type NotationEnvelope,
  type NotationEnvelopeMediaType,
  type NotationSignatureAlgorithm,
  type NotationTargetArtifact,
} from '../formats/notation/envelope.ts';
import { parseNotationEnvelope } from '../formats/notation/parse-envelope.ts';
import {
  CAPABILITY_ENVELOPE_GENERATOR,
  CAPABILITY_SIGNATURE_GENERATOR,
  describeKeyRequest,
  generateEnvelopeRequest,
  generateSignatureRequest,
  metadataRequest,
  parseDescribeKeyResponse,
  parseGenerateEnvelopeResponse,
  parseGenerateSignatureResponse,
  parseMetadataResponse,
  type PluginConfig,
  type PluginMetadata,
} from '../formats/notation/plugin-protocol.ts';
import {
  type NotationChainSigner,
  signatureVerifies,
  signingLeaf,
  verifyNotationSignature,
} from '../formats/notation/signature.ts';
import type {} from './error-codes.ts';
import type { NotationPlugin } from './plugin.ts';

export interface PluginKey {
  readonly plugin: NotationPlugin;
  /** The key's ID in the plugin's KMS (`signingkeys.json` `id`, `--id`). */
  readonly keyId: string;
  readonly pluginConfig: PluginConfig;
}

export interface PluginEnvelopeResult {
  readonly envelope: Uint8Array;
  readonly parsed: NotationEnvelope;
  /** For the signature manifest. */
  readonly annotations: Readonly<Record<string, string>>;
}

export type PluginSigning =
  | {
      readonly capability: 'signature';
      readonly metadata: PluginMetadata;
      readonly signer: NotationChainSigner;
    }
  | {
      readonly capability: 'envelope';
      readonly metadata: PluginMetadata;
      generateEnvelope(
        target: Pick<NotationTargetArtifact, 'mediaType' | 'digest' | 'size' | 'annotations'>,
        envelopeType: NotationEnvelopeMediaType,
        expirySeconds: number | undefined,
      ): Promise<PluginEnvelopeResult>;
    };

/** Asks the plugin what it can do and, for a raw signer, its key spec (module comment). */
export async function startPluginSigning(key: PluginKey): Promise<PluginSigning> {
  const { plugin, keyId, pluginConfig } = key;
  const metadata = parseMetadataResponse(
    await plugin.run('get-plugin-metadata', metadataRequest(pluginConfig)),
    plugin.name,
  );
  if (metadata.capabilities.includes(CAPABILITY_SIGNATURE_GENERATOR)) {
    const algorithm = parseDescribeKeyResponse(
      await plugin.run('describe-key', describeKeyRequest(keyId, pluginConfig)),
      plugin.name,
      keyId,
    );
    return { capability: 'signature', metadata, signer: rawSigner(key, algorithm) };
  }
  if (metadata.capabilities.includes(CAPABILITY_ENVELOPE_GENERATOR)) {
    return {
      capability: 'envelope',
      metadata,
      generateEnvelope: (target, envelopeType, expirySeconds) =>
        generateEnvelope(key, target, envelopeType, expirySeconds),
    };
  }
  throw invalid(
    'NOTATION_PLUGIN_UNUSABLE',
    `plugin ${JSON.stringify(plugin.name)} cannot sign: its capabilities ${JSON.stringify(metadata.capabilities)} include neither ${CAPABILITY_SIGNATURE_GENERATOR} nor ${CAPABILITY_ENVELOPE_GENERATOR}`,
  );
}

function refused(plugin: NotationPlugin, command: string, problem: string) {
  return denied(
    'NOTATION_PLUGIN_RESPONSE_INVALID',
    `plugin ${JSON.stringify(plugin.name)} answered ${command} with ${problem}`,
  );
}

function rawSigner(key: PluginKey, algorithm: NotationSignatureAlgorithm): NotationChainSigner {
  const { plugin, keyId, pluginConfig } = key;
  return {
    algorithm,
    async sign(data) {
      const answer = parseGenerateSignatureResponse(
        await plugin.run(
          'generate-signature',
          generateSignatureRequest(keyId, algorithm, data, pluginConfig),
        ),
        plugin.name,
        keyId,
        algorithm,
      );
      const fail = (problem: string) => refused(plugin, 'generate-signature', problem);
      const leaf = signingLeaf(answer.certificateChain, (problem) =>
        fail(`a certificate chain notation cannot sign with: ${problem}`),
      );
      if (leaf.algorithm !== algorithm) {
        throw fail(
          `a leaf certificate whose key signs with ${leaf.algorithm}, but describe-key said the key signs with ${algorithm}`,
        );
      }
      if (!signatureVerifies(algorithm, leaf.key, data, answer.signature)) {
        throw fail(
          "a signature that does not verify with its leaf certificate's key over the payload it was given",
        );
      }
      return { signature: answer.signature, certificateChain: answer.certificateChain };
    },
  };
}

async function generateEnvelope(
  key: PluginKey,
  target: Pick<NotationTargetArtifact, 'mediaType' | 'digest' | 'size' | 'annotations'>,
  envelopeType: NotationEnvelopeMediaType,
  expirySeconds: number | undefined,
): Promise<PluginEnvelopeResult> {
  const { plugin, keyId, pluginConfig } = key;
  const answer = parseGenerateEnvelopeResponse(
    await plugin.run(
      'generate-envelope',
      generateEnvelopeRequest(
        keyId,
        envelopeType,
        marshalPayload(target),
        expirySeconds,
        pluginConfig,
      ),
    ),
    plugin.name,
    envelopeType,
  );
  const fail = (problem: string) => refused(plugin, 'generate-envelope', problem);
  let parsed: NotationEnvelope;
  try {
    parsed = parseNotationEnvelope(envelopeType, answer.envelope);
    verifyNotationSignature(parsed);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    throw fail(`an envelope that does not hold up: ${error.message}`);
  }
  const signed = parsed.targetArtifact;
  const given = target.annotations ?? {};
  if (
    signed.mediaType !== target.mediaType ||
    signed.digest !== target.digest ||
    signed.size !== target.size ||
    Object.entries(given).some(([k, v]) => signed.annotations?.[k] !== v)
  ) {
    throw fail(
      `an envelope that signs another descriptor: ${signed.digest} (${signed.mediaType}, ${signed.size} bytes) instead of ${target.digest}, or with changed annotations`,
    );
  }
  return { envelope: answer.envelope, parsed, annotations: answer.annotations };
}
