import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { connect, emptyQueue } from "./helpers/db.ts";

const admin = connect();
afterAll(() => admin.end());
beforeEach(() => emptyQueue(admin, { edgeWorkersOff: true }));

interface ClaimedStep {
  step_id: string;
  job_id: string;
  group_key: string;
}

describe("group keys under 20 concurrent claimers", () => {
  it("5 000 jobs over 50 keys: no step twice, never two running jobs of a key, each key in enqueue order", async () => {
    const jobCount = 5_000;
    const keyCount = 50;
    await admin`select public.define_job_type('keyed_build', '["compile"]')`;
    const keys = Array.from({ length: jobCount }, (_, index) => `chat-${index % keyCount}`);
    const payloads = keys.map((_, index) => ({ n: index }));
    await admin`
      select count(*) from public.enqueue_jobs('keyed_build', ${admin.json(payloads)},
                                               ${admin.json({ group_keys: keys })})`;

    // A sampler looks for a key with two running jobs while the claimers work.
    let draining = true;
    const violations: unknown[] = [];
    const sampler = (async () => {
      const sql = connect();
      try {
        while (draining) {
          const rows = await sql`
            select group_key, count(*)::int as running from public.jobs
             where status = 'running' group by group_key having count(*) > 1`;
          violations.push(...rows);
        }
      } finally {
        await sql.end();
      }
    })();

    const claims: ClaimedStep[] = [];
    const claimers = Array.from({ length: 20 }, async (_, index) => {
      const workerId = `keyed-claimer-${index}`;
      const sql = connect();
      try {
        for (;;) {
          const batch = await sql<ClaimedStep[]>`
            select step_id, job_id, group_key from public.claim_steps(${workerId}, '1 minute', 10)`;
          if (batch.length === 0) {
            const [left] = await sql<{ unfinished: number }[]>`
              select count(*)::int as unfinished from public.jobs where status in ('pending', 'running')`;
            if (left?.unfinished === 0) return;
            await new Promise((resolve) => setTimeout(resolve, 5));
            continue;
          }
          claims.push(...batch);
          const results = batch.map((step) => ({ step_id: step.step_id, output: { by: workerId } }));
          const done = await sql`select id from public.complete_steps(${workerId}, ${sql.json(results)})`;
          expect(done).toHaveLength(batch.length);
        }
      } finally {
        await sql.end();
      }
    });
    await Promise.all(claimers);
    draining = false;
    await sampler;

    expect(violations).toEqual([]);
    expect(claims).toHaveLength(jobCount);
    expect(new Set(claims.map((claim) => claim.step_id)).size).toBe(jobCount);

    const [totals] = await admin<{ completed: number; attempts: number }[]>`
      select (select count(*)::int from public.jobs where status = 'completed') as completed,
             (select count(*)::int from public.job_timeline) as attempts`;
    expect(totals).toEqual({ completed: jobCount, attempts: jobCount });

    // Within a key, each job started no earlier than the previous one finished, and they
    // finished in enqueue order.
    const outOfOrder = await admin`
      select group_key, id from (
        select j.group_key, j.id, j.started_at, j.finished_at,
               lag(j.finished_at) over (partition by j.group_key order by j.enqueue_order) as previous_finished_at
          from public.jobs j) ordered
       where ordered.started_at < ordered.previous_finished_at`;
    expect(outOfOrder).toEqual([]);
  });
});
