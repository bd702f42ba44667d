import { createServer as createHttpServer } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import type postgres from "postgres";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  drain,
  isTransientError,
  LeaseLostError,
  PermanentError,
  PostgresTransport,
  Registry,
  RetryAfterError,
  ShutdownError,
  type ClaimedStep,
  type StepContext,
  StepTimeoutError,
  SupabaseTransport,
  TransientError,
  systemClock,
  type Clock,
  type Transport,
  workerConnectionSettings,
} from "../supabase/functions/_shared/leaseflow/mod.ts";
import { jsonSizeEstimate } from "../supabase/functions/_shared/leaseflow/running.ts";
import { sqlInteger, sqlLiteral } from "../supabase/functions/_shared/leaseflow/transports/postgres.ts";
import { API_URL, DB_URL, SERVICE_ROLE_KEY, connect, emptyQueue, waitFor } from "./helpers/db.ts";

const admin = connect();
const postgresTransport = PostgresTransport.connect(DB_URL);
// The same suite over both transports: the direct connection, and supabase-js through the
// local API gateway (PostgREST's RPC), as a worker outside the database network would run.
const TRANSPORTS: [string, Transport][] = [
  ["postgres.js", postgresTransport],
  [
    "supabase-js",
    SupabaseTransport.connect(
      API_URL,
      SERVICE_ROLE_KEY,
    ),
  ],
];
afterAll(async () => {
  await postgresTransport.close();
  await admin.end();
});
beforeEach(() => emptyQueue(admin, { edgeWorkersOff: true }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A handler that waits `ms` unless its signal aborts, recording the abort reason it got. */
function waitRecordingAborts(ms: number, reasons: unknown[]) {
  return async (ctx: StepContext) => {
    try {
      await sleepUnlessAborted(ms, ctx.signal);
    } catch (reason) {
      reasons.push(reason);
      throw reason;
    }
  };
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

async function enqueue(type: string, payloads: Record<string, unknown>[]): Promise<string[]> {
  const rows = await admin<{ id: string }[]>`
    select id from public.enqueue_jobs(${type}, ${admin.json(payloads as postgres.JSONValue)}) as id`;
  return rows.map((row) => row.id);
}

async function stepRows(type: string) {
  return admin<{ status: string; attempt: number; run_at: Date; error: { code?: string; message?: string } | null; name: string }[]>`
    select s.status, s.attempt, s.run_at, s.error, s.name
      from public.all_steps s join public.jobs j on j.id = s.job_id
     where j.type = ${type} order by j.enqueue_order, s.seq, s.step_order`;
}

describe("PostgresTransport's connections", () => {
  it("give up a connection attempt the server never answers after connectTimeoutMs, and the call fails instead of waiting", async () => {
    // A server that accepts the connection and never says a word, like one stuck in its startup.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    const stuck = PostgresTransport.connect(`postgresql://postgres:postgres@127.0.0.1:${port}/postgres`, { connectTimeoutMs: 500 });
    try {
      const started = Date.now();
      const failure = await stuck.claimSteps({ workerId: "rt-stuck", leaseMs: 1_000, limit: 1 }).catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: "CONNECT_TIMEOUT" });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await stuck.close();
      silent.close();
    }
  });

  // A client whose every query stays unsettled, as postgres.js leaves one whose connection the
  // server terminated while the query was being sent (scripts/bench/pg-stranded.ts shows it).
  const strandedClient = () => {
    const unanswered = () => new Promise<never>(() => {});
    const client = Object.assign(unanswered, { unsafe: unanswered, json: (value: unknown) => value, ended: 0, end: async () => { client.ended++; } });
    return client;
  };

  it("fail a call that gets no answer in callTimeoutMs with a transient error, and send the next call over a new pool", async () => {
    const stranded = strandedClient();
    const fresh = connect({ max: 1 });
    const transport = new PostgresTransport(stranded as unknown as postgres.Sql, true, { callTimeoutMs: 300, reopen: () => fresh });
    try {
      const failure = await transport.claimSteps({ workerId: "rt-stranded", leaseMs: 1_000, limit: 1, types: ["rt.none"] }).catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: "CALL_TIMEOUT", message: "claim_steps: no answer from Postgres in 300 ms (callTimeoutMs); its connection pool was replaced" });
      expect(isTransientError(failure)).toBe(true);
      // The stranded pool is ended (in the background) and the next call answers, on the new one.
      expect(stranded.ended).toBe(1);
      expect(transport.sql).toBe(fresh);
      expect(await transport.nextClaimableAt(["rt.none"])).toBeNull();
    } finally {
      await transport.close();
    }
  });

  it("fail a call on a client it was given after callTimeoutMs too, and keep that client", async () => {
    const stranded = strandedClient();
    const transport = new PostgresTransport(stranded as unknown as postgres.Sql, false, { callTimeoutMs: 300 });
    const failure = await transport.heartbeatWorker("rt-stranded").catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: "CALL_TIMEOUT", message: "heartbeat_worker: no answer from Postgres in 300 ms (callTimeoutMs)" });
    expect(stranded.ended).toBe(0);
    expect(transport.sql).toBe(stranded);
  });

  it("over the API too: a call with no answer in callTimeoutMs is aborted and fails with a transient error", async () => {
    // An API that accepts the request and never answers.
    const silent = createHttpServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const transport = SupabaseTransport.connect(`http://127.0.0.1:${port}`, SERVICE_ROLE_KEY, { callTimeoutMs: 300 });
      const failure = await transport.claimSteps({ workerId: "rt-stranded", leaseMs: 1_000, limit: 1 }).catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: "CALL_TIMEOUT", message: "claim_steps: no answer from the API in 300 ms (callTimeoutMs)" });
      expect(isTransientError(failure)).toBe(true);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it("wait at most maxReconnectDelayMs between reconnection attempts, on postgres.js's curve below it", () => {
    const settings = workerConnectionSettings({ maxReconnectDelayMs: 2_000, connectTimeoutMs: 5_000 });
    expect(settings.connect_timeout).toBe(5);
    for (let retries = 0; retries < 20; retries++) expect(settings.backoff(retries)).toBeLessThanOrEqual(2);
    expect(settings.backoff(20)).toBe(2);
    // postgres.js's own: 3^retries / 100 s, between half and all of it.
    expect(settings.backoff(2)).toBeGreaterThanOrEqual(0.045);
    expect(settings.backoff(2)).toBeLessThanOrEqual(0.09);
  });
});

describe("PostgresTransport's literals (the drain's calls carry their values in the statement's text)", () => {
  const awkward = ["", "plain", "it's", "''", "\\", "\\'", "'; select pg_sleep(10); --", "E'\\x41'", "$$ $tag$ $1",
    "line\nbreak\ttab\r", "😀 ünïcödé", "\\u0000 spelled out", "\\\\''\\'", "a".repeat(100_000)];

  it("read back as the very string they were made of, with standard_conforming_strings on and off", async () => {
    for (const setting of ["on", "off"]) {
      const [row] = await admin.begin(async (tx) => {
        await tx.unsafe(`set local standard_conforming_strings = ${setting}`);
        return tx.unsafe(`select ${awkward.map((text, n) => `${sqlLiteral(text)} as v${n}`).join(", ")}`);
      });
      expect(Object.values(row!)).toEqual(awkward);
    }
  });

  it("refuse a NUL character and anything but a safe integer, naming the value", () => {
    expect(() => sqlLiteral("worker\0x")).toThrow('a value sent to Postgres must not contain a NUL character, got "worker\\u0000x"');
    expect(() => sqlInteger(1.5)).toThrow("expected an integer, got 1.5");
    expect(() => sqlInteger(Number.NaN)).toThrow("expected an integer, got NaN");
  });

  it("carry a worker id with quotes and backslashes through claims, completions and failures", async () => {
    const registry = new Registry().define({
      type: "rt.quoted",
      steps: ["go"],
      handlers: { go: (ctx) => { if (ctx.payload.fail) throw new PermanentError("no"); return { n: ctx.payload.n }; } },
    });
    await registry.publish(postgresTransport);
    await enqueue("rt.quoted", [{ n: 1 }, { n: 2 }, { fail: true }]);
    const workerId = "rt-it's a \\ worker'); --";

    const summary = await drain({ workerId, transport: postgresTransport, registry, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 3, completed: 2, failed: 1 });
    const jobs = await admin<{ status: string; completed_by: string | null; result: unknown }[]>`
      select status, completed_by, result from public.jobs where type = 'rt.quoted' order by enqueue_order`;
    expect(jobs).toEqual([
      { status: "completed", completed_by: workerId, result: { n: 1 } },
      { status: "completed", completed_by: workerId, result: { n: 2 } },
      { status: "failed", completed_by: null, result: null },
    ]);
    const [attempt] = await admin<{ worker_id: string; outcome: string }[]>`
      select a.worker_id, a.outcome from public.step_attempts a join public.jobs j on j.id = a.job_id where j.type = 'rt.quoted'`;
    expect(attempt).toEqual({ worker_id: workerId, outcome: "failed" });
  });
});

it("PostgresTransport reads each call's rows whole after a statement on its connection was cut off mid-rows (postgres.js leaves empty slots: porsager/postgres#1119)", async () => {
  const sql = connect({ max: 1, prepare: false });
  const transport = new PostgresTransport(sql);
  // Three rows, then division by zero: the next statement on this one connection is the one read.
  const cutOff = () => sql.unsafe("select i, 1 / (4 - i) from generate_series(1, 10) i").catch(() => undefined);
  try {
    await cutOff();
    // The driver's fault the transport reads around: if this fails, postgres.js fixed it.
    expect([...(await sql.unsafe("select 1 as x"))]).toEqual([undefined, undefined, undefined, { x: 1 }]);

    await new Registry().define({ type: "rt.holes", steps: ["go"], handlers: { go: () => null } }).publish(transport);
    const jobIds = await enqueue("rt.holes", [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    const workerId = "rt-holes";
    await cutOff();
    const claimed = await transport.claimSteps({ workerId, leaseMs: 30_000, limit: 10 });
    expect(claimed.map((step) => step.jobId).sort()).toEqual([...jobIds].sort());
    const [first, second, third, fourth] = claimed.map((step) => step.stepId) as [string, string, string, string];

    await cutOff();
    expect(await transport.completeSteps({ workerId, results: [{ stepId: first, outputJson: "null" }] })).toEqual({ completed: [first], claimed: [] });
    await cutOff();
    expect(await transport.failSteps({ workerId, failures: [{ stepId: second, error: { code: "permanent", message: "no" }, permanent: true }] }))
      .toEqual(new Map([[second, "failed"]]));
    await cutOff();
    expect(await transport.extendLeases({ workerId, stepIds: [third, first], leaseMs: 30_000 })).toEqual(new Set([third]));
    await cutOff();
    expect(await transport.extendLease({ stepId: first, workerId, leaseMs: 30_000 })).toBe(false);
    await cutOff();
    expect(await transport.releaseSteps({ workerId, stepIds: [fourth] })).toBe(1);
    await cutOff();
    expect(await transport.nextClaimableAt(["rt.holes"])).toBeInstanceOf(Date);
  } finally {
    await sql.end();
  }
});

describe("Registry", () => {
  it("refuses a type whose handlers do not match its steps one to one", () => {
    const noop = () => null;
    expect(() => new Registry().define({ type: "t", steps: ["a", "b"], handlers: { a: noop } })).toThrow(
      'Registry: job type "t" has no handler for step(s) "b"',
    );
    expect(() => new Registry().define({ type: "t", steps: ["a"], handlers: { a: noop, z: noop } })).toThrow(
      'Registry: job type "t" has handler(s) for unknown step(s) "z"',
    );
    expect(() => new Registry().define({ type: "t", steps: ["a", ["b", "a"]], handlers: { a: noop, b: noop } })).toThrow(
      'Registry: job type "t" names step "a" twice',
    );
    expect(() => new Registry().define({ type: "t", steps: ["a"], handlers: { a: noop } }).define({
      type: "t", steps: ["a"], handlers: { a: noop },
    })).toThrow('Registry: job type "t" is defined twice');
  });

  it.each(TRANSPORTS)("publishes steps and options with define_job_type (%s)", async (_name, transport) => {
    const registry = new Registry().define({
      type: "rt.publish",
      steps: ["a", ["b", "c"]],
      options: { maxAttempts: 7, backoff: { baseMs: 250, maxMs: 60_000, jitter: 0.1 }, timeoutMs: 1_500, priority: 4, concurrency: 2, rateLimit: { max: 5, perMs: 60_000 } },
      handlers: { a: () => 1, b: () => 2, c: () => 3 },
    });
    await registry.publish(transport);
    const [row] = await admin`
      select steps, max_attempts, backoff_base, backoff_max, backoff_jitter::float8 as jitter, step_timeout, priority,
             group_concurrency, group_rate_limit, group_rate_interval
        from public.job_types where type = 'rt.publish'`;
    expect(row).toEqual({
      steps: [["a"], ["b", "c"]],
      max_attempts: 7,
      backoff_base: "00:00:00.25",
      backoff_max: "00:01:00",
      jitter: 0.1,
      step_timeout: "00:00:01.5",
      priority: 4,
      group_concurrency: 2,
      group_rate_limit: 5,
      group_rate_interval: "00:01:00",
    });
  });
});

describe.each(TRANSPORTS)("drain over %s", (_name, transport) => {
  it("runs every step of multi-step jobs with parallel groups and reports what it did", async () => {
    const seen: StepContext[] = [];
    const registry = new Registry().define({
      type: "rt.flow",
      steps: ["load", ["csv", "pdf"], "upload"],
      handlers: {
        load: (ctx) => { seen.push(ctx); return { rows: ctx.payload.n }; },
        csv: (ctx) => { seen.push(ctx); return `${ctx.jobId}.csv`; },
        pdf: (ctx) => { seen.push(ctx); return `${ctx.jobId}.pdf`; },
        upload: (ctx) => { seen.push(ctx); return { files: Object.keys(ctx.previousOutputs).sort() }; },
      },
    });
    await registry.publish(transport);
    await enqueue("rt.flow", Array.from({ length: 20 }, (_, n) => ({ n })));

    const summary = await drain({ workerId: "rt-flow", transport, registry, concurrency: 4, batchSize: 4 });

    expect(summary).toMatchObject({ claimed: 80, completed: 80, retried: 0, failed: 0, lost: 0, released: 0, stoppedBy: "idle" });
    const results = await admin`select status, result from public.jobs where type = 'rt.flow'`;
    expect(results).toHaveLength(20);
    for (const job of results) expect(job).toEqual({ status: "completed", result: { files: ["csv", "load", "pdf"] } });
    const upload = seen.find((ctx) => ctx.stepName === "upload")!;
    expect(upload.previousOutputs.csv).toBe(`${upload.jobId}.csv`);
    for (const ctx of seen) {
      expect(ctx.idempotencyKey).toBe(ctx.stepId);
      expect(ctx.attempt).toBe(1);
      expect(ctx.signal.aborted).toBe(false);
    }
  });

  it("hands a handler a context whose own fields are the step's, nothing of the worker's (logged or spread)", async () => {
    let keys: string[] = [];
    const registry = new Registry().define({ type: "rt.context", steps: ["go"], handlers: { go: (ctx) => void (keys = Object.keys({ ...ctx }).sort()) } });
    await registry.publish(transport);
    await enqueue("rt.context", [{}]);

    await drain({ workerId: "rt-context", transport, registry });

    expect(keys).toEqual(["attempt", "idempotencyKey", "jobId", "jobType", "maxAttempts", "payload", "previousOutputs", "stepId", "stepName"]);
  });

  it("stores each output as the handler returned it, as JSON (quotes, escapes, emoji, numbers, nothing, a toJSON)", async () => {
    const outputs: Record<string, unknown> = {
      text: 'say "hi" \\ back\nthen ✓ 😀',
      number: 1.5,
      none: undefined,
      null: null,
      nested: { a: [1, { b: "c" }], "key \"quoted\"": true },
      date: new Date(0),
    };
    const registry = new Registry().define({ type: "rt.outputs", steps: ["go"], handlers: { go: (ctx) => outputs[ctx.payload.k as string] } });
    await registry.publish(transport);
    await enqueue("rt.outputs", Object.keys(outputs).map((k) => ({ k })));

    const summary = await drain({ workerId: "rt-outputs", transport, registry, concurrency: 6, batchSize: 6 });

    expect(summary).toMatchObject({ claimed: 6, completed: 6, failed: 0 });
    const rows = await admin<{ k: string; result: unknown }[]>`select payload ->> 'k' as k, result from public.jobs where type = 'rt.outputs'`;
    expect(Object.fromEntries(rows.map((row) => [row.k, row.result]))).toEqual({
      text: 'say "hi" \\ back\nthen ✓ 😀',
      number: 1.5,
      none: null,
      null: null,
      nested: { a: [1, { b: "c" }], "key \"quoted\"": true },
      date: "1970-01-01T00:00:00.000Z",
    });
  });

  it("settles by error class: transient with backoff, retry-after exactly, permanent at once, anything else transient", async () => {
    const registry = new Registry().define({
      type: "rt.errors",
      steps: ["go"],
      options: { maxAttempts: 3, backoff: { baseMs: 60_000, maxMs: 60_000, jitter: 0 } },
      handlers: {
        go: (ctx) => {
          switch (ctx.payload.mode) {
            case "transient": throw new TransientError("socket hang up", { details: { host: "smtp" } });
            case "retry_after": throw new RetryAfterError(1_500, "429 Too Many Requests");
            case "permanent": throw new PermanentError("invalid address");
            case "string": throw "plain string";
            default: throw new Error("unexpected");
          }
        },
      },
    });
    await registry.publish(transport);
    await enqueue("rt.errors", [{ mode: "transient" }, { mode: "retry_after" }, { mode: "permanent" }, { mode: "string" }, { mode: "other" }]);
    const before = Date.now();

    const summary = await drain({ workerId: "rt-errors", transport, registry, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 5, completed: 0, retried: 4, failed: 1, stoppedBy: "idle" });
    const [transient, retryAfter, permanent, plain, other] = await stepRows("rt.errors");
    expect(transient).toMatchObject({ status: "pending", attempt: 1, error: { code: "transient", message: "socket hang up", name: "TransientError", details: { host: "smtp" } } });
    expect(transient!.run_at.getTime()).toBeGreaterThan(before + 55_000);
    expect(retryAfter).toMatchObject({ status: "pending", error: { code: "retry_after", message: "429 Too Many Requests" } });
    expect(retryAfter!.run_at.getTime()).toBeGreaterThan(before + 1_000);
    expect(retryAfter!.run_at.getTime()).toBeLessThan(Date.now() + 1_600);
    expect(permanent).toMatchObject({ status: "failed", attempt: 1, error: { code: "permanent", message: "invalid address" } });
    expect(plain).toMatchObject({ status: "pending", error: { code: "transient", message: "plain string" } });
    expect(other).toMatchObject({ status: "pending", error: { code: "transient", message: "unexpected", name: "Error" } });
    const [job] = await admin`select status from public.jobs where payload = '{"mode": "permanent"}'`;
    expect(job?.status).toBe("failed");
  });

  it("fails a step whose output Postgres cannot store (a BigInt, a circular object, U+0000) for good, running it once, and completes its batch-mates", async () => {
    const runs = new Map<string, number>();
    const registry = new Registry().define({
      type: "rt.poison-output",
      steps: ["go"],
      options: { maxAttempts: 3 },
      handlers: {
        go: (ctx) => {
          runs.set(ctx.stepId, (runs.get(ctx.stepId) ?? 0) + 1);
          switch (ctx.payload.kind) {
            case "bigint": return { n: 10n };
            case "circular": { const loop: Record<string, unknown> = {}; loop.self = loop; return loop; }
            case "nul": return { text: "a\u0000b" };
            default: return { n: ctx.payload.n };
          }
        },
      },
    });
    await registry.publish(transport);
    await enqueue("rt.poison-output", [
      { kind: "bigint" }, { n: 1 }, { kind: "circular" }, { n: 2 }, { kind: "nul" }, { n: 3 }, { n: 4 }, { n: 5 }, { n: 6 }, { n: 7 },
    ]);

    const summary = await drain({ workerId: "rt-poison-output", transport, registry, batchSize: 10, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 10, completed: 7, failed: 3, retried: 0, released: 0 });
    expect([...runs.values()]).toEqual(Array(10).fill(1));
    const rows = await stepRows("rt.poison-output");
    expect(rows.filter((row) => row.status === "completed")).toHaveLength(7);
    const [bigint, , circular, , nul] = rows;
    expect(bigint).toMatchObject({ status: "failed", attempt: 1, error: { code: "output_not_json", message: "output is not JSON: Do not know how to serialize a BigInt" } });
    expect(circular).toMatchObject({ status: "failed", attempt: 1, error: { code: "output_not_json" } });
    expect(circular!.error!.message).toMatch(/^output is not JSON: Converting circular structure to JSON/);
    expect(nul).toMatchObject({ status: "failed", attempt: 1, error: { code: "output_not_json", message: "output is not JSON: a string holds U+0000, which Postgres cannot store" } });
    const jobs = await admin`select status, count(*)::int as n from public.jobs where type = 'rt.poison-output' group by status order by status`;
    expect(jobs).toEqual([{ status: "completed", n: 7 }, { status: "failed", n: 3 }]);
  });

  it("records anything a handler throws (circular, a throwing toJSON, BigInt details, a trapping Proxy, a thenable whose then throws) as a safe error, and keeps running", async () => {
    const registry = new Registry().define({
      type: "rt.poison-throw",
      steps: ["go"],
      options: { maxAttempts: 3, backoff: { baseMs: 60_000, maxMs: 60_000, jitter: 0 } },
      handlers: {
        go: (ctx) => {
          switch (ctx.payload.kind) {
            case "circular": { const loop: Record<string, unknown> = {}; loop.self = loop; throw loop; }
            case "to-json": throw { toJSON() { throw new Error("no JSON for you"); } };
            case "details": throw new TransientError("with details", { details: { n: 10n } });
            case "nul": throw new Error("bad\u0000byte");
            case "proxy": throw new Proxy({}, { getPrototypeOf() { throw new Error("prototype trap"); } });
            default: return { get then() { throw new Error("then trap"); } };
          }
        },
      },
    });
    await registry.publish(transport);
    await enqueue("rt.poison-throw", [{ kind: "circular" }, { kind: "to-json" }, { kind: "details" }, { kind: "nul" }, { kind: "proxy" }, { kind: "then" }]);

    const summary = await drain({ workerId: "rt-poison-throw", transport, registry, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 6, completed: 0, retried: 6, failed: 0, released: 0 });
    const [circular, toJson, details, nul, proxy, then] = await stepRows("rt.poison-throw");
    for (const row of [circular, toJson, details, nul, proxy, then]) expect(row).toMatchObject({ status: "pending", attempt: 1, error: { code: "transient" } });
    expect(circular!.error).toMatchObject({ message: expect.stringMatching(/^\[object Object\] \(not JSON: Converting circular structure to JSON/) });
    expect(toJson!.error).toMatchObject({ message: "[object Object] (not JSON: no JSON for you)" });
    expect(details!.error).toEqual({
      code: "transient", message: "with details", name: "TransientError", details: "details are not JSON: Do not know how to serialize a BigInt",
    });
    expect(nul!.error).toMatchObject({ message: "bad\ufffdbyte", name: "Error" });
    expect(proxy!.error).toMatchObject({ message: "the handler threw a value that could not be read (prototype trap)" });
    expect(then!.error).toMatchObject({ message: "then trap", name: "Error" });
  });

  it("fails a job whose payload breaks its type's schema before any handler runs, naming the field and the rule", async () => {
    const seen: unknown[] = [];
    const registry = new Registry().define({
      type: "rt.schema",
      steps: ["go"],
      payloadSchema: z.object({ days: z.number().int().min(1).max(366) }).strict(),
      handlers: { go: (ctx) => { seen.push(ctx.payload); return { days: ctx.payload.days }; } },
    });
    await registry.publish(transport);
    // Enqueued over SQL: past the jobs API, which would refuse the first with 400.
    await enqueue("rt.schema", [{ days: 1_000_000 }, { days: 3 }, { days: 2, extra: true }]);

    const summary = await drain({ workerId: "rt-schema", transport, registry, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 3, completed: 1, failed: 2, retried: 0 });
    expect(seen).toEqual([{ days: 3 }]);
    const [tooMany, fine, extra] = await stepRows("rt.schema");
    expect(fine).toMatchObject({ status: "completed" });
    expect(tooMany).toMatchObject({ status: "failed", attempt: 1, error: { code: "invalid_payload" } });
    expect(tooMany!.error!.message).toMatch(/^payload is invalid: days: .*366/);
    expect(extra).toMatchObject({ status: "failed", error: { code: "invalid_payload" } });
    expect(extra!.error!.message).toMatch(/^payload is invalid: payload: .*extra/);
  });

  it("waits for a retry due within idle.lingerMs instead of stopping, and runs it", async () => {
    const attempts: number[] = [];
    const registry = new Registry().define({
      type: "rt.linger",
      steps: ["go"],
      handlers: {
        go: (ctx) => {
          attempts.push(ctx.attempt);
          if (ctx.attempt === 1) throw new RetryAfterError(800, "busy");
          return "done";
        },
      },
    });
    await registry.publish(transport);
    await enqueue("rt.linger", [{}]);

    const lingering = await drain({ workerId: "rt-linger", transport, registry, idle: { lingerMs: 5_000 } });
    expect(lingering).toMatchObject({ claimed: 2, retried: 1, completed: 1, stoppedBy: "idle" });
    expect(attempts).toEqual([1, 2]);

    await enqueue("rt.linger", [{}]);
    attempts.length = 0;
    const short = await drain({ workerId: "rt-linger", transport, registry, idle: { lingerMs: 500 } });
    expect(short).toMatchObject({ claimed: 1, retried: 1, completed: 0, stoppedBy: "idle" });
    expect(attempts).toEqual([1]);
  });

  it("waits for a held step's lease to lapse within idle.lingerMs (its holder stopped renewing it), and takes the step back", async () => {
    const registry = new Registry().define({ type: "rt.lapse", steps: ["go"], handlers: { go: () => "done" } });
    await registry.publish(transport);
    await enqueue("rt.lapse", [{}]);
    // Another worker claims the step and goes silent: its lease lapses 1.5 s from now.
    await admin`select count(*) from public.claim_steps('rt-gone', '1.5 seconds', 1, '{rt.lapse}')`;

    const short = await drain({ workerId: "rt-lapse", transport, registry, idle: { lingerMs: 500 } });
    expect(short).toMatchObject({ claimed: 0, stoppedBy: "idle" });
    const lingering = await drain({ workerId: "rt-lapse", transport, registry, idle: { lingerMs: 5_000 } });
    expect(lingering).toMatchObject({ claimed: 1, completed: 1, stoppedBy: "idle" });
    const [step] = await stepRows("rt.lapse");
    expect(step).toMatchObject({ status: "completed", attempt: 2 });
  });

  it("keeps polling for idle.graceMs when the queue is empty, and serves a job enqueued meanwhile", async () => {
    const registry = new Registry().define({ type: "rt.grace", steps: ["go"], handlers: { go: () => "ok" } });
    await registry.publish(transport);
    const started = Date.now();
    setTimeout(() => void enqueue("rt.grace", [{}]), 400);
    const summary = await drain({ workerId: "rt-grace", transport, registry, idle: { graceMs: 1_500, pollMs: 100, lingerMs: 0 } });
    expect(summary).toMatchObject({ claimed: 1, completed: 1, stoppedBy: "idle" });
    // It stopped a full grace after the job, not after the first empty poll.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_800);
  });

  it("aborts a step that outlives its timeout (its signal fires) and settles it as transient", async () => {
    const reasons: unknown[] = [];
    const registry = new Registry().define({
      type: "rt.timeout",
      steps: ["slow"],
      options: { timeoutMs: 200 },
      handlers: {
        slow: async (ctx) => {
          if (ctx.payload.ignoresSignal) return new Promise(() => {}); // never settles by itself
          try {
            await sleepUnlessAborted(10_000, ctx.signal);
          } catch (reason) {
            reasons.push(reason);
            throw reason;
          }
        },
      },
    });
    await registry.publish(transport);
    await enqueue("rt.timeout", [{ ignoresSignal: false }, { ignoresSignal: true }]);

    const summary = await drain({ workerId: "rt-timeout", transport, registry, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 2, retried: 2, stoppedBy: "idle" });
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(StepTimeoutError);
    for (const step of await stepRows("rt.timeout")) {
      expect(step).toMatchObject({ status: "pending", error: { code: "timeout", message: "step timed out after 200 ms" } });
    }
  });

  it("keeps extending the lease of a long step, so nobody else can take it", async () => {
    const registry = new Registry().define({
      type: "rt.long",
      steps: ["work"],
      handlers: { work: async () => { await sleep(1_500); return "done"; } },
    });
    await registry.publish(transport);
    await enqueue("rt.long", [{}]);

    const draining = drain({ workerId: "rt-long", transport, registry, leaseMs: 500, heartbeatMs: 100, marginMs: 0 });
    // Past the first lease (500 ms from the claim), by the database's clock.
    await waitFor("the step to outlive its first lease", async () =>
      (await admin`select 1 from public.all_steps where status = 'running' and now() > started_at + interval '600 milliseconds'`).length === 1, 5_000, 20);
    const rival = await transport.claimSteps({ workerId: "rival", leaseMs: 60_000, limit: 10, types: ["rt.long"] });
    const summary = await draining;

    expect(rival).toEqual([]);
    expect(summary).toMatchObject({ claimed: 1, completed: 1, lost: 0 });
    const outcomes = await admin`select outcome from public.job_timeline`;
    expect(outcomes).toEqual([{ outcome: "completed" }]);
  });

  it("lets a handler renew its own lease (context.heartbeat, destructured), which rejects once the lease is lost and stops the step", async () => {
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const registry = new Registry().define({
      type: "rt.beat",
      steps: ["work"],
      handlers: {
        work: async ({ heartbeat, signal }) => {
          await sleep(300);
          await heartbeat();
          seen.push("renewed");
          await gate;
          await heartbeat().catch((error: unknown) => seen.push(error instanceof LeaseLostError ? "lost" : String(error)));
          seen.push(signal.aborted ? "aborted" : "not aborted");
          return "late";
        },
      },
    });
    await registry.publish(transport);
    await enqueue("rt.beat", [{}]);

    // The pool's own renewals are an hour apart: only the handler renews. No lingering: the
    // thief's lease lapses in 2 s, and a lingering drain would take the step back and run it again.
    const draining = drain({ workerId: "rt-beat", transport, registry, leaseMs: 2_000, heartbeatMs: 3_600_000, marginMs: 0, idle: { lingerMs: 0 } });
    await waitFor("the handler's renewal", async () => seen.length === 1, 5_000, 20);
    const [renewed] = await admin`select lease_expires_at > step_started_at + interval '2.2 seconds' as later from public.jobs where type = 'rt.beat'`;
    expect(renewed).toEqual({ later: true });
    await admin`update public.jobs set locked_by = 'rt-thief' where locked_by = 'rt-beat'`;
    release();
    const summary = await draining;

    expect(seen).toEqual(["renewed", "lost", "aborted"]);
    expect(summary).toMatchObject({ claimed: 1, completed: 0, lost: 1 });
    const [job] = await admin`select status, locked_by from public.jobs where type = 'rt.beat'`;
    expect(job).toEqual({ status: "running", locked_by: "rt-thief" });
  });

  it("stops working on a step whose lease was taken over and discards its result", async () => {
    const reasons: unknown[] = [];
    const registry = new Registry().define({
      type: "rt.stolen",
      steps: ["work"],
      handlers: {
        work: waitRecordingAborts(5_000, reasons),
      },
    });
    await registry.publish(transport);
    await enqueue("rt.stolen", [{}]);

    const draining = drain({ workerId: "rt-victim", transport, registry, heartbeatMs: 100 });
    await waitFor("the step to be claimed", async () => (await admin`select 1 from public.all_steps where status = 'running'`).length === 1, 5_000, 20);
    // Another worker takes the step over (as after a lapsed lease). rt.stolen has one step, so
    // the job is its own step, held on its row.
    await admin`update public.jobs set locked_by = 'rt-thief' where locked_by is not null`;
    const summary = await draining;

    expect(reasons[0]).toBeInstanceOf(LeaseLostError);
    expect(summary).toMatchObject({ claimed: 1, completed: 0, retried: 0, lost: 1 });
    const [step] = await admin`select status, locked_by from public.all_steps`;
    expect(step).toEqual({ status: "running", locked_by: "rt-thief" });
  });

  it("ends within its budget with slow handlers, and loses nothing", async () => {
    const registry = new Registry().define({
      type: "rt.budget",
      steps: ["work"],
      handlers: { work: async () => { await sleep(400); return "ok"; } },
    });
    await registry.publish(transport);
    await enqueue("rt.budget", Array.from({ length: 40 }, (_, n) => ({ n })));

    const summary = await drain({ workerId: "rt-budget", transport, registry, budgetMs: 3_000, leaseMs: 1_000, marginMs: 500, concurrency: 2, batchSize: 2 });

    expect(summary.stoppedBy).toBe("budget");
    expect(summary.durationMs).toBeLessThanOrEqual(3_000);
    expect(summary.completed).toBe(summary.claimed);
    const [counts] = await admin`
      select count(*) filter (where status = 'completed')::int as completed,
             count(*) filter (where status = 'pending' and attempt = 0)::int as untouched,
             count(*) filter (where status = 'running')::int as running
        from public.all_steps`;
    expect(counts).toEqual({ completed: summary.completed, untouched: 40 - summary.completed, running: 0 });
  });

  it("on abort, stops its handlers and releases their steps without consuming the attempt", async () => {
    const reasons: unknown[] = [];
    let started = 0;
    const waitForAbort = waitRecordingAborts(10_000, reasons);
    const registry = new Registry().define({
      type: "rt.abort",
      steps: ["work"],
      handlers: {
        work: (ctx) => {
          started++;
          return waitForAbort(ctx);
        },
      },
    });
    await registry.publish(transport);
    await enqueue("rt.abort", [{}, {}, {}]);
    const shutdown = new AbortController();

    const draining = drain({ workerId: "rt-abort", transport, registry, abortSignal: shutdown.signal });
    await waitFor("the three handlers to run", async () => started === 3, 5_000, 10);
    shutdown.abort();
    const summary = await draining;

    expect(summary).toMatchObject({ claimed: 3, completed: 0, retried: 0, released: 3, stoppedBy: "abort" });
    expect(reasons).toHaveLength(3);
    for (const reason of reasons) expect(reason).toBeInstanceOf(ShutdownError);
    for (const step of await stepRows("rt.abort")) expect(step).toMatchObject({ status: "pending", attempt: 0 });
  });

  it("on a graceful stop, claims nothing more and lets the steps in flight finish", async () => {
    let started = 0;
    const registry = new Registry().define({
      type: "rt.stop",
      steps: ["work"],
      handlers: { work: async () => { started++; await sleep(300); return "ok"; } },
    });
    await registry.publish(transport);
    await enqueue("rt.stop", Array.from({ length: 10 }, () => ({})));
    const stop = new AbortController();

    const draining = drain({ workerId: "rt-stop", transport, registry, stopSignal: stop.signal, concurrency: 2, batchSize: 2 });
    await waitFor("the first two handlers to run", async () => started === 2, 5_000, 10);
    stop.abort();
    const summary = await draining;

    expect(summary).toMatchObject({ claimed: 2, completed: 2, released: 0, stoppedBy: "stop" });
    const [counts] = await admin`
      select count(*) filter (where status = 'completed')::int as completed,
             count(*) filter (where status = 'pending')::int as pending from public.all_steps`;
    expect(counts).toEqual({ completed: 2, pending: 8 });
  });

  it("runs a one-step-at-a-time job's later steps as the completion writes claim them: one claim per job, each step with the outputs before it", async () => {
    const seen: StepContext[] = [];
    const registry = new Registry().define({
      type: "rt.chain",
      steps: ["fetch", "parse", "store"],
      handlers: {
        fetch: (ctx) => { seen.push(ctx); return { n: ctx.payload.n }; },
        parse: (ctx) => { seen.push(ctx); return { parsed: (ctx.previousOutputs.fetch as { n: number }).n }; },
        store: (ctx) => { seen.push(ctx); return Object.keys(ctx.previousOutputs).sort(); },
      },
    });
    await registry.publish(transport);
    await enqueue("rt.chain", Array.from({ length: 30 }, (_, n) => ({ n })));
    let claimedByClaims = 0;
    let claimedByWrites = 0;
    const spy: Transport = Object.create(transport);
    spy.claimSteps = async (params) => {
      const steps = await transport.claimSteps(params);
      claimedByClaims += steps.length;
      return steps;
    };
    spy.completeSteps = async (params) => {
      const written = await transport.completeSteps(params);
      claimedByWrites += written.claimed.length;
      return written;
    };

    const summary = await drain({ workerId: "rt-chain", transport: spy, registry, concurrency: 4, batchSize: 8 });

    expect(summary).toMatchObject({ claimed: 90, completed: 90, retried: 0, failed: 0, lost: 0, released: 0, stoppedBy: "idle" });
    expect({ claimedByClaims, claimedByWrites }).toEqual({ claimedByClaims: 30, claimedByWrites: 60 });
    for (const ctx of seen) expect(ctx.attempt).toBe(1);
    for (const ctx of seen.filter((c) => c.stepName === "parse")) {
      expect(ctx.previousOutputs).toEqual({ fetch: { n: ctx.payload.n } });
    }
    const results = await admin`select status, result from public.jobs where type = 'rt.chain'`;
    expect(results).toHaveLength(30);
    for (const job of results) expect(job).toEqual({ status: "completed", result: ["fetch", "parse"] });
    // Every step's one attempt is on record, by this worker.
    const [history] = await admin`
      select count(*)::int as steps, count(*) filter (where s.status = 'completed' and s.completed_by = 'rt-chain' and s.attempt = 1)::int as by_us
        from public.all_steps s join public.jobs j on j.id = s.job_id where j.type = 'rt.chain'`;
    expect(history).toEqual({ steps: 90, by_us: 90 });
  });

  it("once asked to stop, claims no next step with a completion: the job's next step waits in the queue for others", async () => {
    const stop = new AbortController();
    const registry = new Registry().define({
      type: "rt.chain_stop",
      steps: ["first", "second"],
      handlers: { first: () => { stop.abort(); return "one"; }, second: () => "two" },
    });
    await registry.publish(transport);
    await enqueue("rt.chain_stop", [{}]);

    const summary = await drain({ workerId: "rt-chain-stop", transport, registry, stopSignal: stop.signal, concurrency: 1, batchSize: 1 });

    expect(summary).toMatchObject({ claimed: 1, completed: 1, released: 0, stoppedBy: "stop" });
    const [job] = await admin`select status, step_name, locked_by, attempt, queue_at is not null as queued from public.jobs where type = 'rt.chain_stop'`;
    expect(job).toEqual({ status: "running", step_name: "second", locked_by: null, attempt: 0, queued: true });
  });

  it("claims next steps with completions only as far as the CPU budget reaches, then stops for CPU", async () => {
    const registry = new Registry().define({
      type: "rt.chain_cpu",
      steps: ["a", "b", "c"],
      handlers: { a: () => "a", b: () => "b", c: () => "c" },
    });
    await registry.publish(transport);
    await enqueue("rt.chain_cpu", [{}, {}]);

    // Without a CPU meter every claimed step is counted as perStepMs: room for 4 of the 6 steps.
    const summary = await drain({
      workerId: "rt-chain-cpu", transport, registry, concurrency: 2, batchSize: 2, cpuBudget: { limitMs: 4, perStepMs: 1 },
    });

    expect(summary.stoppedBy).toBe("cpu");
    expect(summary.claimed).toBeGreaterThanOrEqual(3);
    expect(summary.claimed).toBeLessThanOrEqual(4);
    expect(summary).toMatchObject({ completed: summary.claimed, released: 0 });
    const [held] = await admin`select count(*)::int as held from public.jobs where type = 'rt.chain_cpu' and locked_by is not null`;
    expect(held).toEqual({ held: 0 });
  });

  it("fails a step whose type this worker has no handler for, permanently", async () => {
    await admin`select public.define_job_type('rt.unknown', '["work"]')`;
    await enqueue("rt.unknown", [{}]);
    const summary = await drain({ workerId: "rt-unknown", transport, registry: new Registry(), types: ["rt.unknown"] });
    expect(summary).toMatchObject({ claimed: 1, failed: 1 });
    const [step] = await stepRows("rt.unknown");
    expect(step).toMatchObject({
      status: "failed",
      error: { code: "no_handler", message: 'worker rt-unknown has no handler for step "work" of job type "rt.unknown"' },
    });
  });
});

/** `transport` with its calls recorded and some of them made to fail (an undefined entry: that
 * call goes through). */
function instrumented(transport: Transport, failures: { claimSteps?: unknown[]; completeSteps?: unknown[] } = {}) {
  const calls = {
    claimLimits: [] as number[], completeSizes: [] as number[], failSizes: [] as number[],
    /** The most steps asked for by the claims in flight at one moment. */
    maxClaimingAtOnce: 0,
    /** The most JSON (payloads and previous outputs) held at once, a step held from the answer
     * that claimed it to the answer of the completion that wrote it. */
    maxHeldBytes: 0,
  };
  let claiming = 0;
  let heldBytes = 0;
  const stepBytes = new Map<string, number>();
  const took = (steps: ClaimedStep[]) => {
    for (const step of steps) {
      const bytes = jsonSizeEstimate(step.payload) + jsonSizeEstimate(step.previousOutputs);
      stepBytes.set(step.stepId, bytes);
      heldBytes += bytes;
    }
    calls.maxHeldBytes = Math.max(calls.maxHeldBytes, heldBytes);
  };
  const spy: Transport = Object.create(transport);
  spy.claimSteps = (params) => {
    calls.claimLimits.push(params.limit);
    claiming += params.limit;
    calls.maxClaimingAtOnce = Math.max(calls.maxClaimingAtOnce, claiming);
    const error = failures.claimSteps?.shift();
    return (error ? Promise.reject(error) : transport.claimSteps(params))
      .then((steps) => (took(steps), steps))
      .finally(() => { claiming -= params.limit; });
  };
  spy.completeSteps = (params) => {
    calls.completeSizes.push(params.results.length);
    const error = failures.completeSteps?.shift();
    return (error ? Promise.reject(error) : transport.completeSteps(params)).then((answer) => {
      for (const { stepId } of params.results) heldBytes -= stepBytes.get(stepId) ?? 0;
      took(answer.claimed);
      return answer;
    });
  };
  spy.failSteps = (params) => {
    calls.failSizes.push(params.failures.length);
    return transport.failSteps(params);
  };
  return { spy, calls };
}

describe("drain's batching and write retries (postgres.js)", () => {
  const transport = postgresTransport;
  const connectionDropped = Object.assign(new Error("write CONNECTION_CLOSED 127.0.0.1:54322"), { code: "CONNECTION_CLOSED" });

  it("writes a completion again after a transient error while the leases hold, and completes every step", async () => {
    const registry = new Registry().define({ type: "rt.blip", steps: ["go"], handlers: { go: () => "ok" } });
    await registry.publish(transport);
    await enqueue("rt.blip", Array.from({ length: 20 }, () => ({})));
    const { spy, calls } = instrumented(transport, { completeSteps: [connectionDropped, connectionDropped] });

    const summary = await drain({ workerId: "rt-blip", transport: spy, registry, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 20, completed: 20, released: 0, retried: 0 });
    expect(calls.completeSizes.length).toBeGreaterThanOrEqual(3);
    const [counts] = await admin`select count(*) filter (where status = 'completed')::int as completed, max(attempt)::int as attempts from public.all_steps`;
    expect(counts).toEqual({ completed: 20, attempts: 1 });
  });

  it("when a completion's answer is lost after its commit, the write sent again reports its steps completed and hands back the steps it claimed", async () => {
    const registry = new Registry().define({ type: "rt.lost_answer", steps: ["a", "b", "c"], handlers: { a: () => "a", b: () => "b", c: () => "c" } });
    await registry.publish(transport);
    await enqueue("rt.lost_answer", Array.from({ length: 10 }, () => ({})));
    let answersLost = 0;
    const spy: Transport = Object.create(transport);
    spy.completeSteps = async (params) => {
      const written = await transport.completeSteps(params);
      // The first write that claimed next steps committed, and its answer never arrives.
      if (answersLost === 0 && written.claimed.length > 0) {
        answersLost++;
        throw connectionDropped;
      }
      return written;
    };

    const summary = await drain({ workerId: "rt-lost-answer", transport: spy, registry, batchSize: 10, concurrency: 10, idle: { lingerMs: 0 } });

    expect(answersLost).toBe(1);
    expect(summary).toMatchObject({ claimed: 30, completed: 30, lost: 0, released: 0, stoppedBy: "idle" });
    const [counts] = await admin`
      select count(*) filter (where j.status = 'completed')::int as jobs_completed,
             (select count(*) from public.step_attempts a join public.jobs k on k.id = a.job_id where k.type = 'rt.lost_answer')::int as other_attempts
        from public.jobs j where j.type = 'rt.lost_answer'`;
    expect(counts).toEqual({ jobs_completed: 10, other_attempts: 0 });
  });

  it("after a failed claim, pauses claiming with one timer for the pause, however often steps settle during it", async () => {
    const registry = new Registry().define({ type: "rt.paused", steps: ["go"], handlers: { go: () => sleep(30).then(() => "ok") } });
    await registry.publish(transport);
    await enqueue("rt.paused", Array.from({ length: 12 }, () => ({})));
    const { spy, calls } = instrumented(transport, { claimSteps: [undefined, connectionDropped] });
    // Every wait of the drain is recorded: with no idle grace or linger, only a pause waits.
    const waits: number[] = [];
    const clock: Clock = { now: () => Date.now(), sleep: (ms, signal) => (waits.push(ms), systemClock.sleep(ms, signal)) };

    const summary = await drain({
      workerId: "rt-paused", transport: spy, registry, clock, concurrency: 2, claimErrorPauseMs: 400, idle: { lingerMs: 0, graceMs: 0 },
    });

    expect(summary).toMatchObject({ claimed: 12, completed: 12 });
    expect(calls.claimLimits.length).toBeGreaterThanOrEqual(3);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(300);
  });

  it("gives a completion up at once on an error that would recur, and releases its steps without using their attempt", async () => {
    const registry = new Registry().define({ type: "rt.broken", steps: ["go"], handlers: { go: () => "ok" } });
    await registry.publish(transport);
    await enqueue("rt.broken", Array.from({ length: 5 }, () => ({})));
    const missing = Object.assign(new Error("function public.complete_and_claim_steps(text, jsonb, interval) does not exist"), { code: "42883" });
    const { spy, calls } = instrumented(transport, { completeSteps: [missing] });

    const summary = await drain({ workerId: "rt-broken", transport: spy, registry, batchSize: 5, idle: { lingerMs: 0 } });

    expect(calls.completeSizes).toEqual([5]);
    expect(summary).toMatchObject({ claimed: 5, completed: 0, released: 5 });
    for (const step of await stepRows("rt.broken")) expect(step).toMatchObject({ status: "pending", attempt: 0 });
  });

  it("claims again when a settle ended while an empty claim travelled (the claim's snapshot may predate the steps that settle created)", async () => {
    // A parallel group: its steps are created by the completion, never claimed by it.
    const registry = new Registry().define({ type: "rt.race", steps: ["a", ["b", "c"]], handlers: { a: () => "a", b: () => "b", c: () => "c" } });
    await registry.publish(transport);
    await enqueue("rt.race", [{}]);
    // The second claim reads the queue before the first step's completion is written (so it finds
    // nothing), and answers only after that write ended.
    let claims = 0;
    let queried!: () => void;
    const secondClaimQueried = new Promise<void>((resolve) => (queried = resolve));
    let written!: () => void;
    const completionWritten = new Promise<void>((resolve) => (written = resolve));
    const spy: Transport = Object.create(transport);
    spy.claimSteps = async (params) => {
      if (++claims !== 2) return transport.claimSteps(params);
      const steps = await transport.claimSteps(params);
      queried();
      await completionWritten;
      await sleep(50); // the Settler has counted the write by now
      return steps;
    };
    spy.completeSteps = async (params) => {
      await secondClaimQueried;
      const completed = await transport.completeSteps(params);
      written();
      return completed;
    };

    const summary = await drain({ workerId: "rt-race", transport: spy, registry, concurrency: 1, batchSize: 1 });

    expect(summary).toMatchObject({ claimed: 3, completed: 3, stoppedBy: "idle" });
    const [job] = await admin`select status, result from public.jobs where type = 'rt.race'`;
    expect(job).toEqual({ status: "completed", result: { b: "b", c: "c" } });
  });

  it("when the database refuses one step's output, writes the batch again in halves: that step fails for good, the others complete", async () => {
    const registry = new Registry().define({ type: "rt.refused", steps: ["go"], handlers: { go: (ctx) => ({ n: ctx.payload.n }) } });
    await registry.publish(transport);
    await enqueue("rt.refused", Array.from({ length: 8 }, (_, n) => ({ n })));
    const refusal = Object.assign(new Error("unsupported Unicode escape sequence"), { code: "22P05" });
    const sizes: number[] = [];
    const spy: Transport = Object.create(transport);
    spy.completeSteps = (params) => {
      sizes.push(params.results.length);
      const refused = params.results.some((result) => (JSON.parse(result.outputJson) as { n: number }).n === 5);
      return refused ? Promise.reject(refusal) : transport.completeSteps(params);
    };

    const summary = await drain({ workerId: "rt-refused", transport: spy, registry, batchSize: 8, concurrency: 8, idle: { lingerMs: 0 } });

    // 8 refused; 0-3 written; 4-7 refused; 4-5 refused; 4 written; 5 refused alone; 6-7 written.
    expect(sizes).toEqual([8, 4, 4, 2, 1, 1, 2]);
    expect(summary).toMatchObject({ claimed: 8, completed: 7, failed: 1, released: 0 });
    const rows = await stepRows("rt.refused");
    expect(rows[5]).toMatchObject({
      status: "failed", attempt: 1, error: { code: "output_refused", message: "the database refused the output: unsupported Unicode escape sequence" },
    });
    expect(rows.filter((row) => row.status === "completed")).toHaveLength(7);
  });

  it("when the database refuses a failure's error record, writes the failure once more with a record of its own", async () => {
    const registry = new Registry().define({
      type: "rt.refused-error",
      steps: ["go"],
      options: { maxAttempts: 3, backoff: { baseMs: 60_000, maxMs: 60_000, jitter: 0 } },
      handlers: { go: () => { throw new Error("boom"); } },
    });
    await registry.publish(transport);
    await enqueue("rt.refused-error", [{}]);
    const refusal = Object.assign(new Error("unsupported Unicode escape sequence"), { code: "22P05" });
    const written: string[] = [];
    const spy: Transport = Object.create(transport);
    spy.failSteps = (params) => {
      written.push(params.failures[0]!.error.code);
      return params.failures[0]!.error.code === "transient" ? Promise.reject(refusal) : transport.failSteps(params);
    };

    const summary = await drain({ workerId: "rt-refused-error", transport: spy, registry, idle: { lingerMs: 0 } });

    expect(written).toEqual(["transient", "error_refused"]);
    expect(summary).toMatchObject({ claimed: 1, retried: 1, released: 0 });
    const [step] = await stepRows("rt.refused-error");
    expect(step).toMatchObject({
      status: "pending", attempt: 1,
      error: { code: "error_refused", message: "the database refused the error record (transient): unsupported Unicode escape sequence" },
    });
  });

  it("claims ahead of its free slots for fast handlers, and settles a batch's failures in one call", async () => {
    const registry = new Registry().define({
      type: "rt.fast",
      steps: ["go"],
      options: { backoff: { baseMs: 60_000, maxMs: 60_000, jitter: 0 } },
      handlers: { go: (ctx) => { if (ctx.payload.fail) throw new Error("flaky"); return null; } },
    });
    await registry.publish(transport);
    await enqueue("rt.fast", Array.from({ length: 2_000 }, (_, n) => ({ fail: n < 40 })));
    const { spy, calls } = instrumented(transport);

    const summary = await drain({ workerId: "rt-fast", transport: spy, registry, concurrency: 4, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 2_000, completed: 1_960, retried: 40 });
    // The first claim is for the slots alone; once the handlers are measured fast, claims take many more.
    expect(calls.claimLimits[0]).toBe(4);
    expect(Math.max(...calls.claimLimits)).toBeGreaterThan(100);
    expect(calls.failSizes.length).toBeLessThan(40);
  });

  it("for fast handlers, holds up to twice batchSize: a full claim travels beside the one whose steps run, and none takes more than batchSize", async () => {
    const registry = new Registry().define({ type: "rt.ahead", steps: ["go"], handlers: { go: () => null } });
    await registry.publish(transport);
    await enqueue("rt.ahead", Array.from({ length: 400 }, () => ({})));
    const { spy, calls } = instrumented(transport);

    const summary = await drain({ workerId: "rt-ahead", transport: spy, registry, concurrency: 2, batchSize: 10, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 400, completed: 400 });
    expect(Math.max(...calls.claimLimits)).toBe(10);
    // Held to one batch, the claims in flight asked for 10 at most between them.
    expect(calls.maxClaimingAtOnce).toBeGreaterThan(10);
    expect(calls.maxClaimingAtOnce).toBeLessThanOrEqual(20);
  });

  it("claims about one step per slot for slow handlers", async () => {
    const registry = new Registry().define({ type: "rt.slow", steps: ["go"], handlers: { go: async () => { await sleep(150); return null; } } });
    await registry.publish(transport);
    await enqueue("rt.slow", Array.from({ length: 24 }, () => ({})));
    const { spy, calls } = instrumented(transport);

    const summary = await drain({ workerId: "rt-slow", transport: spy, registry, concurrency: 4, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 24, completed: 24 });
    expect(Math.max(...calls.claimLimits)).toBeLessThanOrEqual(5);
  });

  it("sizes claims so that the held steps' payloads stay under maxHeldBytes, each step asked for counted as the heaviest so far", async () => {
    const registry = new Registry().define({ type: "rt.heavy", steps: ["go"], handlers: { go: () => null } });
    await registry.publish(transport);
    const payload = { blob: "x".repeat(20_000) };
    const stepBytes = jsonSizeEstimate(payload) + jsonSizeEstimate({});

    // Unbounded, this drain holds far more than 100 kB at once (fast handlers: a deep prefetch).
    await enqueue("rt.heavy", Array.from({ length: 60 }, () => payload));
    const unbounded = instrumented(transport);
    expect(await drain({ workerId: "rt-heavy-1", transport: unbounded.spy, registry, concurrency: 2, batchSize: 50, maxHeldBytes: Number.POSITIVE_INFINITY, idle: { lingerMs: 0 } }))
      .toMatchObject({ claimed: 60, completed: 60 });
    expect(unbounded.calls.maxHeldBytes).toBeGreaterThan(10 * stepBytes);

    await enqueue("rt.heavy", Array.from({ length: 60 }, () => payload));
    const bounded = instrumented(transport);
    const summary = await drain({ workerId: "rt-heavy-2", transport: bounded.spy, registry, concurrency: 2, batchSize: 50, maxHeldBytes: 100_000, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 60, completed: 60 });
    expect(bounded.calls.maxHeldBytes).toBeLessThanOrEqual(100_000);
    // The first claim, sizes unknown, asks for the slots' worth; later ones for what fits.
    expect(bounded.calls.claimLimits[0]).toBe(2);
    expect(Math.max(...bounded.calls.claimLimits)).toBeLessThanOrEqual(Math.floor(100_000 / stepBytes));
  });

  it("counts an output waiting for its write in its step's weight: claims shrink to what fits beside large outputs", async () => {
    const output = "y".repeat(20_000);
    const registry = new Registry().define({ type: "rt.wordy", steps: ["go"], handlers: { go: () => output } });
    await registry.publish(transport);
    // The heaviest step: a tiny input ({} and {}) with the output's JSON text.
    const stepBytes = 2 + 2 + JSON.stringify(output).length;

    await enqueue("rt.wordy", Array.from({ length: 60 }, () => ({})));
    const unbounded = instrumented(transport);
    expect(await drain({ workerId: "rt-wordy-1", transport: unbounded.spy, registry, concurrency: 2, batchSize: 50, maxHeldBytes: Number.POSITIVE_INFINITY, idle: { lingerMs: 0 } }))
      .toMatchObject({ claimed: 60, completed: 60 });
    expect(Math.max(...unbounded.calls.claimLimits)).toBeGreaterThan(Math.floor(100_000 / stepBytes));

    await enqueue("rt.wordy", Array.from({ length: 60 }, () => ({})));
    const bounded = instrumented(transport);
    const summary = await drain({ workerId: "rt-wordy-2", transport: bounded.spy, registry, concurrency: 2, batchSize: 50, maxHeldBytes: 100_000, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 60, completed: 60 });
    expect(bounded.calls.claimLimits[0]).toBe(2);
    expect(Math.max(...bounded.calls.claimLimits)).toBeLessThanOrEqual(Math.floor(100_000 / stepBytes));
  });

  it("still runs a step larger than maxHeldBytes, alone", async () => {
    const registry = new Registry().define({ type: "rt.huge", steps: ["go"], handlers: { go: () => null } });
    await registry.publish(transport);
    const payload = { blob: "x".repeat(5_000) };
    await enqueue("rt.huge", Array.from({ length: 5 }, () => payload));
    const { spy, calls } = instrumented(transport);

    const summary = await drain({ workerId: "rt-huge", transport: spy, registry, concurrency: 1, batchSize: 10, maxHeldBytes: 1_000, idle: { lingerMs: 0 } });

    expect(summary).toMatchObject({ claimed: 5, completed: 5 });
    expect(calls.claimLimits.slice(1).every((limit) => limit === 1)).toBe(true);
    // One at a time.
    expect(calls.maxHeldBytes).toBe(jsonSizeEstimate(payload) + jsonSizeEstimate({}));
  });
});
