import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectError } from '../../../test/helpers/assertions.ts';
import { verificationActions } from './verification-level.ts';

const refused = (text: string) => expectError('invalid', 'NOTATION_TRUST_POLICY_INVALID', text);

describe('verificationActions (notation-go GetVerificationLevel)', () => {
  it('has the levels of the spec table', () => {
    // trust-store-trust-policy.md "signatureVerification details"; trustpolicy.go LevelStrict…LevelSkip.
    const table = {
      strict: ['enforce', 'enforce', 'enforce', 'enforce', 'enforce'],
      permissive: ['enforce', 'enforce', 'log', 'log', 'log'],
      audit: ['enforce', 'log', 'log', 'log', 'log'],
      skip: ['skip', 'skip', 'skip', 'skip', 'skip'],
    };
    for (const [level, expected] of Object.entries(table)) {
      const { name, base, actions } = verificationActions(level);
      assert.equal(name, level);
      assert.equal(base, level);
      assert.deepEqual(
        [
          actions.integrity,
          actions.authenticity,
          actions.authenticTimestamp,
          actions.expiry,
          actions.revocation,
        ],
        expected,
        level,
      );
    }
  });

  it('lists the checks enforced, logged and skipped, in notation order', () => {
    const permissive = verificationActions('permissive');
    assert.deepEqual(permissive.enforced, ['integrity', 'authenticity']);
    assert.deepEqual(permissive.logged, ['authenticTimestamp', 'expiry', 'revocation']);
    assert.deepEqual(permissive.skipped, []);
    const skip = verificationActions('skip');
    assert.deepEqual(skip.enforced, []);
    assert.equal(skip.skipped.length, 5);
    assert.ok(Object.isFrozen(permissive) && Object.isFrozen(permissive.actions));
  });

  it('applies overrides as a custom level', () => {
    const custom = verificationActions('strict', { revocation: 'skip', expiry: 'log' });
    assert.equal(custom.name, 'custom');
    assert.equal(custom.base, 'strict');
    assert.deepEqual(custom.enforced, ['integrity', 'authenticity', 'authenticTimestamp']);
    assert.deepEqual(custom.logged, ['expiry']);
    assert.deepEqual(custom.skipped, ['revocation']);
    const audit = verificationActions('audit', {
      revocation: 'enforce',
      expiry: 'enforce',
      authenticTimestamp: 'enforce',
      authenticity: 'enforce',
    });
    assert.equal(audit.enforced.length, 5);
    // An empty override is no override.
    assert.equal(verificationActions('skip', {}).name, 'skip');
  });

  it('refuses what notation refuses', () => {
    assert.throws(() => verificationActions(''), refused('empty or missing'));
    assert.throws(
      () => verificationActions('Strict'),
      refused('invalid signature verification level "Strict"'),
    );
    assert.throws(
      () => verificationActions('skip', { revocation: 'log' }),
      refused(`"skip" can't be used to customize`),
    );
    assert.throws(
      () => verificationActions('skip', { bogus: 'x' }),
      refused(`"skip" can't be used to customize`),
    );
    assert.throws(
      () => verificationActions('audit', { integrity: 'enforce' }),
      refused('"integrity" verification can not be overridden'),
    );
    for (const check of ['authenticity', 'authenticTimestamp', 'expiry']) {
      assert.throws(
        () => verificationActions('strict', { [check]: 'skip' }),
        refused(`"${check}" verification can not be skipped`),
      );
    }
    assert.throws(
      () => verificationActions('strict', { Revocation: 'log' }),
      refused('verification type "Revocation"'),
    );
    assert.throws(
      () => verificationActions('strict', { revocation: 'warn' }),
      refused('verification action "warn"'),
    );
    assert.throws(
      () => verificationActions('strict', { revocation: '' }),
      refused('verification action ""'),
    );
  });
});
