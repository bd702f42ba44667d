// Two pgbench figures, 8 clients each, at the claim sizes a worker uses (10 and 100):
//   the limit     the same claim + complete work as two bare statements on one table, with an
//                 index for each statement (claimable rows, and the rows a client holds), so the
//                 ceiling does not fall with the table's size
//   SQL only      leaseflow's own claim_steps + complete_steps driven the same way: what the SQL
//                 costs without any worker runtime. claim_steps is called as the worker calls it,
//                 with the worker's job types (its registry's): each type's queue is read on its
//                 own, and a claim without types reads every defined type's; complete_steps gets
//                 the completions as the worker sends them, an object keyed by step id
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type postgres from "postgres";
import { createRegistry } from "../../supabase/functions/_shared/examples/index.ts";

const CLIENTS = 8;

async function pgbench(dbUrl: string, script: string, transactions: number, mode: "prepared" | "simple"): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "leaseflow-pgbench-"));
  const file = join(dir, "script.sql");
  await writeFile(file, script);
  const { stdout } = await promisify(execFile)("pgbench", [
    "-n", "-M", mode, "-c", String(CLIENTS), "-j", "2", "-t", String(transactions), "-f", file, dbUrl,
  ]);
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1]);
  if (!Number.isFinite(tps)) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return tps;
}

/** The ceiling: claim `batch` rows and complete them, bare statements, `count` rows in all. */
export async function pgbenchLimit(sql: postgres.Sql, dbUrl: string, count: number, batch: number): Promise<number> {
  await sql`create schema if not exists bench`;
  await sql`drop table if exists bench.limit_queue`;
  await sql`create table bench.limit_queue (id bigserial primary key, status smallint not null default 0, locked_by int)`;
  await sql`create index limit_queue_available_idx on bench.limit_queue (id) where status = 0`;
  await sql`create index limit_queue_held_idx on bench.limit_queue (locked_by) where status = 1`;
  await sql`insert into bench.limit_queue (status) select 0 from generate_series(1, ${count})`;
  await sql`vacuum analyze bench.limit_queue`;
  await sql`checkpoint`;
  const transactions = Math.floor(count / batch / CLIENTS);
  const tps = await pgbench(dbUrl, [
    `WITH c AS (SELECT id FROM bench.limit_queue WHERE status = 0 ORDER BY id LIMIT ${batch} FOR UPDATE SKIP LOCKED)`,
    `UPDATE bench.limit_queue q SET status = 1, locked_by = :client_id FROM c WHERE q.id = c.id;`,
    `UPDATE bench.limit_queue SET status = 2 WHERE status = 1 AND locked_by = :client_id;`,
    "",
  ].join("\n"), transactions, "prepared");
  const [row] = await sql<{ done: number }[]>`select count(*)::int as done from bench.limit_queue where status = 2`;
  if (row!.done !== transactions * CLIENTS * batch) throw new Error(`pgbench limit: ${row!.done} completed, ${transactions * CLIENTS * batch} expected`);
  await sql`drop schema bench cascade`;
  return tps * batch;
}

/** The types the bench's worker (`npm run worker`) claims, as a SQL array literal. */
const workerTypes = `array[${createRegistry().typeNames().map((type) => `'${type.replaceAll("'", "''")}'`).join(", ")}]`;

/** leaseflow's SQL alone: claim_steps(batch, the worker's types) then complete_steps of what it claimed. */
export async function leaseflowSqlOnly(sql: postgres.Sql, dbUrl: string, count: number, batch: number): Promise<number> {
  await sql`truncate public.jobs cascade`;
  await sql`update public.leaseflow_settings set max_invocations = 0`;
  for (let done = 0; done < count; done += 50_000) {
    await sql`select count(*) from public.enqueue_jobs('leaseflow.sleep', (select jsonb_agg('{"ms": 0}'::jsonb) from generate_series(1, ${Math.min(50_000, count - done)})))`;
  }
  await sql`vacuum analyze public.jobs, public.job_steps`;
  await sql`checkpoint`;
  const transactions = Math.floor(count / batch / CLIENTS);
  // Simple protocol: pgbench substitutes :results (one text) only into plain text. The
  // completions go as the worker sends them: a JSON object of step id: output, built as text.
  const tps = await pgbench(dbUrl, [
    `select '{' || coalesce(string_agg('"' || step_id::text || '":null', ','), '') || '}' as results from public.claim_steps('bench-:client_id', '1 minute', ${batch}, ${workerTypes}) \\gset`,
    `select count(*) from public.complete_steps('bench-:client_id', ':results');`,
    "",
  ].join("\n"), transactions, "simple");
  const [row] = await sql<{ done: number }[]>`select count(*)::int as done from public.jobs where status = 'completed'`;
  if (row!.done !== transactions * CLIENTS * batch) throw new Error(`SQL only: ${row!.done} completed, ${transactions * CLIENTS * batch} expected`);
  await sql`truncate public.jobs cascade`;
  return tps * batch;
}
