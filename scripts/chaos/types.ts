// The chaos suite's job types. Every run of a handler is written to chaos.executions, a table
// outside the product's, on the handler's own connection and before it returns: a run whose
// completion was never recorded (the worker killed, the connection gone) still shows there, so
// the suite can count executions the product's bookkeeping would not.
import postgres from "postgres";
import { DeadlinePool, Registry, workerConnectionSettings } from "../../supabase/functions/_shared/leaseflow/mod.ts";

/** The execution log's table (created by the runner). */
export const EXECUTIONS_DDL = `
  create schema if not exists chaos;
  create table if not exists chaos.executions (
    id bigint generated always as identity primary key,
    job_id uuid not null,
    step_id uuid not null,
    attempt int not null,
    worker_pid int not null,
    at timestamptz not null default clock_timestamp()
  );`;

/** The chaos job types: `chaos.work` (records its run, waits payload.ms, returns payload.n),
 * `chaos.chain` (three such steps, one at a time, each returning the count so far, so a step that
 * missed its previous output shows in the job's result) and `chaos.poison` (payload.kind: an
 * output JSON cannot hold, a circular throw, a handler that never ends, one that always throws). */
export function chaosRegistry(env: (name: string) => string | undefined): Registry {
  const open = () => postgres(env("CHAOS_DB_URL") ?? env("SUPABASE_DB_URL") ?? "", {
    max: 2,
    onnotice: () => {},
    connection: { application_name: "chaos-log" },
    // The storm kills this connection too: a handler must not wait 30 s for it to come back.
    ...workerConnectionSettings(),
  });
  // A write that fails or has no answer in 2 s fails the run (the step is retried), and a pool
  // postgres.js stranded is replaced: a stranded write had held the handler until its 10 s timeout.
  const log = new DeadlinePool(open(), 2_000, open);
  const record = (ctx: { jobId: string; stepId: string; attempt: number }) =>
    log.call("chaos.executions", (sql) => sql`
      insert into chaos.executions (job_id, step_id, attempt, worker_pid) values (${ctx.jobId}, ${ctx.stepId}, ${ctx.attempt}, ${process.pid})`);
  /** A run: recorded, then payload.ms of waiting, then `output`. */
  const run = async <T>(ctx: { jobId: string; stepId: string; attempt: number; payload: Record<string, unknown> }, output: T) => {
    await record(ctx);
    await new Promise((resolve) => setTimeout(resolve, Number(ctx.payload.ms ?? 5)));
    return output;
  };
  return new Registry()
    .define({
      type: "chaos.work",
      steps: ["work"],
      options: { maxAttempts: 25, backoff: { baseMs: 100, maxMs: 1_000, jitter: 0.2 }, timeoutMs: 10_000 },
      handlers: {
        work: (ctx) => run(ctx, { n: ctx.payload.n }),
      },
    })
    .define({
      type: "chaos.chain",
      steps: ["first", "second", "third"],
      options: { maxAttempts: 25, backoff: { baseMs: 100, maxMs: 1_000, jitter: 0.2 }, timeoutMs: 10_000 },
      handlers: {
        first: (ctx) => run(ctx, { count: 1 }),
        second: (ctx) => run(ctx, { count: (ctx.previousOutputs.first as { count: number }).count + 1 }),
        third: (ctx) => run(ctx, { count: (ctx.previousOutputs.second as { count: number }).count + 1 }),
      },
    })
    .define({
      type: "chaos.poison",
      steps: ["work"],
      options: { maxAttempts: 2, backoff: { baseMs: 100, maxMs: 100, jitter: 0 }, timeoutMs: 500 },
      handlers: {
        work: async (ctx) => {
          await record(ctx);
          switch (ctx.payload.kind) {
            case "non-json-output":
              return { n: 10n };
            case "unserialisable-throw": {
              const loop: Record<string, unknown> = {};
              loop.self = loop;
              throw loop;
            }
            case "never-resolves":
              return new Promise(() => {});
            default:
              throw new Error("this handler always throws");
          }
        },
      },
    });
}
