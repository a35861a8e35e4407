import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVouchError } from '../core/errors.ts';
import { parseEvidence } from './evidence.ts';
import { parsePolicy } from './parse.ts';
import { PolicyError } from './source.ts';
import { findImages } from './workloads.ts';
import {
  MAX_YAML_DEPTH,
  parseAllYamlDocuments,
  parseYamlDocument,
} from '../core/yaml-documents.ts';
import { LineCounter } from 'yaml';

/** `depth` block mappings, one inside the next, each on its own line. */
function blockMaps(depth: number, indent = 0): string {
  let text = '';
  for (let i = 0; i < depth; i++) text += `${' '.repeat(indent + i)}a:\n`;
  return text;
}

function policyError(text: string): PolicyError {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (error) {
    assert.ok(error instanceof PolicyError, String(error));
    return error;
  }
  return assert.fail('the policy loaded');
}

describe('YAML nesting cap', () => {
  it('is 256: deeper than in-toto statements inside an evidence file, far below the composer overflow', () => {
    assert.equal(MAX_YAML_DEPTH, 256);
  });

  it('refuses a policy nested thousands deep with the line, not a stack overflow', () => {
    const error = policyError(`apiVersion: x\nrules: ${'['.repeat(5_000)}${']'.repeat(5_000)}\n`);
    assert.equal(error.code, 'POLICY_INVALID');
    assert.equal(error.category, 'invalid');
    // The root mapping is level 1 and "rules: " is 7 characters: level 257 is the 256th bracket, column 263.
    assert.equal(
      error.message,
      'p.yaml: document (line 2, column 263): nested deeper than 256 levels',
    );
  });

  it('refuses block nesting one level past the cap, at that line', () => {
    const text = `apiVersion: x\nrules:\n${blockMaps(256, 1)}`;
    const error = policyError(text);
    // The root mapping is level 1; the mappings under rules are levels 2..257, the last on line 258.
    assert.match(
      error.message,
      /^p\.yaml: document \(line 258, column 257\): nested deeper than 256 levels$/,
    );
  });

  it('reads a document exactly at the cap', () => {
    const lines = new LineCounter();
    const document = parseYamlDocument(blockMaps(MAX_YAML_DEPTH), { lineCounter: lines });
    assert.deepEqual(document.errors, []);
    const deeper = parseYamlDocument(blockMaps(MAX_YAML_DEPTH + 1), { lineCounter: lines });
    assert.deepEqual(
      deeper.errors.map((e) => e.message),
      [`nested deeper than ${MAX_YAML_DEPTH} levels`],
    );
  });

  it('counts collections written as keys', () => {
    const n = 300;
    const text = `${'{'.repeat(n)}a: 1${'}: 1'.repeat(n - 1)}}\n`;
    const document = parseYamlDocument(text, { lineCounter: new LineCounter() });
    assert.deepEqual(
      document.errors.map((e) => [e.message, e.pos[0]]),
      [[`nested deeper than ${MAX_YAML_DEPTH} levels`, MAX_YAML_DEPTH]],
    );
  });

  it('refuses a deep document among several in a manifest file, naming its line', () => {
    const text = `apiVersion: v1\nkind: Pod\n---\nx: ${'['.repeat(5_000)}${']'.repeat(5_000)}\n`;
    const documents = parseAllYamlDocuments(text, { lineCounter: new LineCounter() });
    assert.equal(documents.length, 2);
    assert.deepEqual(documents[0]?.errors, []);
    assert.throws(
      () => findImages(text, 'w.yaml'),
      (error) =>
        isVouchError(error) &&
        error.code === 'MANIFEST_YAML_INVALID' &&
        error.category === 'invalid' &&
        error.message === 'w.yaml:4:259: nested deeper than 256 levels',
    );
  });

  it('refuses a deep evidence file', () => {
    assert.throws(
      () => parseEvidence(`images: ${'['.repeat(5_000)}${']'.repeat(5_000)}`, 'e.yaml'),
      (error) =>
        error instanceof PolicyError &&
        error.code === 'EVIDENCE_INVALID' &&
        error.message === 'e.yaml: document (line 1, column 264): nested deeper than 256 levels',
    );
  });

  it('still reads evidence holding an in-toto statement as deep as in-toto.ts accepts (128)', () => {
    const predicate = `${'{"a":'.repeat(126)}1${'}'.repeat(126)}`;
    const statement = `{"_type":"https://in-toto.io/Statement/v1","predicate":${predicate}}`;
    const evidence = parseEvidence(
      JSON.stringify({
        apiVersion: 'vouch.dev/v1alpha1',
        kind: 'PolicyEvidence',
        images: [
          {
            image: 'r.example/app:1',
            attestations: [
              {
                authority: 'ci',
                predicateType: 'https://slsa.dev/provenance/v1',
                status: 'verified',
                message: '',
                statements: [JSON.parse(statement)],
              },
            ],
          },
        ],
      }),
    );
    assert.equal(evidence.images[0]?.attestations[0]?.statements.length, 1);
  });
});
