/**
 * cosign's `--type` shorthands for predicate types and the URIs they stand
 * for (sigstore/cosign@d6d86c22: cmd/cosign/cli/options/predicate.go
 * PredicateTypeMap; the constants come from in-toto-golang and
 * pkg/cosign/attestation/attestation.go). A `--type` that is not a shorthand
 * is taken as the URI itself.
 *
 * Verification compares the statement's `predicateType` with the URI
 * exactly: an attestation of another type never satisfies `--type`
 * (CVE-2022-35929: cosign ≤ 1.10.0 passed `verify-attestation --type X` when
 * some valid attestation of any type existed).
 */
import { invalid } from '../core/errors.ts';

export const PREDICATE_TYPES: Readonly<Record<string, string>> = Object.freeze({
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
});

/** An absolute URI: a scheme, then something (RFC 3986 `scheme ":" hier-part`). */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/;

/**
 * The predicate type URI for a `--type` value: a cosign shorthand
 * (`slsaprovenance1`, `spdxjson`, `cyclonedx`, `vuln`, …) or an absolute URI.
 * Throws VouchError `invalid` INVALID_PREDICATE_TYPE otherwise (cosign takes
 * anything `url.ParseRequestURI` accepts, which includes bare paths; vouch
 * asks for a scheme, so a mistyped shorthand is not taken as a URI).
 */
export function predicateTypeUri(type: string): string {
  if (Object.hasOwn(PREDICATE_TYPES, type)) return PREDICATE_TYPES[type] as string;
  if (ABSOLUTE_URI.test(type) && URL.canParse(type)) return type;
  throw invalid(
    'INVALID_PREDICATE_TYPE',
    `unknown predicate type ${JSON.stringify(type)}: give one of ${Object.keys(PREDICATE_TYPES).join(', ')}, or a URI such as https://example.com/my-predicate/v1`,
  );
}
