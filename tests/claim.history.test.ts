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

/** Runs one claim on a fresh connection (after a warm-up claim) and returns its statements' costs. */
async function measureClaim(): Promise<StatementCost[]> {
  const { options, notices } = explainedConnection();
  const sql = connect(options);
  try {
    // The first call compiles the plpgsql functions and reads the catalogs; measure the second.
    await sql`select * from public.claim_next_step('history-warmup')`;
    return await explainStatements(sql, notices, async () => {
      const [claimed] = await sql`select * from public.claim_next_step('history-probe')`;
      expect(claimed).toBeDefined();
    });
  } finally {
    await sql.end();
  }
}

describe("claim_next_step with a large finished history", () => {
  it("reads the same few buffers with 0 and with 300 000 finished jobs", async () => {
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

    const claimEmpty = statement(empty, "with next_step");
    const claimHistory = statement(history, "with next_step");
    expect(JSON.stringify(claimHistory.plan)).toContain('"Index Name":"job_steps_claimable_idx"');
    // Measured: 13 buffers empty, 25 with history. The difference is B-tree depth: the claim
    // descends ~6 indexes (jobs pkey, the seq-gate probe, and the index entries its update
    // writes), each one or two levels deeper at 300 000 rows. A scan over finished rows would
    // read thousands of buffers, so +20 still separates O(log n) from O(n) by two orders.
    expect(claimHistory.buffers).toBeLessThanOrEqual(claimEmpty.buffers + 20);

    // The probes that run before every claim: lapsed leases, and delayed jobs that became due.
    for (const probe of ["select j.id, j.tenant_id, j.group_key from public.jobs j", "select array_agg(d.id)"]) {
      expect(statement(history, probe).buffers).toBeLessThanOrEqual(statement(empty, probe).buffers + 20);
    }
  });
});
