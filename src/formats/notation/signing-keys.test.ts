import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectError } from '../../../test/helpers/assertions.ts';
import { parseSigningKeys, resolveSigningKey } from './signing-keys.ts';

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const SOURCE = '/config/signingkeys.json';

const KEYS = parseSigningKeys(
  json({
    default: 'local',
    keys: [
      { name: 'local', keyPath: '/k/local.key', certPath: '/k/local.crt' },
      { name: 'kms', id: 'arn:key/1', pluginName: 'com.example.kms', pluginConfig: { r: 'eu' } },
      { name: 'half', keyPath: '/k/half.key' },
      { name: 'nothing' },
    ],
  }),
  SOURCE,
);

describe('signingkeys.json', () => {
  test('resolves a key pair, a plugin key, and the default', () => {
    assert.deepEqual(resolveSigningKey(KEYS, 'kms', SOURCE), {
      kind: 'plugin',
      name: 'kms',
      keyId: 'arn:key/1',
      plugin: 'com.example.kms',
      pluginConfig: { r: 'eu' },
    });
    assert.deepEqual(resolveSigningKey(KEYS, undefined, SOURCE), {
      kind: 'files',
      name: 'local',
      keyPath: '/k/local.key',
      certPath: '/k/local.crt',
    });
  });

  test('refuses what notation refuses', () => {
    const notFound = (fragment: string) =>
      expectError('invalid', 'NOTATION_SIGNING_KEY_NOT_FOUND', fragment);
    const malformed = (fragment: string) =>
      expectError('invalid', 'NOTATION_SIGNING_KEYS_INVALID', fragment);
    assert.throws(
      () => resolveSigningKey(KEYS, 'missing', SOURCE),
      notFound('"missing" not found'),
    );
    assert.throws(() => resolveSigningKey({ keys: [] }, undefined, SOURCE), notFound('no default'));
    assert.throws(() => resolveSigningKey(KEYS, 'half', SOURCE), malformed('certificate path'));
    assert.throws(() => resolveSigningKey(KEYS, 'nothing', SOURCE), malformed('unsupported key'));
    const cases: [unknown, string][] = [
      [{ keys: [{ name: '' }] }, 'key name cannot be empty'],
      [{ keys: [{ name: 'a' }, { name: 'a' }] }, 'multiple keys with name "a"'],
      [{ default: 'b', keys: [{ name: 'a' }] }, 'default key "b" not found'],
      [{ default: '', keys: [] }, 'default key name cannot be empty'],
      [{ keys: [{ name: 'a', KeyPath: '/x' }] }, 'case variant'],
      [{ keys: [{ name: 'a', pluginConfig: { x: 1 } }] }, 'pluginConfig["x"]'],
    ];
    for (const [document, fragment] of cases) {
      assert.throws(() => parseSigningKeys(json(document), SOURCE), malformed(fragment));
    }
    assert.deepEqual(parseSigningKeys(json({ keys: null, unknown: true }), SOURCE), { keys: [] });
  });
});
