import postgres from "postgres";
import { localApiKey } from "../../scripts/local/gateway/jwt.ts";

/** The local stack's database (`scripts/stack up` prints it); overridable for another target. */
export const DB_URL =
  process.env.SUPABASE_DB_URL ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";

/** The local API gateway and its keys (`scripts/stack up` prints them; these are its defaults). */
export const API_URL = process.env.SUPABASE_URL ?? "http://127.0.0.1:54321";
export const SERVICE_ROLE_KEY = process.env.SUPABASE_SERVICE_ROLE_KEY ?? localApiKey("service_role");
export const ANON_KEY = process.env.SUPABASE_ANON_KEY ?? localApiKey("anon");

/** A step row as `claim_next_step` / `complete_step` return it (snake_case, as stored). */
export interface JobStepRow {
  id: string;
  job_id: string;
  seq: number;
  status: "pending" | "running" | "completed" | "failed" | "cancelled";
  locked_by: string | null;
  lease_expires_at: Date | null;
  attempt: number;
  max_attempts: number;
  input: unknown;
  output: unknown;
}

/** Opens a client on its own connection(s); the caller ends it. */
export function connect(options: postgres.Options<{}> = {}): postgres.Sql {
  return postgres(DB_URL, { max: 1, onnotice: () => {}, ...options });
}

/** Polls `check` every `pollMs` (200) until it is true; throws after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000, pollMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Waits until no Edge invocation is alive: one still in its idle grace (LEASEFLOW_IDLE_GRACE_MS)
 * would claim the next test's jobs. A killed one counts until its heartbeat is older than
 * leaseflow_settings.live_worker_window. */
export async function waitForEdgeWorkersToStop(sql: postgres.Sql, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ live: number }[]>`
      select count(*)::int as live from public.workers w, public.leaseflow_settings s
       where w.kind = 'edge' and w.stopped_at is null and w.last_heartbeat_at > now() - s.live_worker_window`;
    if (row!.live === 0) return;
    if (Date.now() > deadline) throw new Error(`${row!.live} edge invocation(s) still alive after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Removes every job, step, attempt, worker and wake-up, so a test starts from an empty queue
 * (after any Edge invocation still polling has stopped). With `edgeWorkersOff`, enqueues wake no
 * Edge invocation either (max_invocations = 0): for tests that drain in-process. */
export async function emptyQueue(sql: postgres.Sql, options: { edgeWorkersOff?: boolean } = {}): Promise<void> {
  if (options.edgeWorkersOff) await sql`update public.leaseflow_settings set max_invocations = 0`;
  await waitForEdgeWorkersToStop(sql);
  await sql`truncate public.jobs, public.workers, public.worker_wakeups cascade`;
}

/** Inserts `count` running jobs of one step each, in one statement; returns nothing. */
export async function insertOneStepJobs(sql: postgres.Sql, count: number): Promise<void> {
  await sql`
    with new_jobs as (
      insert into public.jobs (status)
      select 'running' from generate_series(1, ${count})
      returning id
    )
    insert into public.job_steps (job_id, seq) select id, 0 from new_jobs`;
}

/** claim_next_step as a worker would call it. */
export async function claimNextStep(
  sql: postgres.Sql,
  workerId: string,
  leaseDuration = "5 minutes",
): Promise<JobStepRow | undefined> {
  const rows = await sql<JobStepRow[]>`
    select * from public.claim_next_step(${workerId}, ${leaseDuration}::interval)`;
  return rows[0];
}

/** complete_step as a worker would call it; undefined when the worker no longer holds the step. */
export async function completeStep(
  sql: postgres.Sql,
  stepId: string,
  workerId: string,
  output: unknown,
): Promise<JobStepRow | undefined> {
  const rows = await sql<JobStepRow[]>`
    select * from public.complete_step(${stepId}, ${workerId}, ${sql.json(output as postgres.JSONValue)})`;
  return rows[0];
}

/** Enqueues `count` leaseflow.sleep jobs of `ms` each. */
export async function enqueueSleeps(sql: postgres.Sql, count: number, ms: number): Promise<void> {
  const payloads = Array.from({ length: count }, () => ({ ms }));
  await sql`select count(*) from public.enqueue_jobs('leaseflow.sleep', ${sql.json(payloads as postgres.JSONValue)})`;
}

/** Runs `work` with pg_cron's leaseflow-tick paused, for tests that watch a lease lapse or a
 * heartbeat go stale: the minute's tick would sweep the lapsed lease and mark the worker lost
 * itself, racing the test's own checks. The schedule is restored even when `work` throws. */
export async function withTickPaused<T>(sql: postgres.Sql, work: () => Promise<T>): Promise<T> {
  await sql`select cron.alter_job(jobid, active := false) from cron.job where jobname = 'leaseflow-tick'`;
  try {
    return await work();
  } finally {
    await sql`select cron.alter_job(jobid, active := true) from cron.job where jobname = 'leaseflow-tick'`;
  }
}
