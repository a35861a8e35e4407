import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isVouchError } from '../core/errors.ts';
import {
  loadRegistriesD,
  registriesDDirectory,
  SYSTEM_REGISTRIES_D,
} from './registries-d-files.ts';

function code(expected: string, fragment = '') {
  return (error: unknown): boolean => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, expected, error.message);
    assert.equal(error.category, 'invalid');
    assert.ok(error.message.includes(fragment), `"${fragment}" not in: ${error.message}`);
    return true;
  };
}

describe('registries.d directory (registries_d_test.go TestLoadAndMergeConfig, TestRegistriesDirPath)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-registries-d-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a missing directory and an empty one configure nothing', async () => {
    for (const config of [
      await loadRegistriesD(join(dir, 'missing')),
      await loadRegistriesD(dir),
    ]) {
      assert.equal(config.defaultDocker, undefined);
      assert.equal(config.docker.size, 0);
    }
  });

  test('/dev/null, not a directory, is refused', async () => {
    await assert.rejects(
      loadRegistriesD('/dev/null'),
      code('REGISTRIES_D_UNREADABLE', '/dev/null'),
    );
  });

  test('only *.yaml files are read, merged, conflicts naming both files', async () => {
    const d = join(dir, 'merge');
    await mkdir(d);
    await writeFile(join(d, 'a.yaml'), 'docker:\n  example.com:\n    lookaside: https://a\n');
    await writeFile(join(d, 'b.yaml'), 'default-docker:\n  lookaside: file:///b\n');
    await writeFile(join(d, 'invalid-but.notyaml'), '}');
    await writeFile(join(d, 'c.yml'), '}');
    const config = await loadRegistriesD(d);
    assert.deepEqual(config.docker.get('example.com'), { lookaside: 'https://a' });
    assert.deepEqual(config.defaultDocker, { lookaside: 'file:///b' });
    await writeFile(join(d, 'z.yaml'), 'docker:\n  example.com:\n    lookaside: https://z\n');
    await assert.rejects(
      loadRegistriesD(d),
      code('REGISTRIES_D_INVALID', `defined both in ${join(d, 'a.yaml')} and ${join(d, 'z.yaml')}`),
    );
  });

  test('invalid YAML, a directory named *.yaml and an oversized file are refused, naming the file', async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad);
    await writeFile(join(bad, '0.yaml'), '}');
    await assert.rejects(loadRegistriesD(bad), code('REGISTRIES_D_INVALID', join(bad, '0.yaml')));
    const dirNamed = join(dir, 'dirnamed');
    await mkdir(join(dirNamed, 'x.yaml'), { recursive: true });
    await assert.rejects(
      loadRegistriesD(dirNamed),
      code('REGISTRIES_D_UNREADABLE', 'not a regular file'),
    );
    const latin1 = join(dir, 'latin1');
    await mkdir(latin1);
    await writeFile(
      join(latin1, 'x.yaml'),
      Buffer.from('docker:\n  caf\xe9.example: {}\n', 'latin1'),
    );
    await assert.rejects(loadRegistriesD(latin1), code('REGISTRIES_D_INVALID', 'not UTF-8'));
    const big = join(dir, 'big');
    await mkdir(big);
    await writeFile(join(big, 'x.yaml'), Buffer.alloc(1024 * 1024 + 1, 0x20));
    await assert.rejects(loadRegistriesD(big), code('REGISTRIES_D_INVALID', 'larger than'));
  });

  test('a symbolic link to a file is read, as os.ReadFile follows it', async () => {
    const linked = join(dir, 'linked');
    await mkdir(linked);
    await writeFile(join(dir, 'target.yaml'), 'docker:\n  example.com: {lookaside: https://l}\n');
    await symlink(join(dir, 'target.yaml'), join(linked, 'default.yaml'));
    assert.deepEqual((await loadRegistriesD(linked)).docker.get('example.com'), {
      lookaside: 'https://l',
    });
  });

  test('the directory: the one given, else the user directory if it exists, else the system one', async () => {
    const home = join(dir, 'home');
    assert.equal(
      await registriesDDirectory({ override: '/x/registries.d', home }),
      '/x/registries.d',
    );
    assert.equal(await registriesDDirectory({ home }), SYSTEM_REGISTRIES_D);
    assert.equal(await registriesDDirectory({}), SYSTEM_REGISTRIES_D);
    await mkdir(join(home, '.config/containers/registries.d'), { recursive: true });
    assert.equal(
      await registriesDDirectory({ home }),
      join(home, '.config/containers/registries.d'),
    );
    // No environment expansion happens in the directory given.
    assert.equal(await registriesDDirectory({ override: '$HOME', home }), '$HOME');
  });
});
