/**
 * `vouch admission serve` end to end (the shared environment is test/helpers/admission.ts).
 * This file: attestation conditions are bounded: a condition over its budget is denied
 * within the deadline while the webhook keeps answering, and a policy whose condition
 * could not be bounded is refused at start.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  admit,
  COSTLY_CONDITION,
  KINDS,
  podSpec,
  post,
  reviewOf,
  startWebhook,
  useAdmissionFixture,
  type Webhook,
} from './helpers/admission.ts';

describe('vouch admission serve: condition budgets', () => {
  const fixture = useAdmissionFixture();
  let tmp: string;
  let ca: string;
  let certArgs: string[];
  let webhook: Webhook;
  let policyText: string;
  const { image } = fixture;
  before(() => ({ tmp, ca, certArgs, webhook, policyText } = fixture));

  it('a condition over its budget: denied within the deadline, /healthz answering all along', async () => {
    const review = () =>
      reviewOf(KINDS[0]?.kind as never, { kind: 'Pod', spec: podSpec([image('costly')]) });
    for (const round of ['gathers the evidence', 'from the cache']) {
      const started = performance.now();
      let answered = false;
      const answer = admit(webhook.port, ca, '/validate', review()).finally(
        () => (answered = true),
      );
      const health: number[] = [];
      while (!answered) {
        const asked = performance.now();
        const healthz = await post(webhook.port, ca, '/healthz', '', {}, 'GET');
        assert.equal(healthz.body, 'ok\n');
        health.push(performance.now() - asked);
        await sleep(10);
      }
      const denied = await answer;
      const elapsed = performance.now() - started;
      assert.equal(denied.allowed, false, round);
      assert.match(
        denied.status?.message ?? '',
        /rule costly: attestation scan: .*CONDITION_BUDGET_EXCEEDED: the evaluation was stopped at its budget/,
      );
      // The webhook's deadline is 8 s; evaluation is a small part of this.
      assert.ok(elapsed < 8_000, `${round}: answered after ${elapsed} ms`);
      assert.ok(
        Math.max(...health) < 2_000,
        `${round}: /healthz took up to ${Math.max(...health)} ms`,
      );
    }
  });

  it('vouch admission serve refuses a policy whose condition nests loops four deep', async () => {
    const file = join(tmp, 'policy', 'nested.yaml');
    await writeFile(
      file,
      policyText.replace(
        COSTLY_CONDITION,
        'predicate.long.all(a, predicate.long.all(b, predicate.long.all(c, predicate.long.all(d, a + b + c + d >= 0.0))))',
      ),
    );
    const outcome = await startWebhook(['--policy', file, ...certArgs], tmp).then(
      async (started) => {
        await started.stop();
        return 'it started';
      },
      (error: unknown) => String(error),
    );
    assert.match(
      outcome,
      /exited with 2: .*condition \(line \d+, column \d+\): the CEL expression nests loops .* 4 deep/,
    );
  });
});
