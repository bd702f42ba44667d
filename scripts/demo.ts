// `npm start`: the whole system on this machine. Brings the local stack up (Postgres, gateway,
// Edge Functions, example services), resets it, enqueues a mixed workload through the jobs HTTP
// API, lets kick-on-enqueue and the pg_cron tick wake `worker` invocations, shows progress, and
// ends with a summary. The stack keeps running afterwards (`npm run stack -- down` stops it).
//
//   npm start                         5 000 campaign emails, 60 builds in 6 chats, 300 notifications
//   npm start -- --campaign 200 --builds 12 --notifications 30 --timeout 120
//   --summary-json <file>             also write the summary as JSON (the smoke test reads it)
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { createRegistry } from "../supabase/functions/_shared/examples/index.ts";

import { stackUpAndReset } from "./local/stack-up.ts";
import { PostgresTransport } from "../supabase/functions/_shared/leaseflow/mod.ts";

const { values: args } = parseArgs({
  options: {
    campaign: { type: "string", default: "5000" },
    builds: { type: "string", default: "60" },
    chats: { type: "string", default: "6" },
    notifications: { type: "string", default: "300" },
    timeout: { type: "string", default: "240" },
    "summary-json": { type: "string" },
  },
});
const count = (name: keyof typeof args) => {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number ≥ 0, got ${JSON.stringify(args[name])}`);
  return value;
};
const plan = { campaign: count("campaign"), builds: count("builds"), chats: Math.max(1, count("chats")), notifications: count("notifications") };
const timeoutMs = count("timeout") * 1000;
const TYPES = ["campaign_email", "build", "notify"] as const;
const tty = process.stdout.isTTY;

// 1. The stack ---------------------------------------------------------------------------------
const say = (line: string) => console.log(line);
say("leaseflow demo: bringing the local stack up and resetting it ...");
const stackEnv = stackUpAndReset();
const env = (name: string) => {
  const value = stackEnv[name];
  if (!value) throw new Error(`scripts/stack up did not print ${name}`);
  return value;
};
const sql = postgres(env("SUPABASE_DB_URL"), { max: 2, onnotice: () => {} });
await createRegistry().publish(new PostgresTransport(sql));
const simulators = env("LEASEFLOW_SIMULATORS_URL");
// The example services' default failure rates: 3 % rate limits, 2 % timeouts (half of them
// delivered anyway), 2 % invalid mailboxes, 2 % sentiment errors.
await fetch(`${simulators}/config/reset`, { method: "POST", body: "{}" });
const api = `${env("SUPABASE_URL")}/functions/v1/jobs`;
const headers = { Authorization: `Bearer ${env("SUPABASE_SERVICE_ROLE_KEY")}`, "Content-Type": "application/json" };

async function post(path: string, body: unknown): Promise<{ ids?: string[]; id?: string; count?: number }> {
  const response = await fetch(`${api}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  const answer = (await response.json()) as { ok: boolean; data?: { ids?: string[]; count?: number }; error?: { message: string } };
  if (!answer.ok) throw new Error(`POST ${path} → ${response.status}: ${answer.error?.message}`);
  return answer.data!;
}

// 2. The workload, through the jobs API ---------------------------------------------------------
const started = Date.now();
const enqueued: Record<string, number> = {};
const campaign = Array.from({ length: plan.campaign }, (_, i) => ({
  campaignId: "black-friday",
  to: `customer${i + 1}@example.com`,
  subject: "Our Black Friday preview",
  body: "Early access starts tomorrow. Reply and tell us what you think.",
}));
if (campaign.length) enqueued.campaign_email = (await post("/jobs", { type: "campaign_email", payloads: campaign })).count!;

const GOOD_CODE = [
  `import { useState } from "react";\nexport function Counter() {\n  const [n, setN] = useState(0);\n  return <button onClick={() => setN(n + 1)}>{n}</button>;\n}`,
  `export const total = (items: { price: number }[]): number => items.reduce((sum, item) => sum + item.price, 0);`,
  `type User = { name: string };\nexport const greet = (user: User) => \`Hello, \${user.name}!\`;`,
  `export async function load(url: string) {\n  const response = await fetch(url);\n  return response.json();\n}`,
];
const BAD_CODE = [`export const broken = ;`, `export function f( {\n  return 1;\n}`, `const x: number = <div>;`];
const builds = Array.from({ length: plan.builds }, (_, i) => {
  const syntaxError = i % 17 === 5; // a few of the chats' messages do not compile
  return {
    chatId: `chat-${(i % plan.chats) + 1}`,
    messageId: `msg-${i + 1}`,
    code: syntaxError ? BAD_CODE[i % BAD_CODE.length]! : GOOD_CODE[i % GOOD_CODE.length]!,
  };
});
if (builds.length) enqueued.build = (await post("/jobs", { type: "build", payloads: builds })).count!;

const notifications = Array.from({ length: plan.notifications }, (_, i) => {
  const kind = i % 3;
  if (kind === 0) return { kind: "notification", userId: `user-${i}`, channel: (["push", "sms", "email"] as const)[i % 3 === 0 ? (i / 3) % 3 : 0], message: `Your order #${1000 + i} has shipped.` };
  if (kind === 1) return { kind: "email", to: `buyer${i}@example.com`, subject: `Receipt #${1000 + i}`, body: "Thank you for your order." };
  return { kind: "report", reportType: (["sales", "usage", "billing"] as const)[i % 3], format: i % 2 ? "csv" : "pdf", dateRange: { from: "2026-10-01", to: "2026-10-31" } };
});
let notifyCount = 0;
for (let priority = 1; priority <= 5; priority++) {
  const slice = notifications.filter((_, i) => (i % 5) + 1 === priority);
  if (slice.length) notifyCount += (await post("/jobs", { type: "notify", priority, payloads: slice })).count!;
}
if (notifyCount) enqueued.notify = notifyCount;
const total = Object.values(enqueued).reduce((a, b) => a + b, 0);
say(`enqueued ${total} jobs through ${api} in ${Date.now() - started} ms: ${Object.entries(enqueued).map(([t, n]) => `${n} ${t}`).join(", ")}`);

// 3. Progress -----------------------------------------------------------------------------------
interface Progress { done: number; completed: number; failed: number; retrying: number; running: number }
async function progress(): Promise<Progress> {
  const [row] = await sql<Progress[]>`
    select count(*) filter (where j.status in ('completed', 'failed', 'cancelled'))::int as done,
           count(*) filter (where j.status = 'completed')::int as completed,
           count(*) filter (where j.status = 'failed')::int as failed,
           count(*) filter (where j.status = 'running')::int as running,
           (select count(*) from public.all_steps s join public.jobs r on r.id = s.job_id
             where s.status = 'pending' and s.attempt > 0 and r.type = any (${TYPES as unknown as string[]}))::int as retrying
      from public.jobs j where j.type = any (${TYPES as unknown as string[]})`;
  return row!;
}
const bar = (fraction: number, width = 30) => "█".repeat(Math.round(fraction * width)).padEnd(width, "░");
let last: Progress = await progress();
let lastPrinted = 0;
while (last.done < total && Date.now() - started < timeoutMs) {
  await new Promise((r) => setTimeout(r, 500));
  last = await progress();
  const elapsed = (Date.now() - started) / 1000;
  const line = `${bar(last.done / total)} ${last.done}/${total} done · ${last.failed} failed · ${last.retrying} retrying · ${(last.done / elapsed).toFixed(0)} jobs/s · ${elapsed.toFixed(1)} s`;
  if (tty) process.stdout.write(`\r${line}   `);
  else if (Date.now() - lastPrinted > 5_000) {
    console.log(line);
    lastPrinted = Date.now();
  }
}
if (tty) process.stdout.write("\n");
const elapsedMs = Date.now() - started;

// 4. Summary ------------------------------------------------------------------------------------
const perType = await sql<{ type: string; jobs: number; completed: number; failed: number; unfinished: number; p50: number | null; p95: number | null }[]>`
  select j.type, count(*)::int as jobs,
         count(*) filter (where j.status = 'completed')::int as completed,
         count(*) filter (where j.status = 'failed')::int as failed,
         count(*) filter (where j.status not in ('completed', 'failed', 'cancelled'))::int as unfinished,
         round(percentile_cont(0.5) within group (order by extract(epoch from j.finished_at - j.created_at) * 1000)::numeric)::int as p50,
         round(percentile_cont(0.95) within group (order by extract(epoch from j.finished_at - j.created_at) * 1000)::numeric)::int as p95
    from public.jobs j where j.type = any (${TYPES as unknown as string[]}) group by j.type order by j.type`;
const overall = await sql<{ p50: number | null; p95: number | null }[]>`
  select round(percentile_cont(0.5) within group (order by extract(epoch from j.finished_at - j.created_at) * 1000)::numeric)::int as p50,
         round(percentile_cont(0.95) within group (order by extract(epoch from j.finished_at - j.created_at) * 1000)::numeric)::int as p95
    from public.jobs j where j.type = any (${TYPES as unknown as string[]}) and j.finished_at is not null`;
const retries = await sql<{ type: string; outcome: string; n: number }[]>`
  select j.type, a.outcome, count(*)::int as n
    from public.step_attempts a join public.jobs j on j.id = a.job_id
   where j.type = any (${TYPES as unknown as string[]}) and a.outcome in ('retried', 'lease_expired')
   group by 1, 2`;
const reasons = await sql<{ type: string; reason: string; n: number }[]>`
  select j.type, coalesce(j.error ->> 'step', '?') || ': ' || regexp_replace(regexp_replace(j.error ->> 'message', '^\\d+:\\d+: ', ''), '\\S+@\\S+', '<address>', 'g') as reason, count(*)::int as n
    from public.jobs j where j.type = any (${TYPES as unknown as string[]}) and j.status = 'failed'
   group by 1, 2 order by 1, 3 desc`;
const actions = await sql<{ action: string; n: number }[]>`
  select j.result ->> 'action' as action, count(*)::int as n from public.jobs j
   where j.type = 'campaign_email' and j.status = 'completed' group by 1 order by 2 desc`;
const invocations = await sql<{ reason: string; n: number }[]>`select reason, count(*)::int as n from public.worker_wakeups group by 1 order by 1`;
const delivery = (await (await fetch(`${simulators}/messages-api/deliveries`)).json()) as {
  deliveries: number; duplicates: unknown[]; requests: Record<string, number>;
};

const rows = perType.map((t) => {
  const retried = retries.filter((r) => r.type === t.type).reduce((sum, r) => sum + r.n, 0);
  return [t.type, String(t.jobs), String(t.completed), String(t.failed), String(retried), `${t.p50 ?? "-"} / ${t.p95 ?? "-"}`];
});
const table = [["type", "jobs", "completed", "failed", "retries", "p50 / p95 ms"], ...rows];
const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
const format = (row: string[]) => `  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("   ")}`;
const allDone = last.done === total;
say("");
say(`${allDone ? "All" : "NOT all"} ${total} jobs finished in ${(elapsedMs / 1000).toFixed(1)} s (${(total / (elapsedMs / 1000)).toFixed(0)} jobs/s end to end).`);
say("");
say(format(table[0]!));
for (const row of table.slice(1)) say(format(row));
say("");
say(`  enqueue-to-done latency, all jobs: p50 ${overall[0]?.p50 ?? "-"} ms, p95 ${overall[0]?.p95 ?? "-"} ms`);
say(`  duplicate emails: ${delivery.duplicates.length} (${delivery.deliveries} deliveries; the provider replayed ${delivery.requests.replayed} retried sends by idempotency key)`);
say(`  provider failures injected: ${delivery.requests.rateLimited} rate limits, ${delivery.requests.timedOut} timeouts, ${delivery.requests.invalid} invalid mailboxes, ${delivery.requests.sentimentErrors} sentiment errors`);
if (actions.length) say(`  campaign actions: ${actions.map((a) => `${a.action} ${a.n}`).join(", ")}`);
say(`  worker invocations: ${invocations.map((i) => `${i.n} by ${i.reason}`).join(", ") || "none"}`);
if (reasons.length) {
  say("  failed, by reason:");
  for (const r of reasons) say(`    ${r.type.padEnd(15)} ${String(r.n).padStart(5)}  ${r.reason}`);
}
say("");
say("Look further:");
say(`  scripts/stack psql -c "select * from queue_stats"            # per type: counts, throughput, success rate`);
say(`  scripts/stack psql -c "select job_id, type, last_error from dead_letter limit 10"`);
say(`  scripts/stack psql -c "select * from job_timeline where job_id = '<id>' order by started_at"`);
say(`  curl -H "Authorization: Bearer $SUPABASE_SERVICE_ROLE_KEY" ${api}/stats`);
say(`  curl -H "Authorization: Bearer $SUPABASE_SERVICE_ROLE_KEY" "${api}/jobs?status=failed&limit=5"`);
say(`  curl -H "Authorization: Bearer $SUPABASE_SERVICE_ROLE_KEY" ${api}/groups/chat-1`);
say("  (eval \"$(scripts/stack env)\" sets SUPABASE_SERVICE_ROLE_KEY; the stack keeps running: npm run stack -- down stops it)");
say("");
say(`Dashboard (operator, every tenant; demo users alice@example.com and bob@example.com, password leaseflow-demo): ${stackEnv.LEASEFLOW_DASHBOARD_URL}`);

if (args["summary-json"]) {
  writeFileSync(args["summary-json"], JSON.stringify({
    total, done: last.done, elapsedMs, perType, overall: overall[0], retries, reasons, actions, invocations,
    duplicateEmails: delivery.duplicates.length, deliveries: delivery.deliveries, provider: delivery.requests,
  }, null, 2));
}
await sql.end();
process.exit(allDone ? 0 : 1);
