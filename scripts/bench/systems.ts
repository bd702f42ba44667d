// The queues under test, behind one small interface, each with its normal documented
// configuration for throughput, on the same Postgres with the same pool size:
//   leaseflow        drain() (the Node worker's runtime) over the postgres.js transport,
//                    claim_steps batches of 10, complete_steps batched
//   graphile-worker  its runner (run()), LISTEN/NOTIFY + polling, one job per fetch (0.16 has no batching)
//   pg-boss          one work() loop per unit of concurrency, pollingIntervalSeconds 0.5 (its
//                    minimum) and batchSize 100: v10 waits the polling interval after every
//                    fetch, so the batch size is its throughput lever (with 10, 8 loops top out
//                    at 8 × 10 / 0.5 s = 160 jobs/s, measured 162)
// and the ceiling: the same claim + complete work as two bare SQL statements driven by pgbench.
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Logger, run, runMigrations } from "graphile-worker";
import PgBoss from "pg-boss";
import type postgres from "postgres";
import { drain, PostgresTransport, Registry } from "../../supabase/functions/_shared/leaseflow/mod.ts";

/** Connections each system may use. graphile-worker's and pg-boss's default pool size. */
export const POOL_SIZE = 10;
/** Jobs per claim where a system batches claims. */
export const BATCH = 10;
/** pg-boss's fetch size (see the header). */
export const PG_BOSS_BATCH = 100;

/** One system: how to enqueue a batch in one call, and how to drain a pre-filled queue. */
export interface QueueSystem {
  name: "leaseflow" | "graphile_worker" | "pg_boss";
  /** Installs its schema (idempotent). */
  prepare(): Promise<void>;
  /** Empties its queue. */
  reset(): Promise<void>;
  /** Enqueues `count` jobs in one call; returns the call's milliseconds. */
  enqueue(count: number): Promise<number>;
  /** With `count` jobs waiting, runs `concurrency` handlers until all are done; returns ms. */
  drain(count: number, concurrency: number): Promise<number>;
  /** Releases what prepare() opened. */
  close(): Promise<void>;
}

const payloads = (count: number) => Array.from({ length: count }, (_, n) => ({ n }));

/** Polls `done` every 20 ms until it is true; throws after `timeoutMs`. */
export async function until(what: string, done: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** leaseflow over the direct transport. */
export function leaseflow(sql: postgres.Sql, dbUrl: string): QueueSystem {
  const registry = new Registry().define({ type: "bench.noop", steps: ["work"], handlers: { work: () => null } });
  const transport = PostgresTransport.connect(dbUrl, { maxConnections: POOL_SIZE });
  return {
    name: "leaseflow",
    async prepare() {
      await registry.publish(transport);
      // The edge workers stay out of the way: only the measured runtime claims.
      await sql`update public.leaseflow_settings set max_invocations = 0`;
    },
    async reset() {
      await sql`truncate public.jobs cascade`;
    },
    async enqueue(count) {
      const started = performance.now();
      await sql`select count(*) from public.enqueue_jobs('bench.noop', ${sql.json(payloads(count))})`;
      return performance.now() - started;
    },
    async drain(count, concurrency) {
      await this.enqueue(count);
      const started = performance.now();
      const summary = await drain({ workerId: "bench", transport, registry, concurrency, batchSize: BATCH, idle: { lingerMs: 0 } });
      const ms = performance.now() - started;
      if (summary.completed !== count) throw new Error(`leaseflow drained ${summary.completed} of ${count}`);
      return ms;
    },
    close: () => transport.close(),
  };
}

/** graphile-worker 0.16 with its runner. */
export function graphileWorker(sql: postgres.Sql, dbUrl: string): QueueSystem {
  const logger = new Logger(() => () => {});
  return {
    name: "graphile_worker",
    prepare: () => runMigrations({ connectionString: dbUrl, logger }),
    async reset() {
      await sql`truncate graphile_worker._private_jobs, graphile_worker._private_job_queues`;
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
    async drain(count, concurrency) {
      await this.enqueue(count);
      const started = performance.now();
      const runner = await run({
        connectionString: dbUrl,
        concurrency,
        maxPoolSize: POOL_SIZE,
        noHandleSignals: true,
        pollInterval: 1_000,
        logger,
        taskList: { noop: async () => {} },
      });
      await until("graphile-worker to drain", async () => {
        const [row] = await sql<{ left: number }[]>`select count(*)::int as left from graphile_worker._private_jobs`;
        return row!.left === 0;
      });
      const ms = performance.now() - started;
      await runner.stop();
      return ms;
    },
    close: async () => {},
  };
}

/** pg-boss 10 with batch fetch. */
export function pgBoss(sql: postgres.Sql, dbUrl: string): QueueSystem {
  const queue = "bench-noop";
  const boss = new PgBoss({ connectionString: dbUrl, max: POOL_SIZE, schedule: false, supervise: false, migrate: true });
  boss.on("error", (error) => console.error("pg-boss:", error));
  return {
    name: "pg_boss",
    async prepare() {
      await boss.start();
      await boss.createQueue(queue);
    },
    async reset() {
      // deleteQueue() refuses while the queue's partition holds jobs (foreign key): delete them.
      await sql`delete from pgboss.job where name = ${queue}`;
    },
    async enqueue(count) {
      const started = performance.now();
      await boss.insert(payloads(count).map((data) => ({ name: queue, data })));
      return performance.now() - started;
    },
    async drain(count, concurrency) {
      await this.enqueue(count);
      const started = performance.now();
      for (let i = 0; i < concurrency; i++) {
        await boss.work(queue, { batchSize: PG_BOSS_BATCH, pollingIntervalSeconds: 0.5 }, async () => {});
      }
      await until("pg-boss to drain", async () => {
        const [row] = await sql<{ done: number }[]>`
          select count(*)::int as done from pgboss.job where name = ${queue} and state = 'completed'`;
        return row!.done === count;
      });
      const ms = performance.now() - started;
      await boss.offWork(queue);
      return ms;
    },
    close: () => boss.stop({ graceful: false, wait: true }),
  };
}

/** The ceiling: claim a batch and complete it, two bare statements, driven by pgbench. */
export async function pgbenchLimit(sql: postgres.Sql, dbUrl: string, count: number, concurrency: number): Promise<number> {
  await sql`create schema if not exists bench`;
  await sql`drop table if exists bench.limit_queue`;
  await sql`create table bench.limit_queue (id bigserial primary key, status smallint not null default 0, locked_by int)`;
  await sql`create index limit_queue_available_idx on bench.limit_queue (id) where status = 0`;
  await sql`insert into bench.limit_queue (status) select 0 from generate_series(1, ${count})`;
  await sql`vacuum analyze bench.limit_queue`;
  const dir = await mkdtemp(join(tmpdir(), "leaseflow-pgbench-"));
  const script = join(dir, "claim-complete.sql");
  await writeFile(script, [
    `WITH c AS (SELECT id FROM bench.limit_queue WHERE status = 0 ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)`,
    `UPDATE bench.limit_queue q SET status = 1, locked_by = :client_id FROM c WHERE q.id = c.id;`,
    `UPDATE bench.limit_queue SET status = 2 WHERE status = 1 AND locked_by = :client_id;`,
    "",
  ].join("\n"));
  const transactions = Math.ceil(count / BATCH / concurrency);
  const { stdout } = await promisify(execFile)("pgbench", [
    "-n", "-M", "prepared", "-c", String(concurrency), "-j", "2", "-t", String(transactions), "-f", script, dbUrl,
  ]);
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1]);
  const [row] = await sql<{ done: number }[]>`select count(*)::int as done from bench.limit_queue where status = 2`;
  if (!Number.isFinite(tps) || row!.done !== count) throw new Error(`pgbench: tps ${tps}, ${row!.done} of ${count} completed\n${stdout}`);
  await sql`drop schema bench cascade`;
  // The last round of transactions may find fewer than a batch: jobs over the run's duration.
  const seconds = (transactions * concurrency) / tps;
  return count / seconds;
}
