import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { vouchCacheDir } from './cache-dir.ts';

const io = (env: Record<string, string>) => ({
  env,
  stdin: Readable.from([]),
  stdout: new Writable(),
  stderr: new Writable(),
});

test('the cache directory: VOUCH_CACHE_DIR, else an absolute XDG_CACHE_HOME/vouch, else ~/.cache/vouch', () => {
  const all = { VOUCH_CACHE_DIR: '/v', XDG_CACHE_HOME: '/x', HOME: '/h' };
  assert.equal(vouchCacheDir(io(all)), '/v');
  assert.equal(vouchCacheDir(io({ ...all, VOUCH_CACHE_DIR: '' })), '/x/vouch');
  assert.equal(vouchCacheDir(io({ XDG_CACHE_HOME: 'relative', HOME: '/h' })), '/h/.cache/vouch');
  assert.equal(vouchCacheDir(io({ HOME: '/h' })), '/h/.cache/vouch');
});
