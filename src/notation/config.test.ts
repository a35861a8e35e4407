import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rejectsWith } from '../../test/helpers/assertions.ts';
import { MAX_TRUST_POLICY_BYTES } from '../formats/notation/trust-policy.ts';
import { loadTrustPolicy, notationConfigDir } from './config.ts';

const policy = (name: string) =>
  JSON.stringify({
    version: '1.0',
    trustPolicies: [
      {
        name,
        registryScopes: ['*'],
        signatureVerification: { level: 'strict' },
        trustStores: ['ca:e2e'],
        trustedIdentities: ['*'],
      },
    ],
  });

describe('notationConfigDir', () => {
  it('is $NOTATION_CONFIG, else $XDG_CONFIG_HOME/notation, else ~/.config/notation', () => {
    const home = '/home/u';
    assert.equal(notationConfigDir({ notationConfig: '/n', xdgConfigHome: '/x', home }), '/n');
    assert.equal(notationConfigDir({ notationConfig: 'relative/n', home }), 'relative/n');
    assert.equal(
      notationConfigDir({ notationConfig: '', xdgConfigHome: '/x', home }),
      '/x/notation',
    );
    assert.equal(
      notationConfigDir({ xdgConfigHome: 'relative', home }),
      '/home/u/.config/notation',
    );
    assert.equal(notationConfigDir({ xdgConfigHome: '', home }), '/home/u/.config/notation');
    assert.equal(notationConfigDir({ home }), '/home/u/.config/notation');
  });
});

describe('loadTrustPolicy', () => {
  let root: string;
  let count = 0;
  const configDir = async (files: Record<string, string> = {}) => {
    const dir = join(root, `config-${count++}`);
    await mkdir(dir);
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    return dir;
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vouch-notation-config-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads trustpolicy.oci.json, else trustpolicy.json', async () => {
    const both = await configDir({
      'trustpolicy.oci.json': policy('oci'),
      'trustpolicy.json': policy('legacy'),
    });
    const loaded = await loadTrustPolicy(both);
    assert.equal(loaded.path, join(both, 'trustpolicy.oci.json'));
    assert.equal(loaded.policy.trustPolicies[0]?.name, 'oci');
    const legacy = await configDir({ 'trustpolicy.json': policy('legacy') });
    assert.equal((await loadTrustPolicy(legacy)).policy.trustPolicies[0]?.name, 'legacy');
  });

  it('says so when there is no trust policy', async () => {
    const error = await rejectsWith(
      loadTrustPolicy(await configDir()),
      'NOTATION_TRUST_POLICY_NOT_FOUND',
      'invalid',
    );
    assert.match(error.message, /neither trustpolicy\.oci\.json nor trustpolicy\.json exists/);
    await rejectsWith(loadTrustPolicy(join(root, 'absent')), 'NOTATION_TRUST_POLICY_NOT_FOUND');
  });

  it('refuses a symbolic link, and does not fall back to trustpolicy.json past one', async () => {
    const dir = await configDir({
      'trustpolicy.json': policy('legacy'),
      'target.json': policy('linked'),
    });
    await symlink(join(dir, 'target.json'), join(dir, 'trustpolicy.oci.json'));
    const error = await rejectsWith(
      loadTrustPolicy(dir),
      'NOTATION_TRUST_POLICY_UNREADABLE',
      'invalid',
    );
    assert.match(error.message, /trustpolicy\.oci\.json is a symbolic link/);
    const legacyLink = await configDir({ 'target.json': policy('linked') });
    await symlink(join(legacyLink, 'target.json'), join(legacyLink, 'trustpolicy.json'));
    await rejectsWith(loadTrustPolicy(legacyLink), 'NOTATION_TRUST_POLICY_UNREADABLE');
  });

  it('refuses a directory and an oversized file', async () => {
    const dir = await configDir();
    await mkdir(join(dir, 'trustpolicy.oci.json'));
    const error = await rejectsWith(loadTrustPolicy(dir), 'NOTATION_TRUST_POLICY_UNREADABLE');
    assert.match(error.message, /is not a regular file/);
    const big = await configDir({ 'trustpolicy.oci.json': ' '.repeat(MAX_TRUST_POLICY_BYTES + 1) });
    const large = await rejectsWith(loadTrustPolicy(big), 'NOTATION_TRUST_POLICY_UNREADABLE');
    assert.match(large.message, /at most 1048576 are accepted/);
  });

  it('names the file when notation would refuse the policy', async () => {
    const dir = await configDir({ 'trustpolicy.oci.json': '{"version":"1.0","trustPolicies":[]}' });
    const error = await rejectsWith(
      loadTrustPolicy(dir),
      'NOTATION_TRUST_POLICY_INVALID',
      'invalid',
    );
    assert.ok(
      error.message.startsWith(`trust policy ${join(dir, 'trustpolicy.oci.json')}: `),
      error.message,
    );
  });
});
