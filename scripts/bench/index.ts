// `npm run bench [-- --quick]`: leaseflow side by side with graphile-worker and pg-boss, and the
// pgbench ceiling, on the local stack's Postgres, same machine, same run. Systems are
// interleaved (A B C A B C ...) and each figure is the median of the repetitions.
//
//   1. drain      pre-enqueued no-op one-step jobs, concurrency 8 and 32 → jobs/s (+ pgbench limit)
//   2. enqueue    50 000 jobs in one call → ms
//   3. history    leaseflow claim_steps(1) p50/p95 with no history and 1 000 000 finished jobs
//   4. pick-up    single enqueues at a steady pace into an idle queue → enqueue-to-start p50/p95
//   5. edge       leaseflow through the gateway and the worker function (edge.ts)
//
// Writes bench/results/latest.json, latest.md and drain.svg. It resets the local database.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { stackUpAndReset } from "../local/stack-up.ts";
import { edgePath, graphilePickup, leaseflowPickup, pgBossPickup } from "./edge.ts";
import { addFinishedHistory, claimLatency, percentile } from "./history.ts";
import { markdown, type Results, svgChart } from "./report.ts";
import { graphileWorker, leaseflow, pgBoss, pgbenchLimit, type QueueSystem } from "./systems.ts";

const root = resolve(import.meta.dirname, "../..");
const quick = process.argv.includes("--quick");
const sizes = quick
  ? { repetitions: 3, drain: 2_000, enqueue: 10_000, history: 100_000, latencySamples: 200, pickup: 40, pickupPerSecond: 40, pickupRepetitions: 1, edgeJobs: 500, idleSeconds: 10 }
  : { repetitions: 3, drain: 50_000, enqueue: 50_000, history: 1_000_000, latencySamples: 1_000, pickup: 1_000, pickupPerSecond: 100, pickupRepetitions: 3, edgeJobs: 5_000, idleSeconds: 60 };
const CONCURRENCIES = [8, 32] as const;
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
  const systems: QueueSystem[] = [leaseflow(sql, dbUrl), graphileWorker(sql, dbUrl), pgBoss(sql, dbUrl)];
  for (const system of systems) await system.prepare();

  // 1. Drain, interleaved; the pgbench limit takes its turn after the three systems.
  const drainRuns: Record<string, Record<string, number[]>> = {};
  const record = (name: string, concurrency: number, value: number) => {
    ((drainRuns[name] ??= {})[`c${concurrency}`] ??= []).push(value);
  };
  for (let rep = 1; rep <= sizes.repetitions; rep++) {
    for (const concurrency of CONCURRENCIES) {
      for (const system of systems) {
        await system.reset();
        await sql`checkpoint`;
        const jobsPerSecond = sizes.drain / ((await system.drain(sizes.drain, concurrency)) / 1000);
        record(system.name, concurrency, jobsPerSecond);
        log(`drain rep ${rep} c${concurrency} ${system.name}: ${Math.round(jobsPerSecond)} jobs/s`);
      }
      await sql`checkpoint`;
      const limit = await pgbenchLimit(sql, dbUrl, sizes.drain, concurrency);
      record("pgbench_limit", concurrency, limit);
      log(`drain rep ${rep} c${concurrency} pgbench limit: ${Math.round(limit)} jobs/s`);
    }
  }

  // 2. Enqueue in one call, interleaved.
  const enqueueRuns: Record<string, number[]> = {};
  for (let rep = 1; rep <= sizes.repetitions; rep++) {
    for (const system of systems) {
      await system.reset();
      await sql`checkpoint`;
      const ms = await system.enqueue(sizes.enqueue);
      (enqueueRuns[system.name] ??= []).push(ms);
      log(`enqueue rep ${rep} ${system.name}: ${Math.round(ms)} ms for ${sizes.enqueue}`);
    }
  }
  for (const system of systems) await system.reset();
  for (const system of systems) await system.close();

  // 3. Claim latency with and without history (leaseflow).
  await sql`truncate public.jobs cascade`;
  const empty = await claimLatency(dbUrl, "bench.noop", sizes.latencySamples);
  log(`claim latency, no history: p50 ${empty.p50} ms, p95 ${empty.p95} ms`);
  await sql`truncate public.jobs cascade`;
  await addFinishedHistory(sql, "bench.noop", sizes.history);
  const history = await claimLatency(dbUrl, "bench.noop", sizes.latencySamples);
  log(`claim latency, ${sizes.history} finished jobs: p50 ${history.p50} ms, p95 ${history.p95} ms`);
  await sql`truncate public.jobs cascade`;

  // 4. Pick-up latency, interleaved.
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

  // 5. The Edge path.
  const edge = await edgePath(sql, env, sizes.edgeJobs, sizes.idleSeconds);
  log(`edge: ${JSON.stringify(edge)}`);
  await sql`truncate public.jobs cascade`;
  await sql`update public.leaseflow_settings set max_invocations = 10, kick_debounce = '5 seconds', last_kick_at = null`;

  const [{ version } = { version: "unknown" }] = await sql<{ version: string }[]>`select version()`;
  const results: Results & Record<string, unknown> = {
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
      pool_size_per_system: 10,
      batch: 10,
      leaseflow: "drain() over postgres.js, claim_steps batches of 10, complete_steps batched, edge workers off",
      graphile_worker: "run() with concurrency 8/32, maxPoolSize 10, pollInterval 1000 (LISTEN/NOTIFY), add_jobs() for the batch enqueue",
      pg_boss: "8/32 work() loops with batchSize 100, pollingIntervalSeconds 0.5 (its minimum; v10 waits it after every fetch), max 10 connections; insert() for the batch enqueue; schedule and supervise off",
      pgbench: "-M prepared -j 2, one statement claims 10 (FOR UPDATE SKIP LOCKED), one completes them",
      pickup: "leaseflow through kick-on-enqueue and the worker function; graphile-worker runner concurrency 8; pg-boss 8 work() loops, batchSize 100, polling 0.5 s",
    },
    repetitions: sizes.repetitions,
    drain_jobs: sizes.drain,
    drain_jobs_per_s: Object.fromEntries(Object.entries(drainRuns).map(([name, byC]) =>
      [name, { c8: Math.round(median(byC.c8!)), c32: Math.round(median(byC.c32!)) }])),
    drain_runs_jobs_per_s: drainRuns,
    enqueue_jobs: sizes.enqueue,
    enqueue_50k_ms: Object.fromEntries(Object.entries(enqueueRuns).map(([name, runs]) => [name, Math.round(median(runs))])),
    enqueue_runs_ms: enqueueRuns,
    claim_ms: { empty, history_1m: history, history_jobs: sizes.history },
    pickup_ms: Object.fromEntries(Object.entries(pickupRuns).map(([name, v]) => [name, { p50: median(v.p50), p95: median(v.p95) }])),
    edge: { ...edge },
  };
  const limit = results.drain_jobs_per_s.pgbench_limit!;
  results.ratio_to_pgbench_limit = Object.fromEntries(Object.entries(results.drain_jobs_per_s).map(([name, v]) =>
    [name, { c8: Math.round((v.c8 / limit.c8) * 100) / 100, c32: Math.round((v.c32 / limit.c32) * 100) / 100 }]));

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
