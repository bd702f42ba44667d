// `npm run chaos` (add --quick for the short run npm test makes): fault scenarios against the
// local stack's database, with Node workers of the chaos job types (scripts/chaos/worker.ts):
//   sigkill     workers killed with SIGKILL every second and replaced
//   pg-restart  Postgres restarted with `pg_ctl restart -m immediate` mid-run
//   conn-kill   every worker connection terminated (pg_terminate_backend) every 200 ms for 5 s
//   conn-kill-chain  the same storm over 3-step jobs, whose completions claim their next steps
//   poison      handlers whose output JSON cannot hold, that throw a circular object, never end,
//               or always throw, among ordinary jobs
// For each: jobs, lost (an ordinary or 3-step job not completed or with a wrong result, a poison
// job not finished), completed
// twice (a step with two completed attempts), extra executions (runs beyond one per step, from
// chaos.executions, which a run writes before it returns), the longest stall in completions after
// the first fault, and workers that exited on their own. It fails on any loss, double completion
// or worker crash, and writes chaos/results/latest.{json,md}.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { wholeRows } from "../../supabase/functions/_shared/leaseflow/transports/postgres.ts";
import { EXECUTIONS_DDL } from "./types.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const DB_URL = process.env.SUPABASE_DB_URL ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const PG_DATA = join(process.env.LEASEFLOW_STACK_DIR ?? join(ROOT, ".stack"), "pg/data");
const PG_LOG = join(process.env.LEASEFLOW_STACK_DIR ?? join(ROOT, ".stack"), "pg/postgres.log");
const quick = process.argv.includes("--quick");
const only = process.argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length).split(",");

const client = () => postgres(DB_URL, { max: 2, onnotice: () => {}, connect_timeout: 10, connection: { application_name: "chaos-runner" } });
// A new client per scenario: one whose connections a restart cut may leave a query waiting forever.
let sql = client();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Runs `query` again while Postgres restarts or a connection is cut (for up to 60 s); a query
 * that has not answered in 15 s counts as failed. Its rows come whole (wholeRows: a cut connection
 * can leave empty slots before the next query's rows). */
async function retrying<T>(query: () => Promise<T[]>): Promise<T[]> {
  for (let tries = 0; ; tries++) {
    try {
      return await Promise.race([
        wholeRows(query()),
        sleep(15_000).then(() => Promise.reject(new Error("no answer in 15 s"))),
      ]);
    } catch (error) {
      if (tries >= 120) throw error;
      await sleep(500);
    }
  }
}

/** One row of the results. */
interface Outcome {
  scenario: string;
  jobs: number;
  lost: number;
  completedTwice: number;
  extraExecutions: number;
  longestStallMs: number;
  workerCrashes: number;
  seconds: number;
}

/** The workers of one scenario: started, killed, replaced, stopped. */
class Workers {
  readonly #running = new Set<ChildProcess>();
  #stopping = false;
  crashes = 0;

  start(count: number): void {
    for (let i = 0; i < count; i++) this.#spawn();
  }

  #spawn(): void {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/chaos/worker.ts"], {
      cwd: ROOT,
      env: {
        ...process.env,
        SUPABASE_DB_URL: DB_URL,
        CHAOS_DB_URL: DB_URL,
        LEASEFLOW_LEASE_MS: "3000",
        LEASEFLOW_CONCURRENCY: "16",
        LEASEFLOW_BATCH_SIZE: "50",
        LEASEFLOW_LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? "error",
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    this.#running.add(child);
    child.on("exit", (code, signal) => {
      this.#running.delete(child);
      // Killed by the scenario, or stopped at the end, is expected; anything else is a crash.
      if (signal !== "SIGKILL" && !(code === 0 && this.#stopping)) {
        this.crashes++;
        console.error(`chaos: a worker crashed (pid ${child.pid}, exit code ${code}, signal ${signal}, ${this.#stopping ? "while" : "before"} being stopped)`);
      }
    });
  }

  /** SIGKILLs one worker and starts another in its place. */
  killOne(): void {
    const victim = [...this.#running][Math.floor(Math.random() * this.#running.size)];
    victim?.kill("SIGKILL");
    this.#spawn();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    const exits = [...this.#running].map((child) => new Promise((done) => child.once("exit", done)));
    for (const child of this.#running) child.kill("SIGTERM");
    await Promise.race([Promise.all(exits), sleep(20_000)]);
    for (const child of this.#running) child.kill("SIGKILL");
  }
}

async function enqueue(type: string, payloads: unknown[]): Promise<void> {
  for (let done = 0; done < payloads.length; done += 10_000) {
    await sql`select count(*) from public.enqueue_jobs(${type}, ${sql.json(payloads.slice(done, done + 10_000) as postgres.JSONValue)})`;
  }
}

/** Polls `check` every 100 ms until it is true or `timeoutMs` passed. */
async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !(await check())) await sleep(100);
}

/** Waits until every job has finished (or `timeoutMs`). */
async function untilFinished(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [left] = await retrying(() => sql<{ n: number }[]>`select count(*)::int as n from public.jobs where finished_at is null`);
    if (left!.n === 0) return;
    await sleep(250);
  }
}

/** What counts as lost when a run ends: an ordinary or 3-step job not completed, a 3-step job with
 * a wrong result (a step that missed its previous output), a poison job not finished. */
const LOST = `(type in ('chaos.work', 'chaos.chain') and status <> 'completed')
              or (type = 'chaos.chain' and result is distinct from '{"count": 3}')
              or (type = 'chaos.poison' and finished_at is null)`;

async function measure(scenario: string, faultAt: Date, started: number, crashes: number): Promise<Outcome> {
  const [row] = await retrying(() => sql<Omit<Outcome, "scenario" | "workerCrashes" | "seconds">[]>`
    with twice as (
      select count(*)::int as n from (select step_id from public.job_timeline where outcome = 'completed'
                                        group by step_id having count(*) > 1) t
    ),
    runs as (select count(*)::int as n, count(distinct step_id)::int as steps from chaos.executions),
    finishes as (
      select finished_at, lead(finished_at) over (order by finished_at) as next
        from public.jobs where status = 'completed' and finished_at >= ${faultAt}
    )
    select (select count(*)::int from public.jobs) as jobs,
           (select count(*)::int from public.jobs where ${sql.unsafe(LOST)}) as lost,
           (select n from twice) as "completedTwice",
           (select n - steps from runs) as "extraExecutions",
           coalesce((select round(extract(epoch from max(next - finished_at)) * 1000)::int from finishes), 0) as "longestStallMs"`);
  if (row!.lost > 0) {
    // Where the unfinished jobs stand: held or not, under a live lease or a lapsed one, due or
    // not, queued and where against the claim floor, and their step's last error.
    const states = await retrying(() => sql`
      select j.type, j.status as job, s.name, s.status as step, s.locked_by, s.lease_expires_at > now() as lease_live,
             s.attempt, s.max_attempts, s.run_at <= now() as due, s.queue_at is not null as queued,
             (s.queue_rank, s.queue_at) >= (f.queue_rank, f.queue_at) as from_floor, s.error->>'message' as error,
             count(*)::int as jobs
        from public.jobs j left join public.all_steps s on s.job_id = j.id cross join public.claim_floor f
       where j.id in (select id from public.jobs where ${sql.unsafe(LOST)})
       group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 order by jobs desc limit 20`);
    for (const state of states) console.log(`chaos: unfinished in ${scenario}: ${JSON.stringify(state)}`);
  }
  return { scenario, ...row!, workerCrashes: crashes, seconds: Math.round((Date.now() - started) / 100) / 10 };
}

interface Scenario {
  name: string;
  workers: number;
  jobs: () => Promise<void>;
  /** Runs the fault while the workers drain; resolves when it is over. */
  fault: (workers: Workers) => Promise<void>;
}

// Sized so that a run lasts several seconds (50 ms a job, 3 workers × 16 slots), and the fault
// lands while the workers are busy.
const n = quick ? 3_000 : 8_000;
const ordinary = (count: number) => enqueue("chaos.work", Array.from({ length: count }, (_, i) => ({ n: i, ms: 50 })));
const connectionStorm = async () => {
  const until = Date.now() + (quick ? 2_000 : 5_000);
  while (Date.now() < until) {
    await sql`
      select count(pg_terminate_backend(pid)) from pg_stat_activity
       where backend_type = 'client backend' and datname = current_database()
         and pid <> pg_backend_pid() and application_name <> 'chaos-runner'`.catch(() => undefined);
    await sleep(200);
  }
};

const scenarios: Scenario[] = [
  {
    name: "sigkill",
    workers: 3,
    jobs: () => ordinary(n),
    fault: async (workers) => {
      for (let i = 0; i < (quick ? 2 : 5); i++) {
        workers.killOne();
        await sleep(1_000);
      }
    },
  },
  {
    name: "pg-restart",
    workers: 3,
    jobs: () => ordinary(n),
    fault: async () => {
      // As the cluster's owner, as scripts/stack runs it (root hands over to the postgres user).
      const pgCtl = ["/usr/lib/postgresql/15/bin/pg_ctl", "-D", PG_DATA, "-l", PG_LOG, "-m", "immediate", "-w", "-t", "60", "restart"];
      if (process.getuid?.() === 0) execFileSync("runuser", ["-u", "postgres", "--", ...pgCtl], { stdio: "ignore" });
      else execFileSync(pgCtl[0]!, pgCtl.slice(1), { stdio: "ignore" });
    },
  },
  {
    name: "conn-kill",
    workers: 3,
    jobs: () => ordinary(n),
    fault: connectionStorm,
  },
  {
    // 3-step jobs, one step at a time: each completion write also claims the job's next step
    // (complete_and_claim_steps), so the storm cuts writes that hold claims. Counted like the
    // others, plus a wrong result (a step that missed its previous output) as lost.
    name: "conn-kill-chain",
    workers: 3,
    jobs: () => enqueue("chaos.chain", Array.from({ length: Math.round(n / 3) }, () => ({ ms: 50 }))),
    fault: connectionStorm,
  },
  {
    name: "poison",
    workers: 2,
    jobs: async () => {
      await ordinary(quick ? 300 : 2_000);
      const kinds = ["non-json-output", "unserialisable-throw", "never-resolves", "always-throws"];
      await enqueue("chaos.poison", Array.from({ length: quick ? 8 : 40 }, (_, i) => ({ kind: kinds[i % kinds.length] })));
    },
    fault: async () => {},
  },
];

async function run(scenario: Scenario): Promise<Outcome> {
  const previous = sql;
  sql = client();
  await previous.end({ timeout: 1 }).catch(() => undefined);
  await retrying(() => sql`truncate public.jobs cascade`);
  await retrying(() => sql`truncate chaos.executions`);
  await scenario.jobs();
  const workers = new Workers();
  const started = Date.now();
  workers.start(scenario.workers);
  // The fault comes once the workers are draining (a tenth of the jobs done).
  const [total] = await sql<{ n: number }[]>`select count(*)::int as n from public.jobs`;
  await waitUntil(async () => {
    const [done] = await retrying(() => sql<{ n: number }[]>`select count(*)::int as n from public.jobs where status = 'completed'`);
    return done!.n >= total!.n / 10;
  }, 60_000);
  const [at] = await retrying(() => sql<{ now: Date }[]>`select now()`);
  await scenario.fault(workers);
  await untilFinished(quick ? 90_000 : 180_000);
  await workers.stop();
  return measure(scenario.name, at!.now, started, workers.crashes);
}

// Setup: no Edge invocations (they would take jobs too), the types defined, the log table.
await sql.unsafe(EXECUTIONS_DDL);
await sql`update public.leaseflow_settings set max_invocations = 0`;
await sql`select public.define_job_type('chaos.work', '["work"]', '{"max_attempts": 25, "backoff": {"base": "100 ms", "max": "1 second"}, "timeout": "10 seconds"}')`;
await sql`select public.define_job_type('chaos.chain', '["first", "second", "third"]', '{"max_attempts": 25, "backoff": {"base": "100 ms", "max": "1 second"}, "timeout": "10 seconds"}')`;
await sql`select public.define_job_type('chaos.poison', '["work"]', '{"max_attempts": 2, "backoff": {"base": "100 ms", "max": "100 ms", "jitter": 0}, "timeout": "500 ms"}')`;

const outcomes: Outcome[] = [];
for (const scenario of scenarios.filter((s) => !only || only.includes(s.name))) {
  console.log(`chaos: ${scenario.name} ...`);
  outcomes.push(await run(scenario));
}
await retrying(() => sql`truncate public.jobs cascade`);
await retrying(() => sql`update public.leaseflow_settings set max_invocations = 10`);
await sql.end({ timeout: 1 });

const header = "| Scenario | Jobs | Lost | Completed twice | Extra executions | Longest stall (ms) | Worker crashes | Seconds |";
const lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|",
  ...outcomes.map((o) => `| ${o.scenario} | ${o.jobs} | ${o.lost} | ${o.completedTwice} | ${o.extraExecutions} | ${o.longestStallMs} | ${o.workerCrashes} | ${o.seconds} |`)];
console.log(lines.join("\n"));
if (!quick) {
  mkdirSync(join(ROOT, "chaos/results"), { recursive: true });
  writeFileSync(join(ROOT, "chaos/results/latest.json"), JSON.stringify({ at: new Date().toISOString(), outcomes }, null, 2) + "\n");
  writeFileSync(join(ROOT, "chaos/results/latest.md"), lines.join("\n") + "\n");
}
const failed = outcomes.filter((o) => o.lost > 0 || o.completedTwice > 0 || o.workerCrashes > 0);
if (failed.length > 0) {
  console.error(`chaos: FAILED in ${failed.map((o) => o.scenario).join(", ")} (lost, completed twice or crashed workers)`);
  process.exit(1);
}
console.log("chaos: 0 lost, 0 completed twice, 0 worker crashes");
