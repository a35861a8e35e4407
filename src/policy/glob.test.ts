/**
 * Glob matching is linear: the matcher agrees with the regular expressions
 * globs used to compile to (on short inputs, where backtracking is cheap),
 * counts at most 2·(len(glob)+1)·(len(name)+1) steps, and finishes the
 * inputs that made the backtracking version run for minutes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import {
  compileImageGlob,
  compileNamespaceGlob,
  matchesImageGlob,
  matchesNamespaceGlob,
  type StepMeter,
} from './glob.ts';

/** The regular expression an image glob used to compile to: the semantics the matcher keeps. */
function oracleImageRegExp(glob: string): RegExp {
  let pattern = '';
  glob.split('/').forEach((segment, index) => {
    const first = index === 0;
    if (segment === '**') {
      pattern += first ? '[^/]+(?:/[^/]+)*' : '(?:/[^/]+)+';
      return;
    }
    const literal = segment
      .split('*')
      .map((part) => part.replace(/[.[\]\\^$+?(){}|-]/g, '\\$&'))
      .join('[^/]*');
    pattern += first ? literal : `/${literal}`;
  });
  return new RegExp(`^${pattern}$`);
}

function oracleNamespaceRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').join('[a-z0-9-]*')}$`);
}

/** An image glob from a small alphabet, so that globs and names often (nearly) match. */
const segment = fc.oneof(
  { weight: 1, arbitrary: fc.constant('**') },
  { weight: 4, arbitrary: fc.stringMatching(/^[ab.:*-]{1,4}$/).filter((s) => !s.includes('**')) },
);
const imageGlob = fc
  .tuple(
    fc.constantFrom('*', '**', 'a.b', 'a*', 'localhost', 'a:1'),
    fc.array(segment, { maxLength: 4 }),
  )
  .map(([registry, rest]) => [registry, ...rest].join('/'));
/** A name: segments of the same alphabet (empty ones too, and a `*` that must match itself). */
const name = fc
  .array(fc.stringMatching(/^[ab.:*-]{0,5}$/), { minLength: 1, maxLength: 6 })
  .map((segments) => segments.join('/'));

/** Runs `source` (an ES module body) in a worker; fails if it does not finish within `limitMs`. */
async function finishesWithin(limitMs: number, source: string): Promise<unknown> {
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`));
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`still matching after ${limitMs} ms: backtracking`)),
          limitMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}

const GLOB_MODULE = new URL('./glob.ts', import.meta.url).href;

describe('image glob matcher', () => {
  test('agrees with the regular expression globs compiled to', () => {
    fc.assert(
      fc.property(imageGlob, name, (glob, repository) => {
        let compiled;
        try {
          compiled = compileImageGlob(glob);
        } catch {
          return; // not a glob (e.g. `a.b/**/**` is fine, `*/a**` is not)
        }
        const meter: StepMeter = { steps: 0 };
        assert.equal(
          matchesImageGlob(compiled, repository, meter),
          oracleImageRegExp(glob).test(repository),
          `${glob} against ${repository}`,
        );
        assert.ok(meter.steps <= 2 * (glob.length + 1) * (repository.length + 1));
      }),
      { numRuns: 5000 },
    );
  });

  test('counts at most 2·(len(glob)+1)·(len(name)+1) steps, also where a RegExp backtracks', () => {
    const cases: [string, string][] = [
      ['ghcr.io/*-*-*-*-*-*-svc', `ghcr.io/${'a-'.repeat(120)}x`],
      ['**/**/**/**/x', `${'a/'.repeat(400)}b`],
      ['ghcr.io/**/*a*a*a*a*b', `ghcr.io/${'aaaa/'.repeat(40)}${'a'.repeat(200)}`],
      ['ghcr.io/acme/app', 'ghcr.io/acme/app'],
    ];
    for (const [glob, repository] of cases) {
      const meter: StepMeter = { steps: 0 };
      matchesImageGlob(compileImageGlob(glob), repository, meter);
      assert.ok(meter.steps > 0, `${glob}: the matcher counts its steps`);
      const bound = 2 * (glob.length + 1) * (repository.length + 1);
      assert.ok(meter.steps <= bound, `${glob}: ${meter.steps} steps, more than ${bound}`);
    }
  });

  test('agrees with the regular expression globs when long and short globs alternate', () => {
    // The matcher reuses one buffer of states, grown for the longest glob seen.
    const globs = ['ghcr.io/acme/*', `ghcr.io/${'a*/'.repeat(40)}**`, 'ghcr.io/**/app', '**'];
    const names = [
      'ghcr.io/acme/app',
      `ghcr.io/${'ab/'.repeat(40)}x`,
      `ghcr.io/${'ab/'.repeat(39)}b/x`,
      `ghcr.io/${'ab/'.repeat(40)}app`,
      'docker.io/library/app',
    ];
    for (let round = 0; round < 2; round++) {
      for (const glob of round === 0 ? globs : [...globs].reverse()) {
        for (const repository of names) {
          assert.equal(
            matchesImageGlob(compileImageGlob(glob), repository),
            oracleImageRegExp(glob).test(repository),
            `${glob} against ${repository}`,
          );
        }
      }
    }
  });

  test('steps grow linearly with the name for a fixed glob', () => {
    const steps = (length: number) => {
      const meter: StepMeter = { steps: 0 };
      const glob = compileImageGlob('ghcr.io/*-*-*-*-*-*-svc');
      matchesImageGlob(glob, `ghcr.io/${'a-'.repeat(length)}x`, meter);
      return meter.steps;
    };
    const [small, large] = [steps(100), steps(1000)];
    assert.ok(large <= 11 * small, `${small} steps for 100, ${large} for 1000`);
  });

  test('names that made the backtracking matcher run for minutes finish', async () => {
    // The old RegExp took ~50 s for the first, ~60 s for the second and ~100 s
    // for the third; the limit is generous, the point is that they finish.
    const result = await finishesWithin(
      20_000,
      `import { parentPort } from 'node:worker_threads';
       const g = await import(${JSON.stringify(GLOB_MODULE)});
       parentPort.postMessage([
         g.matchesImageGlob(g.compileImageGlob('ghcr.io/*-*-*-*-*-*-svc'), 'ghcr.io/' + 'a-'.repeat(120) + 'x'),
         g.matchesImageGlob(g.compileImageGlob('**/**/**/**/x'), 'a/'.repeat(400) + 'b'),
         g.matchesNamespaceGlob(g.compileNamespaceGlob('*-*-*-*-*-*-x'), 'a-'.repeat(120) + 'b'),
       ]);`,
    );
    assert.deepEqual(result, [false, false, false]);
  });
});

describe('namespace glob matcher', () => {
  test('agrees with the regular expression namespace globs compiled to', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[ab*-]{1,6}$/),
        fc.stringMatching(/^[ab.A*-]{0,8}$/),
        (glob, namespace) => {
          let compiled;
          try {
            compiled = compileNamespaceGlob(glob);
          } catch {
            return; // not a DNS label with `*`s (e.g. it starts with `-`)
          }
          assert.equal(
            matchesNamespaceGlob(compiled, namespace),
            oracleNamespaceRegExp(glob).test(namespace),
            `${glob} against ${namespace}`,
          );
        },
      ),
      { numRuns: 5000 },
    );
  });
});
