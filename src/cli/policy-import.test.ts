import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { isVouchError } from '../core/errors.ts';
import { importCommand } from './policy-import.ts';

const io = () => ({
  env: {},
  stdin: Readable.from([]),
  stdout: new PassThrough(),
  stderr: new PassThrough(),
});

async function usage(args: readonly string[]): Promise<string> {
  try {
    await importCommand(args, io());
  } catch (error) {
    assert.ok(isVouchError(error) && error.code === 'USAGE', String(error));
    return error.message;
  }
  assert.fail(`vouch policy import ${args.join(' ')} was accepted`);
}

test('vouch policy import takes exactly one source, and only its own options', async () => {
  assert.match(await usage([]), /exactly one of --notation-trust-policy/);
  assert.match(await usage(['--kyverno', 'a', '--cluster-image-policy', 'b']), /exactly one/);
  assert.match(await usage(['--kyverno', 'a', '--trust-store', 'd']), /--trust-store goes with/);
  assert.match(
    await usage(['--kyverno', 'a', '--no-match-policy', 'deny']),
    /--no-match-policy goes with/,
  );
  assert.match(
    await usage(['--cluster-image-policy', 'a', '--no-match-policy', 'maybe']),
    /deny, allow or warn/,
  );
  assert.match(await usage(['--kyverno', 'a', '-o', 'yaml']), /--output must be text or json/);
});

test('vouch policy import names a file it cannot read', async () => {
  await assert.rejects(importCommand(['--kyverno', '/nonexistent/policy.yaml'], io()), (error) => {
    assert.ok(isVouchError(error));
    assert.equal(error.code, 'POLICY_IMPORT_INVALID');
    assert.match(error.message, /cannot read \/nonexistent\/policy\.yaml/);
    return true;
  });
});
