/**
 * notation plugins for tests: small executable Node scripts installed as
 * `{config}/plugins/NAME/notation-NAME`, speaking the plugin contract 1.0
 * (plugin-extensibility.md). One signs with a local key as a KMS plugin
 * would, one verifies as a verification plugin would; the others misbehave
 * in one way each. Every request a plugin
 * receives is appended to `{config}/plugins/NAME/requests.jsonl`.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export type PluginBehaviour =
  /** SIGNATURE_GENERATOR.RAW with `keyFile`/`certFile`, as it should. */
  | 'sign'
  /** Signs with another key than its certificate's. */
  | 'wrong-key'
  /** describe-key says EC-256; the key and certificate are RSA. */
  | 'wrong-spec'
  /** Writes more than 64 MiB for generate-signature. */
  | 'oversize'
  /** Exits 1 with a JSON error (ACCESS_DENIED, with a terminal escape in its message). */
  | 'error-json'
  /** Exits 2 with text on stderr. */
  | 'crash'
  /** Never answers generate-signature. */
  | 'hang'
  /** SIGNATURE_GENERATOR.ENVELOPE: builds the JWS itself (with vouch's buildJws). */
  | 'envelope'
  /** SIGNATURE_GENERATOR.ENVELOPE, signing another digest than the one asked for. */
  | 'envelope-other-digest';

export interface TestPluginOptions {
  readonly behaviour: PluginBehaviour;
  /** PEM private key and certificate chain the plugin signs with. */
  readonly keyFile: string;
  readonly certFile: string;
}

const JWS_MODULE = resolve(import.meta.dirname, '../../src/formats/notation/jws.ts');
const SIGNATURE_MODULE = resolve(import.meta.dirname, '../../src/formats/notation/signature.ts');

/**
 * The start of every plugin's source (CommonJS, run by the Node that runs
 * the tests): it logs the request and defines `settings`, `command`,
 * `request`, `b` (the behaviour) and `out`.
 */
function preamble(settings: string): string {
  return `#!${process.execPath}
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const settings = ${settings};
const command = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
fs.appendFileSync(path.join(__dirname, 'requests.jsonl'), JSON.stringify({ command, request: JSON.parse(input) }) + '\\n');
const request = JSON.parse(input);
const b = settings.behaviour;
const out = (value) => process.stdout.write(JSON.stringify(value));`;
}

/** Writes `source` as plugin `name`'s executable under `configDir`; returns its path. */
async function install(configDir: string, name: string, source: string): Promise<string> {
  const dir = join(configDir, 'plugins', name);
  await mkdir(dir, { recursive: true });
  const executable = join(dir, `notation-${name}`);
  // The script is CommonJS whatever package.json a directory above says
  // (Node picks a file's module format from the nearest one).
  await writeFile(join(dir, 'package.json'), '{"type":"commonjs"}\n');
  await writeFile(executable, source);
  await chmod(executable, 0o755);
  return executable;
}

/** A signing plugin's source. */
function source(name: string, options: TestPluginOptions): string {
  const settings = JSON.stringify({ name, ...options, JWS_MODULE, SIGNATURE_MODULE });
  return `${preamble(settings)}
const crypto = require('node:crypto');
const envelopePlugin = b === 'envelope' || b === 'envelope-other-digest';
const certificates = () =>
  fs.readFileSync(settings.certFile, 'utf8')
    .split('-----END CERTIFICATE-----')
    .filter((part) => part.includes('-----BEGIN CERTIFICATE-----'))
    .map((part) => new crypto.X509Certificate(part + '-----END CERTIFICATE-----\\n').raw.toString('base64'));
async function main() {
  switch (command) {
    case 'get-plugin-metadata':
      return out({
        name: settings.name, description: 'a test plugin', version: '1.0.0', url: 'https://example.com',
        supportedContractVersions: ['1.0'],
        capabilities: [envelopePlugin ? 'SIGNATURE_GENERATOR.ENVELOPE' : 'SIGNATURE_GENERATOR.RAW'],
      });
    case 'describe-key':
      return out({ keyId: request.keyId, keySpec: b === 'wrong-spec' ? 'EC-256' : 'RSA-2048' });
    case 'generate-signature': {
      if (b === 'hang') return new Promise(() => setInterval(() => {}, 1000));
      if (b === 'oversize') {
        process.stdout.write(Buffer.alloc(65 * 1024 * 1024, 0x20));
        return;
      }
      if (b === 'error-json') {
        process.stderr.write(JSON.stringify({ errorCode: 'ACCESS_DENIED', errorMessage: 'the key is locked \\u001b[31mred' }));
        process.exit(1);
      }
      if (b === 'crash') {
        process.stderr.write('panic: runtime error: index out of range\\n');
        process.exit(2);
      }
      const key = b === 'wrong-key'
        ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
        : crypto.createPrivateKey(fs.readFileSync(settings.keyFile));
      const signature = crypto.sign('sha256', Buffer.from(request.payload, 'base64'), {
        key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32,
      });
      return out({
        keyId: request.keyId, signature: signature.toString('base64'),
        // wrong-spec keeps to the EC-256 it claimed; its certificate says otherwise.
        signingAlgorithm: b === 'wrong-spec' ? 'ECDSA-SHA-256' : 'RSASSA-PSS-SHA-256',
        certificateChain: certificates(),
      });
    }
    case 'generate-envelope': {
      const { buildJws } = await import(settings.JWS_MODULE);
      const { notationKeySigner } = await import(settings.SIGNATURE_MODULE);
      const target = JSON.parse(Buffer.from(request.payload, 'base64').toString()).targetArtifact;
      if (b === 'envelope-other-digest') target.digest = 'sha256:' + 'a'.repeat(64);
      const envelope = await buildJws({
        targetArtifact: target,
        certificateChain: certificates().map((c) => new Uint8Array(Buffer.from(c, 'base64'))),
        signingTime: new Date(),
        signingAgent: 'test-envelope-plugin/1.0',
        signer: notationKeySigner(crypto.createPrivateKey(fs.readFileSync(settings.keyFile))),
      });
      return out({
        signatureEnvelope: Buffer.from(envelope).toString('base64'),
        signatureEnvelopeType: request.signatureEnvelopeType,
        annotations: { 'com.example.plugin': 'envelope' },
      });
    }
    default:
      process.stderr.write(JSON.stringify({ errorCode: 'VALIDATION_ERROR', errorMessage: 'unknown command ' + command }));
      process.exit(1);
  }
}
main().catch((error) => {
  process.stderr.write(String(error && error.stack || error));
  process.exit(3);
});
`;
}

/** Installs plugin `name` under `configDir`; returns the executable's path. */
export async function installTestPlugin(
  configDir: string,
  name: string,
  options: TestPluginOptions,
): Promise<string> {
  return install(configDir, name, source(name, options));
}

/** The requests plugin `name` received, in order. */
export async function pluginRequests(
  configDir: string,
  name: string,
): Promise<{ command: string; request: Record<string, unknown> }[]> {
  let text: string;
  try {
    text = await readFile(join(configDir, 'plugins', name, 'requests.jsonl'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { command: string; request: Record<string, unknown> });
}

export type VerifierBehaviour =
  /** Every check asked for succeeds; every attribute given is processed. */
  | 'verify'
  /** The trusted identity check fails, with a reason. */
  | 'identity-fails'
  /** Claims success without processing the critical attributes it was given. */
  | 'skip-attribute'
  /** Writes more than 64 MiB for verify-signature. */
  | 'oversize'
  /** Exits 2 with text on stderr. */
  | 'crash'
  /** Never answers verify-signature. */
  | 'hang';

export interface VerificationPluginOptions {
  readonly behaviour: VerifierBehaviour;
  /** get-plugin-metadata's version; 1.2.0 unless given. */
  readonly version?: string;
  /** get-plugin-metadata's capabilities; both SIGNATURE_VERIFIER ones unless given. */
  readonly capabilities?: readonly string[];
}

/** A verification plugin's source (plugin-extensibility.md "verify-signature"). */
function verifierSource(name: string, options: VerificationPluginOptions): string {
  const settings = JSON.stringify({
    name,
    behaviour: options.behaviour,
    version: options.version ?? '1.2.0',
    capabilities: options.capabilities ?? [
      'SIGNATURE_VERIFIER.TRUSTED_IDENTITY',
      'SIGNATURE_VERIFIER.REVOCATION_CHECK',
    ],
  });
  return `${preamble(settings)}
switch (command) {
  case 'get-plugin-metadata':
    out({
      name: settings.name, description: 'a test verification plugin', version: settings.version,
      url: 'https://example.com', supportedContractVersions: ['1.0'], capabilities: settings.capabilities,
    });
    break;
  case 'verify-signature': {
    if (b === 'hang') setInterval(() => {}, 1000);
    else if (b === 'oversize') process.stdout.write(Buffer.alloc(65 * 1024 * 1024, 0x20));
    else if (b === 'crash') {
      process.stderr.write('panic: runtime error: invalid memory address\\n');
      process.exit(2);
    } else {
      const verificationResults = {};
      for (const check of request.trustPolicy.signatureVerification) {
        verificationResults[check] = b === 'identity-fails' && check === 'SIGNATURE_VERIFIER.TRUSTED_IDENTITY'
          ? { success: false, reason: 'the tenant is not on the list' }
          : { success: true };
      }
      out({
        verificationResults,
        processedAttributes: b === 'skip-attribute' ? [] : request.signature.unprocessedAttributes,
      });
    }
    break;
  }
  default:
    process.stderr.write(JSON.stringify({ errorCode: 'VALIDATION_ERROR', errorMessage: 'unknown command ' + command }));
    process.exit(1);
}
`;
}

/** Installs verification plugin `name` under `configDir`; returns the executable's path. */
export async function installVerificationPlugin(
  configDir: string,
  name: string,
  options: VerificationPluginOptions,
): Promise<string> {
  return install(configDir, name, verifierSource(name, options));
}
