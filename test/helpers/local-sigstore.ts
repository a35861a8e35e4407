/**
 * An ephemeral Sigstore over real HTTP on 127.0.0.1: Fulcio
 * (`POST /api/v2/signingCert`), Rekor v1 (`POST /api/v1/log/entries`) and
 * an RFC 3161 timestamp authority (`POST /api/v1/timestamp`), answered by
 * the Sigstore project's own mock handlers
 * (https://github.com/sigstore/sigstore-js/tree/main/packages/mock), since
 * the real services cannot run here. One server routes by path prefix
 * (`/fulcio`, `/rekor`, `/tsa`), so a client that sends a request to the
 * wrong service gets a 404, not an answer.
 *
 * It writes the trusted_root.json naming its CA, CT log, log and TSA, and a
 * SigningConfig v0.2 naming its URLs, as a client would be configured for
 * the public-good instance
 * (https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_trustroot.proto).
 *
 * Rekor stores an entry as its canonical body, the way the real one does
 * (for `dsse`: the envelope's and the payload's hashes and the signatures
 * with their verifier, not the proposed envelope;
 * https://github.com/sigstore/rekor/blob/main/pkg/types/dsse/v0.0.1/entry.go);
 * the mock alone would log the proposal as is. Like the mock, and unlike
 * real Rekor, the log does not check signatures, so a certificate for the
 * wrong key gets through to the client's own checks.
 *
 * `faults` (read per request) make one service answer wrongly in one way,
 * with a response that is well-formed HTTP and well-formed Sigstore, so that
 * only the client's own checks can catch it:
 * - fulcio `other-key`: a certificate from the trusted CA, with a valid SCT,
 *   for a fresh key instead of the one in the request;
 *   `bad-sct`: the certificate chains to the trusted root, but its embedded
 *   SCT's signature does not verify under the trusted CT log's key;
 *   `unknown-ca`: a certificate (with a valid SCT from the trusted CT log)
 *   issued by a CA the trusted root does not name;
 *   `unavailable`: 503.
 * - rekor `other-artifact`: a logged entry with a valid SET and inclusion
 *   proof whose body records another artifact's hash;
 *   `bad-set`: the right entry with a SET that does not verify;
 *   `unavailable`: 503.
 * - tsa `other-hash`: a correctly signed timestamp over another hash;
 *   `unavailable`: 503.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fulcioHandler,
  type HandlerFn,
  initializeCA,
  initializeTSA,
  rekorHandler,
  tsaHandler,
} from '@sigstore/mock';
import { encodePem } from '../../src/keys/pem.ts';
import { bytesOf, createKeylessSigstore, keylessTrustedRootJson } from './keyless.ts';
import { listenOnLoopback } from './loopback.ts';

export type FulcioFault = 'other-key' | 'bad-sct' | 'unknown-ca' | 'unavailable';
export type RekorFault = 'other-artifact' | 'bad-set' | 'unavailable';
export type TsaFault = 'other-hash' | 'unavailable';

export interface LocalSigstoreOptions {
  /** Serve a timestamp authority (and name it in the trusted root and signing config). Default true. */
  readonly tsa?: boolean;
}

export interface LocalSigstore {
  /** `http://127.0.0.1:PORT`, the one server behind all three services. */
  readonly url: string;
  readonly fulcioUrl: string;
  readonly rekorUrl: string;
  /** The full timestamp endpoint, as a SigningConfig gives it; undefined without a TSA. */
  readonly tsaUrl: string | undefined;
  /** A temp dir holding the two files below; close() removes it. */
  readonly dir: string;
  readonly trustedRootPath: string;
  readonly trustedRoot: Record<string, unknown>;
  readonly signingConfigPath: string;
  readonly signingConfig: Record<string, unknown>;
  /** What each service gets wrong; read per request. */
  faults: { fulcio?: FulcioFault; rekor?: RekorFault; tsa?: TsaFault };
  /** Requests that reached each service's endpoint, whatever was answered. */
  readonly requests: { fulcio: number; rekor: number; tsa: number };
  close(): Promise<void>;
}

type Service = keyof LocalSigstore['requests'];

interface Answer {
  readonly statusCode: number;
  readonly response: string | ArrayBufferView;
  readonly contentType?: string;
}

/** Request bodies beyond this are refused (413): a DSSE entry carries its whole envelope. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const VALID_FROM = new Date('2020-01-01T00:00:00Z').toISOString();
const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';
const UNAVAILABLE: Answer = {
  statusCode: 503,
  response: JSON.stringify({ code: 503, message: 'service unavailable' }),
  contentType: 'application/json',
};

export async function startLocalSigstore(
  options: LocalSigstoreOptions = {},
): Promise<LocalSigstore> {
  const withTsa = options.tsa ?? true;
  const routes = new Map<string, { service: Service; handle: (body: string) => Promise<Answer> }>();
  const requests = { fulcio: 0, rekor: 0, tsa: 0 };

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else send(res, { statusCode: 500, response: String(err) }, true);
    });
  });
  server.requestTimeout = 30_000;
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = routes.get(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    if (target === undefined) {
      send(res, { statusCode: 404, response: 'not found' }, true);
      return;
    }
    requests[target.service] += 1;
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      send(res, { statusCode: 405, response: 'method not allowed' }, true);
      return;
    }
    const body = await readBounded(req);
    if (body === undefined) {
      send(res, { statusCode: 413, response: 'request body too large' }, true);
      return;
    }
    send(res, await target.handle(body), false);
  };

  const port = await listenOnLoopback(server);
  const url = `http://127.0.0.1:${port}`;
  const fulcioUrl = `${url}/fulcio`;
  const rekorUrl = `${url}/rekor`;
  const stop = async (dir?: string): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  };

  let dir: string | undefined;
  try {
    dir = await mkdtemp(join(tmpdir(), 'vouch-local-sigstore-'));
    const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sigstore = await createKeylessSigstore({ rekorUrl, fulcioUrl });
    const rootPem = encodePem('CERTIFICATE', sigstore.root);

    // The same CA key and name under another instance, whose CT log hands
    // out SCTs with a flipped signature bit: the CA signs the certificate
    // over the broken SCT, so the chain stays valid and only the SCT fails.
    const brokenSctCa = await initializeCA(sigstore.caKeys, {
      publicKey: sigstore.ctlog.publicKey,
      logID: sigstore.ctlog.logID,
      log: async (certificate, issuerId) => {
        const sct = new Uint8Array((await sigstore.ctlog.log(certificate, issuerId)).slice(0));
        // The SCT ends with its DER ECDSA signature (RFC 6962 section 3.2).
        sct[sct.length - 1] = (sct.at(-1) ?? 0) ^ 0x01;
        return sct.buffer;
      },
    });
    const trusted = fulcioHandler(sigstore.ca);
    const brokenSct = fulcioHandler(brokenSctCa).fn;
    const unknownCa = fulcioHandler(await initializeCA(p256(), sigstore.ctlog)).fn;
    const rekor = rekorHandler(sigstore.tlog);
    // The mock TSA writes genTime with asn1js, which (as DER wants) drops
    // the milliseconds' trailing zeros (".17Z"); @sigstore/core 4 reads
    // three digits or none, so about one token in ten would not parse. Its
    // clock is read per token: kept at whole seconds, genTime has no fraction.
    const tsaClock = new Date();
    const tsa = withTsa ? await initializeTSA(p256(), tsaClock) : undefined;
    const timestamp = tsa === undefined ? undefined : tsaHandler(tsa);
    const tsaUrl = timestamp === undefined ? undefined : `${url}/tsa${timestamp.path}`;

    const trustedRootJson = keylessTrustedRootJson({
      cas: [sigstore],
      ctlogs: [sigstore],
      tlogs: [sigstore],
      tsas:
        tsa === undefined || tsaUrl === undefined
          ? []
          : [
              {
                // The TSA signs with its intermediate; the root certifies it.
                certChain: [bytesOf(tsa.intCertificate), bytesOf(tsa.rootCertificate)],
                uri: tsaUrl,
              },
            ],
    });
    const service = (serviceUrl: string) => ({
      url: serviceUrl,
      majorApiVersion: 1,
      validFor: { start: VALID_FROM },
      operator: 'vouch local-sigstore',
    });
    // Spelled as @sigstore/protobuf-specs' SigningConfig.toJSON writes it
    // (empty lists left out), so it survives a fromJSON/toJSON round trip.
    const signingConfig: Record<string, unknown> = {
      mediaType: SIGNING_CONFIG_MEDIA_TYPE,
      caUrls: [service(fulcioUrl)],
      // Nothing is served there: tests hand the signer a token directly.
      oidcUrls: [service(`${url}/oidc`)],
      rekorTlogUrls: [service(rekorUrl)],
      rekorTlogConfig: { selector: 'ANY' },
      ...(tsaUrl === undefined
        ? {}
        : { tsaUrls: [service(tsaUrl)], tsaConfig: { selector: 'ANY' } }),
    };
    const trustedRootPath = join(dir, 'trusted_root.json');
    const signingConfigPath = join(dir, 'signing_config.json');
    await writeFile(trustedRootPath, trustedRootJson);
    await writeFile(signingConfigPath, JSON.stringify(signingConfig, null, 2));

    const tempDir = dir;
    let closing: Promise<void> | undefined;
    const local: LocalSigstore = {
      url,
      fulcioUrl,
      rekorUrl,
      tsaUrl,
      dir: tempDir,
      trustedRootPath,
      trustedRoot: JSON.parse(trustedRootJson) as Record<string, unknown>,
      signingConfigPath,
      signingConfig,
      faults: {},
      requests,
      close: () => (closing ??= stop(tempDir)),
    };

    routes.set(`/fulcio${trusted.path}`, {
      service: 'fulcio',
      handle: async (body) => {
        const fault: FulcioFault | undefined = local.faults.fulcio;
        switch (fault) {
          case undefined:
            return trusted.fn(body);
          case 'other-key':
            return trusted.fn(withOtherKey(body));
          case 'bad-sct':
            return withChainRoot(await brokenSct(body), rootPem);
          case 'unknown-ca':
            return unknownCa(body);
          case 'unavailable':
            return UNAVAILABLE;
        }
      },
    });
    routes.set(`/rekor${rekor.path}`, {
      service: 'rekor',
      handle: (body) => logEntry(rekor.fn, body, local.faults.rekor),
    });
    if (timestamp !== undefined) {
      routes.set(`/tsa${timestamp.path}`, {
        service: 'tsa',
        handle: async (body) => {
          const fault: TsaFault | undefined = local.faults.tsa;
          tsaClock.setTime(Math.floor(Date.now() / 1000) * 1000);
          switch (fault) {
            case undefined:
              return timestamp.fn(body);
            case 'other-hash':
              return timestamp.fn(withOtherHash(body));
            case 'unavailable':
              return UNAVAILABLE;
          }
        },
      });
    }
    return local;
  } catch (err) {
    await stop(dir);
    throw err;
  }
}

/** The request with a fresh key in place of the requester's. */
function withOtherKey(body: string): string {
  const request = parseJson(body);
  const publicKey = objectAt(request, 'publicKeyRequest', 'publicKey');
  if (request === undefined || publicKey === undefined) return body;
  publicKey.content = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ format: 'pem', type: 'spki' })
    .toString();
  return JSON.stringify(request);
}

/** Fulcio's answer with the chain's root replaced by `rootPem` (the leaf stays). */
function withChainRoot(answer: Answer, rootPem: string): Answer {
  if (answer.statusCode !== 201 || typeof answer.response !== 'string') return answer;
  const response = parseJson(answer.response);
  const chain = objectAt(response, 'signedCertificateEmbeddedSct', 'chain');
  if (chain === undefined || !Array.isArray(chain.certificates)) return answer;
  chain.certificates = [chain.certificates[0], rootPem];
  return { ...answer, response: JSON.stringify(response) };
}

/** The timestamp request with the artifact hash replaced by a hash of other bytes. */
function withOtherHash(body: string): string {
  const request = parseJson(body);
  if (request === undefined || typeof request.artifactHash !== 'string') return body;
  request.artifactHash = createHash('sha256')
    .update(Buffer.from(request.artifactHash, 'base64'))
    .digest('base64');
  return JSON.stringify(request);
}

/** Logs a proposed entry as Rekor v1 would, then applies `fault` to what is logged or answered. */
async function logEntry(
  rekor: HandlerFn,
  body: string,
  fault: RekorFault | undefined,
): Promise<Answer> {
  if (fault === 'unavailable') return UNAVAILABLE;
  const canonical = canonicalEntry(parseJson(body));
  if (canonical === undefined) {
    return { statusCode: 400, response: 'unsupported or malformed entry' };
  }
  if (fault === 'other-artifact') recordOtherArtifact(canonical);
  const answer = await rekor(JSON.stringify(canonical));
  if (fault !== 'bad-set' || answer.statusCode !== 201 || typeof answer.response !== 'string') {
    return answer;
  }
  const response = parseJson(answer.response);
  const [entry] = Object.values(response ?? {}) as unknown[];
  const verification = objectAt(entry, 'verification');
  if (response === undefined || typeof verification?.signedEntryTimestamp !== 'string') {
    return answer;
  }
  const set = Buffer.from(verification.signedEntryTimestamp, 'base64');
  set[set.length - 1] = (set.at(-1) ?? 0) ^ 0x01;
  verification.signedEntryTimestamp = set.toString('base64');
  return { ...answer, response: JSON.stringify(response) };
}

type Entry = Record<string, unknown>;

/**
 * The body Rekor stores for a proposed `hashedrekord` or `dsse` 0.0.1 entry
 * (its Canonicalize: only the server-side fields), or undefined when the
 * proposal is malformed or another kind.
 */
function canonicalEntry(proposed: Record<string, unknown> | undefined): Entry | undefined {
  if (proposed?.apiVersion !== '0.0.1') return undefined;
  if (proposed.kind === 'hashedrekord') {
    const hash = objectAt(proposed, 'spec', 'data', 'hash');
    const signature = objectAt(proposed, 'spec', 'signature');
    const key = objectAt(signature, 'publicKey');
    if (
      hash?.algorithm !== 'sha256' ||
      typeof hash.value !== 'string' ||
      typeof signature?.content !== 'string' ||
      typeof key?.content !== 'string'
    ) {
      return undefined;
    }
    return {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: hash.value } },
        signature: { content: signature.content, publicKey: { content: key.content } },
      },
    };
  }
  if (proposed.kind === 'dsse') {
    const content = objectAt(proposed, 'spec', 'proposedContent');
    const verifiers = content?.verifiers;
    if (typeof content?.envelope !== 'string' || !Array.isArray(verifiers)) return undefined;
    // Real Rekor pairs each signature with the verifier that verifies it;
    // with one verifier (as Sigstore clients send) that is the one.
    const [verifier] = verifiers as unknown[];
    if (verifiers.length !== 1 || typeof verifier !== 'string') return undefined;
    const envelope = parseJson(content.envelope);
    const signatures = envelope?.signatures;
    if (typeof envelope?.payload !== 'string' || !Array.isArray(signatures)) return undefined;
    const sigs = (signatures as unknown[]).map((s) => objectAt(s)?.sig);
    if (sigs.length === 0 || !sigs.every((sig) => typeof sig === 'string')) return undefined;
    return {
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: sha256Hex(Buffer.from(content.envelope)) },
        payloadHash: {
          algorithm: 'sha256',
          value: sha256Hex(Buffer.from(envelope.payload, 'base64')),
        },
        signatures: sigs.sort().map((signature) => ({ signature, verifier })),
      },
    };
  }
  return undefined;
}

/** Points the entry's hashes at other bytes (the hash of the hash), leaving the rest. */
function recordOtherArtifact(entry: Entry): void {
  const hashes =
    entry.kind === 'hashedrekord'
      ? [objectAt(entry, 'spec', 'data', 'hash')]
      : [objectAt(entry, 'spec', 'envelopeHash'), objectAt(entry, 'spec', 'payloadHash')];
  for (const hash of hashes) {
    if (hash !== undefined && typeof hash.value === 'string') {
      hash.value = sha256Hex(Buffer.from(hash.value, 'hex'));
    }
  }
}

/** The request body, or undefined once it passes MAX_BODY_BYTES. */
function readBounded(req: IncomingMessage): Promise<string | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off('data', onData);
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Answers; `close` ends the connection (the request body may be unread). */
function send(res: ServerResponse, answer: Answer, close: boolean): void {
  const { response } = answer;
  const bytes =
    typeof response === 'string'
      ? Buffer.from(response)
      : Buffer.from(response.buffer, response.byteOffset, response.byteLength);
  res.writeHead(answer.statusCode, {
    'content-type': answer.contentType ?? 'text/plain',
    'content-length': bytes.length,
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(bytes);
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return objectAt(JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

/** The JSON object at `path` under `value`, if every step is an object. */
function objectAt(value: unknown, ...path: string[]): Record<string, unknown> | undefined {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
  return current as Record<string, unknown>;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
