import { spawn } from "node:child_process";
import type postgres from "postgres";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import {
  constantTimeEqual,
  createWorkerHandler,
  type EdgePlatform,
  PostgresTransport,
  silentLogger,
} from "../supabase/functions/_shared/leaseflow/mod.ts";
import { createRegistry } from "../supabase/functions/_shared/examples/index.ts";

import { DB_URL, SERVICE_ROLE_KEY, connect, emptyQueue, enqueueSleeps, waitFor, withTickPaused } from "./helpers/db.ts";

const SECRET = "test-worker-secret-0123456789";
const admin = connect();
const transports: PostgresTransport[] = [];
afterAll(async () => {
  await Promise.all(transports.map((transport) => transport.close()));
  await admin.end();
});
beforeEach(async () => {
  await emptyQueue(admin);
  // These tests run the drain themselves: the worker function woken by enqueue must not compete.
  await admin`update public.leaseflow_settings set max_invocations = 0`;
});


function platform(overrides: Partial<EdgePlatform> & { vars?: Record<string, string> } = {}): EdgePlatform & { shutdown(): void } {
  const listeners: ((reason: string) => void)[] = [];
  // No idle grace: these tests are about one drain, not about waiting for more work.
  const vars = overrides.vars ?? { SUPABASE_DB_URL: DB_URL, LEASEFLOW_WORKER_SECRET: SECRET, LEASEFLOW_IDLE_GRACE_MS: "0" };
  return {
    env: (name) => vars[name],
    onShutdown: (listener) => listeners.push(listener),
    registry: createRegistry(),
    log: silentLogger,
    createTransport: (env) => {
      const transport = PostgresTransport.connect(env.dbUrl, { maxConnections: 2 });
      transports.push(transport);
      return transport;
    },
    shutdown: () => listeners.forEach((listener) => listener("wall clock")),
    ...overrides,
  };
}

const post = (secret?: string) =>
  new Request("http://localhost/functions/v1/worker", {
    method: "POST",
    headers: secret === undefined ? {} : { Authorization: `Bearer ${secret}` },
  });

/** A platform whose CPU clock advances by what `charge` says each claim cost, with a CPU budget
 * of 100 ms and `tick()` counted instead of run. */
function cpuMetered(charge: (usedMs: number, steps: number) => number) {
  const meter = { cpuMs: 0, ticks: 0 };
  const host = platform({
    vars: { SUPABASE_DB_URL: DB_URL, LEASEFLOW_WORKER_SECRET: SECRET, LEASEFLOW_IDLE_GRACE_MS: "0", LEASEFLOW_CPU_BUDGET_MS: "100" },
    cpuTimeMs: () => meter.cpuMs,
    createTransport: (env) => {
      const transport = PostgresTransport.connect(env.dbUrl, { maxConnections: 2 });
      transports.push(transport);
      const spy: typeof transport = Object.create(transport);
      spy.claimSteps = async (params) => {
        const steps = await transport.claimSteps(params);
        meter.cpuMs += charge(meter.cpuMs, steps.length);
        return steps;
      };
      spy.tick = async () => void meter.ticks++;
      return spy;
    },
  });
  return { host, meter };
}

describe("the worker function's handler", () => {
  it("registers with the wake-up id from the body, so tick() stops counting that wake-up", async () => {
    await admin`delete from public.worker_wakeups`;
    const [wakeup] = await admin<{ id: string }[]>`insert into public.worker_wakeups (reason) values ('enqueue') returning id`;
    const [before] = await admin<{ live: number }[]>`select public._live_invocations() as live`;
    expect(before?.live).toBe(1);
    const response = await createWorkerHandler(platform())(new Request("http://localhost/functions/v1/worker", {
      method: "POST",
      headers: { Authorization: `Bearer ${SECRET}`, "Content-Type": "application/json" },
      body: JSON.stringify({ reason: "enqueue", wakeup_id: Number(wakeup!.id) }),
    }));
    expect(response.status).toBe(200);
    const [worker] = await admin`select metadata ->> 'wakeup_id' as wakeup_id from public.workers`;
    expect(worker).toEqual({ wakeup_id: String(wakeup!.id) });
    // Answered (and the invocation stopped): the wake-up no longer counts as on its way.
    const [after] = await admin<{ live: number }[]>`select public._live_invocations() as live`;
    expect(after?.live).toBe(0);
  });

  it("drains before answering where there is no waitUntil, and reports the summary", async () => {
    await enqueueSleeps(admin, 5, 0);
    const response = await createWorkerHandler(platform())(post(SECRET));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.ok).toBe(true);
    expect(body.data.summary).toMatchObject({ claimed: 5, completed: 5, stoppedBy: "idle" });
    expect(body.data.worker_id).toBe(`edge-${body.data.invocation_id}`);
    const [worker] = await admin`select kind, stopped_at is not null as stopped, metadata -> 'summary' ->> 'completed' as completed from public.workers`;
    expect(worker).toEqual({ kind: "edge", stopped: true, completed: "5" });
  });

  it("answers 202 at once and drains inside waitUntil where the platform has it", async () => {
    await enqueueSleeps(admin, 3, 200);
    const background: Promise<unknown>[] = [];
    const response = await createWorkerHandler(platform({ waitUntil: (work) => background.push(work) }))(post(SECRET));
    expect(response.status).toBe(202);
    const body = await response.json();
    expect(body).toMatchObject({ ok: true, data: { invocation_id: expect.any(String) } });
    expect(background).toHaveLength(1);
    await background[0];
    const [counts] = await admin`select count(*) filter (where status = 'completed')::int as completed from public.jobs`;
    expect(counts).toEqual({ completed: 3 });
  });

  it("stays inside its CPU budget: stops claiming, settles what it holds, and wakes the next invocation", async () => {
    await enqueueSleeps(admin, 300, 0);
    // Every step the worker starts costs it 1 ms of CPU, as the platform would report.
    const { host, meter } = cpuMetered((_, steps) => steps);
    const body = await (await createWorkerHandler(host)(post(SECRET))).json();

    expect(body.data.summary.stoppedBy).toBe("cpu");
    expect(body.data.summary.claimed).toBeLessThanOrEqual(100);
    expect(body.data.summary.claimed).toBeGreaterThan(50);
    // What it claimed, the budget already counted: every step it holds runs, none goes back.
    expect(body.data.summary.completed).toBe(body.data.summary.claimed);
    expect(body.data.summary.released).toBe(0);
    expect(meter.ticks).toBe(1);
    const [counts] = await admin`
      select count(*) filter (where status = 'completed')::int as completed,
             count(*) filter (where status = 'pending' and attempt = 0)::int as untouched from public.all_steps`;
    expect(counts).toEqual({ completed: body.data.summary.completed, untouched: 300 - body.data.summary.completed });
  });

  it("does not stop for CPU on its first steps' warm-up: the estimate falls as steps finish", async () => {
    // Steps of 2 ms, so that claimed steps are still held when the worker weighs its next claim.
    await enqueueSleeps(admin, 1_000, 2);
    // Half the budget goes on the first claim (compiling, connecting), then 0.01 ms a step: the
    // budget affords about 5 000 steps, though the first ones seem to cost 5 ms each.
    const { host, meter } = cpuMetered((usedMs, steps) => (usedMs === 0 ? 50 : 0) + steps * 0.01);
    const body = await (await createWorkerHandler(host)(post(SECRET))).json();

    expect(body.data.summary).toMatchObject({ claimed: 1_000, completed: 1_000, stoppedBy: "idle" });
    expect(meter.cpuMs).toBeLessThanOrEqual(100);
  });

  it("on the platform's shutdown notice, stops claiming and releases the steps in flight", async () => {
    await enqueueSleeps(admin, 3, 10_000);
    const host = platform();
    const answering = createWorkerHandler(host)(post(SECRET));
    await new Promise((resolve) => setTimeout(resolve, 500));
    host.shutdown();
    const body = await (await answering).json();
    expect(body.data.summary).toMatchObject({ claimed: 3, completed: 0, released: 3, stoppedBy: "abort" });
    const [counts] = await admin`select count(*) filter (where status = 'pending' and attempt = 0)::int as pending from public.all_steps`;
    expect(counts).toEqual({ pending: 3 });
  });

  it("refuses requests without the worker secret, other methods, and a misconfigured instance", async () => {
    const handle = createWorkerHandler(platform());
    for (const secret of [undefined, "", "wrong-secret-0123456789", `${SECRET}x`]) {
      const response = await handle(post(secret));
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        ok: false,
        error: { code: "unauthorized", message: "Authorization: Bearer <LEASEFLOW_WORKER_SECRET> is required" },
      });
    }
    const get = await handle(new Request("http://localhost/functions/v1/worker"));
    expect(get.status).toBe(405);
    expect(get.headers.get("Allow")).toBe("POST");

    const misconfigured = await createWorkerHandler(platform({ vars: { LEASEFLOW_WORKER_SECRET: "short" } }))(post("short"));
    expect(misconfigured.status).toBe(503);
    expect((await misconfigured.json()).error).toEqual({
      code: "misconfigured",
      message:
        "leaseflow worker settings:\n  - SUPABASE_DB_URL (or LEASEFLOW_DB_URL) is not set\nLEASEFLOW_WORKER_SECRET must be set to a secret of at least 16 characters",
    });
    expect(await admin`select 1 from public.workers`).toHaveLength(0);
  });

  it("a hung invocation stops renewing its leases and heartbeating a lease after its budget, so its steps go to others and tick() counts it lost", () => withTickPaused(admin, async () => {
    await enqueueSleeps(admin, 1, 0);
    const host = platform({
      vars: {
        SUPABASE_DB_URL: DB_URL, LEASEFLOW_WORKER_SECRET: SECRET, LEASEFLOW_IDLE_GRACE_MS: "0",
        // Claims stop a lease and a 5 s margin before the budget ends: 2 s of claiming here.
        LEASEFLOW_BUDGET_MS: "8000", LEASEFLOW_LEASE_MS: "1000",
      },
      createTransport: (env) => {
        const transport = PostgresTransport.connect(env.dbUrl, { maxConnections: 2 });
        transports.push(transport);
        const spy: typeof transport = Object.create(transport);
        // A completion write that never returns: the drain holds its step forever.
        spy.completeSteps = () => new Promise(() => {});
        return spy;
      },
    });
    void createWorkerHandler(host)(post(SECRET));
    await waitFor("the step to be held", async () => (await admin`select 1 from public.all_steps where status = 'running'`).length === 1, 10_000, 50);

    // Budget (8 s) and a lease (1 s) after the start, renewals and heartbeats stop: both go stale.
    await waitFor("the lease to lapse and the heartbeat to go stale", async () => {
      const [row] = await admin<{ lapsed: boolean; silent: boolean }[]>`
        select (select lease_expires_at < now() - interval '500 milliseconds' from public.all_steps where status = 'running') as lapsed,
               (select last_heartbeat_at < now() - interval '1 second' from public.workers where kind = 'edge') as silent`;
      return row!.lapsed === true && row!.silent === true;
    }, 20_000, 100);
    // Another worker may now take the step.
    const taken = await admin`select step_id from public.claim_steps('rescuer', '1 minute', 10)`;
    expect(taken).toHaveLength(1);
    // And tick() counts the silent invocation lost (with a live window of 1 s instead of 30).
    await admin`update public.leaseflow_settings set live_worker_window = '1 second'`;
    try {
      const [tick] = await admin<{ result: { invocations_lost: number } }[]>`select public.tick() as result`;
      expect(tick!.result.invocations_lost).toBe(1);
      const [worker] = await admin`select metadata ->> 'stopped_by' as stopped_by from public.workers where kind = 'edge'`;
      expect(worker).toEqual({ stopped_by: "lost" });
    } finally {
      await admin`update public.leaseflow_settings set live_worker_window = '30 seconds'`;
    }
  }), 30_000);

  it("compares secrets: equal only when identical (empty, a prefix, one longer, one character off)", () => {
    expect(constantTimeEqual(SECRET, SECRET)).toBe(true);
    expect(constantTimeEqual("", SECRET)).toBe(false);
    expect(constantTimeEqual(SECRET.slice(0, -1), SECRET)).toBe(false);
    expect(constantTimeEqual(`${SECRET}!`, SECRET)).toBe(false);
    expect(constantTimeEqual(SECRET.replace(/.$/, "?"), SECRET)).toBe(false);
  });
});

describe("supabase/functions/worker/index.ts under Deno", () => {
  it("serves POSTs: 401 without the secret, 200 with the drain's summary with it", async () => {
    await enqueueSleeps(admin, 4, 0);
    const port = 8930 + Math.floor(Math.random() * 50);
    const child = spawn("node_modules/.bin/deno", ["run", "--allow-net", "--allow-env", "--allow-read", "supabase/functions/worker/index.ts"], {
      env: {
        ...process.env,
        DENO_DIR: ".deno",
        DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}`,
        SUPABASE_DB_URL: DB_URL,
        LEASEFLOW_WORKER_SECRET: SECRET,
        LEASEFLOW_IDLE_GRACE_MS: "0",
        NO_COLOR: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    try {
      const deadline = Date.now() + 30_000;
      while (!output.includes("Listening on") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(output).toContain(`Listening on http://127.0.0.1:${port}/`);

      const refused = await fetch(`http://127.0.0.1:${port}/`, { method: "POST" });
      expect(refused.status).toBe(401);
      const served = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers: { Authorization: `Bearer ${SECRET}` } });
      expect(served.status).toBe(200);
      const body = await served.json();
      expect(body.data.summary).toMatchObject({ claimed: 4, completed: 4 });
    } finally {
      child.kill("SIGTERM");
    }
  });
});
