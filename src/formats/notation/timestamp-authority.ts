/**
 * The exchange with an RFC 3161 timestamp authority when notation signs
 * with `--timestamp-url`: the request, and the checks of the answer before
 * its token goes in the envelope as `io.cncf.notary.timestampSignature`.
 * notation-core-go v1.3 `internal/timestamp/timestamp.go` `Timestamp` on
 * tspclient-go v1.0 (request.go `NewRequest`, response.go `Validate`,
 * token.go `SigningCertificate`, `SignedToken.Verify`):
 *
 * - the request stamps the hash of the signature bytes with the hash of the
 *   signature's algorithm (SHA-256 for PS256/ES256, ...), asks for the TSA's
 *   certificate (`certReq`, which plugin-extensibility.md requires) and
 *   carries a random 159-bit nonce;
 * - the answer is a TimeStampResp, nothing after it, status granted (or
 *   granted with modifications), whose token's TSTInfo carries the
 *   request's nonce and stamps the signature with the request's hash;
 * - the token itself is verified as verification verifies it
 *   (timestamp.ts `verifyTimestamp`, with the root given
 *   (`--timestamp-root-cert`) as the one `tsa` certificate): it stamps
 *   exactly this signature, its signer is the certificate its
 *   signing-certificate-v2 attribute names, whose chain reaches the root and
 *   meets the Notary Project requirements for timestamping (the signer's
 *   only extended key usage id-kp-timeStamping, marked critical);
 * - and, the signer's own check, every certificate of that chain is valid now.
 *
 * This is the signer's check that the TSA answered what was asked, by the
 * authority the user named, before anything is written. notation also
 * checks the TSA chain's revocation at this point.
 *
 * Every refusal is `denied` NOTATION_TSA_RESPONSE_INVALID.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { denied, invalid } from '../../core/errors.ts';
import { decodePemBlocks } from '../../keys/pem.ts';
import type { NotationSignatureAlgorithm } from './envelope.ts';
import { verifyTimestamp } from './timestamp.ts';
import { parseCertificate } from './x509.ts';

/** tspclient-go http.go maxBodyLength: a TSA answers a few kilobytes. */
export const MAX_TIMESTAMP_RESPONSE_BYTES = 1024 * 1024;
/** RFC 3161 section 3.4. */
export const TIMESTAMP_QUERY_MEDIA_TYPE = 'application/timestamp-query';
export const TIMESTAMP_REPLY_MEDIA_TYPE = 'application/timestamp-reply';

type Hash = 'sha256' | 'sha384' | 'sha512';

const HASH_OIDS: Readonly<Record<Hash, string>> = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

const HASH_OF: Readonly<Record<NotationSignatureAlgorithm, Hash>> = {
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
  ES256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
};

export interface TimestampRequest {
  /** The DER TimeStampReq to POST. */
  readonly der: Uint8Array;
  /** The signature bytes stamped. */
  readonly signature: Uint8Array;
  readonly hash: Hash;
  /** The hash of the signature: what the token must stamp. */
  readonly imprint: Uint8Array;
  readonly nonce: bigint;
}

/** The request that stamps `signature`, made by a key of `algorithm` (module comment). */
export function timestampRequest(
  signature: Uint8Array,
  algorithm: NotationSignatureAlgorithm,
): TimestampRequest {
  const hash = HASH_OF[algorithm];
  const imprint = new Uint8Array(createHash(hash).update(signature).digest());
  // A positive integer below 2^159, as tspclient-go generateNonce picks it.
  const nonceBytes = randomBytes(20);
  nonceBytes[0] = (nonceBytes[0] as number) & 0x7f;
  const nonce = BigInt(`0x${nonceBytes.toString('hex')}`);
  const request = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({
        algorithmId: HASH_OIDS[hash],
        algorithmParams: new asn1js.Null(),
      }),
      hashedMessage: new asn1js.OctetString({ valueHex: imprint }),
    }),
    nonce: asn1js.Integer.fromBigInt(nonce),
    certReq: true,
  });
  return { der: new Uint8Array(request.toSchema().toBER()), signature, hash, imprint, nonce };
}

/**
 * The root of `--timestamp-root-cert`, as notation `sign` reads it
 * (cmd/notation/sign.go prepareSigningOpts): exactly one certificate, PEM
 * or DER, self-issued and self-signed (internal/x509 IsRootCertificate).
 * Throws `invalid` NOTATION_TSA_ROOT_INVALID.
 */
export function parseTimestampRoot(bytes: Uint8Array, source: string): X509Certificate {
  const fail = (problem: string) =>
    invalid(
      'NOTATION_TSA_ROOT_INVALID',
      `${source}: ${problem}; expecting a single x509 root certificate in PEM or DER format`,
    );
  const blocks = decodePemBlocks(bytes, { source });
  let ders: Uint8Array[];
  if (blocks.length > 0) {
    ders = blocks.filter((block) => block.type === 'CERTIFICATE').map((block) => block.bytes);
  } else {
    ders = [bytes];
  }
  if (ders.length === 0) throw fail('no certificate found');
  if (ders.length > 1) throw fail('found more than one certificate');
  let root: X509Certificate;
  try {
    root = new X509Certificate(ders[0] as Uint8Array);
  } catch {
    throw fail('it is not an X.509 certificate');
  }
  if (!same(view(root.raw), ders[0] as Uint8Array)) throw fail('it is not one DER certificate');
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) {
    throw fail('the certificate is not a root certificate (self-issued and self-signed)');
  }
  return root;
}

export interface CheckedTimestamp {
  /** The TimeStampToken, byte for byte as the TSA sent it. */
  readonly token: Uint8Array;
  readonly genTime: Date;
}

class TsaError extends Error {}

const refused = (problem: string) =>
  denied(
    'NOTATION_TSA_RESPONSE_INVALID',
    `the timestamp authority's answer is refused: ${problem}`,
  );

/**
 * Checks the TSA's answer to `request` against `roots` at `now` (module
 * comment); returns the token to embed. Throws `denied`
 * NOTATION_TSA_RESPONSE_INVALID.
 */
export function checkTimestampResponse(
  response: Uint8Array,
  request: TimestampRequest,
  roots: readonly X509Certificate[],
  now: Date,
): CheckedTimestamp {
  try {
    return check(response, request, roots, now);
  } catch (error) {
    if (error instanceof TsaError) throw refused(error.message);
    // Whatever asn1js or pkijs throw on hostile bytes.
    throw refused(`it is malformed (${error instanceof Error ? error.message : String(error)})`);
  }
}

function decode(bytes: Uint8Array, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(bytes);
  if (parsed.offset === -1 || parsed.result.error !== '') {
    throw new TsaError(`${what} is not valid ASN.1`);
  }
  if (parsed.offset !== bytes.byteLength) {
    throw new TsaError(`${what} has ${bytes.byteLength - parsed.offset} bytes after it`);
  }
  return parsed.result;
}

const view = (buffer: ArrayBuffer | Uint8Array) =>
  buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

function check(
  response: Uint8Array,
  request: TimestampRequest,
  roots: readonly X509Certificate[],
  now: Date,
): CheckedTimestamp {
  if (response.byteLength > MAX_TIMESTAMP_RESPONSE_BYTES) {
    throw new TsaError(`it is more than ${MAX_TIMESTAMP_RESPONSE_BYTES} bytes`);
  }
  const tree = decode(response, 'it');
  const answer = new pkijs.TimeStampResp({ schema: tree });
  const status = answer.status.status;
  if (status !== pkijs.PKIStatus.granted && status !== pkijs.PKIStatus.grantedWithMods) {
    const text = (answer.status.statusStrings ?? []).map((s) => s.valueBlock.value).join('; ');
    throw new TsaError(`it did not grant the request (status ${status}${text ? `: ${text}` : ''})`);
  }
  const tokenNode = (tree as asn1js.Sequence).valueBlock.value[1];
  if (tokenNode === undefined || answer.timeStampToken === undefined) {
    throw new TsaError('it holds no timestamp token');
  }
  const token = new Uint8Array(view(tokenNode.valueBeforeDecodeView));
  const verified = verifyTimestamp({
    token,
    signature: request.signature,
    tsaRoots: roots.map((root) => parseCertificate(view(root.raw), 'the timestamp root')),
    signingChain: [],
  });
  if (!verified.ok) {
    throw new TsaError(
      verified.code === 'NOTATION_TIMESTAMP_UNTRUSTED'
        ? `its TSA certificate does not chain to the timestamp root certificate given (${verified.message})`
        : verified.message,
    );
  }
  if (verified.imprintHash !== request.hash) {
    throw new TsaError(
      `it stamps the signature's ${verified.imprintHash}, not the ${request.hash} asked for`,
    );
  }
  if (verified.nonce !== request.nonce) throw new TsaError('its nonce is not the one asked for');
  for (const link of verified.tsaChain) {
    if (now < link.notBefore || now > link.notAfter) {
      throw new TsaError(`the TSA certificate "${link.subject}" is not valid now`);
    }
  }
  return { token, genTime: verified.genTime };
}
