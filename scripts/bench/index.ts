// `npm run bench [-- --quick]`: leaseflow side by side with graphile-worker 0.18 and pg-boss 12
// (each at its best documented throughput settings), the pgbench ceiling and leaseflow's SQL
// alone, on the local stack's Postgres, same machine, same run. Throughput runs are interleaved
// (A B C D A B C D ...) and each figure is the median of the repetitions.
//
//   1. drain      pre-enqueued no-op jobs at concurrency 32 (leaseflow also with no settings, and
//                 3-step jobs) → jobs/s (steps/s), first job started → queue seen empty
//   2. SQL        pgbench, 8 clients, claims of 10 and 100: the bare limit, leaseflow's SQL only
//   3. enqueue    50 000 jobs in one call → ms
//   4. history    leaseflow claim_steps(1) p50/p95 with no history and 1 000 000 finished jobs,
//                 in alternating order
//   5. pick-up    single enqueues at a steady pace into an idle queue → enqueue-to-start p50/p95,
//                 on the client's clock for every system
//   6. edge       leaseflow through the gateway and the worker function (edge.ts)
//   7. sustained  half the peak rate for 10 minutes with one-minute retention (sustained.ts)
//
// Writes bench/results/latest.json, latest.md and drain.svg (latest-quick.* for --quick). It
// resets the local database.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { stackUpAndReset } from "../local/stack-up.ts";
import { edgePath, graphilePickup, leaseflowPickup, pgBossPickup } from "./edge.ts";
import { addFinishedHistory, claimLatency, percentile } from "./history.ts";
import { leaseflowSqlOnly, pgbenchLimit } from "./limit.ts";
import { markdown, type Results, svgChart } from "./report.ts";
import { sustained } from "./sustained.ts";
import { graphileWorker, leaseflow, pgBoss, type QueueSystem } from "./systems.ts";

const root = resolve(import.meta.dirname, "../..");
const quick = process.argv.includes("--quick");
const sizes = quick
  ? { repetitions: 3, drain: 10_000, sql: 8_000, enqueue: 10_000, history: 100_000, latencySamples: 200, pickup: 40, pickupPerSecond: 40, pickupRepetitions: 1, edgeJobs: 5_000, edgeIoJobs: 1_000, idleSeconds: 10, sustainedMinutes: 1 }
  : { repetitions: 5, drain: 50_000, sql: 40_000, enqueue: 50_000, history: 1_000_000, latencySamples: 1_000, pickup: 1_000, pickupPerSecond: 100, pickupRepetitions: 3, edgeJobs: 50_000, edgeIoJobs: 5_000, idleSeconds: 60, sustainedMinutes: 10 };
/** The Edge runs with waiting handlers: each step waits this long, as a call to an API does. */
const EDGE_IO_HANDLER_MS = 20;
const started = Date.now();
const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const median = (values: number[]) => percentile(values, 50);

const env = stackUpAndReset();
const dbUrl = env.SUPABASE_DB_URL!;
const sql = postgres(dbUrl, { max: 2, onnotice: () => {} });

async function versionOf(pkg: string): Promise<string> {
  return JSON.parse(await readFile(join(root, "node_modules", pkg, "package.json"), "utf8")).version;
}

async function main(): Promise<void> {
  log(`bench ${quick ? "--quick " : ""}against ${dbUrl.replace(/:[^:@/]+@/, ":***@")}`);
  const drainers: QueueSystem[] = [
    leaseflow(sql, dbUrl, { name: "leaseflow", env: { LEASEFLOW_CONCURRENCY: "32" } }),
    leaseflow(sql, dbUrl, { name: "leaseflow_defaults", env: {} }),
    leaseflow(sql, dbUrl, { name: "leaseflow_3_step", env: { LEASEFLOW_CONCURRENCY: "32" }, jobType: "leaseflow.pipeline", stepsPerJob: 3 }),
    graphileWorker(sql, dbUrl),
    pgBoss(sql, dbUrl),
  ];
  for (const system of drainers) await system.prepare();

  // 1. Drain, interleaved.
  const drainRuns: Record<string, { jobs_per_s: number[]; steps_per_s: number[] }> = {};
  for (let rep = 1; rep <= sizes.repetitions; rep++) {
    for (const system of drainers) {
      await system.reset();
      const run = await system.drain(sizes.drain);
      const entry = (drainRuns[system.name] ??= { jobs_per_s: [], steps_per_s: [] });
      entry.jobs_per_s.push(Math.round(run.jobsPerSecond));
      entry.steps_per_s.push(Math.round(run.stepsPerSecond));
      log(`drain rep ${rep} ${system.name}: ${Math.round(run.jobsPerSecond)} jobs/s, ${Math.round(run.stepsPerSecond)} steps/s`);
      await system.reset();
    }
  }

  // 2. The SQL alone, interleaved with the bare limit, at both claim sizes.
  const sqlRuns: Record<string, number[]> = {};
  for (let rep = 1; rep <= sizes.repetitions; rep++) {
    for (const batch of [10, 100]) {
      const limit = await pgbenchLimit(sql, dbUrl, sizes.sql, batch);
      (sqlRuns[`limit_${batch}`] ??= []).push(Math.round(limit));
      const own = await leaseflowSqlOnly(sql, dbUrl, sizes.sql, batch);
      (sqlRuns[`leaseflow_${batch}`] ??= []).push(Math.round(own));
      log(`SQL rep ${rep} batch ${batch}: limit ${Math.round(limit)} jobs/s, leaseflow SQL ${Math.round(own)} jobs/s`);
    }
  }

  // 3. Enqueue in one call, interleaved.
  const enqueuers = drainers.filter((system) => system.name !== "leaseflow_defaults" && system.name !== "leaseflow_3_step");
  const enqueueRuns: Record<string, number[]> = {};
  for (let rep = 1; rep <= sizes.repetitions; rep++) {
    for (const system of enqueuers) {
      await system.reset();
      await sql`checkpoint`;
      const ms = await system.enqueue(sizes.enqueue);
      (enqueueRuns[system.name] ??= []).push(Math.round(ms));
      log(`enqueue rep ${rep} ${system.name}: ${Math.round(ms)} ms for ${sizes.enqueue}`);
      await system.reset();
    }
  }
  for (const system of drainers) await system.close();

  // 4. Claim latency with and without history, in alternating order.
  const latency = { empty: { p50: [] as number[], p95: [] as number[] }, history: { p50: [] as number[], p95: [] as number[] } };
  for (const order of [["empty", "history"], ["history", "empty"]] as const) {
    for (const which of order) {
      await sql`truncate public.jobs cascade`;
      if (which === "history") await addFinishedHistory(sql, "leaseflow.sleep", sizes.history);
      const measured = await claimLatency(dbUrl, "leaseflow.sleep", sizes.latencySamples);
      latency[which].p50.push(measured.p50);
      latency[which].p95.push(measured.p95);
      log(`claim latency, ${which === "empty" ? "no history" : `${sizes.history} finished jobs`}: p50 ${measured.p50} ms, p95 ${measured.p95} ms`);
    }
  }
  await sql`truncate public.jobs cascade`;

  // 5. Pick-up latency, interleaved.
  const pickupRuns: Record<string, { p50: number[]; p95: number[] }> = {};
  for (let rep = 1; rep <= sizes.pickupRepetitions; rep++) {
    const runs: [string, () => Promise<number[]>][] = [
      ["leaseflow", () => leaseflowPickup(sql, dbUrl, sizes.pickup, sizes.pickupPerSecond)],
      ["graphile_worker", () => graphilePickup(dbUrl, sizes.pickup, sizes.pickupPerSecond, sql)],
      ["pg_boss", () => pgBossPickup(dbUrl, sizes.pickup, sizes.pickupPerSecond, sql)],
    ];
    for (const [name, measure] of runs) {
      const latencies = await measure();
      const entry = (pickupRuns[name] ??= { p50: [], p95: [] });
      entry.p50.push(percentile(latencies, 50));
      entry.p95.push(percentile(latencies, 95));
      log(`pick-up rep ${rep} ${name}: p50 ${entry.p50.at(-1)} ms, p95 ${entry.p95.at(-1)} ms (${sizes.pickup} jobs at ${sizes.pickupPerSecond}/s)`);
    }
  }

  // 6. The Edge path.
  const edge = await edgePath(sql, env, sizes.edgeJobs, sizes.edgeIoJobs, EDGE_IO_HANDLER_MS, sizes.idleSeconds);
  log(`edge: ${JSON.stringify(edge)}`);
  await sql`truncate public.jobs cascade`;
  await sql`update public.leaseflow_settings set max_invocations = 10, kick_debounce = '5 seconds', last_kick_at = null`;

  // 7. Sustained, at half the peak leaseflow drained.
  const peak = median(drainRuns.leaseflow!.jobs_per_s);
  log(`sustained: ${sizes.sustainedMinutes} min at ${Math.round(peak / 2)} jobs/s`);
  const steady = await sustained(dbUrl, peak / 2, sizes.sustainedMinutes);
  for (const minute of steady.minutes) log(`sustained minute ${minute.minute}: ${JSON.stringify(minute)}`);

  const [{ version } = { version: "unknown" }] = await sql<{ version: string }[]>`select version()`;
  const medians = (runs: Record<string, number[]>) => Object.fromEntries(Object.entries(runs).map(([name, values]) => [name, Math.round(median(values))]));
  const drain = Object.fromEntries(Object.entries(drainRuns).map(([name, v]) => [name, { jobs_per_s: Math.round(median(v.jobs_per_s)), steps_per_s: Math.round(median(v.steps_per_s)) }]));
  const sqlMedians = medians(sqlRuns);
  const results: Results = {
    generated_at: new Date().toISOString(),
    duration_s: Math.round((Date.now() - started) / 1000),
    quick,
    machine: {
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model ?? "unknown",
      memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      postgres: version,
    },
    versions: {
      leaseflow: JSON.parse(await readFile(join(root, "package.json"), "utf8")).version,
      "graphile-worker": await versionOf("graphile-worker"),
      "pg-boss": await versionOf("pg-boss"),
      pgbench: execFileSync("pgbench", ["--version"], { encoding: "utf8" }).trim().replace(/^pgbench \(PostgreSQL\) /, ""),
    },
    settings: {
      ...sizes,
      concurrency: 32,
      leaseflow: "npm run worker (node --import tsx node/worker.ts) spawned with LEASEFLOW_CONCURRENCY=32 only; leaseflow_defaults with no LEASEFLOW_* setting; leaseflow_3_step drains leaseflow.pipeline (3 steps); Edge workers off",
      graphile_worker: "run() as a library: concurrency 32, maxPoolSize 33, localQueue {size: 500}, completeJobBatchDelay 0, failJobBatchDelay 0 (worker.graphile.org/docs/performance); add_jobs() for the batch enqueue",
      pg_boss: "work() with batchSize 1000, localConcurrency 8, burstWhenBatchFull, pollingIntervalSeconds 0.5, max 33 connections, schedule and supervise off; insert() for the batch enqueue",
      timing: "every drain: first job started (leaseflow: min(all_steps.started_at); peers: first handler call) → the queue seen empty by an EXISTS poll every 10 ms; every queue emptied with TRUNCATE, then VACUUM ANALYZE and CHECKPOINT before each drain",
      sql: "pgbench -j 2 -c 8: the limit is one table, claim (FOR UPDATE SKIP LOCKED) and complete (by client, indexed) as two prepared statements; leaseflow's SQL is claim_steps (the worker's types) then complete_steps of what it claimed, as the worker sends it: an object of step id: output (simple protocol)",
      pickup: "enqueue time carried in the payload, handler start on the client's clock: leaseflow through kick-on-enqueue and the worker function (leaseflow.sleep reports its start), graphile-worker with a running runner (LISTEN/NOTIFY), pg-boss with useListenNotify and a notify queue",
      sustained: "one npm run worker (LEASEFLOW_CONCURRENCY=32), enqueue_jobs every 100 ms at half the drain median, retention 1 minute with sweep() every 5 s; a claim_steps(1) probe every 500 ms (120 a minute) and the tables' sizes each minute; table sizes judged flat from minute 3 (retention 1 minute + autovacuum_naptime)",
    },
    repetitions: sizes.repetitions,
    drain_jobs: sizes.drain,
    drain,
    drain_runs: drainRuns,
    sql_jobs_per_s: sqlMedians,
    sql_runs: sqlRuns,
    enqueue_jobs: sizes.enqueue,
    enqueue_ms: medians(enqueueRuns),
    enqueue_runs_ms: enqueueRuns,
    claim_ms: {
      empty: { p50: median(latency.empty.p50), p95: median(latency.empty.p95) },
      history: { p50: median(latency.history.p50), p95: median(latency.history.p95) },
      history_jobs: sizes.history,
    },
    pickup_ms: Object.fromEntries(Object.entries(pickupRuns).map(([name, v]) => [name, { p50: median(v.p50), p95: median(v.p95) }])),
    edge,
    sustained: steady,
  };

  await mkdir(join(root, "bench/results"), { recursive: true });
  const suffix = quick ? "-quick" : "";
  await writeFile(join(root, `bench/results/latest${suffix}.json`), `${JSON.stringify(results, null, 2)}\n`);
  const report = markdown(results);
  await writeFile(join(root, `bench/results/latest${suffix}.md`), report);
  await writeFile(join(root, `bench/results/drain${suffix}.svg`), svgChart(results));
  console.log(`\n${report}`);
  log(`wrote bench/results/latest${suffix}.json, latest${suffix}.md, drain${suffix}.svg`);
}

try {
  await main();
} finally {
  await sql.end();
}
