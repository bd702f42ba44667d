// leaseflow's claim latency with an empty history and with many finished jobs: one
// claim_steps(1) timed, then its complete_step, over and over on one connection.
import postgres from "postgres";

/** The value at percentile p (nearest rank) of `values`, rounded to 2 decimals. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round((sorted[index] ?? Number.NaN) * 100) / 100;
}

/** Inserts `count` completed one-step jobs of `type` in chunks, then vacuums. */
export async function addFinishedHistory(sql: postgres.Sql, type: string, count: number): Promise<void> {
  const chunk = 100_000;
  for (let done = 0; done < count; done += chunk) {
    await sql`
      with finished as (
        insert into public.jobs (type, status, started_at, finished_at)
        select ${type}, 'completed', now() - interval '1 hour', now() - interval '59 minutes'
          from generate_series(1, ${Math.min(chunk, count - done)})
        returning id
      )
      insert into public.job_steps (job_id, seq, name, status, attempt, started_at, finished_at)
      select id, 0, 'work', 'completed', 1, now() - interval '1 hour', now() - interval '59 minutes' from finished`;
  }
  await sql`vacuum analyze public.jobs, public.job_steps`;
}

/** p50 / p95 ms of claim_steps(1) over `samples` claims of waiting `type` jobs (20 warm-up claims first). */
export async function claimLatency(dbUrl: string, type: string, samples: number): Promise<{ p50: number; p95: number }> {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`select count(*) from public.enqueue_jobs(${type}, ${sql.json(Array.from({ length: samples + 20 }, (_, n) => ({ n })))})`;
    await sql`vacuum analyze public.jobs, public.job_steps`;
    await sql`checkpoint`;
    const timings: number[] = [];
    for (let sample = 0; sample < samples + 20; sample++) {
      const started = performance.now();
      const [step] = await sql<{ step_id: string }[]>`select step_id from public.claim_steps('bench-latency', '1 minute', 1)`;
      const elapsed = performance.now() - started;
      if (!step) throw new Error("the latency queue ran dry");
      await sql`select 1 from public.complete_step(${step.step_id}, 'bench-latency', null)`;
      if (sample >= 20) timings.push(elapsed); // the first claims warm the plan caches
    }
    return { p50: percentile(timings, 50), p95: percentile(timings, 95) };
  } finally {
    await sql.end();
  }
}
