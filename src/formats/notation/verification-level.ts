/**
 * Notary Project verification levels: what a trust policy statement's
 * `signatureVerification` makes of each check, as notation-go's
 * `verifier/trustpolicy/trustpolicy.go` (`LevelStrict` … `LevelSkip`,
 * `GetVerificationLevel`) computes it and `verifier/verifier.go` applies it:
 * a failed check whose action is `enforce` fails the verification
 * (`isCriticalFailure`), one whose action is `log` is reported and passed
 * over, and a `skip`ped check is not run (level `skip` runs none; otherwise
 * only `revocation` can be skipped).
 *
 * https://github.com/notaryproject/specifications/blob/main/specs/trust-store-trust-policy.md#signatureverification-details
 */
import { invalid, type VouchError } from '../../core/errors.ts';

export const VERIFICATION_LEVELS = ['strict', 'permissive', 'audit', 'skip'] as const;
export type VerificationLevelName = (typeof VERIFICATION_LEVELS)[number];

/** The checks, in the order notation runs them. */
export const VALIDATION_TYPES = [
  'integrity',
  'authenticity',
  'authenticTimestamp',
  'expiry',
  'revocation',
] as const;
export type ValidationType = (typeof VALIDATION_TYPES)[number];

export const VALIDATION_ACTIONS = ['enforce', 'log', 'skip'] as const;
export type ValidationAction = (typeof VALIDATION_ACTIONS)[number];

/** What each check does under one statement. */
export interface VerificationActions {
  /** The level's name, or `custom` when an override was given (as notation-go names it). */
  readonly name: VerificationLevelName | 'custom';
  /** The level the statement names, before any override. */
  readonly base: VerificationLevelName;
  readonly actions: Readonly<Record<ValidationType, ValidationAction>>;
  /** Checks whose failure fails the verification, in notation's order. */
  readonly enforced: readonly ValidationType[];
  /** Checks whose failure is only reported. */
  readonly logged: readonly ValidationType[];
  /** Checks that are not run. */
  readonly skipped: readonly ValidationType[];
}

type Table = Readonly<Record<ValidationType, ValidationAction>>;

// trustpolicy.go LevelStrict, LevelPermissive, LevelAudit, LevelSkip.
const LEVELS: Readonly<Record<VerificationLevelName, Table>> = {
  strict: {
    integrity: 'enforce',
    authenticity: 'enforce',
    authenticTimestamp: 'enforce',
    expiry: 'enforce',
    revocation: 'enforce',
  },
  permissive: {
    integrity: 'enforce',
    authenticity: 'enforce',
    authenticTimestamp: 'log',
    expiry: 'log',
    revocation: 'log',
  },
  audit: {
    integrity: 'enforce',
    authenticity: 'log',
    authenticTimestamp: 'log',
    expiry: 'log',
    revocation: 'log',
  },
  skip: {
    integrity: 'skip',
    authenticity: 'skip',
    authenticTimestamp: 'skip',
    expiry: 'skip',
    revocation: 'skip',
  },
};

/**
 * The actions of `level` after `override`: notation-go's
 * `GetVerificationLevel`, so it takes the strings a policy file holds.
 * Throws `invalid` NOTATION_TRUST_POLICY_INVALID for an empty or unknown
 * level, an unknown check or action, any override of level `skip`, any of
 * `integrity`, and `skip` for anything but `revocation`.
 */
export function verificationActions(
  level: string,
  override: Readonly<Record<string, string>> = {},
): VerificationActions {
  if (level === '') {
    throw policyError(
      'signature verification level is empty or missing in the trust policy statement',
    );
  }
  if (!isOneOf(VERIFICATION_LEVELS, level)) {
    throw policyError(`invalid signature verification level ${JSON.stringify(level)}`);
  }
  const entries = Object.entries(override);
  if (entries.length === 0) return describe(level, level, LEVELS[level]);
  if (level === 'skip') {
    throw policyError(
      `signature verification level "skip" can't be used to customize signature verification`,
    );
  }
  const actions: Record<ValidationType, ValidationAction> = { ...LEVELS[level] };
  for (const [type, action] of entries) {
    if (!isOneOf(VALIDATION_TYPES, type)) {
      throw policyError(
        `verification type ${JSON.stringify(type)} in custom signature verification is not supported, supported values are ${list(VALIDATION_TYPES)}`,
      );
    }
    if (!isOneOf(VALIDATION_ACTIONS, action)) {
      throw policyError(
        `verification action ${JSON.stringify(action)} in custom signature verification is not supported, supported values are ${list(VALIDATION_ACTIONS)}`,
      );
    }
    if (type === 'integrity') {
      throw policyError(
        `"integrity" verification can not be overridden in custom signature verification`,
      );
    }
    if (type !== 'revocation' && action === 'skip') {
      throw policyError(
        `"${type}" verification can not be skipped in custom signature verification`,
      );
    }
    actions[type] = action;
  }
  return describe('custom', level, actions);
}

function isOneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

function list(values: readonly string[]): string {
  return `[${values.map((value) => JSON.stringify(value)).join(' ')}]`;
}

function describe(
  name: VerificationLevelName | 'custom',
  base: VerificationLevelName,
  actions: Table,
): VerificationActions {
  const having = (action: ValidationAction) =>
    VALIDATION_TYPES.filter((type) => actions[type] === action);
  return Object.freeze({
    name,
    base,
    actions: Object.freeze({ ...actions }),
    enforced: Object.freeze(having('enforce')),
    logged: Object.freeze(having('log')),
    skipped: Object.freeze(having('skip')),
  });
}

function policyError(message: string): VouchError {
  return invalid('NOTATION_TRUST_POLICY_INVALID', message);
}
