import assert from 'node:assert/strict';
import { test } from 'node:test';
import { globsMayOverlap } from './glob-overlap.ts';

test('globs that share a repository overlap', () => {
  assert.equal(globsMayOverlap('ghcr.io/acme/**', 'ghcr.io/acme/app'), true);
  assert.equal(globsMayOverlap('ghcr.io/*/app', 'ghcr.io/acme/*'), true);
  assert.equal(globsMayOverlap('**', 'quay.io/x'), true);
  assert.equal(globsMayOverlap('ghcr.io/acme/app*', 'ghcr.io/acme/*-prod'), true);
  assert.equal(globsMayOverlap('docker.io/library/nginx', 'docker.io/library/nginx'), true);
});

test('globs no repository satisfies both do not overlap', () => {
  assert.equal(globsMayOverlap('ghcr.io/acme/**', 'ghcr.io/other/**'), false);
  assert.equal(globsMayOverlap('ghcr.io/acme/*', 'ghcr.io/acme/team/app'), false);
  assert.equal(globsMayOverlap('ghcr.io/acme/app', 'ghcr.io/acme/app2'), false);
  assert.equal(globsMayOverlap('ghcr.io/*/app', 'quay.io/*/app'), false);
});

test('** is read generously: it may refuse globs that never meet, never the reverse', () => {
  // `ghcr.io/**` needs a segment after ghcr.io/, so it never matches `ghcr.io`; still reported.
  assert.equal(globsMayOverlap('ghcr.io/**', 'ghcr.io/'), true);
});

test(
  'long globs with many stars are decided (the product automaton, no backtracking)',
  { timeout: 10_000 },
  () => {
    const a = `ghcr.io/${'*a'.repeat(1000)}`;
    assert.equal(globsMayOverlap(a, `ghcr.io/${'a'.repeat(1000)}`), true);
    assert.equal(globsMayOverlap(a, `ghcr.io/${'a*'.repeat(1000)}b`), false);
  },
);
