/**
 * A transparency log in a test: an ECDSA P-256 key that signs Rekor entries
 * the way rekor.sigstore.dev does (a SET over the RFC 8785 canonical JSON of
 * `{body, integratedTime, logID, logIndex}`), the `dev.sigstore.cosign/bundle`
 * annotation cosign would attach, and a trusted_root.json naming the log.
 * Rekor cannot run here (docs/design.md principle 5), so this stands in for it.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { canonicalJsonBytes } from '../../src/core/canonical-json.ts';
import { publicKeyToPem } from '../../src/keys/pem.ts';
import { logIdOf } from '../../src/sigstore/trusted-root.ts';

export interface TestLog {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Hex log ID: SHA-256 of the DER SPKI. */
  readonly logId: string;
  readonly baseUrl: string;
}

export function createTestLog(baseUrl = 'https://rekor.test.invalid'): TestLog {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, logId: logIdOf(publicKey), baseUrl };
}

/** A trusted_root.json (version 0.1) with the given logs, valid from `start`. */
export function trustedRootJson(
  logs: readonly TestLog[],
  start = '2020-01-01T00:00:00Z',
  end?: string,
): string {
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: logs.map((log) => ({
      baseUrl: log.baseUrl,
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes: log.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: end === undefined ? { start } : { start, end },
      },
      logId: { keyId: Buffer.from(log.logId, 'hex').toString('base64') },
    })),
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
}

export interface EntryInput {
  /** The payload the entry's hash is computed over. */
  readonly payload: Uint8Array;
  /** The signature bytes the entry records. */
  readonly signature: Uint8Array;
  /** The signer's public key the entry records (as cosign does, a PEM in base64). */
  readonly publicKey: KeyObject;
}

/** The canonicalized hashedrekord 0.0.1 body Rekor stores for a signature. */
export function hashedRekordBody(input: EntryInput): Record<string, unknown> {
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: {
        hash: {
          algorithm: 'sha256',
          value: createHash('sha256').update(input.payload).digest('hex'),
        },
      },
      signature: {
        content: Buffer.from(input.signature).toString('base64'),
        publicKey: {
          content: Buffer.from(publicKeyToPem(input.publicKey)).toString('base64'),
        },
      },
    },
  };
}

export interface BundleOptions {
  readonly integratedTime?: number;
  readonly logIndex?: number;
  /** Sign the SET with this log, but claim another log ID. */
  readonly logId?: string;
}

/**
 * The `dev.sigstore.cosign/bundle` annotation for `body` (any JSON the log
 * accepted; a string is taken as the body's exact text), with a SET by `log`.
 */
export function bundleAnnotation(log: TestLog, body: unknown, options: BundleOptions = {}): string {
  const payload = {
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)).toString('base64'),
    integratedTime: options.integratedTime ?? 1_700_000_000,
    logIndex: options.logIndex ?? 42,
    logID: options.logId ?? log.logId,
  };
  const set = sign('sha256', canonicalJsonBytes(payload), {
    key: log.privateKey,
    dsaEncoding: 'der',
  });
  return JSON.stringify({ SignedEntryTimestamp: set.toString('base64'), Payload: payload });
}

/** `bundleAnnotation` for a hashedrekord entry of this very signature. */
export function bundleFor(log: TestLog, input: EntryInput, options: BundleOptions = {}): string {
  return bundleAnnotation(log, hashedRekordBody(input), options);
}
