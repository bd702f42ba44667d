import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { connect, emptyQueue } from "./helpers/db.ts";
import { explainedConnection, explainStatements, type StatementCost } from "./helpers/explain.ts";

// A worker's connection lives for hours, and a queue's statistics describe it as it was at the
// last analyze, often with nothing waiting. Whatever plans its claims and settles run with, a
// backlog that arrives later (one enqueue_jobs call, before autovacuum analyzes it) must not turn
// an index lookup into a scan of that backlog, nor a join of the batch with itself into a
// comparison of every pair: either made a settle of 1 000 steps take seconds, and that feedback
// (slower settles, a bigger backlog, slower still) stalled the sustained benchmark for a minute at
// a time. Counted in shared buffers (as in claim.history.test.ts) and in rows examined.

const admin = connect();
afterAll(() => admin.end());
beforeEach(() => emptyQueue(admin, { edgeWorkersOff: true }));

const TYPE = "backlog.one";
const BATCH = 500; // what the runtime claims and settles at once under a backlog (up to 1 000)
const tables = ["public.jobs", "public.job_steps", "public.step_attempts"] as const;

/** Claims `count` steps and completes them, as the runtime does: one call each. */
async function claimAndComplete(sql: ReturnType<typeof connect>, count: number): Promise<void> {
  // Due at every claim here (a claim raises it at most once a second): the claim floor's raise is
  // measured under each backlog too.
  await admin`update public.claim_floor set raised_at = '-infinity'`;
  const claimed = await sql<{ step_id: string }[]>`
    select step_id from public.claim_steps('backlog-worker', '1 minute', ${count})`;
  expect(claimed).toHaveLength(count);
  const results = claimed.map((step) => ({ step_id: step.step_id, output: null }));
  const completed = await sql`select id from public.complete_steps('backlog-worker', ${sql.json(results)})`;
  expect(completed).toHaveLength(count);
}

/** Enqueues `count` jobs of `type` as an app does, on a connection of its own (admin's
 * foreign-key checks cached their plans while jobs held a handful of rows). */
async function enqueueType(type: string, count: number): Promise<void> {
  const loader = connect();
  try {
    for (let done = 0; done < count; done += 50_000) {
      await loader`select count(*) from public.enqueue_jobs(${type}, (select jsonb_agg('{}'::jsonb) from generate_series(1, ${Math.min(50_000, count - done)})))`;
    }
  } finally {
    await loader.end();
  }
}

/** Enqueues `count` one-step jobs (TYPE). */
const enqueue = (count: number) => enqueueType(TYPE, count);

/** What the tables held at their last analyze, when the worker connected. */
const lastAnalyzed: [string, () => Promise<unknown>][] = [
  ["an empty queue (a fresh project, or one drained and vacuumed)", async () => {}],
  [
    "20 000 finished jobs and none waiting (a quiet night)",
    () => admin`
      with finished as (
        insert into public.jobs (type, status, finished_at) select ${TYPE}, 'completed', now() from generate_series(1, 20000)
        returning id
      )
      insert into public.job_steps (job_id, seq, status, attempt, finished_at) select id, 0, 'completed', 1, now() from finished`,
  ],
];

describe("claim and settle plans under a backlog that came after them", () => {
  it.each(lastAnalyzed)("read about as many buffers under 100 000 waiting jobs as under 20 000, and rows in proportion to the batch, analyzed on %s", async (_, fill) => {
    await admin`select public.define_job_type(${TYPE}, '["work"]')`;
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
        await enqueue(10);
        await claimAndComplete(worker, 10);
      }

      // Under each backlog, a claim and settle of 10 (where a scan's pages would dwarf the
      // lookups') and one of BATCH (where a batch compared with itself would show).
      // Each measured claim of 10 follows one of 10: its raise of the claim floor passes over the
      // entries of those ten claimed jobs under both backlogs (of the batch's 500 otherwise).
      await enqueue(20_000);
      await claimAndComplete(worker, 10);
      const smaller = await explainStatements(worker, notices, () => claimAndComplete(worker, 10));
      const smallerBatch = await explainStatements(worker, notices, () => claimAndComplete(worker, BATCH));
      await enqueue(80_000);
      await claimAndComplete(worker, 10);
      const larger = await explainStatements(worker, notices, () => claimAndComplete(worker, 10));
      const largerBatch = await explainStatements(worker, notices, () => claimAndComplete(worker, BATCH));

      // A lookup reads a page more where a B-tree grew a level; a scan of the backlog reads five
      // times as many pages under the second.
      const byQuery = (costs: StatementCost[]) => new Map(costs.map((cost) => [cost.query, cost.buffers]));
      const before = byQuery(smaller);
      const after = byQuery(larger);
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      const grown = [...after]
        .filter(([query, buffers]) => buffers > 1.5 * before.get(query)! + 10)
        .map(([query, buffers]) => `${buffers} buffers (was ${before.get(query)}): ${query.slice(0, 160)}`);
      expect(grown).toEqual([]);

      // Lookups examine some 15 rows per step of the batch; a scan of the backlog examines 20 000 or
      // more, a nested loop of the batch over itself 250 000.
      const heavy = [...smallerBatch, ...largerBatch]
        .filter((cost) => cost.rowsExamined > 30 * BATCH)
        .map((cost) => `${cost.rowsExamined} rows: ${cost.query.slice(0, 160)}`);
      expect(heavy).toEqual([]);
    } finally {
      await worker.end();
      for (const table of tables) await admin.unsafe(`alter table ${table} reset (autovacuum_enabled)`);
    }
  });

  it("create a batch's next step groups with rows examined in proportion to the batch, not its square", async () => {
    // A parallel second group: its steps are job_steps rows, made by _create_next_steps (a type
    // whose every group has one step runs on the job row and makes no step groups).
    await admin`select public.define_job_type('backlog.three', '["a", ["b", "c"]]')`;
    const loader = connect();
    try {
      await loader`select count(*) from public.enqueue_jobs('backlog.three', (select jsonb_agg('{}'::jsonb) from generate_series(1, ${BATCH})))`;
    } finally {
      await loader.end();
    }
    const { options, notices } = explainedConnection();
    const worker = connect(options);
    try {
      // Completing each job's first step creates its second group (_create_next_steps): a join of
      // the batch's jobs to their queue places compared each job with every other one (250 000
      // rows for 500).
      const costs = await explainStatements(worker, notices, () => claimAndComplete(worker, BATCH));
      expect(costs.some((cost) => cost.query.includes("with next_group as"))).toBe(true);
      const heavy = costs.filter((cost) => cost.rowsExamined > 30 * BATCH)
        .map((cost) => `${cost.rowsExamined} rows: ${cost.query.slice(0, 160)}`);
      expect(heavy).toEqual([]);
    } finally {
      await worker.end();
    }
  });

  it("move a batch of jobs that run on their row to their next step with rows examined in proportion to the batch, not the queue", async () => {
    // Every group one step: each step is settled on the job row, and the one that finishes a
    // step moves its job on (and, as a worker's write, claims the next step). Its update joins
    // the job to itself; with the batch's ids on one side only, the plan for a batch of 500
    // under 10 000 to 30 000 freshly analyzed jobs scanned every job (26 500 rows examined here).
    await admin`select public.define_job_type('backlog.chain', '["a", "b", "c"]')`;
    await enqueueType("backlog.chain", 20_000);
    await admin`vacuum analyze public.jobs`;
    const { options, notices } = explainedConnection();
    const worker = connect(options);
    /** A worker's claim of `count` first steps and its write completing them. */
    const claimAndMoveOn = async (count: number) => {
      const claimed = await worker<{ step_id: string }[]>`
        select step_id from public.claim_steps('backlog-worker', '1 minute', ${count})`;
      expect(claimed).toHaveLength(count);
      const results = claimed.map((step) => ({ step_id: step.step_id, output: null }));
      const rows = await worker<{ completed_step_ids: string[] | null }[]>`
        select completed_step_ids from public.complete_and_claim_steps('backlog-worker', ${worker.json(results)}, '1 minute')`;
      // Each step completed, and each job's next step claimed.
      expect(rows[0]!.completed_step_ids).toHaveLength(count);
      expect(rows.filter((row) => row.completed_step_ids === null)).toHaveLength(count);
    };
    try {
      // The connection's first write, planned for its batch's ids (a custom plan).
      const costs = await explainStatements(worker, notices, () => claimAndMoveOn(BATCH));
      expect(costs.some((cost) => cost.query.includes("with settled as"))).toBe(true);
      const heavy = costs.filter((cost) => cost.rowsExamined > 30 * BATCH)
        .map((cost) => `${cost.rowsExamined} rows: ${cost.query.slice(0, 160)}`);
      expect(heavy).toEqual([]);
    } finally {
      await worker.end();
    }
  });
});
