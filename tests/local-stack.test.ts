// The local stack's stand-ins behave as Supabase does where the product and its tests rely on it:
// PostgREST's array arguments, defaults and per-role statement timeouts, its reads of tables and views, Supabase Auth's password sign-in, bounded and deeply nested request
// bodies, a function call sent with `Expect: 100-continue`, pg_net's delivery through a Postgres restart, and function processes
// that find free ports next to another stack.
import { execFileSync } from "node:child_process";
import { request } from "node:http";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FunctionHost } from "../scripts/local/gateway/functions.ts";
import { LOCAL_JWT_SECRET, signJwt } from "../scripts/local/gateway/jwt.ts";
import { ALICE, appSupabase, BOB, publishExampleTypes } from "./helpers/apps.ts";
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
    const steps = await admin`select status, locked_by from public.all_steps order by status`;
    expect(steps).toEqual([{ status: "pending", locked_by: null }, { status: "running", locked_by: "holder" }]);
  });

  it("calls a function given no arguments with all its defaults (it answered 400 42P18), and one given some with the rest", async () => {
    await insertOneStepJobs(admin, 3);
    const none = await rpc("job_stats", {}, SERVICE_ROLE_KEY);
    expect(none.status).toBe(200);
    expect(none.body).toMatchObject({ type: null, totals: { all: 3 } });
    const some = await rpc("job_stats", { p_type: "no.such.type" }, SERVICE_ROLE_KEY);
    expect(some).toMatchObject({ status: 200, body: { type: "no.such.type", totals: { all: 0 } } });
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

describe("PostgREST's table and view reads", () => {
  const USER_A = "aaaaaaaa-0000-4000-8000-00000000000a";
  const USER_B = "bbbbbbbb-0000-4000-8000-00000000000b";
  // supabase-js, as an app holding `key` (a user's JWT, the service-role or the anon key) has it.
  const client = (key: string) => appSupabase(key);
  const userKey = (sub: string) => signJwt({ sub, role: "authenticated", exp: Math.floor(Date.now() / 1000) + 600 }, LOCAL_JWT_SECRET);

  beforeEach(async () => {
    // Six finished jobs: types mail.a, mail.b, sms; priorities 1..5; three per tenant.
    await admin`
      insert into public.jobs (type, status, priority, tenant_id, finished_at, payload)
      select t.type, 'completed', t.priority, t.tenant::uuid, now(), jsonb_build_object('n', t.n)
        from (values ('mail.a', 1, ${USER_A}, 1), ('mail.b', 2, ${USER_A}, 2), ('sms', 3, ${USER_A}, 3),
                     ('mail.a', 4, ${USER_B}, 4), ('mail.b', 5, ${USER_B}, 5), ('sms', 5, ${USER_B}, 6)) t(type, priority, tenant, n)`;
  });

  it("selects columns with eq, in, gte, lte and like filters, order, a range and an exact count, as supabase-js sends them", async () => {
    const service = client(SERVICE_ROLE_KEY);
    const page = await service.from("jobs").select("type, priority", { count: "exact" })
      .like("type", "mail*").gte("priority", 2).lte("priority", 5)
      .order("priority", { ascending: false }).order("type").range(0, 1);
    expect(page.error).toBeNull();
    expect(page.count).toBe(3);
    expect(page.data).toEqual([{ type: "mail.b", priority: 5 }, { type: "mail.a", priority: 4 }]);
    expect(page.status).toBe(206);

    const rest = await service.from("jobs").select("type, priority").like("type", "mail*").gte("priority", 2)
      .order("priority", { ascending: false }).range(2, 9);
    expect(rest.data).toEqual([{ type: "mail.b", priority: 2 }]);
    const chosen = await service.from("jobs").select("payload").in("type", ["sms", "mail.b"]).eq("priority", 5).order("type");
    expect(chosen.data).toEqual([{ payload: { n: 5 } }, { payload: { n: 6 } }]);
    const counted = await service.from("jobs").select("*", { count: "exact", head: true }).not("type", "eq", "sms");
    expect([counted.status, counted.count, counted.data]).toEqual([200, 4, null]);
    const one = await service.from("jobs").select("type").eq("priority", 1).single();
    expect(one.data).toEqual({ type: "mail.a" });
  });

  it("reads as the caller's role: a user sees only its tenant's rows (RLS), a view too, and anon nothing (401)", async () => {
    const mine = await client(userKey(USER_A)).from("jobs").select("tenant_id, type").order("priority");
    expect(mine.data).toEqual([{ tenant_id: USER_A, type: "mail.a" }, { tenant_id: USER_A, type: "mail.b" }, { tenant_id: USER_A, type: "sms" }]);
    const stats = await client(userKey(USER_B)).from("queue_stats").select("type, completed").order("type");
    expect(stats.data).toEqual([{ type: "mail.a", completed: 1 }, { type: "mail.b", completed: 1 }, { type: "sms", completed: 1 }]);
    const anon = await client(ANON_KEY).from("jobs").select("id");
    expect([anon.status, anon.error?.code]).toEqual([401, "42501"]);
  });

  it("answers what it cannot serve with PostgREST's errors: unknown table 404 PGRST205, unknown column 400 42703, a bad filter or an embedding 400 PGRST100, .single() over two rows 406 PGRST116", async () => {
    const service = client(SERVICE_ROLE_KEY);
    const table = await service.from("nope" as "jobs").select("*");
    expect([table.status, table.error?.code, table.error?.message]).toEqual([404, "PGRST205", "Could not find the table 'public.nope' in the schema cache"]);
    const columnError = await service.from("jobs").select("nope");
    expect([columnError.status, columnError.error?.code, columnError.error?.message]).toEqual([400, "42703", "column jobs.nope does not exist"]);
    const filter = await service.from("jobs").select("id").filter("priority", "between", "(1,2)");
    expect([filter.status, filter.error?.code]).toEqual([400, "PGRST100"]);
    const embedded = await service.from("jobs").select("id, job_steps(id)");
    expect([embedded.status, embedded.error?.code]).toEqual([400, "PGRST100"]);
    const single = await service.from("jobs").select("id").eq("type", "sms").single();
    expect([single.status, single.error?.code]).toEqual([406, "PGRST116"]);
    const past = await service.from("jobs").select("id", { count: "exact" }).range(10, 19);
    expect([past.status, past.error?.code]).toEqual([416, "PGRST103"]);
  });
});

describe("Supabase Auth's password sign-in slice", () => {
  const appClient = () => appSupabase();

  it("signs a seeded demo user in with supabase-js: a session whose token PostgREST takes, so RLS shows only that user's jobs", async () => {
    await admin`
      insert into public.jobs (type, status, tenant_id, finished_at)
      values ('mail', 'completed', ${ALICE.id}, now()), ('mail', 'completed', ${BOB.id}, now())`;
    const supabase = appClient();
    const { data, error } = await supabase.auth.signInWithPassword({ email: ALICE.email, password: ALICE.password });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ id: ALICE.id, email: ALICE.email, role: "authenticated" });
    expect(data.session).toMatchObject({ token_type: "bearer", expires_in: 3600 });
    const jobs = await supabase.from("jobs").select("tenant_id");
    expect(jobs.data).toEqual([{ tenant_id: ALICE.id }]);
    const user = await supabase.auth.getUser();
    expect(user.data.user?.id).toBe(ALICE.id);
  });

  it("refuses a wrong password (400 invalid_credentials) and an unknown email alike, and writes no session", async () => {
    const before = await admin`select count(*)::int as n from auth.sessions`;
    for (const [email, password] of [[ALICE.email, "wrong"], ["nobody@example.com", ALICE.password]]) {
      const { data, error } = await appClient().auth.signInWithPassword({ email: email!, password: password! });
      expect(data.session).toBeNull();
      expect([error?.status, error?.code, error?.message]).toEqual([400, "invalid_credentials", "Invalid login credentials"]);
    }
    expect(await admin`select count(*)::int as n from auth.sessions`).toEqual(before);
  });

  it("refreshes a session once per refresh token, and ends it on sign-out: its refresh token and getUser are refused after", async () => {
    const supabase = appClient();
    const { data } = await supabase.auth.signInWithPassword({ email: ALICE.email, password: ALICE.password });
    const first = data.session!;
    const refreshed = await supabase.auth.refreshSession({ refresh_token: first.refresh_token });
    expect(refreshed.error).toBeNull();
    expect(refreshed.data.session?.refresh_token).not.toBe(first.refresh_token);
    const reused = await appClient().auth.refreshSession({ refresh_token: first.refresh_token });
    expect(reused.error?.code).toBe("refresh_token_already_used");

    const token = refreshed.data.session!.access_token;
    expect((await supabase.auth.signOut()).error).toBeNull();
    // Auth answers 403 session_not_found, which supabase-js reports as a missing session.
    const after = await appClient().auth.getUser(token);
    expect(after.error?.name).toBe("AuthSessionMissingError");
    const again = await appClient().auth.refreshSession({ refresh_token: refreshed.data.session!.refresh_token });
    expect(again.error?.code).toBe("refresh_token_not_found");
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
  // The jobs function enqueues only types a worker has published (a fresh reset has none).
  beforeAll(publishExampleTypes);

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
