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

describe("an idle worker's probes after many claims", () => {
  it("next_claimable_at and the backlog count read waiting jobs from the claim floor and pending steps from their own indexes: neither the jobs claimed since the last vacuum nor the step records kept", async () => {
    await admin`select public.define_job_type('history.idle', '["go"]')`;
    await admin`select count(*) from public.enqueue_jobs('history.idle', (select jsonb_agg('{}'::jsonb) from generate_series(1, 20000)))`;
    await admin`vacuum analyze public.jobs`;
    await admin`alter table public.jobs set (autovacuum_enabled = off)`;
    try {
      // 19 990 claimed and completed: their entries stay at the head of jobs_claimable_idx until
      // a vacuum. Then the claim floor is raised, as the next claim would (once a second), to the
      // first of the ten still waiting.
      for (let claimed = 0; claimed < 19_990; claimed += 1_000) {
        const batch = Math.min(1_000, 19_990 - claimed);
        await admin`
          select count(*) from public.complete_steps('history-idle',
            (select jsonb_agg(jsonb_build_object('step_id', c.step_id)) from public.claim_steps('history-idle', '1 minute', ${batch}) c))`;
      }
      // And the step records a finished job of several steps keeps (two each for three steps).
      await admin`
        insert into public.job_steps (job_id, seq, name, status, attempt, finished_at)
        select j.id, n, 'step', 'completed', 1, now()
          from (select id from public.jobs where status = 'completed' limit 10000) j, generate_series(0, 1) n`;
      await admin`select public._raise_claim_floor()`;
      // Both asked for this worker's type, as a worker asks (a call without types reads every
      // defined type's queue, one index descent each).
      await admin`select public.register_worker('history-idle-edge', 'edge', '{"types": ["history.idle"]}')`;
      await admin`select public.stop_worker('history-idle-edge')`;
      const [waiting] = await admin<{ first_run_at: Date; count: number }[]>`
        select min(run_at) as first_run_at, count(*)::int as count from public.jobs where status = 'running' and locked_by is null`;
      expect(waiting!.count).toBe(10);

      const { options, notices } = explainedConnection();
      const sql = connect(options);
      try {
        // The backlog count looks only as far as max_invocations would use (none while it is 0, as
        // in these tests): raised in a transaction that is rolled back, so no tick wakes an
        // invocation meanwhile.
        await sql`begin`;
        await sql`update public.leaseflow_settings set max_invocations = 10`;
        // Warmed up, then measured (the first reads of each index also visit the claimed jobs'
        // rows and mark their entries dead; only the index pages are read after that).
        await sql`select public.next_claimable_at(array['history.idle']), public._invocations_wanted()`;
        let next: Date | null = null;
        let backlog: number | null = null;
        const costs = await explainStatements(sql, notices, async () => {
          const [row] = await sql<{ next: Date | null }[]>`select public.next_claimable_at(array['history.idle']) as next`;
          next = row!.next;
          const [wanted] = await sql<{ backlog: number }[]>`select backlog from public._invocations_wanted()`;
          backlog = wanted!.backlog;
        });
        await sql`rollback`;
        expect(next).toEqual(waiting!.first_run_at);
        expect(backlog).toBe(10);
        // From the floor: the ten waiting jobs' entries and a descent of the index, a few buffers
        // each probe. From the head: the 19 990 claimed jobs' entries too, some 100 index pages;
        // any probe that reads the 20 000 step records, hundreds.
        // (The body's statement: the call around it may also plan it, ~150 buffers of index
        // metadata whatever the tables hold.)
        expect(statement(costs, "least(").buffers).toBeLessThanOrEqual(30);
        expect(statement(costs, "select count(*) from ((select 1 from public.job_steps").buffers).toBeLessThanOrEqual(30);
      } finally {
        await sql.end();
      }
    } finally {
      await admin`alter table public.jobs reset (autovacuum_enabled)`;
    }
  });
});

describe("claims of some types under a backlog of others", () => {
  it("next_claimable_at reads the 100 held leases that lapse first, not every lease held for other types", async () => {
    await admin`select public.define_job_type('history.held', '["go"]')`;
    await admin`select public.define_job_type('history.idle', '["go"]')`;
    // Another type's 5 000 steps held by a busy worker; none of this worker's type.
    await admin`select count(*) from public.enqueue_jobs('history.held', (select jsonb_agg('{}'::jsonb) from generate_series(1, 5000)))`;
    for (let i = 0; i < 5; i++) await admin`select count(*) from public.claim_steps('history-busy', '1 minute', 1000, array['history.held'])`;
    await admin`vacuum analyze public.jobs`;

    const { options, notices } = explainedConnection();
    const sql = connect(options);
    try {
      const nextIdle = async () => (await sql<{ next: Date | null }[]>`select public.next_claimable_at(array['history.idle']) as next`)[0]!.next;
      await nextIdle();
      let next: Date | null = null;
      const costs = await explainStatements(sql, notices, async () => {
        next = await nextIdle();
      });
      expect(next).toBeNull();
      // Measured: 20 buffers (a hundred leases' rows, on a few pages). Read up to the first lease
      // of this type, every held lease's row: 244.
      expect(statement(costs, "least(").buffers).toBeLessThanOrEqual(60);

      // A step of this type whose holder stopped renewing it: its lease lapses first, and is found.
      await admin`select count(*) from public.enqueue_jobs('history.idle', '[{}]')`;
      await admin`select count(*) from public.claim_steps('history-gone', '20 seconds', 1, array['history.idle'])`;
      const [gone] = await admin<{ at: Date }[]>`select lease_expires_at as at from public.jobs where locked_by = 'history-gone'`;
      expect(await nextIdle()).toEqual(gone!.at);
    } finally {
      await sql.end();
    }
  });

  it("a worker's claim, next_claimable_at and the backlog count read only its types' queues, not the 20 000 jobs of another type waiting ahead of them", async () => {
    await admin`select public.define_job_type('history.other', '["go"]')`;
    await admin`select public.define_job_type('history.mine', '["go"]')`;
    // Another type's backlog first (its worker is down, say), then this worker's own jobs.
    await admin`select count(*) from public.enqueue_jobs('history.other', (select jsonb_agg('{}'::jsonb) from generate_series(1, 20000)))`;
    await admin`select count(*) from public.enqueue_jobs('history.mine', (select jsonb_agg('{}'::jsonb) from generate_series(1, 50)))`;
    await admin`vacuum analyze public.jobs`;
    // The worker Edge Function's types, as an invocation registers them (the backlog count's).
    await admin`select public.register_worker('history-edge', 'edge', '{"types": ["history.mine"]}')`;
    await admin`select public.stop_worker('history-edge')`;

    const { options, notices } = explainedConnection();
    const sql = connect(options);
    try {
      await sql`begin`;
      await sql`update public.leaseflow_settings set max_invocations = 10`;
      // Warmed up (and the first ten of this worker's jobs claimed), then measured.
      await sql`select count(*) from public.claim_steps('history-mine', '30 seconds', 10, array['history.mine'])`;
      await sql`select public.next_claimable_at(array['history.mine']), public._invocations_wanted()`;
      let claimedTypes: string[] = [];
      let backlog: number | null = null;
      const costs = await explainStatements(sql, notices, async () => {
        const claimed = await sql<{ job_type: string }[]>`
          select job_type from public.claim_steps('history-mine', '30 seconds', 10, array['history.mine'])`;
        claimedTypes = claimed.map((row) => row.job_type);
        await sql`select public.next_claimable_at(array['history.mine'])`;
        const [wanted] = await sql<{ backlog: number }[]>`select backlog from public._invocations_wanted()`;
        backlog = wanted!.backlog;
      });
      await sql`rollback`;
      expect(claimedTypes).toEqual(Array(10).fill("history.mine"));
      expect(backlog).toBe(30);
      // Measured: the claim of 10 reads ~150 buffers in all, its statement ~70; the probes a
      // few each. Passing over the other type's 20 000 jobs visits each one's row: hundreds of
      // pages more for each.
      expect(statement(costs, "with next_jobs").buffers).toBeLessThanOrEqual(150);
      expect(statement(costs, "least(").buffers).toBeLessThanOrEqual(30);
      expect(statement(costs, "select count(*) from ((select 1 from public.job_steps").buffers).toBeLessThanOrEqual(30);
    } finally {
      await sql.end();
    }
  });
});
