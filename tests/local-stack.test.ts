// The local stack's stand-ins behave as Supabase does where the product and its tests rely on it:
// PostgREST's array arguments and per-role statement timeouts, bounded and deeply nested request
// bodies, a function call sent with `Expect: 100-continue`, pg_net's delivery through a Postgres restart, and function processes
// that find free ports next to another stack.
import { execFileSync } from "node:child_process";
import { request } from "node:http";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { FunctionHost } from "../scripts/local/gateway/functions.ts";
import { ANON_KEY, API_URL, connect, emptyQueue, insertOneStepJobs, SERVICE_ROLE_KEY, waitFor } from "./helpers/db.ts";

const ROOT = resolve(import.meta.dirname, "..");
const admin = connect();
afterAll(() => admin.end());
beforeEach(() => emptyQueue(admin, { edgeWorkersOff: true }));

async function rpc(name: string, args: Record<string, unknown>, key: string) {
  const response = await fetch(`${API_URL}/rest/v1/rpc/${name}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", apikey: key, Authorization: `Bearer ${key}` },
    body: JSON.stringify(args),
  });
  return { status: response.status, body: await response.json() };
}

describe("PostgREST's RPC slice", () => {
  it("answers a non-array for an array parameter with 400 (22P02), as PostgREST does, and claims or releases nothing", async () => {
    await insertOneStepJobs(admin, 2);
    await admin`select count(*) from public.claim_steps('holder', '1 minute', 1)`;

    const claim = await rpc("claim_steps", { p_worker_id: "w", p_lease_duration: "1 minute", p_types: "x" }, SERVICE_ROLE_KEY);
    expect(claim).toEqual({
      status: 400,
      body: { code: "22P02", message: 'malformed array literal: "x"', details: 'Array value must start with "{" or dimension information.', hint: null },
    });
    const release = await rpc("release_steps", { p_worker_id: "holder", p_step_ids: "x" }, SERVICE_ROLE_KEY);
    expect(release.status).toBe(400);
    const steps = await admin`select status, locked_by from public.job_steps order by status`;
    expect(steps).toEqual([{ status: "pending", locked_by: null }, { status: "running", locked_by: "holder" }]);
  });

  it("applies a role's own statement_timeout to its requests (anon: 3 s), as PostgREST does", async () => {
    await admin`create or replace function public.test_stack_sleep(p_seconds float8) returns int language sql as 'select 1 from pg_sleep(p_seconds)'`;
    await admin`grant execute on function public.test_stack_sleep(float8) to anon`;
    try {
      const started = Date.now();
      const slow = await rpc("test_stack_sleep", { p_seconds: 5 }, ANON_KEY);
      expect(slow).toMatchObject({ status: 500, body: { code: "57014", message: "canceling statement due to statement timeout" } });
      expect(Date.now() - started).toBeLessThan(4_500);
      expect(await rpc("test_stack_sleep", { p_seconds: 0.1 }, ANON_KEY)).toEqual({ status: 200, body: 1 });
    } finally {
      await admin`drop function public.test_stack_sleep(float8)`;
    }
  });
});

describe("request bodies", () => {
  const nested = (depth: number) => `{"p_type":"leaseflow.sleep","p_payload":{"a":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
  async function post(path: string, body: string | Blob) {
    const response = await fetch(`${API_URL}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", apikey: SERVICE_ROLE_KEY, Authorization: `Bearer ${SERVICE_ROLE_KEY}` },
      body,
    });
    return { status: response.status, body: await response.json() };
  }

  it("refuses RPC arguments nested past the gateway's limit with 400 PGRST102 (it crashed with 500 past ~5 000), and leaves shallower ones to enqueue's own 400", async () => {
    expect(await post("/rest/v1/rpc/enqueue_job", nested(20_000))).toEqual({
      status: 400,
      body: { code: "PGRST102", message: "the body is nested more than 1000 levels deep (the local gateway's limit)", details: null, hint: null },
    });
    expect(await post("/rest/v1/rpc/enqueue_job", nested(500))).toMatchObject({ status: 400, body: { code: "22023" } });
    expect((await admin`select count(*)::int as n from public.jobs`)[0]!.n).toBe(0);
  });

  it("refuses a body over its limit (64 MiB) with 413 without buffering it, for RPC and functions alike", async () => {
    const huge = new Blob([" ".repeat(64 * 1024 * 1024 + 1)]);
    for (const path of ["/rest/v1/rpc/enqueue_job", "/functions/v1/jobs/jobs"]) {
      const answer = await post(path, huge);
      expect(answer).toEqual({ status: 413, body: { code: "PAYLOAD_TOO_LARGE", message: "the request body exceeds 67108864 bytes (the local gateway's limit)" } });
    }
  });
});

describe("the functions gateway", () => {
  it("passes a body sent with Expect: 100-continue on to the function (curl sends it above 1 MiB)", async () => {
    const payloads = Array.from({ length: 12 }, (_, i) => ({ chatId: `chat-e${i}`, messageId: `e${i}`, code: `export const x = "${"y".repeat(99_000)}";` }));
    const body = Buffer.from(JSON.stringify({ type: "build", payloads }));
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const status = await new Promise<number>((done, fail) => {
      const call = request(`${API_URL}/functions/v1/jobs/jobs`, {
        method: "POST",
        headers: { Authorization: `Bearer ${SERVICE_ROLE_KEY}`, "Content-Type": "application/json", "Content-Length": body.length, Expect: "100-continue" },
      }, (response) => {
        response.resume();
        done(response.statusCode ?? 0);
      });
      call.on("continue", () => call.end(body));
      call.on("error", fail);
    });
    expect(status).toBe(201);
  });

  it("starts a function process on the next free port when one in its range is taken (another stack's)", async () => {
    const taken = createServer();
    await new Promise<void>((ready) => taken.listen(0, "127.0.0.1", ready));
    const takenPort = (taken.address() as { port: number }).port;
    const host = new FunctionHost(ROOT, {
      SUPABASE_URL: API_URL, SUPABASE_ANON_KEY: ANON_KEY, SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY, SUPABASE_DB_URL: "postgresql://unused",
    }, takenPort, () => {});
    try {
      const instance = await host.acquire("jobs");
      expect(instance.port).not.toBe(takenPort);
      const answer = await fetch(`http://127.0.0.1:${instance.port}/jobs/jobs`, { headers: { Authorization: `Bearer ${SERVICE_ROLE_KEY}` } });
      expect(answer.status).not.toBe(502);
      instance.release();
    } finally {
      host.stopAll();
      taken.close();
    }
  });
});

describe("pg_net's delivery loop", () => {
  it("delivers requests again after Postgres restarts: the loop starts over with a backoff", async () => {
    const pgData = join(ROOT, ".stack/pg/data");
    const pgCtl = ["-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", pgData, "-l", join(ROOT, ".stack/pg/postgres.log"), "-m", "immediate", "-w", "-t", "60", "restart"];
    execFileSync("runuser", pgCtl, { stdio: "ignore" });
    const sql = connect();
    try {
      await waitFor("Postgres to accept connections", async () => {
        try {
          await sql`select 1`;
          return true;
        } catch {
          return false;
        }
      }, 30_000);
      const [queued] = await sql<{ id: string }[]>`select net.http_post(${`${API_URL}/health`}) as id`;
      await waitFor("the request to be delivered", async () =>
        (await sql`select 1 from net._http_response where id = ${queued!.id} and status_code = 200`).length === 1, 30_000);
    } finally {
      await sql.end();
    }
  });
});
