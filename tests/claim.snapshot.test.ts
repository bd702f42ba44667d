// A regression test for a snapshot race in claim_steps: a later step claimed right after another
// transaction completed the step before it must see that step's output. Read in an older
// snapshot than the one the claim ran in (a calling statement's), the step is claimed but its
// predecessor's output is missing; claim_steps reads them in the claim's own statement.
//
// The race needs later steps that wait in the claim queue. A worker's completion claims the
// next step of its job itself (complete_and_claim_steps), so these workers' transports ask it
// not to: every later step is then queued and found by a claim, as it is for a step whose
// completing worker stopped claiming.
import { afterAll, expect, it } from "vitest";
import { drain, PermanentError, PostgresTransport, Registry } from "../supabase/functions/_shared/leaseflow/mod.ts";
import type { CompleteStepsParams } from "../supabase/functions/_shared/leaseflow/types.ts";
import { connect, emptyQueue } from "./helpers/db.ts";

/** A transport whose completions never claim the next step. */
class QueueingTransport extends PostgresTransport {
  override completeSteps(params: CompleteStepsParams) {
    return super.completeSteps({ ...params, claimNextLeaseMs: undefined });
  }
}

const admin = connect();
const transports = Array.from({ length: 6 }, () => new QueueingTransport(connect({ max: 2 }), true));
afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await admin.end();
});

it("every later step sees the outputs of the steps before it, under concurrent claims", async () => {
  await emptyQueue(admin);
  await admin`update public.leaseflow_settings set max_invocations = 0`;
  const registry = new Registry().define({
    type: "snap.chain",
    steps: ["one", "two", "three"],
    handlers: {
      one: ({ payload }) => ({ n: payload.n }),
      two: ({ previousOutputs }) => {
        if (!previousOutputs.one) throw new PermanentError("two ran without one's output");
        return { n: (previousOutputs.one as { n: number }).n + 1 };
      },
      three: ({ previousOutputs }) => {
        if (!previousOutputs.two) throw new PermanentError("three ran without two's output");
        return { n: (previousOutputs.two as { n: number }).n + 1 };
      },
    },
  });
  await registry.publish(transports[0]!);
  await admin`select public.enqueue_jobs('snap.chain', (select jsonb_agg(jsonb_build_object('n', g)) from generate_series(1, 600) g))`;

  const summaries = await Promise.all(transports.map((transport, i) =>
    drain({ workerId: `snap-${i}`, transport, registry, batchSize: 5, concurrency: 5, settleDelayMs: 0, idle: { lingerMs: 0 } })));

  const failed = await admin`select error ->> 'message' as message from public.jobs where type = 'snap.chain' and status <> 'completed'`;
  expect(failed).toEqual([]);
  expect(summaries.reduce((sum, s) => sum + s.completed, 0)).toBe(1800);
  const wrong = await admin`select 1 from public.jobs where type = 'snap.chain' and (result ->> 'n')::int <> (payload ->> 'n')::int + 2`;
  expect(wrong).toHaveLength(0);
});
