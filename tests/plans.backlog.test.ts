import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { connect, emptyQueue, insertOneStepJobs } from "./helpers/db.ts";
import { explainedConnection, explainStatements, type StatementCost } from "./helpers/explain.ts";

// A worker's connection lives for hours, and a queue's statistics describe it as it was at the
// last analyze, often with nothing waiting. Whatever plans its claims and settles run with, a
// backlog that arrives later must not turn an index lookup into a scan of that backlog: that
// feedback (slower settles, a bigger backlog, slower still) stalled the sustained benchmark for a
// minute at a time. Counted in shared buffers, as in claim.history.test.ts.

const admin = connect();
afterAll(() => admin.end());
beforeEach(() => emptyQueue(admin, { edgeWorkersOff: true }));

const tables = ["public.jobs", "public.job_steps", "public.step_attempts"] as const;

/** Claims `count` steps and completes them, as the runtime does: one call each. */
async function claimAndComplete(sql: ReturnType<typeof connect>, count: number): Promise<void> {
  const claimed = await sql<{ step_id: string }[]>`
    select step_id from public.claim_steps('backlog-worker', '1 minute', ${count})`;
  expect(claimed).toHaveLength(count);
  const results = claimed.map((step) => ({ step_id: step.step_id, output: null }));
  const completed = await sql`select id from public.complete_steps('backlog-worker', ${sql.json(results)})`;
  expect(completed).toHaveLength(count);
}

/** Adds `count` waiting one-step jobs on a connection of its own (admin's foreign-key checks
 * cached their plans while jobs held a handful of rows). */
async function addBacklog(count: number): Promise<void> {
  const loader = connect();
  await insertOneStepJobs(loader, count).finally(() => loader.end());
}

/** What the tables held at their last analyze, when the worker connected. */
const lastAnalyzed: [string, () => Promise<unknown>][] = [
  ["an empty queue (a fresh project, or one drained and vacuumed)", async () => {}],
  [
    "20 000 finished jobs and none waiting (a quiet night)",
    () => admin`
      with finished as (
        insert into public.jobs (status, finished_at) select 'completed', now() from generate_series(1, 20000)
        returning id
      )
      insert into public.job_steps (job_id, seq, status, attempt, finished_at) select id, 0, 'completed', 1, now() from finished`,
  ],
];

describe("claim and settle plans under a backlog that came after them", () => {
  it.each(lastAnalyzed)("read about as many buffers under 100 000 waiting jobs as under 20 000, analyzed on %s", async (_, fill) => {
    // Statistics of that moment and a worker connected then; autovacuum off, so no analyze
    // catches up halfway.
    await fill();
    await admin`vacuum analyze public.jobs, public.job_steps, public.step_attempts`;
    for (const table of tables) await admin.unsafe(`alter table ${table} set (autovacuum_enabled = off)`);
    const { options, notices } = explainedConnection();
    const worker = connect(options);
    try {
      // An idle worker polls: past its fifth call a statement may run a generic plan, made now.
      for (let call = 0; call < 8; call++) {
        await insertOneStepJobs(admin, 10);
        await claimAndComplete(worker, 10);
      }

      // A lookup reads a page more where a B-tree grew a level; a scan of the backlog reads five
      // times as many pages under the second.
      await addBacklog(20_000);
      const smaller = await explainStatements(worker, notices, () => claimAndComplete(worker, 10));
      await addBacklog(80_000);
      const larger = await explainStatements(worker, notices, () => claimAndComplete(worker, 10));

      const byQuery = (costs: StatementCost[]) => new Map(costs.map((cost) => [cost.query, cost.buffers]));
      const before = byQuery(smaller);
      const after = byQuery(larger);
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      const grown = [...after]
        .filter(([query, buffers]) => buffers > 1.5 * before.get(query)! + 10)
        .map(([query, buffers]) => `${buffers} buffers (was ${before.get(query)}): ${query.slice(0, 160)}`);
      expect(grown).toEqual([]);
    } finally {
      await worker.end();
      for (const table of tables) await admin.unsafe(`alter table ${table} reset (autovacuum_enabled)`);
    }
  });
});
