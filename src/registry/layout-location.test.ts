import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasCode } from '../core/errors.ts';
import { digestOf } from '../oci/digest.ts';
import { parseLayoutLocation } from './layout-location.ts';

const encoder = new TextEncoder();

describe('parseLayoutLocation', () => {
  const digest = digestOf(encoder.encode('x'));
  const good: Array<[string, ReturnType<typeof parseLayoutLocation>]> = [
    ['oci:/tmp/layout', { path: '/tmp/layout' }],
    ['oci:/tmp/layout:', { path: '/tmp/layout' }],
    ['oci:/tmp/layout:v1', { path: '/tmp/layout', target: { tag: 'v1' } }],
    ['oci:relative/dir:1.0_rc-2', { path: 'relative/dir', target: { tag: '1.0_rc-2' } }],
    ['oci:.:latest', { path: '.', target: { tag: 'latest' } }],
    [`oci:/tmp/layout@${digest}`, { path: '/tmp/layout', target: { digest } }],
    [`oci:/tmp/us@er/layout@${digest}`, { path: '/tmp/us@er/layout', target: { digest } }],
    ['oci:/tmp/us@er/layout:v2', { path: '/tmp/us@er/layout', target: { tag: 'v2' } }],
    ['oci:/tmp/us@er', { path: '/tmp/us@er' }],
    [`oci:/x:${'t'.repeat(128)}`, { path: '/x', target: { tag: 't'.repeat(128) } }],
  ];
  for (const [spec, expected] of good) {
    test(`parses ${spec.length > 60 ? `${spec.slice(0, 57)}...` : spec}`, () => {
      assert.deepEqual(parseLayoutLocation(spec), expected);
    });
  }
  const bad = [
    '/tmp/layout',
    'docker://x',
    'oci:',
    'oci::v1',
    `oci:@${digest}`,
    'oci:/tmp/a:b:c', // skopeo reads path /tmp/a, name b:c: not a tag
    'oci:/tmp/a:b/c',
    'oci:/tmp/a:-v1',
    `oci:/x:${'t'.repeat(129)}`,
    'oci:/tmp/a:@0',
    `oci:/tmp/a:v1@${digest}`,
    `oci:/tmp/a:@${digest}`,
    'oci:/tmp/a@sha256:abc',
    'oci:/tmp/a@md5:0123456789abcdef0123456789abcdef',
    'oci:C:\\layouts\\one:v1',
  ];
  for (const spec of bad) {
    test(`refuses ${spec}`, () => {
      assert.throws(
        () => parseLayoutLocation(spec),
        (error: unknown) =>
          hasCode(error, 'INVALID_LAYOUT_REFERENCE') && error.category === 'invalid',
      );
    });
  }
});
