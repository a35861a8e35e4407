/**
 * Running verification plugins (notaryproject/specifications
 * `specs/plugin-extensibility.md` "Signature Verifier"; notation-go v1.3
 * `verifier/verifier.go`): `get-plugin-metadata` and `verify-signature`
 * through plugin.ts, so both have its output cap and deadline, and each
 * answer read strictly (formats/notation/verification-plugin.ts). What to
 * ask and what the answers mean is evaluate.ts's.
 */
import {
  metadataRequest,
  parseMetadataResponse,
  type PluginConfig,
  type PluginMetadata,
} from '../formats/notation/plugin-protocol.ts';
import {
  parseVerifySignatureResponse,
  type VerifySignatureResponse,
} from '../formats/notation/verification-plugin.ts';
import type { NotationPluginCall } from './evaluate.ts';
import { NotationPlugin, type PluginOptions } from './plugin.ts';

export interface VerificationPluginOptions extends PluginOptions {
  /** {NOTATION_CONFIG}: the plugins are in its `plugins/`. */
  readonly configDir: string;
}

/** The metadata of the installed plugin `name`; throws what plugin.ts throws, or a bad answer. */
export async function verificationPluginMetadata(
  name: string,
  pluginConfig: PluginConfig,
  options: VerificationPluginOptions,
): Promise<PluginMetadata> {
  const plugin = await NotationPlugin.open(options.configDir, name, options);
  const answer = await plugin.run('get-plugin-metadata', metadataRequest(pluginConfig));
  return parseMetadataResponse(answer, name);
}

/** The plugin's answer to `call`; throws what plugin.ts throws, or a bad answer. */
export async function runVerifySignature(
  call: NotationPluginCall,
  options: VerificationPluginOptions,
): Promise<VerifySignatureResponse> {
  const plugin = await NotationPlugin.open(options.configDir, call.plugin, options);
  const answer = await plugin.run('verify-signature', call.request);
  return parseVerifySignatureResponse(answer, call.plugin, call.checks, call.unprocessed);
}
