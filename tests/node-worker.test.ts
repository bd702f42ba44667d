import { spawn } from "node:child_process";
import type postgres from "postgres";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import {
  type Clock,
  IdleBackoff,
  type Logger,
  poll,
  PostgresTransport,
  readWorkerEnv,
} from "../supabase/functions/_shared/leaseflow/mod.ts";
import { createRegistry } from "../supabase/functions/_shared/examples/index.ts";

import { API_URL, DB_URL, SERVICE_ROLE_KEY, connect, emptyQueue, enqueueSleeps } from "./helpers/db.ts";

const admin = connect();
const transport = PostgresTransport.connect(DB_URL);
afterAll(async () => {
  await transport.close();
  await admin.end();
});
beforeEach(async () => {
  await emptyQueue(admin);
  // These tests run the drain themselves: the worker function woken by enqueue must not compete.
  await admin`update public.leaseflow_settings set max_invocations = 0`;
  await createRegistry().publish(transport);
});


describe("IdleBackoff", () => {
  it("waits 1 s, doubling to a 30 s cap, and starts over after a reset", () => {
    const backoff = new IdleBackoff(1_000, 30_000, 0.1, () => 0.5);
    expect(Array.from({ length: 7 }, () => backoff.next())).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    backoff.reset();
    expect(backoff.next()).toBe(1_000);
  });

  it("spreads each wait by ±10 %", () => {
    expect(new IdleBackoff(1_000, 30_000, 0.1, () => 0).next()).toBe(900);
    expect(new IdleBackoff(1_000, 30_000, 0.1, () => 0.999999).next()).toBe(1_100);
  });
});

describe("poll", () => {
  it("backs off while the queue is empty and returns to 1 s as soon as work is found", async () => {
    const stop = new AbortController();
    const waits: number[] = [];
    const lines: string[] = [];
    const clock: Clock = {
      now: () => Date.now(),
      sleep: async (ms) => {
        waits.push(ms);
        if (waits.length === 4) await enqueueSleeps(admin, 1, 0);
        if (waits.length === 6) stop.abort();
      },
    };
    const log: Logger = { info: (message) => lines.push(message), warn: () => {}, error: () => {} };

    const summary = await poll({
      workerId: "poll-backoff",
      transport,
      registry: createRegistry(),
      clock,
      log,
      stopSignal: stop.signal,
      idle: { jitter: 0 },
    });

    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 1_000, 2_000]);
    expect(lines).toContain("No work available. Backing off for 8000ms...");
    expect(summary).toMatchObject({ claimed: 1, completed: 1, stoppedBy: "stop" });
    const [worker] = await admin`select kind, stopped_at is not null as stopped, metadata -> 'summary' ->> 'completed' as completed from public.workers`;
    expect(worker).toEqual({ kind: "node", stopped: true, completed: "1" });
  });
});

describe("npm run worker (a real process)", () => {
  it("on SIGTERM stops claiming, finishes the steps in flight, releases the rest and exits 0", async () => {
    await enqueueSleeps(admin, 10, 1_500);
    const child = spawn("node_modules/.bin/tsx", ["node/worker.ts"], {
      env: { ...process.env, SUPABASE_DB_URL: DB_URL, LEASEFLOW_BATCH_SIZE: "2", LEASEFLOW_CONCURRENCY: "2", LEASEFLOW_LOG_LEVEL: "debug" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

    // Wait until it has claimed its first batch, then ask it to stop.
    const deadline = Date.now() + 20_000;
    while ((output.match(/Claimed step/g) ?? []).length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(output).toMatch(/leaseflow worker node-\S+ starting/);
    child.kill("SIGTERM");
    const code = await exited;

    expect(code).toBe(0);
    expect(output).toContain("SIGTERM: no more claims; finishing the steps in flight");
    expect((output.match(/Completed step/g) ?? []).length).toBe(2);
    const [counts] = await admin`
      select count(*) filter (where status = 'completed')::int as completed,
             count(*) filter (where status = 'pending' and attempt = 0)::int as untouched,
             count(*) filter (where status = 'running')::int as running
        from public.all_steps`;
    expect(counts).toEqual({ completed: 2, untouched: 8, running: 0 });
    const [worker] = await admin`select stopped_at is not null as stopped from public.workers`;
    expect(worker).toEqual({ stopped: true });
  });

  it("drains 1 200 jobs of 150 KiB payloads inside a 128 MB heap (held steps bounded by LEASEFLOW_MAX_HELD_MB)", async () => {
    // 180 MB of payloads: held all at once (a deep prefetch for fast handlers), or kept alive after
    // they ran, they do not fit.
    for (let call = 0; call < 3; call++) {
      await admin`select count(*) from public.enqueue_jobs('leaseflow.sleep',
        (select jsonb_agg(jsonb_build_object('ms', 0, 'blob', repeat('x', 150 * 1024))) from generate_series(1, 400)))`;
    }
    const child = spawn("node_modules/.bin/tsx", ["node/worker.ts"], {
      env: { ...process.env, SUPABASE_DB_URL: DB_URL, NODE_OPTIONS: "--max-old-space-size=128", LEASEFLOW_CONCURRENCY: "32" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    let done = 0;
    const deadline = Date.now() + 60_000;
    while (done < 1_200 && child.exitCode === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const [row] = await admin<{ done: number }[]>`select count(*)::int as done from public.jobs where status = 'completed'`;
      done = row!.done;
    }
    child.kill("SIGTERM");
    const code = await exited;

    expect(output).not.toContain("heap out of memory");
    expect(done).toBe(1_200);
    expect(code).toBe(0);
  });

  it("runs over the API transport too (LEASEFLOW_TRANSPORT=api)", async () => {
    await enqueueSleeps(admin, 3, 0);
    const env: Record<string, string | undefined> = {
      ...process.env,
      LEASEFLOW_TRANSPORT: "api",
      LEASEFLOW_LOG_LEVEL: "debug",
      SUPABASE_URL: API_URL,
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY,
    };
    delete env.SUPABASE_DB_URL;
    const child = spawn("node_modules/.bin/tsx", ["node/worker.ts"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const deadline = Date.now() + 20_000;
    while ((output.match(/Completed step/g) ?? []).length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output).toContain("transport=api");
    const [counts] = await admin`select count(*) filter (where status = 'completed')::int as completed from public.jobs`;
    expect(counts).toEqual({ completed: 3 });
  });

  it("refuses to start without a database URL, naming every bad setting", async () => {
    expect(() => readWorkerEnv((name) => ({ LEASEFLOW_BATCH_SIZE: "0", LEASEFLOW_MAX_HELD_MB: "0.5" })[name])).toThrow(
      "leaseflow worker settings:\n  - SUPABASE_DB_URL (or LEASEFLOW_DB_URL) is not set\n  - LEASEFLOW_BATCH_SIZE must be an integer from 1 to 1000, got \"0\"" +
        "\n  - LEASEFLOW_MAX_HELD_MB must be an integer from 1 to 4096, got \"0.5\"",
    );
    expect(readWorkerEnv((name) => ({ SUPABASE_DB_URL: DB_URL, LEASEFLOW_MAX_HELD_MB: "8" })[name]).maxHeldBytes).toBe(8 * 2 ** 20);
    expect(readWorkerEnv((name) => ({ SUPABASE_DB_URL: DB_URL })[name]).maxHeldBytes).toBe(32 * 2 ** 20);
    const env = { ...process.env };
    delete env.SUPABASE_DB_URL;
    delete env.LEASEFLOW_DB_URL;
    delete env.SUPABASE_URL;
    const child = spawn("node_modules/.bin/tsx", ["node/worker.ts"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(stderr).toContain("SUPABASE_DB_URL (or LEASEFLOW_DB_URL) is not set");
  });
});
