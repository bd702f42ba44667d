// The example job types against real Postgres and the example services: build (esbuild,
// per-chat order), campaign_email (failure rates, a worker killed mid-run, no email twice,
// a 50 000-address campaign in one call).
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { enqueueCampaign } from "../supabase/functions/_shared/examples/campaign-email.ts";

import { createRegistry } from "../supabase/functions/_shared/examples/index.ts";

import { drain, PostgresTransport } from "../supabase/functions/_shared/leaseflow/mod.ts";
import { connect, DB_URL, emptyQueue, waitFor } from "./helpers/db.ts";

const SIMULATORS = process.env.LEASEFLOW_SIMULATORS_URL ?? "http://127.0.0.1:54330";
const servicesEnv = {
  LEASEFLOW_MESSAGES_API_URL: `${SIMULATORS}/messages-api`,
  LEASEFLOW_SENTIMENT_API_URL: `${SIMULATORS}/sentiment-api`,
};
const admin = connect({ max: 2 });
const transport = new PostgresTransport(connect({ max: 4 }), true);
const registry = createRegistry((name) => servicesEnv[name as keyof typeof servicesEnv]);
const children: ChildProcess[] = [];

beforeEach(async () => {
  await emptyQueue(admin);
  await admin`update public.leaseflow_settings set max_invocations = 0`;
  await registry.publish(transport);
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await fetch(`${SIMULATORS}/config/reset`, { method: "POST", body: "{}" });
  await admin`update public.leaseflow_settings set max_invocations = 10`;
  await transport.close();
  await admin.end();
});

const enqueueJobs = async (type: string, payloads: unknown[], options: Record<string, unknown>) =>
  (await admin<{ id: string }[]>`select id from public.enqueue_jobs(${type}, ${JSON.stringify(payloads)}::text::jsonb, ${JSON.stringify(options)}::text::jsonb) as id`).map((row) => row.id);

describe("build", () => {
  it("bundles code, reports esbuild's warnings, and fails a syntax error for good with line and column", async () => {
    const [ok, warned, broken] = await enqueueJobs("build", [
      { chatId: "c", messageId: "1", code: "import { h } from 'preact';\nexport const view = (n: number) => <p>{n}</p>;" },
      { chatId: "d", messageId: "2", code: "export const odd = (x: unknown) => typeof x == 'strng';" },
      { chatId: "e", messageId: "3", code: "export function f() {\n  return (1 +;\n}" },
    ], { group_keys: ["c", "d", "e"] });
    const summary = await drain({ workerId: "ex-build", transport, registry, idle: { lingerMs: 0 } });
    expect(summary).toMatchObject({ completed: 2, failed: 1, retried: 0 });
    const jobs = await admin`select id, status, result, error from public.jobs`;
    const byId = Object.fromEntries(jobs.map((job) => [job.id, job]));
    expect(byId[ok!]).toMatchObject({ status: "completed", result: { chatId: "c", messageId: "1", warnings: [] } });
    expect(byId[ok!].result.outputBytes).toBeGreaterThan(20);
    expect(byId[warned!].result.warnings).toEqual([{ text: 'The "typeof" operator will never evaluate to "strng"', line: 1, column: 47 }]);
    expect(byId[broken!]).toMatchObject({ status: "failed", error: { code: "permanent", message: '2:13: Unexpected ";"', attempt: 1 } });
  });

  it("runs one chat's builds one at a time in order while two chats interleave", async () => {
    const payloads = Array.from({ length: 12 }, (_, i) => ({ chatId: i % 2 ? "chat-b" : "chat-a", messageId: String(i), code: `export const v${i} = ${i};` }));
    await enqueueJobs("build", payloads, { group_keys: payloads.map((p) => p.chatId) });
    await drain({ workerId: "ex-order", transport, registry, concurrency: 6, batchSize: 6, idle: { lingerMs: 0 } });
    const rows = await admin<{ group_key: string; message: string; started_at: Date; finished_at: Date }[]>`
      select group_key, payload ->> 'messageId' as message, started_at, finished_at from public.jobs where status = 'completed' order by enqueue_order`;
    expect(rows).toHaveLength(12);
    for (const chat of ["chat-a", "chat-b"]) {
      const builds = rows.filter((row) => row.group_key === chat);
      const byStart = [...builds].sort((x, y) => x.started_at.getTime() - y.started_at.getTime());
      expect(byStart.map((b) => b.message)).toEqual(builds.map((b) => b.message));
      for (let i = 1; i < builds.length; i++) expect(builds[i]!.started_at.getTime()).toBeGreaterThanOrEqual(builds[i - 1]!.finished_at.getTime());
    }
    // The chats ran side by side: chat-b's first build started before chat-a's last one finished.
    const lastA = rows.filter((r) => r.group_key === "chat-a").at(-1)!;
    const firstB = rows.find((r) => r.group_key === "chat-b")!;
    expect(firstB.started_at.getTime()).toBeLessThan(lastA.finished_at.getTime());
  });
});

describe("campaign_email", () => {
  it("enqueues 50 000 addresses in one call, a duplicate address once", async () => {
    const addresses = Array.from({ length: 49_999 }, (_, i) => `person${i}@example.com`);
    addresses.push("PERSON7@example.com");
    const ids = await enqueueCampaign(enqueueJobs, { campaignId: "big", subject: "s", body: "b", addresses });
    expect(ids).toHaveLength(50_000);
    expect(ids[49_999]).toBe(ids[7]);
    const [row] = await admin<{ count: number }[]>`select count(*)::int as count from public.jobs where type = 'campaign_email'`;
    expect(row!.count).toBe(49_999);
    await expect(enqueueCampaign(enqueueJobs, { campaignId: "x", subject: "s", body: "b", addresses: ["ok@example.com", "nope"] }))
      .rejects.toThrow('enqueueCampaign: addresses[1] is not an email address: "nope"');
  });

  it("with high failure rates and a worker killed mid-run, emails nobody twice and ends every address right", async () => {
    await fetch(`${SIMULATORS}/config/reset`, {
      method: "POST",
      body: JSON.stringify({
        latencyMs: [5, 30], rateLimitRate: 0.2, retryAfterSeconds: 1, timeoutRate: 0.15, timeoutMs: 300,
        deliveredOnTimeoutRate: 0.5, invalidRate: 0.1, sentimentErrorRate: 0.2,
      }),
    });
    const addresses = Array.from({ length: 300 }, (_, i) => `reader${i}@example.com`);
    await enqueueCampaign(enqueueJobs, { campaignId: "chaos", subject: "News", body: "Hello", addresses });
    const env = { ...process.env, ...servicesEnv, SUPABASE_DB_URL: DB_URL, LEASEFLOW_LEASE_MS: "3000", LEASEFLOW_CONCURRENCY: "10" };
    const start = () => {
      // node --import tsx: one process, so SIGKILL kills the worker itself (the tsx CLI would
      // leave its child running).
      const child = spawn(process.execPath, ["--import", "tsx", "node/worker.ts"], { env, stdio: ["ignore", "ignore", "ignore"] });
      children.push(child);
      return child;
    };

    const first = start();
    await waitFor("some deliveries", async () => {
      const summary = (await (await fetch(`${SIMULATORS}/messages-api/deliveries`)).json()) as { deliveries: number };
      return summary.deliveries >= 60;
    }, 60_000);
    first.kill("SIGKILL");
    await new Promise((r) => first.once("exit", r));
    start();

    await waitFor("every campaign job to finish", async () => {
      const [row] = await admin<{ open: number }[]>`select count(*)::int as open from public.jobs where status not in ('completed', 'failed')`;
      return row!.open === 0;
    }, 120_000);

    const delivery = (await (await fetch(`${SIMULATORS}/messages-api/deliveries`)).json()) as {
      duplicates: unknown[]; byChannel: Record<string, number>; requests: Record<string, number>;
    };
    expect(delivery.duplicates).toEqual([]);
    const jobs = await admin<{ to: string; status: string; code: string | null; step: string | null; action: string | null }[]>`
      select payload ->> 'to' as to, status, error #>> '{details,code}' as code, error ->> 'step' as step, result ->> 'action' as action
        from public.jobs`;
    expect(jobs).toHaveLength(300);
    const failed = jobs.filter((job) => job.status === "failed");
    // An invalid mailbox fails its job on the first invalid_recipient answer, never retried; at
    // these rates a few steps may also use up their 6 attempts on rate limits and timeouts.
    const invalid = failed.filter((job) => job.code === "invalid_recipient");
    expect(invalid.length).toBeGreaterThan(10);
    for (const job of invalid) expect(job.step).toBe("send_email");
    const exhausted = failed.filter((job) => job.code !== "invalid_recipient");
    for (const job of exhausted) expect(["rate_limited", "timeout", "unavailable"]).toContain(job.code);
    const afterInvalid = await admin`
      select j.id from public.step_attempts a join public.jobs j on j.id = a.job_id
       where a.error #>> '{details,code}' = 'invalid_recipient'
       group by j.id having count(*) <> 1 or bool_or(a.outcome <> 'failed')`;
    expect(afterInvalid).toEqual([]);
    const completed = jobs.filter((job) => job.status === "completed");
    expect(completed.length).toBe(300 - failed.length);
    expect(new Set(completed.map((job) => job.action))).toEqual(new Set(["alerted_owner", "suppressed", "none"]));
    // One email per completed send (no duplicates above), none to an invalid mailbox; a send
    // whose response was lost and whose retries then ran out may have been delivered too.
    const [emailed] = await admin<{ n: number }[]>`select count(*)::int as n from public.all_steps where name = 'send_email' and status = 'completed'`;
    const lostSends = exhausted.filter((job) => job.step === "send_email").length;
    expect(delivery.byChannel.email).toBeGreaterThanOrEqual(emailed!.n);
    expect(delivery.byChannel.email).toBeLessThanOrEqual(emailed!.n + lostSends);
    // The kill happened mid-step: some attempts lost their lease and were taken over.
    const [expired] = await admin<{ n: number }[]>`select count(*)::int as n from public.step_attempts where outcome = 'lease_expired'`;
    expect(expired!.n).toBeGreaterThan(0);
    expect(delivery.requests.rateLimited! + delivery.requests.timedOut!).toBeGreaterThan(30);
  }, 200_000);
});
