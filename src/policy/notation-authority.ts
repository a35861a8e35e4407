/**
 * A `notation:` policy authority as a Notary Project trust policy: one
 * global statement (`registryScopes: ["*"]`) whose trust stores are the
 * certificate files the authority names. The statement is built as the
 * JSON of a `trustpolicy.oci.json` and validated by `parseTrustPolicy`, so
 * identities, distinguished names, levels and `verifyTimestamp` are refused
 * exactly as notation refuses them in its own trust policy.
 *
 * https://github.com/notaryproject/specifications/blob/main/specs/trust-store-trust-policy.md#trust-policy
 */
import {
  parseTrustPolicy,
  TRUST_POLICY_VERSION,
  type TrustPolicyDocument,
  TRUST_STORE_TYPES,
  type TrustStoreType,
} from '../formats/notation/trust-policy.ts';
import type { NotationAuthorityDocument } from './types.ts';

/** The name of each trust store (one per type) and of the statement. */
export const NOTATION_STORE_NAME = 'policy';

/** The levels a policy may name: `skip` would verify nothing, so a policy cannot ask for it. */
export const NOTATION_POLICY_LEVELS = ['strict', 'permissive', 'audit'] as const;

/**
 * The trust policy an authority stands for. Throws `invalid`
 * NOTATION_TRUST_POLICY_INVALID (its message says what notation refuses)
 * naming `source`.
 */
export function notationTrustPolicy(
  notation: NotationAuthorityDocument['notation'],
  source: string,
): TrustPolicyDocument {
  const trustStores = TRUST_STORE_TYPES.filter(
    (type) => (notation.trustStore[type]?.length ?? 0) > 0,
  ).map((type: TrustStoreType) => `${type}:${NOTATION_STORE_NAME}`);
  const statement = {
    name: NOTATION_STORE_NAME,
    registryScopes: ['*'],
    signatureVerification: {
      level: notation.level ?? 'strict',
      // The level's revocation check is on unless the authority turns it off.
      ...(notation.revocation === false ? { override: { revocation: 'skip' } } : {}),
      ...(notation.verifyTimestamp === undefined
        ? {}
        : { verifyTimestamp: notation.verifyTimestamp }),
    },
    trustStores,
    trustedIdentities: notation.trustedIdentities,
  };
  const json = JSON.stringify({ version: TRUST_POLICY_VERSION, trustPolicies: [statement] });
  return parseTrustPolicy(Buffer.from(json), { source });
}
