// The jobs HTTP API through the local gateway and the `jobs` Edge Function (Deno): every route,
// every error status, RLS isolation between two users, the rate limit, Server-Sent Events.
// Workers are off (max_invocations = 0); where a job must move, the test drains in-process.
import { cpus } from "node:os";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { signJwt, LOCAL_JWT_SECRET } from "../scripts/local/gateway/jwt.ts";
import { createRegistry } from "../supabase/functions/_shared/examples/index.ts";

import { createJobsApp, drain, PostgresTransport, Registry } from "../supabase/functions/_shared/leaseflow/mod.ts";
import { ANON_KEY, API_URL, connect, emptyQueue, SERVICE_ROLE_KEY } from "./helpers/db.ts";

const JOBS = `${API_URL}/functions/v1/jobs`;
const admin = connect({ max: 2 });
const transport = new PostgresTransport(connect({ max: 4 }), true);
const USER_A = "aaaaaaaa-0000-4000-8000-00000000000a";
const USER_B = "bbbbbbbb-0000-4000-8000-00000000000b";
const userToken = (sub: string) =>
  signJwt({ sub, role: "authenticated", exp: Math.floor(Date.now() / 1000) + 3600 }, LOCAL_JWT_SECRET);

interface Answer<T = any> { status: number; headers: Headers; body: { ok: boolean; data?: T; error?: { code: string; message: string; details?: any } } }

async function call<T = any>(method: string, path: string, options: { token?: string | null; body?: unknown; raw?: string } = {}): Promise<Answer<T>> {
  const token = options.token === undefined ? SERVICE_ROLE_KEY : options.token;
  const response = await fetch(`${JOBS}${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), "Content-Type": "application/json" },
    body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

const build = (chatId: string, messageId: string, code = "export const ok = 1;") => ({ chatId, messageId, code });
/** A list row's messageId, from its payload preview (whole for these small payloads). */
const messageIdOf = (row: { payloadPreview: string }) => JSON.parse(row.payloadPreview).messageId;

beforeAll(async () => {
  await createRegistry().publish(transport);
});
beforeEach(async () => {
  await emptyQueue(admin);
  await admin`delete from public.tenant_enqueue_buckets`;
  await admin`update public.leaseflow_settings set max_invocations = 0, tenant_enqueue_rate = 1000, tenant_enqueue_burst = 50000`;
});
afterAll(async () => {
  await admin`update public.leaseflow_settings set max_invocations = 10, tenant_enqueue_rate = 1000, tenant_enqueue_burst = 50000`;
  await transport.close();
  await admin.end();
});

describe("POST /jobs", () => {
  it("enqueues one job and answers its id, status, queue position and estimated wait", async () => {
    const answer = await call("POST", "/jobs", { body: { type: "build", payload: build("chat-1", "m1") } });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ ok: true, data: { status: "running", queuePosition: 1, estimatedWaitMs: 0 } });
    const [job] = await admin`select type, group_key, priority, payload from public.jobs where id = ${answer.body.data.id}`;
    expect(job).toEqual({ type: "build", group_key: "chat-1", priority: 4, payload: build("chat-1", "m1") });
  });

  it("enqueues a batch in one call and answers ids and count; derived keys apply per payload", async () => {
    const payloads = [build("chat-1", "m1"), build("chat-2", "m2"), build("chat-1", "m3")];
    const answer = await call("POST", "/jobs", { body: { type: "build", payloads } });
    expect(answer.status).toBe(201);
    expect(answer.body.data.count).toBe(3);
    const rows = await admin`select id, group_key, status from public.jobs order by enqueue_order`;
    expect(rows.map((r) => r.id)).toEqual(answer.body.data.ids);
    expect(rows.map((r) => [r.group_key, r.status])).toEqual([["chat-1", "running"], ["chat-2", "running"], ["chat-1", "pending"]]);
  });

  it("refuses bad input with 400 and the failing field's path, writing nothing", async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ type: "nope", payload: {} }, "type", /unknown job type "nope"; known: .*build/],
      [{ type: "build", payload: { chatId: "c", messageId: "m" } }, "payload.code", /expected string/],
      [{ type: "build", payload: { ...build("c", "m"), extra: 1 } }, "payload", /Unrecognized key/],
      [{ type: "build", payloads: [build("c", "m"), { chatId: "c" }] }, "payloads.1.messageId", /expected string/],
      [{ type: "build", payload: build("c", "m"), priority: 9 }, "priority", /<=5/],
      [{ type: "build", payload: build("c", "m"), runAt: "2026-01-01T00:00:00Z", delayMs: 5 }, "delayMs", /exclude each other/],
      [{ type: "build", payloads: [] }, "payloads", /too small|>=1/i],
      [{ type: "notify", payload: { kind: "email", to: "not-an-address", subject: "s", body: "b" } }, "payload.to", /email/i],
      [{ type: "notify", payload: { kind: "report", reportType: "sales", format: "docx", dateRange: { from: "2026-01-01", to: "2026-01-02" } } }, "payload.format", /"pdf"\|"csv"/],
      [{ type: "notify", payload: { kind: "report", reportType: "sales", format: "csv", dateRange: { from: "2026-02-01", to: "2026-01-01" } } }, "payload.dateRange.from", /must not be after/],
      [{ type: "notify", payload: { kind: "notification", userId: "u", channel: "fax", message: "m" } }, "payload.channel", /"push"\|"sms"\|"email"/],
      [{ type: "notify", payload: { kind: "pager" } }, "payload.kind", /discriminator|Invalid input/],
      [{ type: "notify", payloads: [{ kind: "email", to: "a@b.io", subject: "s", body: "b" }, { kind: "report", reportType: "usage", format: "csv", dateRange: { from: "2026-01-01", to: "2026-01-01" } }] }, "priority", /derive different priorities \(3, 2\)/],
      [{ type: "campaign_email", payload: { campaignId: "c", to: "x", subject: "s", body: "b" } }, "payload.to", /email/i],
    ];
    for (const [body, path, message] of cases) {
      const answer = await call("POST", "/jobs", { body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error!.code).toBe("validation_failed");
      const issue = answer.body.error!.details.issues.find((i: { path: string }) => i.path === path);
      expect(issue, `${JSON.stringify(answer.body.error)} should name ${path}`).toBeDefined();
      expect(issue.message).toMatch(message);
    }
    const invalidJson = await call("POST", "/jobs", { raw: "{not json" });
    expect(invalidJson.status).toBe(400);
    expect(invalidJson.body.error!.code).toBe("invalid_json");
    expect(await admin`select 1 from public.jobs`).toHaveLength(0);
  });

  it("answers 503 type_not_published for a type the code defines but no worker has published yet", async () => {
    await admin`delete from public.job_types where type = 'notify'`;
    try {
      const answer = await call("POST", "/jobs", { body: { type: "notify", payload: { kind: "email", to: "a@b.io", subject: "s", body: "b" } } });
      expect(answer.status).toBe(503);
      expect(answer.body.error!.code).toBe("type_not_published");
      expect(answer.body.error!.message).toMatch(/wake the worker function once/);
    } finally {
      await createRegistry().publish(transport);
    }
  });

  it("answers 413 for a body over the limit", async () => {
    const answer = await call("POST", "/jobs", { raw: JSON.stringify({ type: "build", payload: build("c", "m", "x".repeat(11 * 1024 * 1024)) }) });
    expect(answer.status).toBe(413);
    expect(answer.body.error!.code).toBe("payload_too_large");
  });

  it("answers 400 for a payload nested too deep, from enqueue past 64 levels and from the API past 100 (it answered 500 at 5 000), and writes nothing", async () => {
    const nested = (depth: number) => `{"type":"leaseflow.sleep","payload":{"ms":0,"a":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
    const sqlRefused = await call("POST", "/jobs", { raw: nested(80) });
    expect(sqlRefused.status).toBe(400);
    expect(sqlRefused.body.error!.message).toMatch(/^enqueue_job: p_payload holds values nested more than 64 levels deep/);
    const apiRefused = await call("POST", "/jobs", { raw: nested(5_000) });
    expect(apiRefused.status).toBe(400);
    expect(apiRefused.body.error).toEqual({ code: "invalid_json", message: "the request body is nested more than 100 levels deep" });
    expect(await admin`select 1 from public.jobs`).toHaveLength(0);
  });

  it("answers 429 with Retry-After when a tenant exceeds its enqueue rate, and writes nothing", async () => {
    await admin`update public.leaseflow_settings set tenant_enqueue_rate = 1, tenant_enqueue_burst = 2`;
    const token = userToken(USER_A);
    expect((await call("POST", "/jobs", { token, body: { type: "build", payloads: [build("c", "1"), build("c", "2")] } })).status).toBe(201);
    const limited = await call("POST", "/jobs", { token, body: { type: "build", payload: build("c", "3") } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("1");
    expect(limited.body.error).toMatchObject({ code: "rate_limited", details: { retryAfterMs: expect.any(Number) } });
    expect(limited.body.error!.details.retryAfterMs).toBeGreaterThan(500);
    expect(limited.body.error!.details.retryAfterMs).toBeLessThanOrEqual(1000);
    expect(limited.body.error!.message).toMatch(/may enqueue 1 jobs per second \(burst 2\)/);
    const tooBig = await call("POST", "/jobs", { token, body: { type: "build", payloads: [build("c", "4"), build("c", "5"), build("c", "6")] } });
    expect(tooBig.status).toBe(413);
    expect((await call("POST", "/jobs", { body: { type: "build", payload: build("c", "7") } })).status).toBe(201);
    expect(await admin`select 1 from public.jobs`).toHaveLength(3);
  });
});

describe("authorization", () => {
  it("answers 401 without a JWT, with an invalid one, and for the anon role", async () => {
    expect((await call("GET", "/stats", { token: null })).status).toBe(401);
    expect((await call("GET", "/stats", { token: "not.a.jwt" })).status).toBe(401);
    const anon = await call("GET", "/stats", { token: ANON_KEY });
    expect(anon.status).toBe(401);
    expect(anon.body.error!.code).toBe("unauthorized");
  });

  it("answers a browser's CORS preflight from another origin without a JWT, and its 401s carry CORS headers too", async () => {
    const origin = "http://127.0.0.1:54324";
    const preflight = await fetch(`${JOBS}/jobs`, {
      method: "OPTIONS",
      headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, apikey, content-type, x-client-info" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-methods")).toMatch(/POST/);
    const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase();
    for (const header of ["authorization", "apikey", "content-type", "x-client-info"]) expect(allowed).toContain(header);

    for (const token of [null, "not.a.jwt", signJwt({ sub: USER_A, role: "authenticated", exp: Math.floor(Date.now() / 1000) + 60 }, "another-secret-of-32-characters!!")]) {
      const response = await fetch(`${JOBS}/stats`, { headers: { Origin: origin, ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
      expect([response.status, response.headers.get("access-control-allow-origin")]).toEqual([401, "*"]);
      expect((await response.json()).error.code).toBe("unauthorized");
    }
  });

  it("gives each user only its own tenant's jobs; service_role sees all", async () => {
    const a = await call("POST", "/jobs", { token: userToken(USER_A), body: { type: "build", payload: build("chat-1", "a1") } });
    const b = await call("POST", "/jobs", { token: userToken(USER_B), body: { type: "build", payload: build("chat-1", "b1") } });
    expect([a.status, b.status]).toEqual([201, 201]);
    // Same chat id, different tenants: both run (keys are per tenant).
    expect([a.body.data.status, b.body.data.status]).toEqual(["running", "running"]);

    const seenByA = await call("GET", "/jobs", { token: userToken(USER_A) });
    expect(seenByA.body.data.items.map((j: { id: string }) => j.id)).toEqual([a.body.data.id]);
    expect(seenByA.body.data.items[0].tenantId).toBe(USER_A);
    expect((await call("GET", `/jobs/${b.body.data.id}`, { token: userToken(USER_A) })).status).toBe(404);
    expect((await call("DELETE", `/jobs/${b.body.data.id}`, { token: userToken(USER_A) })).status).toBe(404);
    expect((await call("GET", "/groups/chat-1", { token: userToken(USER_B) })).body.data.running.map((j: { id: string }) => j.id)).toEqual([b.body.data.id]);
    expect((await call("GET", "/stats", { token: userToken(USER_B) })).body.data.totals.all).toBe(1);
    expect((await call("GET", "/jobs")).body.data.total).toBe(2);
  });
});

describe("reading, cancelling, retrying", () => {
  it("GET /jobs/:id shows steps with attempts; 400 for a malformed id, 404 for an unknown one", async () => {
    const { body } = await call("POST", "/jobs", { body: { type: "build", payload: build("chat-1", "m1", "export const = ;") } });
    await drain({ workerId: "api-test", transport, registry: createRegistry(), idle: { lingerMs: 0 } });
    const job = await call("GET", `/jobs/${body.data.id}`);
    expect(job.status).toBe(200);
    expect(job.body.data).toMatchObject({ id: body.data.id, status: "failed", completedAt: null, queuePosition: null });
    expect(job.body.data.error.message).toMatch(/^1:13: Expected identifier but found "="/);
    expect(job.body.data.steps).toHaveLength(1);
    expect(job.body.data.steps[0].attempts).toMatchObject([{ attempt: 1, workerId: "api-test", outcome: "failed" }]);
    expect((await call("GET", "/jobs/123")).body.error).toMatchObject({ code: "validation_failed", details: { issues: [{ path: "id", message: "must be a UUID" }] } });
    const missing = await call("GET", "/jobs/00000000-0000-4000-8000-000000000000");
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: "not_found", message: "get_job: job 00000000-0000-4000-8000-000000000000 not found" });
  });

  it("DELETE cancels (409 once finished) and POST /retry redrives (409 unless failed or cancelled)", async () => {
    const { body } = await call("POST", "/jobs", { body: { type: "build", payload: build("chat-1", "m1") } });
    const id = body.data.id;
    expect((await call("POST", `/jobs/${id}/retry`)).status).toBe(409);
    const cancelled = await call("DELETE", `/jobs/${id}`, { body: { reason: "user pressed stop" } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.data).toMatchObject({ status: "cancelled", error: { message: "user pressed stop" } });
    const again = await call("DELETE", `/jobs/${id}`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: "conflict", message: `cancel_job: job ${id} is already cancelled; only pending or running jobs can be cancelled` });
    const retried = await call("POST", `/jobs/${id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body.data.status).toBe("running");
    await drain({ workerId: "api-test", transport, registry: createRegistry(), idle: { lingerMs: 0 } });
    expect((await call("GET", `/jobs/${id}`)).body.data).toMatchObject({ status: "completed", result: { outputBytes: expect.any(Number) } });
  });

  it("GET /jobs filters (status, type, group key, priority, created range), searches, sorts and pages with a cursor; bad query parameters are 400", async () => {
    const payloads = Array.from({ length: 7 }, (_, i) => build(`chat-${i % 2}`, `needle-${i}`));
    await call("POST", "/jobs", { body: { type: "build", payloads } });
    await call("POST", "/jobs", { body: { type: "notify", payload: { kind: "email", to: "a@b.io", subject: "s", body: "b" }, priority: 5 } });

    const first = await call("GET", "/jobs?type=build&limit=3&order=asc");
    expect(first.body.data.total).toBe(7);
    expect(first.body.data.items.map(messageIdOf)).toEqual(["needle-0", "needle-1", "needle-2"]);
    const second = await call("GET", `/jobs?type=build&limit=3&order=asc&cursor=${encodeURIComponent(first.body.data.nextCursor)}`);
    expect(second.body.data.items.map(messageIdOf)).toEqual(["needle-3", "needle-4", "needle-5"]);
    expect((await call("GET", "/jobs?search=needle-6")).body.data.items.map(messageIdOf)).toEqual(["needle-6"]);
    expect((await call("GET", "/jobs?groupKey=chat-1&status=pending,running")).body.data.total).toBe(3);
    expect((await call("GET", "/jobs?sort=priority&limit=1")).body.data.items[0].type).toBe("notify");
    expect((await call("GET", "/jobs?priority=5,1")).body.data.items.map((job: { type: string }) => job.type)).toEqual(["notify"]);
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    expect((await call("GET", `/jobs?createdAfter=${hourAgo}`)).body.data.total).toBe(8);
    expect((await call("GET", `/jobs?createdBefore=${hourAgo}`)).body.data.total).toBe(0);
    const bad = await call("GET", "/jobs?status=done&limit=0&color=red&priority=7&createdAfter=yesterday");
    expect(bad.status).toBe(400);
    expect(bad.body.error!.details.issues.map((i: { path: string }) => i.path).sort())
      .toEqual(["query", "query.createdAfter", "query.limit", "query.priority.0", "query.status.0"]);
  });

  it("GET /groups/:key lists a key's jobs by status (unfinished in queue order, finished newest first); GET /stats sums up", async () => {
    await call("POST", "/jobs", { body: { type: "build", payloads: [build("chat-9", "m1"), build("chat-9", "m2", "export const = ;"), build("chat-9", "m3")] } });
    const before = await call("GET", "/groups/chat-9");
    expect(before.body.data.running.map(messageIdOf)).toEqual(["m1"]);
    expect(before.body.data.pending.map(messageIdOf)).toEqual(["m2", "m3"]);
    await drain({ workerId: "api-test", transport, registry: createRegistry(), idle: { lingerMs: 0 } });
    const after = await call("GET", "/groups/chat-9");
    expect(after.body.data).toMatchObject({ groupKey: "chat-9", pending: [], running: [] });
    expect(after.body.data.completed.map(messageIdOf)).toEqual(["m3", "m1"]);
    expect(after.body.data.failed.map(messageIdOf)).toEqual(["m2"]);
    const stats = await call("GET", "/stats?type=build");
    expect(stats.body.data).toMatchObject({ type: "build", totals: { completed: 2, failed: 1, all: 3 }, successRate: 0.6667, completed: { "1m": 2 } });
    expect((await call("GET", "/stats?type=")).status).toBe(400);
    expect((await call("GET", "/nowhere")).body).toEqual({ ok: false, error: { code: "not_found", message: "no route for GET /jobs/nowhere" } });
  });
});

describe("bounded answers", () => {
  it("GET /groups/:key is a bounded page of summaries: ?limit (50, at most 500) caps every list, counts and a cursor continue it", async () => {
    const big = "x".repeat(90_000);
    const payloads = Array.from({ length: 60 }, (_, i) => build("chat-big", `m${i}`, `export const blob = "${big}"; // ${i}`));
    expect((await call("POST", "/jobs", { body: { type: "build", payloads } })).status).toBe(201);

    const page = await call("GET", "/groups/chat-big");
    expect(page.status).toBe(200);
    expect(page.body.data.pending).toHaveLength(50);
    expect(page.body.data.counts).toEqual({ pending: 59, running: 1, completed: 0, failed: 0, cancelled: 0 });
    expect(JSON.stringify(page.body).length).toBeLessThan(100_000);
    const row = page.body.data.pending[0];
    expect(row).not.toHaveProperty("payload");
    expect(row.payloadPreview).toHaveLength(201);
    expect(row.payloadBytes).toBeGreaterThan(90_000);
    const rest = await call("GET", `/jobs?groupKey=chat-big&status=pending&sort=created&order=asc&limit=50&cursor=${encodeURIComponent(page.body.data.nextCursors.pending)}`);
    expect(rest.body.data.items.map((j: { id: string }) => j.id)).toHaveLength(9);
    const ids = new Set([...page.body.data.pending, ...rest.body.data.items].map((j: { id: string }) => j.id));
    expect(ids.size).toBe(59);
    expect((await call("GET", `/jobs/${row.id}`)).body.data.payload.code).toContain(big);

    expect((await call("GET", "/groups/chat-big?limit=5")).body.data.pending).toHaveLength(5);
    const tooMany = await call("GET", "/groups/chat-big?limit=501");
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error!.details.issues.map((i: { path: string }) => i.path)).toEqual(["query.limit"]);
  });
});

describe("GET /jobs/:id/events", () => {
  it("streams every status change of the job and its steps in order, then ends", async () => {
    const flaky = new Registry().define({
      type: "api.flaky",
      steps: ["one", "two"],
      handlers: {
        one: ({ attempt }) => {
          if (attempt === 1) throw new Error("first attempt fails");
          return 1;
        },
        two: () => 2,
      },
      options: { backoff: { baseMs: 200, maxMs: 200, jitter: 0 } },
    });
    await flaky.publish(transport);
    const [job] = await admin<{ id: string }[]>`select id from public.enqueue_job('api.flaky', '{}')`;
    const id = job!.id;
    const response = await fetch(`${JOBS}/jobs/${id}/events`, { headers: { Authorization: `Bearer ${SERVICE_ROLE_KEY}` } });
    expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reading = (async () => {
      const events: { event: string; data: any; id?: string }[] = [];
      let buffer = "";
      for await (const chunk of response.body!) {
        buffer += Buffer.from(chunk).toString();
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name: string) => block.split("\n").find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
          events.push({ event: field("event")!, data: JSON.parse(field("data")!), id: field("id") });
        }
      }
      return events;
    })();
    await new Promise((r) => setTimeout(r, 300));
    await drain({ workerId: "api-sse", transport, registry: flaky, idle: { lingerMs: 5_000 } });
    const events = await reading;
    expect(events.map((e) => e.event === "status" ? `${e.data.stepName ?? "job"}:${e.data.status}` : e.event)).toEqual([
      "job:pending", "job:running", "one:running", "one:retried", "one:running", "one:completed", "two:running", "two:completed", "job:completed", "end",
    ]);
    expect(new Set(events.filter((e) => e.id).map((e) => e.id)).size).toBe(9);
    expect((await fetch(`${JOBS}/jobs/00000000-0000-4000-8000-000000000000/events`, { headers: { Authorization: `Bearer ${SERVICE_ROLE_KEY}` } })).status).toBe(404);
  });
});

/** The events of a live read's answer, until it ends: name and parsed data. */
async function liveEvents(response: Response): Promise<{ event: string; data: any }[]> {
  const text = await response.text();
  return text.split("\n\n").filter(Boolean).map((block) => ({
    event: /^event: (.+)$/m.exec(block)![1]!,
    data: JSON.parse(/^data: (.+)$/m.exec(block)![1]!),
  }));
}

describe("live reads (a GET sent Accept: text/event-stream)", () => {
  const live = { Authorization: `Bearer ${SERVICE_ROLE_KEY}`, Accept: "text/event-stream" };

  it("sends the job at once, again when it changes, nothing while it does not, and ends with timeout", async () => {
    const app = createJobsApp({
      supabaseUrl: API_URL, anonKey: ANON_KEY, serviceRoleKey: SERVICE_ROLE_KEY, registry: createRegistry(), livePollMs: 100, eventStreamMs: 1_500,
    });
    const created = await call("POST", "/jobs", { body: { type: "build", payload: build("chat-l", "l1") } });
    const id = created.body.data.id;
    const response = await app.fetch(new Request(`http://local/jobs/jobs/${id}`, { headers: live }));
    expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reading = liveEvents(response);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await admin`select public.cancel_job(${id}, 'changed by the test')`;
    const events = await reading;
    // About 14 reads in 1.5 s; only the two that differ are sent.
    expect(events.map((e) => `${e.event}:${e.data.status ?? ""}`)).toEqual(["data:running", "data:cancelled", "timeout:"]);
    expect(events[1]!.data.error).toMatchObject({ message: "changed by the test" });
  });

  it("refuses a bad read before any stream opens: 404 for an unknown job, 400 for a bad query, 401 without a JWT", async () => {
    const unknown = await fetch(`${JOBS}/jobs/00000000-0000-4000-8000-000000000000`, { headers: live });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-type")).toMatch(/application\/json/);
    expect((await unknown.json()).error.code).toBe("not_found");
    const bad = await fetch(`${JOBS}/jobs?status=sleeping`, { headers: live });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: "validation_failed" });
    const deadLetterLimit = await fetch(`${JOBS}/dead-letter?limit=0`, { headers: live });
    expect(deadLetterLimit.status).toBe(400);
    expect((await fetch(`${JOBS}/overview`, { headers: { Accept: "text/event-stream" } })).status).toBe(401);
  });

  it("GET /overview and /dead-letter: an operator sees the workers, a user sees null for them and only its own failed jobs", async () => {
    await admin`insert into public.workers (id, kind) values ('w-overview', 'node')`;
    await admin`
      insert into public.jobs (type, status, tenant_id, finished_at, error)
      values ('build', 'failed', ${USER_A}, now(), '{"message": "a failed"}'), ('build', 'failed', ${USER_B}, now(), '{"message": "b failed"}')`;
    const operator = await call("GET", "/overview");
    expect(operator.status).toBe(200);
    expect(operator.body.data.stats.totals).toMatchObject({ failed: 2 });
    expect(operator.body.data.workers.map((w: { id: string }) => w.id)).toEqual(["w-overview"]);
    expect(operator.body.data.types).toEqual([expect.objectContaining({ type: "build", failed: 2 })]);
    expect(operator.body.data.trend).toHaveLength(60);
    const user = await call("GET", "/overview", { token: userToken(USER_A) });
    expect(user.body.data.workers).toBeNull();
    expect(user.body.data.stats.totals).toMatchObject({ failed: 1 });
    const deadLetter = await call("GET", "/dead-letter", { token: userToken(USER_A) });
    expect(deadLetter.body.data.map((row: { last_error: string }) => row.last_error)).toEqual(["a failed"]);
    expect((await call("GET", "/dead-letter")).body.data).toHaveLength(2);
  });
});

describe("statuses only the database decides", () => {
  it("answers a value the SQL refuses with 400 invalid_request and the function's message, writing nothing", async () => {
    const answer = await call("POST", "/jobs", { body: { type: "build", payload: build("chat-r", "r1"), runAt: "2099-01-01T00:00:00Z" } });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({
      code: "invalid_request",
      message: 'enqueue_job: p_options.run_at must be from 1 year ago to 10 years ahead, got "2099-01-01T00:00:00Z"',
    });
    expect(await admin`select 1 from public.jobs`).toHaveLength(0);
  });

  it("ends an event stream that outlives eventStreamMs with a timeout event telling the client to reconnect with Last-Event-ID", async () => {
    const app = createJobsApp({
      supabaseUrl: API_URL, anonKey: ANON_KEY, serviceRoleKey: SERVICE_ROLE_KEY, registry: createRegistry(), eventPollMs: 50, eventStreamMs: 400,
    });
    const created = await call("POST", "/jobs", { body: { type: "build", payload: build("chat-t", "t1") } });
    const started = Date.now();
    const response = await app.fetch(new Request(`http://local/jobs/jobs/${created.body.data.id}/events`, { headers: { Authorization: `Bearer ${SERVICE_ROLE_KEY}` } }));
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    const events = text.split("\n\n").filter(Boolean).map((block) => /^event: (.+)$/m.exec(block)?.[1]);
    expect(events).toEqual(["status", "status", "timeout"]);
    expect(text).toContain('data: {"reconnect":"send Last-Event-ID to resume"}');
  });
});

describe("event streams at scale", () => {
  /** Opens an event stream and waits for its answer's status; abort closes it. */
  async function openStream(id: string, token: string, abort: AbortController): Promise<Response> {
    return fetch(`${JOBS}/jobs/${id}/events`, { headers: { Authorization: `Bearer ${token}` }, signal: abort.signal });
  }

  it("serves every open stream from one shared poll: one job_events_many call per interval and instance, not one query per stream", async () => {
    const jobs = await call("POST", "/jobs", { body: { type: "build", payloads: Array.from({ length: 8 }, (_, i) => build(`chat-s${i}`, `s${i}`)) } });
    const ids: string[] = jobs.body.data.ids;
    await admin`select pg_stat_statements_reset()`;
    const aborts = ids.map(() => new AbortController());
    try {
      const opened = await Promise.all(ids.map((id, i) => openStream(id, SERVICE_ROLE_KEY, aborts[i]!)));
      for (const response of opened) expect(response.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    } finally {
      for (const abort of aborts) abort.abort();
    }
    const [calls] = await admin<{ single: number; many: number }[]>`
      select coalesce(sum(calls) filter (where query like '%public."job_events"(%'), 0)::int as single,
             coalesce(sum(calls) filter (where query like '%public."job_events_many"(%'), 0)::int as many
        from pg_stat_statements where toplevel`;
    // One read per stream when it opens (its caller's access), then the shared poll: about 6 polls
    // in 1.5 s per function process (up to one per CPU), whatever the number of streams. Polling
    // per stream would have made about 8 × 6 = 48 reads.
    expect(calls!.single).toBe(8);
    expect(calls!.many).toBeGreaterThan(0);
    expect(calls!.many).toBeLessThanOrEqual(8 * cpus().length);
  });

  it("caps a caller's open streams per instance (10): past them the next is refused with 429, while another caller still gets one", async () => {
    const token = userToken(USER_A);
    const created = await call("POST", "/jobs", { token, body: { type: "build", payload: build("chat-cap", "c1") } });
    const id = created.body.data.id;
    const aborts: AbortController[] = [];
    try {
      // Streams spread over the function's processes (up to one per CPU), each capping its own.
      const statuses: number[] = [];
      for (let i = 0; i < 10 * cpus().length + 1; i++) {
        const abort = new AbortController();
        aborts.push(abort);
        const response = await openStream(id, token, abort);
        statuses.push(response.status);
        if (response.status === 429) {
          expect(await response.json()).toMatchObject({ ok: false, error: { code: "rate_limited", message: "at most 10 event streams per caller at once; close one first" } });
          break;
        }
      }
      expect(statuses.at(-1)).toBe(429);
      expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(10);
      const other = new AbortController();
      aborts.push(other);
      expect((await openStream(id, SERVICE_ROLE_KEY, other)).status).toBe(200);
    } finally {
      for (const abort of aborts) abort.abort();
    }
  });
});

