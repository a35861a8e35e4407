/**
 * The Kubernetes admission webhook: AdmissionReview v1 over HTTPS, deciding
 * each image of each workload with a vouch policy (`startAdmissionWebhook`),
 * and the manifests and certificate to install it.
 */
export type { ContainerImage } from './containers.ts';
export { containerImages } from './containers.ts';
export { AdmissionHandler, DEFAULT_DEADLINE_MS, DEFAULT_MAX_BODY_BYTES } from './handler.ts';
export type { AdmissionHandlerOptions } from './handler.ts';
export type { AdmissionLog, LogEntry } from './log.ts';
export { AdmissionMetrics } from './metrics.ts';
export type { ServedPolicy } from './policy-watch.ts';
export { PolicyWatch, servedPolicy } from './policy-watch.ts';
export type { FailurePolicy } from './respond.ts';
export { admissionResponse, FAILURE_POLICIES, pinPatch } from './respond.ts';
export type { AdmissionRequest, AdmissionResponse, JsonPatchOperation } from './review.ts';
export { ADMISSION_API_VERSION, parseAdmissionReview, reviewBody } from './review.ts';
export type { AdmissionWebhookOptions, RunningAdmissionWebhook } from './server.ts';
export { startAdmissionWebhook } from './server.ts';
export type { VerifierOptions } from './verifier.ts';
export { ImageVerifier } from './verifier.ts';
export type { AdmissionErrorCode, AdmissionErrorCodes } from './error-codes.ts';
