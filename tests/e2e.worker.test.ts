// End to end through the local stack: enqueue → (kick | tick) → net.http_post after commit →
// gateway → the `worker` Edge Function in Deno → claim, run, settle.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type postgres from "postgres";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { LOCAL_JWT_SECRET, signJwt } from "../scripts/local/gateway/jwt.ts";
import { createRegistry } from "../supabase/functions/_shared/examples/index.ts";
import { PostgresTransport } from "../supabase/functions/_shared/leaseflow/mod.ts";
import {
  ANON_KEY,
  API_URL,
  DB_URL,
  SERVICE_ROLE_KEY,
  connect,
  emptyQueue,
  waitFor,
  waitForEdgeWorkersToStop,
} from "./helpers/db.ts";


const WORKER_SECRET = process.env.LEASEFLOW_WORKER_SECRET ?? readFileSync(".stack/worker-secret", "utf8");

const admin = connect();
const transport = PostgresTransport.connect(DB_URL);
afterAll(async () => {
  await transport.close();
  await admin.end();
});
beforeEach(async () => {
  await emptyQueue(admin);
  await admin`delete from net._http_response`;
  await admin`update public.leaseflow_settings set max_invocations = 10, worker_batch_size = 10, last_kick_at = null`;
  await createRegistry().publish(transport);
});

async function rpc(name: string, args: Record<string, unknown>, key: string): Promise<Response> {
  return fetch(`${API_URL}/rest/v1/rpc/${name}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", apikey: key, Authorization: `Bearer ${key}` },
    body: JSON.stringify(args),
  });
}


async function allCompleted(count: number): Promise<boolean> {
  const [row] = await admin<{ completed: number }[]>`select count(*)::int as completed from public.jobs where status = 'completed'`;
  return row?.completed === count;
}

async function runTheCronCommand(): Promise<void> {
  const [job] = await admin<{ command: string }[]>`select command from cron.job where jobname = 'leaseflow-tick'`;
  await admin.unsafe(job!.command);
}

describe("the worker path end to end", () => {
  it("an enqueue (through the API) into an idle queue wakes a worker at once, without a tick", async () => {
    const payloads = Array.from({ length: 20 }, (_, n) => ({ n }));
    const response = await rpc("enqueue_jobs", { p_type: "leaseflow.pipeline", p_payloads: payloads }, SERVICE_ROLE_KEY);
    expect(response.status).toBe(200);
    expect(await response.json()).toHaveLength(20);

    await waitFor("20 pipeline jobs to complete", () => allCompleted(20));
    // One kick, waking what the backlog needs: 20 first steps / worker_batch_size 10.
    const wakeups = await admin`select reason from public.worker_wakeups where reason = 'enqueue'`;
    expect(wakeups).toHaveLength(2);
    const results = await admin`select (payload ->> 'n')::int as n, (result ->> 'count')::int as count from public.jobs`;
    for (const job of results) expect(job.count).toBe(job.n + 2);
  });

  it("the cron job's command wakes enough workers for 500 three-step jobs, and every step runs once", async () => {
    // Keep the enqueue from kicking, so the tick does all the waking.
    await admin`update public.leaseflow_settings set last_kick_at = now()`;
    const payloads = Array.from({ length: 500 }, (_, n) => ({ n }));
    await admin`select count(*) from public.enqueue_jobs('leaseflow.pipeline', ${admin.json(payloads as postgres.JSONValue)})`;
    expect(await admin`select 1 from public.worker_wakeups`).toHaveLength(0);

    await runTheCronCommand();
    const [woken] = await admin<{ count: number }[]>`select count(*)::int as count from public.worker_wakeups where reason = 'tick'`;
    expect(woken?.count).toBe(10);

    await waitFor("500 pipeline jobs to complete", () => allCompleted(500), 120_000);
    // Every attempt of every step, whatever its outcome: one each, and it completed. A step run
    // again after a lost lease or a retry would show a second attempt. (An attempt released
    // before its handler started would be a released row: none is expected either.)
    const outcomes = await admin`
      select outcome, count(*)::int as attempts, count(distinct step_id)::int as steps
        from public.job_timeline group by outcome`;
    expect(outcomes).toEqual([{ outcome: "completed", attempts: 1_500, steps: 1_500 }]);
    const [workers] = await admin`select count(*)::int as edge from public.workers where kind = 'edge'`;
    expect(workers?.edge).toBeGreaterThan(0);
  });

  it("a tick on an idle queue sends no request", async () => {
    await runTheCronCommand();
    expect(await admin`select 1 from public.worker_wakeups`).toHaveLength(0);
    expect(await admin`select 1 from net.http_request_queue`).toHaveLength(0);
  });

  it("an invocation registers the types it handles, and a tick wakes none for steps of a type it does not", async () => {
    await admin`select count(*) from public.enqueue_jobs('leaseflow.sleep', '[{"ms": 0}]')`;
    await waitFor("the kicked invocation to complete the job", () => allCompleted(1));
    await waitForEdgeWorkersToStop(admin);
    const [invocation] = await admin<{ types: string[] }[]>`
      select metadata -> 'types' as types from public.workers where kind = 'edge' order by started_at desc limit 1`;
    expect(invocation?.types).toEqual(createRegistry().typeNames());

    // A type defined in SQL only: no invocation can claim its steps.
    await admin`select public.define_job_type('sql.only', '["go"]')`;
    await admin`update public.leaseflow_settings set last_kick_at = now()`;
    await admin`select count(*) from public.enqueue_jobs('sql.only', '[{}, {}, {}]')`;
    const [tick] = await admin<{ result: { backlog: number; invocations_started: number } }[]>`select public.tick() as result`;
    expect(tick?.result).toMatchObject({ backlog: 0, invocations_started: 0 });
    const [stats] = await admin`select unclaimable_steps::int from public.queue_stats where type = 'sql.only'`;
    expect(stats).toEqual({ unclaimable_steps: 3 });
  });
});

describe("crashes and the real schedule", () => {
  it("when the function process is killed mid-batch, a later invocation completes its steps once their leases lapse", async () => {
    await admin`update public.leaseflow_settings set max_invocations = 1, last_kick_at = now()`;
    await admin`select count(*) from public.enqueue_jobs('leaseflow.sleep', '[{"ms": 4000}, {"ms": 4000}, {"ms": 4000}]')`;
    // Wake one invocation by hand and kill its process once it holds the steps.
    const invocation = fetch(`${API_URL}/functions/v1/worker`, { method: "POST", headers: { Authorization: `Bearer ${WORKER_SECRET}` } }).catch(() => undefined);
    await waitFor("the steps to be claimed", async () => (await admin`select 1 from public.all_steps where status = 'running'`).length === 3, 30_000);
    execFileSync("pkill", ["-KILL", "-f", "supabase/functions/worker/index.ts"]);
    await invocation;
    const held = await admin`select locked_by from public.all_steps where status = 'running'`;
    expect(held).toHaveLength(3);

    // Nothing happens until the leases (30 s) lapse; then the tick reclaims and wakes a worker.
    // (pg_cron's own minute tick may get there first and reclaim them: then none is held either.)
    await waitFor("the leases to lapse", async () =>
      (await admin`select 1 from public.all_steps where status = 'running' and lease_expires_at >= now()`).length === 0, 40_000);
    await runTheCronCommand();
    await waitFor("the jobs to complete", () => allCompleted(3), 40_000);
    const attempts = await admin`
      select step_id, array_agg(outcome order by finished_at) as outcomes from public.job_timeline group by step_id`;
    expect(attempts).toHaveLength(3);
    for (const step of attempts) expect(step.outcomes).toEqual(["lease_expired", "completed"]);
  }, 120_000);

  it("pg_cron itself fires leaseflow-tick, which wakes a worker for work no enqueue kicked", async () => {
    // The previous test's invocation may still be in its idle grace: it would take the jobs.
    await waitForEdgeWorkersToStop(admin);
    await admin`update public.leaseflow_settings set last_kick_at = now(), kick_debounce = '1 hour'`;
    const [started] = await admin<{ since: Date }[]>`select now() as since`;
    const since = started!.since;
    await admin`select count(*) from public.enqueue_jobs('leaseflow.pipeline', '[{"n": 1}, {"n": 2}]')`;
    try {
      // Every minute here (pg_cron 1.4 has no second schedules): wait for the next one.
      await waitFor("pg_cron to run the tick and the jobs to complete", () => allCompleted(2), 75_000);
    } finally {
      await admin`update public.leaseflow_settings set kick_debounce = '5 seconds'`;
    }
    const ticks = await admin`select 1 from public.worker_wakeups where reason = 'tick'`;
    expect(ticks.length).toBeGreaterThan(0);
    // A run of this test's minute: an earlier one (another test's, another run's) says nothing.
    const runs = await admin`
      select d.status from cron.job_run_details d join cron.job j on j.jobid = d.jobid
       where j.jobname = 'leaseflow-tick' and d.start_time >= ${since}`;
    expect(runs.map((run) => run.status)).toContain("succeeded");
  }, 90_000);
});

describe("security through the gateway", () => {
  it("answers the anon key and an authenticated user with PostgREST's 401 / 403 for the worker functions", async () => {
    const anon = await rpc("claim_steps", { p_worker_id: "intruder", p_lease_duration: "30 seconds" }, ANON_KEY);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toEqual({ code: "42501", message: "permission denied for function claim_steps", details: null, hint: null });

    const userToken = signJwt({ role: "authenticated", sub: "aaaaaaaa-0000-4000-8000-000000000000", exp: Math.floor(Date.now() / 1000) + 600 }, LOCAL_JWT_SECRET);
    const user = await rpc("complete_steps", { p_worker_id: "intruder", p_results: [] }, userToken);
    expect(user.status).toBe(403);

    const forged = await rpc("claim_steps", { p_worker_id: "x", p_lease_duration: "1 minute" }, signJwt({ role: "service_role" }, "not-the-secret-but-32-characters-long!!"));
    expect(forged.status).toBe(401);
    expect((await forged.json()).code).toBe("PGRST301");

    const unknown = await rpc("no_such_function", {}, SERVICE_ROLE_KEY);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).code).toBe("PGRST202");
  });

  it("lets an authenticated user enqueue only as itself", async () => {
    const sub = "aaaaaaaa-0000-4000-8000-000000000001";
    const userToken = signJwt({ role: "authenticated", sub, exp: Math.floor(Date.now() / 1000) + 600 }, LOCAL_JWT_SECRET);
    await admin`update public.leaseflow_settings set max_invocations = 0`;
    const created = await rpc("enqueue_job", { p_type: "leaseflow.sleep", p_payload: { ms: 0 } }, userToken);
    expect(created.status).toBe(200);
    expect((await created.json()).tenant_id).toBe(sub);
    const spoofed = await rpc("enqueue_job", { p_type: "leaseflow.sleep", p_options: { tenant_id: "bbbbbbbb-0000-4000-8000-000000000000" } }, userToken);
    expect(spoofed.status).toBe(403);
  });

  it("the worker function refuses a caller without the worker secret, even with the service-role key", async () => {
    for (const authorization of [undefined, `Bearer ${SERVICE_ROLE_KEY}`, "Bearer not-the-worker-secret"]) {
      const response = await fetch(`${API_URL}/functions/v1/worker`, {
        method: "POST",
        headers: authorization ? { Authorization: authorization } : {},
      });
      expect(response.status).toBe(401);
      expect((await response.json()).error.code).toBe("unauthorized");
    }
  });
});
