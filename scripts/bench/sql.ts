// `npm run bench:sql [-- --quick]`: the SQL engine's own figures against the local stack.
//
//   enqueue_50k_ms              one enqueue_jobs call of 50 000 jobs of a 3-step type (median of 3)
//   drain_jobs_per_s            8 connections looping claim_steps(10) + complete_steps over
//                               50 000 one-step jobs
//   claim_ms_p50/p95_*          one claim_steps(1) + complete_step round trip pair, claim part
//                               timed, with no history and with 1 000 000 finished jobs
//
// Prints the figures and writes bench/results/sql-latest.json. It empties the queue tables of
// the database it runs against: point it only at the local stack.
import { writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import postgres from "postgres";

const DB_URL = process.env.SUPABASE_DB_URL ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const quick = process.argv.includes("--quick");
const sizes = quick
  ? { enqueue: 50_000, enqueueRuns: 1, drain: 10_000, latencySamples: 200, history: 100_000 }
  : { enqueue: 50_000, enqueueRuns: 3, drain: 50_000, latencySamples: 1_000, history: 1_000_000 };
const drainConnections = 8;
const drainBatch = 10;

const admin = postgres(DB_URL, { max: 1, onnotice: () => {} });

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return round(sorted[index] ?? Number.NaN);
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

async function resetQueue(): Promise<void> {
  await admin`truncate public.jobs cascade`;
  await admin`
    select public.define_job_type('bench_three', '["a", "b", "c"]'),
           public.define_job_type('bench_one', '["work"]')`;
}

async function enqueueBatch(type: string, count: number): Promise<number> {
  const payloads = Array.from({ length: count }, (_, n) => ({ n }));
  const started = performance.now();
  await admin`select count(*) from public.enqueue_jobs(${type}, ${admin.json(payloads)})`;
  return performance.now() - started;
}

async function measureEnqueue(): Promise<number[]> {
  const runs: number[] = [];
  for (let run = 0; run < sizes.enqueueRuns; run++) {
    await resetQueue();
    await admin`checkpoint`;
    runs.push(round(await enqueueBatch("bench_three", sizes.enqueue), 1));
    console.log(`  enqueue run ${run + 1}: ${runs.at(-1)} ms`);
  }
  return runs;
}

async function measureDrain(): Promise<{ jobsPerSecond: number; seconds: number }> {
  await resetQueue();
  await enqueueBatch("bench_one", sizes.drain);
  await admin`vacuum analyze public.jobs, public.job_steps`;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: drainConnections }, async (_, index) => {
      const workerId = `bench-drain-${index}`;
      const sql = postgres(DB_URL, { max: 1, onnotice: () => {} });
      try {
        for (;;) {
          const claimed = await sql<{ step_id: string }[]>`
            select step_id from public.claim_steps(${workerId}, '1 minute', ${drainBatch})`;
          if (claimed.length === 0) return;
          const results = claimed.map((step) => ({ step_id: step.step_id, output: null }));
          await sql`select 1 from public.complete_steps(${workerId}, ${sql.json(results)})`;
        }
      } finally {
        await sql.end();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const [row] = await admin<{ completed: number }[]>`
    select count(*)::int as completed from public.jobs where status = 'completed'`;
  const completed = row?.completed;
  if (completed !== sizes.drain) throw new Error(`drain completed ${completed} of ${sizes.drain} jobs`);
  return { jobsPerSecond: round(sizes.drain / seconds, 0), seconds: round(seconds) };
}

async function measureClaimLatency(): Promise<{ p50: number; p95: number }> {
  // Both latency phases start from a checkpoint, so neither pays for the other's writes.
  await admin`checkpoint`;
  const sql = postgres(DB_URL, { max: 1, onnotice: () => {} });
  try {
    const timings: number[] = [];
    for (let sample = 0; sample < sizes.latencySamples + 20; sample++) {
      const started = performance.now();
      const [step] = await sql<{ step_id: string }[]>`
        select step_id from public.claim_steps('bench-latency', '1 minute', 1)`;
      const elapsed = performance.now() - started;
      if (!step) throw new Error("the latency queue ran dry");
      await sql`select 1 from public.complete_step(${step.step_id}, 'bench-latency', null)`;
      if (sample >= 20) timings.push(elapsed); // the first calls warm the plan caches
    }
    return { p50: percentile(timings, 50), p95: percentile(timings, 95) };
  } finally {
    await sql.end();
  }
}

async function addFinishedHistory(count: number): Promise<void> {
  const chunk = 100_000;
  for (let done = 0; done < count; done += chunk) {
    await admin`
      with finished as (
        insert into public.jobs (type, status, started_at, finished_at)
        select 'bench_one', 'completed', now() - interval '1 hour', now() - interval '59 minutes'
          from generate_series(1, ${Math.min(chunk, count - done)})
        returning id
      )
      insert into public.job_steps (job_id, seq, name, status, attempt, started_at, finished_at)
      select id, 0, 'work', 'completed', 1, now() - interval '1 hour', now() - interval '59 minutes' from finished`;
  }
  await admin`vacuum analyze public.jobs, public.job_steps`;
}

async function main(): Promise<void> {
  const [{ version } = { version: "unknown" }] = await admin<{ version: string }[]>`select version()`;
  console.log(`bench:sql ${quick ? "(quick) " : ""}against ${DB_URL.replace(/:[^:@/]+@/, ":***@")}`);

  console.log(`enqueue: ${sizes.enqueue} jobs of a 3-step type in one call`);
  const enqueueRuns = await measureEnqueue();

  console.log(`drain: ${sizes.drain} one-step jobs, ${drainConnections} connections, batches of ${drainBatch}`);
  const drain = await measureDrain();
  console.log(`  ${drain.jobsPerSecond} jobs/s (${drain.seconds} s)`);

  console.log(`claim latency: ${sizes.latencySamples} samples, empty history`);
  await resetQueue();
  await enqueueBatch("bench_one", sizes.latencySamples + 100);
  await admin`vacuum analyze public.jobs, public.job_steps`;
  const empty = await measureClaimLatency();
  console.log(`  p50 ${empty.p50} ms, p95 ${empty.p95} ms`);

  console.log(`claim latency: with ${sizes.history} finished jobs`);
  await resetQueue();
  await addFinishedHistory(sizes.history);
  await enqueueBatch("bench_one", sizes.latencySamples + 100);
  await admin`vacuum analyze public.jobs, public.job_steps`;
  const history = await measureClaimLatency();
  console.log(`  p50 ${history.p50} ms, p95 ${history.p95} ms`);
  await admin`truncate public.jobs cascade`;

  const enqueueMedian = percentile(enqueueRuns, 50);
  const results = {
    generated_at: new Date().toISOString(),
    quick,
    machine: {
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model ?? "unknown",
      memory_gib: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
      postgres: version,
    },
    settings: { drain_connections: drainConnections, drain_batch: drainBatch, ...sizes },
    enqueue_50k_ms: enqueueMedian,
    enqueue_50k_runs_ms: enqueueRuns,
    drain_jobs_per_s: drain.jobsPerSecond,
    claim_ms_p50_empty_history: empty.p50,
    claim_ms_p95_empty_history: empty.p95,
    claim_ms_p50_1m_finished: history.p50,
    claim_ms_p95_1m_finished: history.p95,
    history_finished_jobs: sizes.history,
    claim_history_ratio_p50: round(history.p50 / empty.p50),
  };
  await mkdir("bench/results", { recursive: true });
  await writeFile("bench/results/sql-latest.json", `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
  console.log("wrote bench/results/sql-latest.json");
}

try {
  await main();
} finally {
  await admin.end();
}
