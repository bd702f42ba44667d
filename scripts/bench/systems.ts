// The queues under test, behind one small interface, on the same Postgres, each measured the
// same way: a pre-filled queue of no-op jobs, timed from the first job's start to the moment the
// queue is seen empty (polled every 10 ms, for every system with an index scan that stops at the
// first unfinished job: the sequential scans it replaced read the whole table once a drain neared
// its end, 3 500 pages and 48 ms for leaseflow's after 50 000 jobs, and the Postgres CPU they took
// was taken from the system being timed).
//
//   leaseflow        the `npm run worker` process as users run it (spawned: node --import tsx
//                    node/worker.ts), with LEASEFLOW_CONCURRENCY=32 only, and with no settings
//   graphile-worker  0.18 as a library runner with its documented best throughput settings
//                    (worker.graphile.org/docs/performance): localQueue 500,
//                    completeJobBatchDelay 0, failJobBatchDelay 0, maxPoolSize concurrency + 1
//   pg-boss          12 with work() at batchSize 1 000, 8 local workers, burstWhenBatchFull (fetch
//                    again at once while batches come back full) and polling at its 0.5 s minimum
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { Logger, run, runMigrations } from "graphile-worker";
import { PgBoss } from "pg-boss";
import type postgres from "postgres";

const root = resolve(import.meta.dirname, "../..");

/** The concurrency every system drains with (the reference point). */
export const CONCURRENCY = 32;

/** One drain: jobs (and steps) done, and how fast. */
export interface DrainRun {
  jobsPerSecond: number;
  stepsPerSecond: number;
  ms: number;
}

/** One system: how to enqueue a batch in one call, and how to drain a pre-filled queue. */
export interface QueueSystem {
  /** The results' key. */
  name: string;
  /** Installs its schema (idempotent). */
  prepare(): Promise<void>;
  /** Empties its queue (TRUNCATE for every system, so no run inherits another's dead rows). */
  reset(): Promise<void>;
  /** Enqueues `count` jobs in one call; returns the call's milliseconds. */
  enqueue(count: number): Promise<number>;
  /** With `count` jobs waiting, runs until all are done. */
  drain(count: number): Promise<DrainRun>;
  /** Releases what prepare() opened. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Whether leaseflow has an unfinished job, from three partial indexes that hold every one between
 * them (the table's constraints make it so): held (`jobs_lease_idx`), in the claim queue
 * (`jobs_claimable_idx`), or neither: pending, waiting out a backoff, or running on step rows
 * (`jobs_unfinished_type_idx`). Each probe is a subquery ordered by its index's whole key with a
 * LIMIT, so it reads the index's first entry (inside EXISTS, Postgres drops both, and the plan may
 * scan the table). Ordered by all but the key's first column (type), the queue probe had been
 * planned as a scan and sort of every job: 12 ms a poll with 50 000 jobs, every 10 ms, on the
 * database leaseflow's drain was measured on.
 */
export async function leaseflowOpen(sql: postgres.Sql): Promise<boolean> {
  const [row] = await sql<{ open: boolean }[]>`
    select (select 1 from public.jobs where lease_expires_at is not null order by lease_expires_at limit 1) is not null
        or (select 1 from public.jobs where status = 'running' and locked_by is null and queue_at is not null
             order by type, queue_rank, queue_at, priority desc, enqueue_order limit 1) is not null
        or (select 1 from public.jobs where finished_at is null and locked_by is null and queue_at is null
             order by type limit 1) is not null as open`;
  return row!.open;
}

/**
 * Spawns `npm run worker` as users run it (node --import tsx node/worker.ts) on `dbUrl` with `env`
 * on top; `stop()` sends SIGTERM and resolves once it exited. A crash of this process kills it
 * too: a worker left from a crashed run claimed the next run's jobs.
 */
export function spawnWorker(dbUrl: string, env: Record<string, string>): { stop(): Promise<void> } {
  const worker = spawn(process.execPath, ["--import", "tsx", "node/worker.ts"], {
    cwd: root,
    env: { ...process.env, SUPABASE_DB_URL: dbUrl, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((done) => worker.on("exit", () => done()));
  const killWorker = () => worker.kill("SIGKILL");
  process.once("exit", killWorker);
  return {
    async stop() {
      worker.kill("SIGTERM");
      await exited;
      process.off("exit", killWorker);
    },
  };
}

/** Resolves with the client clock when `done` first answers true, polling every 10 ms. */
export async function until(what: string, done: () => Promise<boolean>, timeoutMs = 600_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return Date.now();
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(10);
  }
}

const payloads = (count: number) => Array.from({ length: count }, () => ({ ms: 0 }));

/** Same starting line for every system: statistics fresh, dirty pages written. */
async function settle(sql: postgres.Sql, tables: string): Promise<void> {
  await sql.unsafe(`vacuum analyze ${tables}`);
  await sql`checkpoint`;
}

/**
 * leaseflow: `npm run worker` spawned with `env` (on top of the database URL), draining
 * `jobType` jobs (leaseflow.sleep: one step; leaseflow.pipeline: three).
 */
export function leaseflow(sql: postgres.Sql, dbUrl: string, options: { name: string; env: Record<string, string>; jobType?: string; stepsPerJob?: number }): QueueSystem {
  const { jobType = "leaseflow.sleep", stepsPerJob = 1 } = options;
  return {
    name: options.name,
    async prepare() {
      // The worker publishes its types when it starts; enqueueing first needs them now. No Edge
      // invocations: only the measured worker claims.
      await sql`select public.define_job_type('leaseflow.sleep', '["sleep"]', '{"max_attempts": 3, "timeout": "90 seconds"}')`;
      await sql`select public.define_job_type('leaseflow.pipeline', '["start", "middle", "finish"]', '{"max_attempts": 3, "timeout": "30 seconds"}')`;
      await sql`update public.leaseflow_settings set max_invocations = 0`;
    },
    async reset() {
      await sql`truncate public.jobs, public.workers, public.worker_wakeups cascade`;
    },
    async enqueue(count) {
      const started = performance.now();
      await sql`select count(*) from public.enqueue_jobs(${jobType}, ${sql.json(payloads(count))})`;
      return performance.now() - started;
    },
    async drain(count) {
      for (let done = 0; done < count; done += 50_000) await this.enqueue(Math.min(50_000, count - done));
      await settle(sql, "public.jobs, public.job_steps");
      const worker = spawnWorker(dbUrl, options.env);
      try {
        const finished = await until(`${options.name} to drain`, async () => {
          return !(await leaseflowOpen(sql));
        });
        const [first] = await sql<{ at: number }[]>`select extract(epoch from min(started_at))::float8 * 1000 as at from public.all_steps`;
        const ms = finished - first!.at;
        return { ms, jobsPerSecond: count / (ms / 1000), stepsPerSecond: (count * stepsPerJob) / (ms / 1000) };
      } finally {
        await worker.stop();
      }
    },
    close: async () => {},
  };
}

/** graphile-worker 0.18 with its documented best throughput settings. */
export function graphileWorker(sql: postgres.Sql, dbUrl: string): QueueSystem {
  const logger = new Logger(() => () => {});
  return {
    name: "graphile_worker",
    prepare: () => runMigrations({ connectionString: dbUrl, logger }),
    async reset() {
      await sql`truncate graphile_worker._private_jobs, graphile_worker._private_job_queues cascade`;
    },
    async enqueue(count) {
      // graphile-worker's batch API: add_jobs(job_spec[]), one call.
      const started = performance.now();
      await sql`
        select count(*) from graphile_worker.add_jobs(array(
          select json_populate_record(null::graphile_worker.job_spec, json_build_object('identifier', 'noop', 'payload', e))
            from json_array_elements(${JSON.stringify(payloads(count))}::text::json) e))`;
      return performance.now() - started;
    },
    async drain(count) {
      for (let done = 0; done < count; done += 50_000) await this.enqueue(Math.min(50_000, count - done));
      await settle(sql, "graphile_worker._private_jobs");
      let first = 0;
      const runner = await run({
        connectionString: dbUrl,
        concurrency: CONCURRENCY,
        maxPoolSize: CONCURRENCY + 1,
        noHandleSignals: true,
        logger,
        preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
        taskList: { noop: async () => void (first ||= Date.now()) },
      });
      try {
        const finished = await until("graphile-worker to drain", async () => {
          // Every job left is unfinished (a completed one is deleted); the first by its key, so by its index.
          const [row] = await sql<{ open: boolean }[]>`
            select (select id from graphile_worker._private_jobs order by id limit 1) is not null as open`;
          return !row!.open;
        });
        const ms = finished - first;
        return { ms, jobsPerSecond: count / (ms / 1000), stepsPerSecond: count / (ms / 1000) };
      } finally {
        await runner.stop();
      }
    },
    close: async () => {},
  };
}

/** pg-boss 12 with batch fetches in burst mode. */
export function pgBoss(sql: postgres.Sql, dbUrl: string): QueueSystem {
  const queue = "bench_noop";
  const boss = new PgBoss({ connectionString: dbUrl, max: CONCURRENCY + 1, schedule: false, supervise: false, migrate: true });
  boss.on("error", (error: unknown) => console.error("pg-boss:", error));
  return {
    name: "pg_boss",
    async prepare() {
      await boss.start();
      await boss.createQueue(queue);
    },
    async reset() {
      await sql`truncate pgboss.job`;
    },
    async enqueue(count) {
      const started = performance.now();
      await boss.insert(queue, payloads(count).map((data) => ({ data })));
      return performance.now() - started;
    },
    async drain(count) {
      for (let done = 0; done < count; done += 50_000) await this.enqueue(Math.min(50_000, count - done));
      await settle(sql, "pgboss.job");
      let first = 0;
      await boss.work(queue, { batchSize: 1_000, localConcurrency: 8, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true }, async () => {
        first ||= Date.now();
      });
      try {
        const finished = await until("pg-boss to drain", async () => {
          const [row] = await sql<{ open: boolean }[]>`
            select (select 1 from pgboss.job where name = ${queue} and state in ('created', 'retry', 'active')
                     order by state limit 1) is not null as open`;
          return !row!.open;
        });
        const ms = finished - first;
        return { ms, jobsPerSecond: count / (ms / 1000), stepsPerSecond: count / (ms / 1000) };
      } finally {
        await boss.offWork(queue);
      }
    },
    close: () => boss.stop({ graceful: false }),
  };
}
