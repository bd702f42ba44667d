import { afterAll, beforeEach, describe, expect, it } from "vitest";
import {
  claimNextStep,
  completeStep,
  connect,
  emptyQueue,
  insertOneStepJobs,
} from "./helpers/db.ts";

const admin = connect();
afterAll(() => admin.end());
beforeEach(() => emptyQueue(admin, { edgeWorkersOff: true }));

describe("claim_next_step under concurrency", () => {
  it("20 claimers on separate connections drain 2 000 jobs: each step claimed once, completed once", async () => {
    const jobCount = 2_000;
    const claimerCount = 20;
    await insertOneStepJobs(admin, jobCount);

    const claims: { stepId: string; workerId: string }[] = [];
    const completions: string[] = [];

    const claimers = Array.from({ length: claimerCount }, async (_, index) => {
      const workerId = `claimer-${index}`;
      const sql = connect();
      try {
        // An empty claim means no pending step is left: every other step is held or done.
        for (;;) {
          const step = await claimNextStep(sql, workerId);
          if (!step) return;
          claims.push({ stepId: step.id, workerId });
          const completed = await completeStep(sql, step.id, workerId, { by: workerId });
          if (completed) completions.push(completed.id);
        }
      } finally {
        await sql.end();
      }
    });
    await Promise.all(claimers);

    const claimedIds = claims.map((claim) => claim.stepId);
    expect(claimedIds).toHaveLength(jobCount);
    expect(new Set(claimedIds).size).toBe(jobCount);
    expect(completions).toHaveLength(jobCount);
    expect(new Set(completions).size).toBe(jobCount);
    // The work really was shared out, not serialised onto one connection.
    expect(new Set(claims.map((claim) => claim.workerId)).size).toBeGreaterThan(1);

    const [steps] = await admin<{ completed: number; once: number; total: number }[]>`
      select count(*) filter (where status = 'completed')::int as completed,
             count(*) filter (where attempt = 1)::int as once,
             count(*)::int as total
        from public.job_steps`;
    expect(steps).toEqual({ completed: jobCount, once: jobCount, total: jobCount });

    const [jobs] = await admin<{ completed: number }[]>`
      select count(*) filter (where status = 'completed')::int as completed from public.jobs`;
    expect(jobs?.completed).toBe(jobCount);
  });

  it("a crashed claimer loses its step after the lease expires, and its late completion changes nothing", async () => {
    await insertOneStepJobs(admin, 1);
    const crashed = connect();
    const survivor = connect();
    try {
      const lost = await claimNextStep(crashed, "crashed-worker", "1 second");
      expect(lost?.attempt).toBe(1);

      // While the lease is live, nobody else can take the step.
      expect(await claimNextStep(survivor, "survivor")).toBeUndefined();

      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const takenOver = await claimNextStep(survivor, "survivor");
      expect(takenOver).toMatchObject({ id: lost?.id, locked_by: "survivor", attempt: 2 });

      expect(await completeStep(crashed, lost!.id, "crashed-worker", { late: true })).toBeUndefined();
      const [afterLate] = await admin<{ status: string; locked_by: string; output: unknown }[]>`
        select status, locked_by, output from public.job_steps where id = ${lost!.id}`;
      expect(afterLate).toEqual({ status: "running", locked_by: "survivor", output: null });

      const done = await completeStep(survivor, lost!.id, "survivor", { ok: true });
      expect(done).toMatchObject({ status: "completed", output: { ok: true } });
      const [job] = await admin<{ status: string }[]>`select status from public.jobs where id = ${lost!.job_id}`;
      expect(job?.status).toBe("completed");
    } finally {
      await Promise.all([crashed.end(), survivor.end()]);
    }
  });

  it("a claim never waits: a lapsed step whose row another transaction holds is passed over, the others are reclaimed", async () => {
    await insertOneStepJobs(admin, 2);
    const [held, free] = await admin<{ step_id: string }[]>`
      select step_id from public.claim_steps('lapsing-worker', '1 millisecond', 2) order by step_id`;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const holder = connect();
    const claimer = connect();
    try {
      await holder.begin(async (tx) => {
        // As a late lease renewal or settle of the old holder would.
        await tx`select 1 from public.job_steps where id = ${held!.step_id} for update`;
        const claimed = await claimer.begin(async (c) => {
          await c`set local lock_timeout = '2s'`;
          return c<{ step_id: string; attempt: number }[]>`select step_id, attempt from public.claim_steps('new-worker', '1 minute', 10)`;
        });
        expect(claimed).toEqual([{ step_id: free!.step_id, attempt: 2 }]);
      });
      const [left] = await admin`select status, locked_by from public.job_steps where id = ${held!.step_id}`;
      expect(left).toEqual({ status: "running", locked_by: "lapsing-worker" });
    } finally {
      await Promise.all([holder.end(), claimer.end()]);
    }
  });
});

describe("extend_leases under concurrency", () => {
  it("never waits for a step another transaction holds locked: it renews the others and leaves that one out (waiting deadlocked with the worker's own completions)", async () => {
    await insertOneStepJobs(admin, 2);
    const held = await admin<{ step_id: string }[]>`select step_id from public.claim_steps('w', '1 minute', 2)`;
    const ids = held.map((row) => row.step_id);
    const settling = connect();
    const renewing = connect({ connection: { statement_timeout: 2_000 } });
    try {
      await settling.begin(async (tx) => {
        // A settle in progress on another connection holds the first step's row; a renewal that
        // waited for it would hit the 2 s statement_timeout (the transaction stays open).
        await tx`select 1 from public.job_steps where id = ${ids[0]!} for update`;
        const renewed = await renewing<{ id: string }[]>`select id from public.extend_leases('w', ${ids}::uuid[], '1 minute') as id`;
        expect(renewed.map((row) => row.id)).toEqual([ids[1]]);
      });
    } finally {
      await settling.end();
      await renewing.end();
    }
  });
});

describe("release_steps under concurrency", () => {
  it("never waits for a job another transaction holds: that job's step is left to the holder (waiting deadlocked with a sibling step's settle)", async () => {
    await insertOneStepJobs(admin, 2);
    const held = await admin<{ step_id: string; job_id: string }[]>`
      select step_id, job_id from public.claim_steps('w', '1 minute', 2) order by step_id`;
    const settling = connect();
    const releasing = connect({ connection: { statement_timeout: 2_000 } });
    try {
      await settling.begin(async (tx) => {
        // A settle of a sibling step holds the job (as _fail_step and _lock_held_jobs lock it)
        // and would next lock this job's steps; a release that waited for the job while holding
        // its step would deadlock with it.
        await tx`select 1 from public.jobs where id = ${held[0]!.job_id} for update`;
        const released = await releasing<{ id: string }[]>`select id from public.release_steps('w')`;
        expect(released.map((row) => row.id)).toEqual([held[1]!.step_id]);
      });
      const [left] = await admin`select status, locked_by from public.job_steps where id = ${held[0]!.step_id}`;
      expect(left).toEqual({ status: "running", locked_by: "w" });
    } finally {
      await settling.end();
      await releasing.end();
    }
  });
});

describe("sweep under concurrency", () => {
  it("never waits for a finished job another transaction holds: it prunes the others and leaves that one to the next sweep (two sweeps at once deadlocked)", async () => {
    await admin`
      insert into public.jobs (status, finished_at)
      select 'completed', now() - s.retention - interval '1 day' - n * interval '1 second'
        from public.leaseflow_settings s, generate_series(1, 5) n`;
    const [oldest] = await admin<{ id: string }[]>`select id from public.jobs order by finished_at limit 1`;
    const holding = connect();
    const sweeping = connect({ connection: { statement_timeout: 2_000 } });
    try {
      await holding.begin(async (tx) => {
        // Another sweep (or any transaction) holds the oldest finished job, the first one this
        // sweep would delete; a sweep that waited for it would hit the 2 s statement_timeout.
        await tx`select 1 from public.jobs where id = ${oldest!.id} for update`;
        const [swept] = await sweeping<{ pruned: number }[]>`select (public.sweep() ->> 'jobs_pruned')::int as pruned`;
        expect(swept).toEqual({ pruned: 4 });
      });
      const left = await admin<{ id: string }[]>`select id from public.jobs`;
      expect(left).toEqual([{ id: oldest!.id }]);
      const [next] = await admin<{ pruned: number }[]>`select (public.sweep() ->> 'jobs_pruned')::int as pruned`;
      expect(next).toEqual({ pruned: 1 });
    } finally {
      await holding.end();
      await sweeping.end();
    }
  });
});

describe("the claim floor under concurrency", () => {
  it("is not raised past the place of an enqueue still in flight, and the claim does not wait for it: the job is claimed once it commits", async () => {
    await admin`select public.define_job_type('cc.floor', '["go"]')`;
    // Nothing waiting or held: a claim due to raise the floor puts it past every place.
    await admin`update public.claim_floor set raised_at = '-infinity'`;
    await admin`select count(*) from public.claim_steps('cc-w', '1 minute', 1)`;
    const [raised] = await admin`select queue_rank, queue_at = 'infinity' as past_every_place from public.claim_floor`;
    expect(raised).toEqual({ queue_rank: 32767, past_every_place: true });
    await admin`update public.claim_floor set raised_at = '-infinity'`;

    const enqueuing = connect();
    const claiming = connect({ connection: { statement_timeout: 2_000 } });
    try {
      let jobId = "";
      await enqueuing.begin(async (tx) => {
        const [job] = await tx<{ id: string }[]>`select (public.enqueue_job('cc.floor', '{}')).id as id`;
        jobId = job!.id;
        // The enqueue lowered the floor (not committed) and holds its lock shared: a claim due to
        // raise the floor leaves it alone, rather than overwrite the lowered floor once it commits.
        const claimed = await claiming`select step_id from public.claim_steps('cc-w', '1 minute', 10)`;
        expect(claimed).toEqual([]);
        const [floor] = await admin`select raised_at = '-infinity' as not_raised from public.claim_floor`;
        expect(floor).toEqual({ not_raised: true });
      });
      const claimed = await claiming<{ job_id: string }[]>`select job_id from public.claim_steps('cc-w', '1 minute', 10)`;
      expect(claimed.map((row) => row.job_id)).toEqual([jobId]);
    } finally {
      await enqueuing.end();
      await claiming.end();
    }
  });
});
