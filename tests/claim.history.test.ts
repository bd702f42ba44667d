import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { connect, emptyQueue, insertOneStepJobs } from "./helpers/db.ts";
import { explainedConnection, explainStatements, type StatementCost, statement } from "./helpers/explain.ts";

// The claim must cost the same whether the tables hold no history or hundreds of thousands of
// finished rows. Time is a noisy witness on a shared 2-core box, so this test counts what the
// claim's statements read instead: shared buffers (hit + read), from auto_explain's plans of
// the statements run inside claim_next_step.

const admin = connect();
afterAll(() => admin.end());
beforeEach(() => emptyQueue(admin, { edgeWorkersOff: true }));

/** The batch each claim takes. */
const BATCH = 10;

/** Runs one claim on a fresh connection (after a warm-up claim) and returns its statements' costs. */
async function measureClaim(): Promise<StatementCost[]> {
  const { options, notices } = explainedConnection();
  const sql = connect(options);
  try {
    // The first call compiles the plpgsql functions and reads the catalogs; measure the second.
    await sql`select * from public.claim_steps('history-warmup', '30 seconds', ${BATCH})`;
    return await explainStatements(sql, notices, async () => {
      const claimed = await sql`select * from public.claim_steps('history-probe', '30 seconds', ${BATCH})`;
      expect(claimed).toHaveLength(BATCH);
    });
  } finally {
    await sql.end();
  }
}

describe("claim_steps with a large finished history", () => {
  it("a claim of 10 reads only deeper B-trees with 300 000 finished jobs than with none (12 buffers a step at most), not the history", async () => {
    await insertOneStepJobs(admin, 50);
    await admin`analyze public.jobs, public.job_steps`;
    const empty = await measureClaim();

    await admin`
      with finished as (
        insert into public.jobs (status, finished_at)
        select 'completed', now() from generate_series(1, 300000)
        returning id
      )
      insert into public.job_steps (job_id, seq, status, attempt, finished_at)
      select id, 0, 'completed', 1, now() from finished`;
    await admin`analyze public.jobs, public.job_steps`;
    const history = await measureClaim();

    const claimEmpty = statement(empty, "with next_jobs");
    const claimHistory = statement(history, "with next_jobs");
    // Both sources are read through their claimable-only indexes.
    expect(JSON.stringify(claimHistory.plan)).toContain('"Index Name":"job_steps_claimable_idx"');
    expect(JSON.stringify(claimHistory.plan)).toContain('"Index Name":"jobs_claimable_idx"');
    // Measured for a batch of 10: 146 buffers empty, 266 with history. The difference is B-tree
    // depth: each claimed step descends ~6 indexes (jobs pkey, the index entries its update
    // writes), each up to two levels deeper at 300 000 rows: at most 12 more buffers a step, plus
    // 20 for the statement's own probes. A scan over the finished rows would read thousands, so
    // the bound still separates O(log n) from O(n) by an order of magnitude.
    expect(claimHistory.buffers).toBeLessThanOrEqual(claimEmpty.buffers + 12 * BATCH + 20);

    // The probes that run before every claim: lapsed leases, delayed jobs that became due, and
    // retries whose backoff is over.
    for (const probe of [
      "exists (select 1 from public.job_steps s where s.lease_expires_at",
      "exists (select 1 from public.jobs j where j.status = 'pending'",
      "exists (select 1 from public.job_steps s where s.status = 'pending' and s.queue_at is null",
    ]) {
      expect(statement(history, probe).buffers).toBeLessThanOrEqual(statement(empty, probe).buffers + 20);
    }
  });
});
