/**
 * Compiling an ImagePolicy text in a unit test: with the files it names
 * (keys, keyrings, certificates) given as bytes, and, for a policy that must
 * not load, the issues it is refused with.
 */
import assert from 'node:assert/strict';
import { compilePolicy } from '../../src/policy/compile.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { PolicyError } from '../../src/policy/source.ts';
import type { CompiledPolicy } from '../../src/policy/types.ts';

export interface PolicyCompiler {
  /** The compiled policy; throws as `compilePolicy` does. */
  compile(text: string): CompiledPolicy;
  /** The issues (`path: message`, one a line) a policy is refused with; fails the test if it loads. */
  issuesOf(text: string): string;
}

/** Compiles policies read as `source` (its extension says YAML or JSON), with `files`. */
export function policyCompiler(
  files: ReadonlyMap<string, Uint8Array>,
  source = 'p.yaml',
): PolicyCompiler {
  const compile = (text: string) => compilePolicy(parsePolicy(text, source), files);
  return {
    compile,
    issuesOf(text) {
      try {
        compile(text);
      } catch (error) {
        assert.ok(error instanceof PolicyError, String(error));
        assert.equal(error.category, 'invalid');
        return error.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
      }
      assert.fail('the policy loaded');
    },
  };
}
