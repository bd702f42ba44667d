import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { connect, emptyQueue } from "./helpers/db.ts";

// A statement inside a function is planned once per connection and its plan kept, unless the
// function is a SQL function with its own settings (never inlined: its body is parsed and
// planned again each time the calling statement runs) or the plan cache prefers a plan made for
// each call's values. On the hot path either costs ~20-100 µs a call: a quarter of a claim of
// 10, and two fifths of an enqueue_job, before they were mended. pg_stat_statements (tracking
// nested statements, as the local stack runs it) counts both the runs and the plannings of each
// statement, so this test finds every statement the worker's calls plan each time they run it.

const admin = connect();
afterAll(() => admin.end());
beforeEach(() => emptyQueue(admin, { edgeWorkersOff: true }));

const TYPES = ["plans.one", "plans.three"];
const WORKER = "plans-worker";

/** One round of what a worker and its producers do: enqueue, claim, renew, settle, probe. */
async function round(sql: ReturnType<typeof connect>): Promise<void> {
  await sql`select public.enqueue_job('plans.one', '{}')`;
  await sql`select count(*) from public.enqueue_jobs('plans.one', '[{}, {}]')`;
  await sql`select count(*) from public.enqueue_jobs('plans.three', '[{}]')`;
  let held = (await sql<{ step_id: string }[]>`
    select step_id from public.claim_steps(${WORKER}, '30 seconds', 10, ${TYPES})`).map((r) => r.step_id);
  expect(held).toHaveLength(4);
  await sql`select count(*) from public.extend_leases(${WORKER}, ${held}::uuid[], '30 seconds')`;
  // A 3-step job's next step comes back claimed with the completion of the one before.
  for (let settles = 0; held.length > 0; settles++) {
    expect(settles).toBeLessThan(3);
    const results = held.map((id) => ({ step_id: id, output: { ok: true } }));
    const rows = await sql<{ step_id: string | null }[]>`
      select step_id from public.complete_and_claim_steps(${WORKER}, ${sql.json(results)}, '30 seconds')`;
    held = rows.flatMap((r) => (r.step_id ? [r.step_id] : []));
  }
  await sql`select public.next_claimable_at(${TYPES})`;
}

describe("plans kept on the hot path", () => {
  it("enqueue, claim, lease renewal, completion and the idle probe plan none of their statements on every call", async () => {
    await admin`select public.define_job_type('plans.one', '["a"]')`;
    await admin`select public.define_job_type('plans.three', '["a", "b", "c"]')`;
    const sql = connect({ connection: { "pg_stat_statements.track_planning": "on" } });
    try {
      // Past the plan cache's first five calls, which always plan for the values at hand.
      for (let i = 0; i < 6; i++) await round(sql);
      const before = await admin<{ queryid: string; calls: number; plans: number }[]>`
        select queryid::text, calls::int, plans::int from pg_stat_statements where not toplevel`;
      const rounds = 10;
      for (let i = 0; i < rounds; i++) await round(sql);
      const after = await admin<{ queryid: string; calls: number; plans: number; query: string }[]>`
        select queryid::text, calls::int, plans::int, query from pg_stat_statements where not toplevel`;
      const earlier = new Map(before.map((row) => [row.queryid, row]));
      const ran = after.map((row) => ({
        query: row.query.replace(/\s+/g, " ").slice(0, 160),
        calls: row.calls - (earlier.get(row.queryid)?.calls ?? 0),
        plans: row.plans - (earlier.get(row.queryid)?.plans ?? 0),
      }));
      // The statements every round runs were seen (the check below can only pass by looking).
      expect(ran.filter((row) => row.calls >= rounds).length).toBeGreaterThan(20);
      const plannedEachCall = ran.filter((row) => row.calls >= rounds && row.plans >= row.calls);
      expect(plannedEachCall).toEqual([]);
    } finally {
      await sql.end();
    }
  });
});
