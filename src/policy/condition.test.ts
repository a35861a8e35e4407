import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { isVouchError } from '../core/errors.ts';
import { compilePolicyText } from './compile.ts';
import { compileCondition } from './condition.ts';
import { evaluateImage } from './evaluate.ts';
import { PolicyError } from './source.ts';

const NESTED_MAP =
  'predicate.list.map(a, predicate.list.map(b, predicate.list.map(c, [a, b, c]))).size() > 0';
const NESTED_ALL =
  'predicate.list.all(a, predicate.list.all(b, predicate.list.all(c, predicate.list.all(d, a + b + c + d >= 0.0))))';
/**
 * Loads (its estimate, for strings of 100 characters, is low), but costs
 * the list's length times the string's: on a megabyte string, seconds per
 * hundred elements without a budget.
 */
const SUPERLINEAR = 'predicate.list.all(a, predicate.text.size() > 0)';
const MEGABYTE = 'x'.repeat(1 << 20);

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function refusal(expression: string): string {
  try {
    compileCondition(expression);
  } catch (error) {
    assert.ok(isVouchError(error), String(error));
    assert.equal(error.category, 'invalid');
    assert.equal(error.code, 'INVALID_CONDITION');
    return error.message;
  }
  assert.fail(`${expression} compiled`);
}

describe('condition limits: refused when the policy loads', () => {
  it('three nested map() over the same list (an OOM at run time) is refused', () => {
    assert.match(
      refusal(NESTED_MAP),
      /nests loops \(all, exists, exists_one, map, filter\) 3 deep; at most 2/,
    );
  });

  it('four nested all() (a hung webhook) is refused', () => {
    assert.match(
      refusal(NESTED_ALL),
      /nests loops \(all, exists, exists_one, map, filter\) 4 deep; at most 2/,
    );
  });

  it('two loops over the statement, one in the other, are refused by their estimated cost', () => {
    for (const expression of [
      'predicate.list.all(a, predicate.list.all(b, true))',
      'predicate.a.all(x, predicate.b.exists(y, x.name == y.name))',
      'predicate.list.map(a, predicate.list.map(b, b)).size() > 0',
    ]) {
      const message = refusal(expression);
      assert.match(message, /estimated cost [0-9,]+ is over the limit of 50,000 per evaluation/);
      assert.match(message, /lists and maps of 100 elements/);
    }
  });

  it('a costly call in a loop is refused by its estimated cost', () => {
    assert.match(
      refusal('predicate.list.all(x, x in predicate.other)'),
      /estimated cost [0-9,]+ is over the limit/,
    );
  });

  it('a pattern the statement supplies, or one that does not compile, is refused', () => {
    assert.match(
      refusal('predicate.a.all(x, x.name.matches(predicate.pattern))'),
      /matches\(\) with a computed pattern; the pattern must be a string literal/,
    );
    assert.match(refusal('predicate.name.matches("(a")'), /pattern "\(a" does not compile/);
    compileCondition('predicate.name.matches("^acme-[0-9]+$")');
  });

  it('an expression over 4,096 characters is refused before it is parsed', () => {
    const long = Array.from({ length: 700 }, () => 'true').join(' && ');
    assert.match(refusal(long), /is 5596 characters long; at most 4096 are allowed/);
  });

  it('building protobuf messages is refused', () => {
    assert.match(refusal('google.protobuf.Value{string_value: "x"} != null'), /message/);
  });

  it('ordinary conditions load: one loop, two loops over small bodies, lookups', () => {
    for (const expression of [
      'predicate.buildDefinition.buildType == "https://actions.github.io/buildtypes/workflow/v1"',
      'predicate.builder.id.startsWith("https://github.com/") && subject.size() == 1',
      'subject.exists(s, s.name == "x") && statement.subject.all(t, has(t.digest))',
      'subject.all(s, s.digest.exists(k, k == "sha256"))',
      'predicate.materials.all(m, m.uri.startsWith("git+https://github.com/acme/"))',
      'predicate.packages.filter(p, p.licenseConcluded == "GPL-3.0-only").size() == 0',
      'predicate.scanner.result.summary.CRITICAL == 0.0 && predicate.metadata.scanFinishedOn != ""',
      'predicate.packages.map(p, p.name).exists_one(n, n == "openssl")',
    ]) {
      compileCondition(expression);
    }
  });

  it('the policy names the condition with its path and line', () => {
    const text = `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  ci: { keyless: { identity: "x", issuer: "y" } }
rules:
  - name: app
    images: [ghcr.io/acme/**]
    authorities: [ci]
    attestations:
      - predicateType: slsaprovenance1
        condition: ${NESTED_MAP}
`;
    let error: unknown;
    try {
      compilePolicyText(text, 'policy.yaml');
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof PolicyError, String(error));
    assert.equal(error.code, 'POLICY_INVALID');
    assert.equal(error.category, 'invalid');
    const issue = error.issues.find((i) => i.path === 'rules[0].attestations[0].condition');
    assert.ok(issue, JSON.stringify(error.issues));
    assert.equal(issue.line, 11);
    assert.match(issue.message, /nests loops .* 3 deep/);
    assert.match(
      error.message,
      /rules\[0\]\.attestations\[0\]\.condition \(line 11, column \d+\): .*nests loops .* 3 deep/,
    );
  });
});

describe('condition limits: the budget of an evaluation', () => {
  // The budget's code proves evaluation stopped there; the timeouts below only
  // guard against a hang (timings are the benchmarks' business, not the tests').
  it(
    'stops a condition that loads but costs too much on a large statement, at once, as a denial reason',
    { timeout: 30_000 },
    () => {
      const condition = compileCondition(SUPERLINEAR);
      const result = condition.test({ predicate: { list: range(1000), text: MEGABYTE } });
      assert.equal(result.holds, false);
      assert.ok(!result.holds);
      assert.equal(result.code, 'CONDITION_BUDGET_EXCEEDED');
      assert.match(result.reason, /stopped at its budget of 50,000 cost units/);
      // The same condition on a short string is fine.
      assert.deepEqual(condition.test({ predicate: { list: range(1000), text: 'x' } }), {
        holds: true,
      });
    },
  );

  it('stops a single loop over a list too long for the budget', () => {
    const condition = compileCondition('predicate.list.all(a, a >= 0.0 && a < 1e9)');
    const result = condition.test({ predicate: { list: range(50_000) } });
    assert.equal(result.holds ? undefined : result.code, 'CONDITION_BUDGET_EXCEEDED');
    assert.deepEqual(condition.test({ predicate: { list: range(2000) } }), { holds: true });
  });

  it('the three nested map() over 200 elements end without a heap OOM (a child with a 64 MB heap)', () => {
    // Without limits this builds 8 million lists: the child dies of a heap
    // OOM (exit 134), where `vouch policy evaluate` took 4.4 GB to die.
    const script = `
      import { compileCondition } from ${JSON.stringify(new URL('./condition.ts', import.meta.url).pathname)};
      let outcome;
      try {
        const list = Array.from({ length: 200 }, (_, i) => i);
        outcome = compileCondition(${JSON.stringify(NESTED_MAP)}).test({ predicate: { list } });
      } catch (error) {
        outcome = { refused: error.code };
      }
      process.stdout.write(JSON.stringify(outcome));
    `;
    const child = spawnSync(
      process.execPath,
      ['--max-old-space-size=64', '--input-type=module', '--eval', script],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(child.status, 0, `exit ${child.status} ${child.signal}: ${child.stderr}`);
    assert.deepEqual(JSON.parse(child.stdout), { refused: 'INVALID_CONDITION' });
  });

  it('stops building lists once their size is over the budget', () => {
    // A new list of twice the input per element: 3,000 × 6,000 elements.
    const condition = compileCondition(
      'predicate.list.map(a, predicate.list + predicate.list).size() > 0',
    );
    const result = condition.test({ predicate: { list: range(3000) } });
    assert.equal(result.holds ? undefined : result.code, 'CONDITION_BUDGET_EXCEEDED');
    assert.deepEqual(condition.test({ predicate: { list: range(100) } }), { holds: true });
  });

  it('a budget exceeded deep inside a loop is not absorbed by || or &&', () => {
    const condition = compileCondition(`(${SUPERLINEAR}) || true`);
    const result = condition.test({ predicate: { list: range(1000), text: MEGABYTE } });
    assert.equal(result.holds, false);
    assert.equal(result.holds ? undefined : result.code, 'CONDITION_BUDGET_EXCEEDED');
  });

  it('strings cannot be grown without bound', { timeout: 30_000 }, () => {
    const big = 'x'.repeat(1 << 20);
    const condition = compileCondition(
      'predicate.list.all(a, (predicate.s + predicate.s + predicate.s + predicate.s).size() > 0)',
    );
    const result = condition.test({ predicate: { s: big, list: range(100) } });
    assert.equal(result.holds ? undefined : result.code, 'CONDITION_BUDGET_EXCEEDED');
  });

  it('a map indexed with a number does not scan its keys for free', { timeout: 30_000 }, () => {
    const keys = Object.fromEntries(range(50_000).map((i) => [`k${i}`, i]));
    const condition = compileCondition('predicate.list.all(a, predicate.m[a] != 1.0)');
    const result = condition.test({ predicate: { m: keys, list: range(2000) } });
    assert.equal(result.holds ? undefined : result.code, 'CONDITION_BUDGET_EXCEEDED');
  });

  it('all the conditions of one image decision share a budget', { timeout: 30_000 }, () => {
    const compiled = compilePolicyText(`apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  ci: { keyless: { identity: "x", issuer: "y" } }
rules:
  - name: app
    images: [ghcr.io/acme/**]
    authorities: [ci]
    attestations:
      - predicateType: slsaprovenance1
        condition: predicate.list.all(a, a >= 0.0) && predicate.ok
`);
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      predicateType: 'https://slsa.dev/provenance/v1',
      subject: [],
      // Each evaluation costs about 30,000 units: under the limit of one, not of many.
      predicate: { list: range(1800), ok: false },
    };
    const decision = evaluateImage(
      {
        image: 'ghcr.io/acme/app:1',
        digest: `sha256:${'a'.repeat(64)}`,
        authorities: [{ authority: 'ci', status: 'verified', message: 'ok' }],
        attestations: [
          {
            authority: 'ci',
            predicateType: 'https://slsa.dev/provenance/v1',
            status: 'verified',
            message: 'ok',
            statements: Array.from({ length: 100 }, () => statement),
          },
        ],
      },
      compiled,
    );
    assert.equal(decision.result, 'denied');
    assert.match(
      decision.reason,
      /CONDITION_BUDGET_EXCEEDED: the conditions evaluated for this decision spent the budget they share/,
    );
    // Evaluation stops there, rather than saying so 100 times.
    assert.ok((decision.reason.match(/CONDITION_BUDGET_EXCEEDED/g) ?? []).length === 1);
  });
});

describe('condition limits: the statement a condition sees', () => {
  it('a statement nested deeper than the cap fails the condition with a reason', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    const result = compileCondition('has(predicate.a)').test({ predicate: deep as object });
    assert.equal(result.holds, false);
    assert.equal(result.holds ? undefined : result.code, 'STATEMENT_TOO_LARGE');
    assert.match(result.holds ? '' : result.reason, /nested deeper than 64/);
  });

  it('a statement with more values than the cap fails the condition with a reason', () => {
    const result = compileCondition('true').test({ predicate: { list: range(300_000) } });
    assert.equal(result.holds ? undefined : result.code, 'STATEMENT_TOO_LARGE');
    assert.match(result.holds ? '' : result.reason, /more than [0-9,]+ values/);
  });
});

describe('condition semantics under the limits', () => {
  const holds = (expression: string, predicate: object = {}) =>
    assert.deepEqual(compileCondition(expression).test({ predicate }), { holds: true }, expression);

  it('map, filter, exists_one and list concatenation give what CEL defines', () => {
    holds('[1, 2, 3].map(x, x * 2) == [2, 4, 6]');
    holds('[1, 2, 3, 4].filter(x, x % 2 == 0) == [2, 4]');
    holds('[1, 2, 3, 4].map(x, x > 2, x * 10) == [30, 40]');
    holds('[1, 2].map(x, [3, 4].map(y, x * y)) == [[3, 4], [6, 8]]');
    holds('[1, 2].map(x, x) + [1, 2].map(x, x) == [1, 2, 1, 2]');
    holds('[1, 2].all(i, [1, 2].map(x, x).size() == 2)');
    holds('[1, 2, 3].exists_one(x, x == 2) && ![1, 2, 2].exists_one(x, x == 2)');
    holds('[[1], [2]].map(l, l + [0]) == [[1, 0], [2, 0]]');
    holds('predicate.l.map(x, x.n).filter(n, n > 1.0) == [2.0, 3.0]', {
      l: [{ n: 1 }, { n: 2 }, { n: 3 }],
    });
    holds('predicate.m.exists(k, k == "b") && predicate.m.b == 2.0', { m: { a: 1, b: 2 } });
    holds('{"a": 1}["a"] == 1 && 1 in {1: "x"} && !(2 in {1: "x"})');
    holds('predicate.m.all(k, predicate.m[k] > 0.0) && [1, 2, 3][1] == 2 && {1: "x"}[1] == "x"', {
      m: { a: 1, b: 2 },
    });
    holds('predicate.l[1].n == 2.0 && has(predicate.l[0].n) && !has(predicate.l[0].x)', {
      l: [{ n: 1 }, { n: 2 }],
    });
    holds('"héllo 👋".size() == 7 && "abc".matches("^a.c$") && !"abd".matches("c$")');
  });

  it('a loop over thousands of elements fits the budget', () => {
    const packages = range(1500).map((i) => ({ name: `p${i}`, license: 'MIT' }));
    holds('predicate.packages.all(p, p.license == "MIT" && p.name.startsWith("p"))', {
      packages,
    });
    holds('predicate.packages.map(p, p.name).size() == 1500', { packages });
  });
});
