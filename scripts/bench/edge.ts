// Pick-up latency (an idle queue, single enqueues at a steady pace) for the three systems, each
// measured on the client's clock: the handler's start minus the enqueue time carried in the
// payload (leaseflow.sleep reports its start in its output). And leaseflow's Edge path through
// the local gateway and the `worker` function: cold start, steps/s with one invocation and with
// the tick's fan-out (no-op handlers, and handlers that wait), invocations per 1 000 jobs and
// during idle ticks (counted from `workers`).
import { execFileSync } from "node:child_process";
import { Logger, run } from "graphile-worker";
import { PgBoss } from "pg-boss";
import type postgres from "postgres";
import { createRegistry } from "../../supabase/functions/_shared/examples/index.ts";
import { PostgresTransport } from "../../supabase/functions/_shared/leaseflow/mod.ts";
import { CONCURRENCY, leaseflowOpen, until } from "./systems.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `enqueue(i)` `count` times, one every 1000/perSecond ms (by the clock, not after each call). */
async function paced(count: number, perSecond: number, enqueue: (i: number) => Promise<unknown>): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    await enqueue(i);
  }
}

/** Writes the project's job types (leaseflow.sleep among them) as the worker function would. */
async function publishJobTypes(dbUrl: string): Promise<void> {
  const transport = PostgresTransport.connect(dbUrl, { maxConnections: 1 });
  await createRegistry().publish(transport);
  await transport.close();
}

async function workersIdle(sql: postgres.Sql): Promise<void> {
  await until("the edge invocations to stop", async () => {
    const [row] = await sql<{ live: number }[]>`select count(*)::int as live from public.workers where kind = 'edge' and stopped_at is null`;
    return row!.live === 0;
  });
}

/** leaseflow: each job enqueued by enqueue_job into an idle queue; the kick wakes an invocation. */
export async function leaseflowPickup(sql: postgres.Sql, dbUrl: string, count: number, perSecond: number): Promise<number[]> {
  await publishJobTypes(dbUrl);
  await workersIdle(sql);
  await sql`truncate public.jobs cascade`;
  await sql`update public.leaseflow_settings set max_invocations = 10, last_kick_at = null`;
  await paced(count, perSecond, () => sql`select 1 from public.enqueue_job('leaseflow.sleep', ${sql.json({ ms: 0, t: Date.now() })})`);
  await waitAllCompleted(sql, "leaseflow to pick up every job");
  const rows = await sql<{ ms: number }[]>`
    select (result ->> 'started_at_ms')::float8 - (payload ->> 't')::float8 as ms from public.jobs`;
  await workersIdle(sql);
  return rows.map((row) => row.ms);
}

/** graphile-worker: add_job (NOTIFY) into an idle queue served by a running runner. */
export async function graphilePickup(dbUrl: string, count: number, perSecond: number, sql: postgres.Sql): Promise<number[]> {
  const latencies: number[] = [];
  const runner = await run({
    connectionString: dbUrl,
    concurrency: CONCURRENCY,
    maxPoolSize: CONCURRENCY + 1,
    noHandleSignals: true,
    logger: new Logger(() => () => {}),
    taskList: { noop: async (payload) => void latencies.push(Date.now() - (payload as { t: number }).t) },
  });
  await sleep(500);
  await paced(count, perSecond, () => sql`select graphile_worker.add_job('noop', json_build_object('t', ${Date.now()}::bigint))`);
  await until("graphile-worker to pick up every job", async () => latencies.length >= count);
  await runner.stop();
  return latencies;
}

/** pg-boss: send() into an idle queue with LISTEN/NOTIFY on (its documented way to wake
 * workers at once), served by 8 local workers. */
export async function pgBossPickup(dbUrl: string, count: number, perSecond: number, sql: postgres.Sql): Promise<number[]> {
  const queue = "bench_pickup";
  const latencies: number[] = [];
  const boss = new PgBoss({ connectionString: dbUrl, max: CONCURRENCY + 1, schedule: false, supervise: false, useListenNotify: true });
  boss.on("error", (error: unknown) => console.error("pg-boss:", error));
  await boss.start();
  await boss.createQueue(queue, { notify: true });
  await boss.work(queue, { batchSize: 100, localConcurrency: 8, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    for (const job of jobs) latencies.push(Date.now() - (job.data as { t: number }).t);
  });
  await sleep(500);
  await paced(count, perSecond, () => boss.send(queue, { t: Date.now() }));
  await until("pg-boss to pick up every job", async () => latencies.length >= count);
  await boss.offWork(queue);
  await boss.stop({ graceful: false });
  await sql`truncate pgboss.job`;
  return latencies;
}

/** What the Edge path does, measured through the gateway. */
export interface EdgeFigures {
  /** One-step jobs per throughput run: enough that starting invocations is not most of the run. */
  jobs: number;
  cold_start_ms: number;
  steps_per_s_one_invocation: number;
  steps_per_s_fan_out: number;
  /** Invocations that registered during the fan-out run (counted in `workers`). */
  fan_out_invocations: number;
  /** The same two runs with handlers that wait instead of computing (leaseflow.sleep, `ms` each),
   * as a step that calls an API does: what a fan-out is for when one invocation's slots, not the
   * cores, are the limit. */
  io_handler_ms: number;
  io_jobs: number;
  io_steps_per_s_one_invocation: number;
  io_steps_per_s_fan_out: number;
  io_fan_out_invocations: number;
  invocations_per_1000_jobs: number;
  idle_window_s: number;
  /** Invocations that registered during the idle ticks (counted in `workers`). */
  idle_invocations: number;
}

async function waitAllCompleted(sql: postgres.Sql, what: string): Promise<void> {
  await until(what, async () => !(await leaseflowOpen(sql)));
}

/** Steps/s of one invocation (max_invocations = 1, the enqueue's kick wakes it), then of the
 * tick's fan-out (no kick: debounced; one tick() wakes what the backlog needs), on `jobs` jobs of
 * `payload` each; and the invocations the fan-out started. */
async function oneAndFanOut(sql: postgres.Sql, jobs: number, payload: { ms: number }): Promise<{ one: number; fanOut: number; invocations: number }> {
  const payloads = sql.json(Array.from({ length: jobs }, () => payload));
  await sql`truncate public.jobs cascade`;
  await sql`update public.leaseflow_settings set max_invocations = 1, last_kick_at = null`;
  let started = performance.now();
  await sql`select count(*) from public.enqueue_jobs('leaseflow.sleep', ${payloads})`;
  await waitAllCompleted(sql, "the one-invocation run");
  const one = jobs / ((performance.now() - started) / 1000);
  await workersIdle(sql);

  await sql`truncate public.jobs cascade`;
  await sql`truncate public.workers, public.worker_wakeups`;
  await sql`update public.leaseflow_settings set max_invocations = 10, last_kick_at = now(), kick_debounce = '1 hour'`;
  started = performance.now();
  await sql`select count(*) from public.enqueue_jobs('leaseflow.sleep', ${payloads})`;
  await sql`select public.tick()`;
  await waitAllCompleted(sql, "the fan-out run");
  const fanOut = jobs / ((performance.now() - started) / 1000);
  const [invocations] = await sql<{ n: number }[]>`select count(*)::int as n from public.workers where kind = 'edge'`;
  await sql`update public.leaseflow_settings set kick_debounce = '5 seconds', last_kick_at = null`;
  await workersIdle(sql);
  return { one, fanOut, invocations: invocations!.n };
}

/** The Edge path: `jobs` no-op one-step jobs per throughput run (`ioJobs` for the runs whose
 * handlers wait `ioHandlerMs`), `idleSeconds` of ticks at the end. */
export async function edgePath(
  sql: postgres.Sql,
  env: Record<string, string>,
  jobs: number,
  ioJobs: number,
  ioHandlerMs: number,
  idleSeconds: number,
): Promise<EdgeFigures> {
  await publishJobTypes(env.SUPABASE_DB_URL!);
  await workersIdle(sql);

  // Cold start: a fresh function process, one job, one wake-up → the job's first claim.
  try {
    execFileSync("pkill", ["-f", "supabase/functions/worker/index.ts"], { stdio: "ignore" });
  } catch {
    // pkill exits 1 when no process matched: nothing was running.
  }
  await sleep(300);
  await sql`truncate public.jobs cascade`;
  await sql`update public.leaseflow_settings set max_invocations = 0`;
  await sql`select 1 from public.enqueue_job('leaseflow.sleep', '{"ms": 0}')`;
  const posted = Date.now();
  const wake = fetch(`${env.SUPABASE_URL}/functions/v1/worker`, {
    method: "POST",
    headers: { Authorization: `Bearer ${env.LEASEFLOW_WORKER_SECRET}`, "Content-Type": "application/json" },
    body: JSON.stringify({ reason: "bench" }),
  });
  await waitAllCompleted(sql, "the cold-start job");
  const [first] = await sql<{ at: number }[]>`select extract(epoch from started_at)::float8 * 1000 as at from public.all_steps`;
  const coldStartMs = Math.round(first!.at - posted);
  await wake;
  await workersIdle(sql);

  const noop = await oneAndFanOut(sql, jobs, { ms: 0 });
  const io = await oneAndFanOut(sql, ioJobs, { ms: ioHandlerMs });

  // An idle window: tick() every 5 seconds (hosted pg_cron's schedule), plus pg_cron's own.
  await sql`truncate public.jobs cascade`;
  await sql`truncate public.workers, public.worker_wakeups`;
  for (let elapsed = 0; elapsed < idleSeconds; elapsed += 5) {
    await sql`select public.tick()`;
    await sleep(5_000);
  }
  const [idle] = await sql<{ n: number }[]>`select count(*)::int as n from public.workers where kind = 'edge'`;

  return {
    jobs,
    cold_start_ms: coldStartMs,
    steps_per_s_one_invocation: Math.round(noop.one),
    steps_per_s_fan_out: Math.round(noop.fanOut),
    fan_out_invocations: noop.invocations,
    io_handler_ms: ioHandlerMs,
    io_jobs: ioJobs,
    io_steps_per_s_one_invocation: Math.round(io.one),
    io_steps_per_s_fan_out: Math.round(io.fanOut),
    io_fan_out_invocations: io.invocations,
    invocations_per_1000_jobs: Math.round((noop.invocations / jobs) * 1000 * 100) / 100,
    idle_window_s: idleSeconds,
    idle_invocations: idle!.n,
  };
}
