/**
 * The error codes src/formats/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface FormatErrorCodes {
  ATTESTATION_MANIFEST_INVALID: 'denied';
  BLOB_SIGNATURE_INVALID: 'denied';
  BUNDLE_INVALID: 'denied';
  CERT_CHAIN_INCLUDES_ROOT: 'denied';
  CERT_INVALID: 'denied';
  CERT_MISSING: 'denied';
  CONTAINERS_SIGNATURE_INVALID: 'denied';
  ENVELOPE_INVALID: 'denied';
  /** The signing key or subkey is revoked (as gpg's REVKEYSIG). */
  GPG_KEY_REVOKED: 'denied';
  /** A GPG simple-signing key or subkey has expired (as gpg's EXPKEYSIG). */
  GPG_KEY_EXPIRED: 'denied';
  /** The signer's key ID is not in the keyring. */
  GPG_KEY_UNKNOWN: 'denied';
  /** The key cannot sign, or is of a refused algorithm or size. */
  GPG_KEY_UNUSABLE: 'denied';
  /** A keyring (`--gpg-key`, policy.json `signedBy`) that cannot be read or is over a cap. */
  GPG_KEYRING_INVALID: 'invalid';
  /** The secret key is encrypted and no passphrase was given. */
  GPG_PASSPHRASE_REQUIRED: 'invalid';
  GPG_PASSPHRASE_WRONG: 'invalid';
  /** Not an OpenPGP signed message, corrupt, or a signature that does not verify. */
  GPG_SIGNATURE_INVALID: 'denied';
  /** An OpenPGP signature past its own expiration time. */
  GPG_SIGNATURE_EXPIRED: 'denied';
  /** A secret key file vouch cannot sign with. */
  GPG_SIGNING_KEY_INVALID: 'invalid';
  INVALID_ATTESTATION_INPUT: 'invalid';
  INVALID_BUNDLE_INPUT: 'invalid';
  INVALID_JSON_NUMBER: 'invalid';
  INVALID_JSON_STRING: 'invalid';
  /** A Notary Project signature or manifest cannot be built from what the caller gave. */
  INVALID_NOTATION_INPUT: 'invalid';
  INVALID_PREDICATE_TYPE: 'invalid';
  INVALID_SIGNATURE_INPUT: 'invalid';
  INVALID_STATEMENT_INPUT: 'invalid';
  NOTARY_METADATA_INVALID: 'denied';
  /** A Notary Project CA certificate without cA, a leaf with it, or a path length exceeded. */
  NOTATION_CERT_BASIC_CONSTRAINTS: 'denied';
  /** A certificate had expired at the time it was required to be valid. */
  NOTATION_CERT_EXPIRED: 'denied';
  /** A code signing leaf with a forbidden extended key usage, or a TSA leaf without timeStamping alone. */
  NOTATION_CERT_EXTENDED_KEY_USAGE: 'denied';
  /** A leaf key other than RSA 2048/3072/4096 or ECDSA P-256/384/521. */
  NOTATION_CERT_KEY_UNSUPPORTED: 'denied';
  NOTATION_CERT_KEY_USAGE: 'denied';
  /** A certificate was not yet valid at the time it was required to be valid. */
  NOTATION_CERT_NOT_YET_VALID: 'denied';
  /** A chain that does not link, certificate by certificate, to a self-signed root. */
  NOTATION_CHAIN_INVALID: 'denied';
  /** No certificate of the chain is in the trust store. */
  NOTATION_CHAIN_UNTRUSTED: 'denied';
  /** An RFC 3161 timestamp token notation would not accept (structure, signature, attributes). */
  NOTATION_TIMESTAMP_INVALID: 'denied';
  /** The timestamp token stamps other bytes than the signature it is attached to. */
  NOTATION_TIMESTAMP_MISMATCH: 'denied';
  /** The timestamp's range is not within the signing certificates' validity. */
  NOTATION_TIMESTAMP_OUTSIDE_VALIDITY: 'denied';
  /** The TSA's certificate does not chain to a `tsa` trust store certificate. */
  NOTATION_TIMESTAMP_UNTRUSTED: 'denied';
  NOTATION_NO_APPLICABLE_POLICY: 'denied';
  NOTATION_TRUST_POLICY_INVALID: 'invalid';
  NOTATION_TRUST_STORE_INVALID: 'invalid';
  NOT_A_PRIVATE_KEY: 'invalid';
  /** A Notary Project signature envelope (JWS or COSE) that is malformed or breaks the spec. */
  NOTATION_ENVELOPE_INVALID: 'denied';
  /** A Notary Project signature manifest that is malformed or not a notation signature. */
  NOTATION_MANIFEST_INVALID: 'denied';
  /** A notation plugin's answer that is malformed or does not hold up (plugin-protocol.ts). */
  NOTATION_PLUGIN_RESPONSE_INVALID: 'denied';
  /** A Notary Project signature that does not verify with its own leaf certificate. */
  NOTATION_SIGNATURE_INVALID: 'denied';
  /** No signing key of that name in notation's signingkeys.json, or no default key. */
  NOTATION_SIGNING_KEY_NOT_FOUND: 'invalid';
  /** A signingkeys.json notation would refuse, or a key in it notation could not sign with. */
  NOTATION_SIGNING_KEYS_INVALID: 'invalid';
  /** `--timestamp-root-cert` is not exactly one root certificate (PEM or DER). */
  NOTATION_TSA_ROOT_INVALID: 'invalid';
  /** A timestamp authority's answer that is not a good token over this signature by the root given. */
  NOTATION_TSA_RESPONSE_INVALID: 'denied';
  /** A lookaside URL from registries.d that cannot be used: unparsable, an unsupported scheme (lookaside-layout.ts). */
  LOOKASIDE_URL_INVALID: 'invalid';
  PREDICATE_INVALID: 'invalid';
  /** A registries.d file containers/image would refuse, or two files defining one scope (registries-d.ts). */
  REGISTRIES_D_INVALID: 'invalid';
  SIGNATURE_CONFIG_INVALID: 'denied';
  /** A registry API extension signature list that is not the JSON containers/image reads (signature-extension.ts). */
  SIGNATURE_EXTENSION_INVALID: 'denied';
  SIGNATURE_MANIFEST_INVALID: 'denied';
  /** A simple-signing payload signs another manifest digest than the image's. */
  SIMPLE_SIGNING_DIGEST_MISMATCH: 'denied';
  /** A simple-signing payload's docker-reference the identity rule does not accept. */
  SIMPLE_SIGNING_IDENTITY_MISMATCH: 'denied';
  SIMPLE_SIGNING_INVALID: 'denied';
  STATEMENT_INVALID: 'denied';
  TIMESTAMP_INVALID: 'denied';
  TLOG_BUNDLE_INVALID: 'denied';
  TLOG_MISSING: 'denied';
  TOO_MANY_ATTESTATIONS: 'denied';
  TOO_MANY_SIGNATURES: 'denied';
  UNSUPPORTED_DIGEST: 'invalid';
}

export type FormatErrorCode = keyof FormatErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends FormatErrorCodes {}
}
