/**
 * Pure codecs for what vouch stores and reads: cosign simple-signing
 * payloads, `.sig` signature manifests and their configs, and
 * containers/image signature files. No I/O: callers fetch, these decide
 * what the bytes are and build the bytes to write.
 */
export type {
  AnnotationMismatch,
  SimpleSigningInput,
  SimpleSigningPayload,
} from './simple-signing.ts';
export {
  buildSimpleSigningPayload,
  COSIGN_SIGNATURE_TYPE,
  cosignDockerReference,
  parseSimpleSigningPayload,
  unmatchedAnnotations,
} from './simple-signing.ts';
export type {
  AppendOptions,
  AppendResult,
  LayerProblem,
  NewSignature,
  ReadLimits,
  RejectedLayer,
  SignatureCandidate,
  SignatureImage,
  SignatureLayer,
  SignatureManifestContents,
  StoredSignatureImage,
} from './cosign-signature.ts';
export {
  appendSignatureLayer,
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
  decodeSignatureBase64,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_SIGNATURE_LAYERS,
  digestOfSignatureTag,
  readSignatureManifest,
  RFC3161_TIMESTAMP_ANNOTATION,
  SIGNATURE_ANNOTATION,
  signatureLayer,
  signatureTag,
  SIMPLE_SIGNING_MEDIA_TYPE,
  ZERO_TIME,
} from './cosign-signature.ts';
export type { ContainersSigstoreSignature } from './containers-signature.ts';
export {
  layerOfContainersSignature,
  parseContainersSignature,
  SIGSTORE_FORMAT,
} from './containers-signature.ts';
export type { JsonObject, JsonValue, StrictJsonOptions } from '../core/strict-json.ts';
export { parseStrictJson, StrictJsonError } from '../core/strict-json.ts';
export type { GoStruct, GoValue } from './go-json.ts';
export { goMarshal, goMarshalBytes, goString } from './go-json.ts';
export type { AttachmentSuffix } from './cosign-signature.ts';
export { attachmentTag, buildSignatureImage } from './cosign-signature.ts';
export type {
  AttestationCandidate,
  AttestationLayerProblem,
  AttestationManifestContents,
  AttestationReadLimits,
  NewAttestation,
  RejectedAttestationLayer,
} from './cosign-attestation.ts';
export {
  attestationLayer,
  attestationTag,
  DEFAULT_MAX_ATTESTATION_BYTES,
  PREDICATE_TYPE_ANNOTATION,
  readAttestationManifest,
} from './cosign-attestation.ts';
export type { Envelope, EnvelopeSignature } from './dsse.ts';
export {
  DSSE_ENVELOPE_MEDIA_TYPE,
  encodeEnvelope,
  IN_TOTO_PAYLOAD_TYPE,
  MAX_ENVELOPE_SIGNATURES,
  parseEnvelope,
  preAuthEncoding,
} from './dsse.ts';
export type { Statement, StatementInput, StatementSubject } from './in-toto.ts';
export {
  buildStatement,
  MAX_STATEMENT_SUBJECTS,
  parsePredicate,
  parseStatement,
  STATEMENT_TYPE_V01,
  STATEMENT_TYPE_V1,
  statementNames,
} from './in-toto.ts';
export { PREDICATE_TYPES, predicateTypeUri } from './predicate-types.ts';
export type {
  BundleContent,
  BundleReferrer,
  BundleReferrerContents,
  BundleReferrerProblem,
  BundleVersion,
  NewBundleReferrer,
  NewDsseBundle,
  SigstoreBundle,
  VerificationMaterial,
} from './sigstore-bundle.ts';
export {
  BUNDLE_CONTENT_ANNOTATION,
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  buildBundleReferrer,
  buildDsseBundle,
  COSIGN_SIGN_PREDICATE_TYPE,
  CREATED_ANNOTATION,
  DEFAULT_MAX_BUNDLE_BYTES,
  DSSE_ENVELOPE_CONTENT,
  EMPTY_CONFIG_BYTES,
  isBundleMediaType,
  publicKeyHint,
  readBundleReferrer,
} from './sigstore-bundle.ts';
export { buildSignStatement } from './in-toto.ts';
export { parseBundle } from './sigstore-bundle-reader.ts';
export type { ClassicBundleProblemCode, ClassicLayer } from './classic-bundle.ts';
export { bundleOfClassicAttestation, bundleOfClassicSignature } from './classic-bundle.ts';
export type { FormatErrorCode, FormatErrorCodes } from './error-codes.ts';
export {
  encodeCertificateFile,
  encodeSignatureFile,
  parseCertificateChainFile,
  parseCertificateFile,
  parseSignatureFile,
} from './blob-signature-files.ts';
export type { BlobSignatureFiles } from './blob-bundle.ts';
export { bundleOfSignatureFiles } from './blob-bundle.ts';
export type { ChainProblem } from './certificate-chain.ts';
export { chainRootProblem } from './certificate-chain.ts';
export type { MessageDigestAlgorithm, NewMessageSignatureBundle } from './sigstore-bundle.ts';
export { buildMessageSignatureBundle } from './sigstore-bundle.ts';
