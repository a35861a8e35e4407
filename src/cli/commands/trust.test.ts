import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { command } from './trust.ts';

const io = () => ({
  env: { HOME: '/nonexistent-home' },
  stdin: Readable.from([]),
  stdout: new PassThrough(),
  stderr: new PassThrough(),
});

async function usageError(args: readonly string[]): Promise<string> {
  try {
    await command.run(args, io());
  } catch (error) {
    assert.ok(isVouchError(error) && error.code === 'USAGE', String(error));
    return error.message;
  }
  assert.fail(`vouch trust ${args.join(' ')} was accepted`);
}

test("each vouch trust subcommand refuses another's flags", async () => {
  assert.match(await usageError(['inspect', '--dry-run', 'r.example/app']), /--dry-run/);
  assert.match(await usageError(['sign', '--pretty', 'r.example/app:1']), /--pretty/);
  assert.match(await usageError(['key', 'generate', '--name', 'x', 'alice']), /--name/);
  assert.match(await usageError(['key', 'load', '--dir', '.', 'f.key']), /--dir/);
  assert.match(
    await usageError(['signer', 'remove', '--key', 'a.pub', 'a', 'r.example/app']),
    /--key/,
  );
  assert.match(
    await usageError(['revoke', '--password-file', 'pw', 'r.example/app']),
    /--password-file/,
  );
});

test('vouch trust names an unknown subcommand', async () => {
  assert.match(await usageError(['frobnicate', 'x']), /unknown subcommand "frobnicate x"/);
});
