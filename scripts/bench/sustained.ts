// A sustained run: jobs enqueued at a steady rate (half the measured peak) for `minutes`, drained
// by one `npm run worker` (LEASEFLOW_CONCURRENCY=32), with retention pruning jobs finished more
// than a minute ago: sweep() every 5 s, as hosted pg_cron runs tick(). The claim latency is probed
// all along (claim_steps(1), completed at once, every 500 ms: 120 a minute, so a minute's p95 is
// not the luck of one instant, such as a sweep or a vacuum running then), and every minute the
// tables' sizes are sampled, so a queue that slows down or grows as history piles up shows.
import postgres from "postgres";
import { percentile } from "./history.ts";
import { spawnWorker } from "./systems.ts";

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The first minute whose table sizes are the run's working size. Minute 1 holds only the jobs
 * enqueued in it, none pruned yet. In minute 2 `sweep()` deletes what finished more than a minute
 * ago, but that space is reused only once autovacuum has cleaned it, and autovacuum visits a
 * database once per `autovacuum_naptime` (a server setting, a minute by default). From minute 3
 * on, the tables hold a minute of live jobs and at most a vacuum interval of deleted ones: a
 * queue whose tables keep growing after that grows with its history. */
export const STEADY_MINUTE = 3;

/** One minute of the sustained run. */
export interface SustainedMinute {
  minute: number;
  enqueued: number;
  /** Jobs completed in the minute before the sample (retention keeps them a minute). */
  completed: number;
  backlog: number;
  claim_p50_ms: number;
  claim_p95_ms: number;
  jobs_rows: number;
  job_steps_rows: number;
  tables_mib: number;
}

export async function sustained(dbUrl: string, jobsPerSecond: number, minutes: number): Promise<{ rate: number; minutes: SustainedMinute[] }> {
  const sql = postgres(dbUrl, { max: 3, onnotice: () => {} });
  const probe = postgres(dbUrl, { max: 1, onnotice: () => {} });
  const rate = Math.max(10, Math.round(jobsPerSecond));
  await sql`truncate public.jobs, public.workers, public.worker_wakeups cascade`;
  // Pruning must keep up with the rate: each sweep may delete what 5 s (and then some) finished.
  await sql`update public.leaseflow_settings set max_invocations = 0, retention = '1 minute', prune_batch_size = ${Math.max(10_000, rate * 10)}`;
  await sql`vacuum analyze public.jobs, public.job_steps, public.step_attempts`;
  const worker = spawnWorker(dbUrl, { LEASEFLOW_CONCURRENCY: "32" });
  let stop = false;
  let enqueued = 0;
  // The producer: a batch every 100 ms, paced by the clock.
  const producer = (async () => {
    const started = Date.now();
    for (let tick = 0; !stop; tick++) {
      const due = started + tick * 100;
      if (due > Date.now()) await sleep(due - Date.now());
      const count = Math.round((rate * (tick + 1)) / 10) - Math.round((rate * tick) / 10);
      if (count > 0) {
        await sql`select count(*) from public.enqueue_jobs('leaseflow.sleep', (select jsonb_agg('{"ms": 0}'::jsonb) from generate_series(1, ${count})))`;
        enqueued += count;
      }
    }
  })();
  const sweeper = (async () => {
    while (!stop) {
      await sleep(5_000);
      if (!stop) await sql`select public.sweep()`;
    }
  })();

  // The current minute's claim timings, handed over and replaced at each minute's end.
  let timings: number[] = [];
  const prober = (async () => {
    const started = Date.now();
    for (let tick = 1; !stop; tick++) {
      const due = started + tick * 500;
      if (due > Date.now()) await sleep(due - Date.now());
      if (stop) break;
      const sent = performance.now();
      const [step] = await probe<{ step_id: string }[]>`select step_id from public.claim_steps('bench-probe', '1 minute', 1)`;
      timings.push(performance.now() - sent);
      if (step) await probe`select 1 from public.complete_step(${step.step_id}, 'bench-probe', null)`;
    }
  })();

  const samples: SustainedMinute[] = [];
  try {
    let enqueuedBefore = 0;
    for (let minute = 1; minute <= minutes; minute++) {
      await sleep(60_000);
      const minuteTimings = timings;
      timings = [];
      const [row] = await sql<{ completed: number; backlog: number; jobs_rows: number; job_steps_rows: number; bytes: number }[]>`
        select (select count(*)::int from public.jobs where status = 'completed' and finished_at > now() - interval '1 minute') as completed,
               (select count(*)::int from public.jobs where status in ('pending', 'running')) as backlog,
               (select count(*)::int from public.jobs) as jobs_rows,
               (select count(*)::int from public.job_steps) as job_steps_rows,
               (pg_total_relation_size('public.jobs') + pg_total_relation_size('public.job_steps')
                 + pg_total_relation_size('public.step_attempts'))::float8 as bytes`;
      samples.push({
        minute,
        enqueued: enqueued - enqueuedBefore,
        completed: row!.completed,
        backlog: row!.backlog,
        claim_p50_ms: percentile(minuteTimings, 50),
        claim_p95_ms: percentile(minuteTimings, 95),
        jobs_rows: row!.jobs_rows,
        job_steps_rows: row!.job_steps_rows,
        tables_mib: Math.round((row!.bytes / 2 ** 20) * 10) / 10,
      });
      enqueuedBefore = enqueued;
    }
  } finally {
    stop = true;
    await producer;
    await sweeper;
    await prober;
    await worker.stop();
    await sql`update public.leaseflow_settings set retention = '7 days', prune_batch_size = 10000`;
    await sql`truncate public.jobs, public.workers cascade`;
    await probe.end();
    await sql.end();
  }
  return { rate, minutes: samples };
}
