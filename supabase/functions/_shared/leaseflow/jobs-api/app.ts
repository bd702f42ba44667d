// The jobs HTTP API (the `jobs` Edge Function): Hono routes that validate with Zod and call one
// SQL function each through PostgREST (supabase-js) with the caller's own JWT, so the database
// decides what the caller may see and do (RLS, tenant checks); this layer never widens access.
//
//   POST   /jobs                enqueue one job, or a batch {type, payloads: [...]} (≤ 50 000)
//   GET    /jobs                list: status, type, groupKey, priority, createdAfter/Before, search, sort, order, cursor, limit
//   GET    /jobs/:id            one job with its steps and attempts, queue position while waiting
//   DELETE /jobs/:id            cancel (409 when already finished)
//   POST   /jobs/:id/retry      run a failed or cancelled job again (dead-letter redrive)
//   GET    /jobs/:id/events     Server-Sent Events, one per status change, until a terminal state
//   GET    /groups/:key         a group key's jobs by status, in queue order
//   GET    /stats               totals, processing time, throughput, success rate, retries
//   GET    /overview            /stats, per-type stats, completed/failed per minute, live workers
//   GET    /dead-letter         failed jobs, newest first, with their last error
//
// Every answer is {ok: true, data} or {ok: false, error: {code, message, details?}}. Every GET
// but /jobs/:id/events is also a live read: sent `Accept: text/event-stream`, it answers with
// Server-Sent Events, a `data` event with what the JSON answer's data would be, then another each
// time that changes (read again every livePollMs with the caller's JWT), until eventStreamMs.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { streamSSE } from "hono/streaming";
import type { z } from "zod";
import { nestedDeeperThan } from "../errors.ts";
import { issuesText, type Registry } from "../registry.ts";
import {
  asJson,
  callRpc,
  type DatabaseClient,
  type FunctionArgs,
  type FunctionName,
  type FunctionReturns,
  jsonAs,
  restClient,
  RpcError,
  rpcErrorOf,
} from "../transports/rpc.ts";
import { callerOf, type JobEvent, SharedEventPoll, StreamCounter } from "./events.ts";
import {
  cancelBody,
  deadLetterQuery,
  enqueueMany,
  enqueueOne,
  groupQuery,
  type Issue,
  issuesOf,
  jobId,
  listQuery,
  noQuery,
  statsQuery,
} from "./requests.ts";

/** How to build the API. */
export interface JobsApiOptions {
  /** The project's URL (SUPABASE_URL); the API calls PostgREST at <url>/rest/v1. */
  supabaseUrl: string;
  /** The project's anon key (SUPABASE_ANON_KEY), sent as `apikey` next to the caller's JWT. */
  anonKey: string;
  /** The job types: unknown types and payloads that fail their schema are refused. */
  registry: Registry;
  /** Largest request body. (Default: 10 MiB, enough for a 50 000-address campaign) */
  maxBodyBytes?: number;
  /** The service-role key (SUPABASE_SERVICE_ROLE_KEY): the shared event poll reads with it. */
  serviceRoleKey: string;
  /** How often the open event streams' jobs are read (one call for all of them). (Default: 250 ms) */
  eventPollMs?: number;
  /** Event streams one caller (a user, or a role) may hold open at once in an instance; more are
   * refused with 429. (Default: 10) */
  maxStreamsPerCaller?: number;
  /** An event stream ends (event `timeout`; reconnect with Last-Event-ID) after this long, inside
   * the Edge Function's wall clock. (Default: 120 000) */
  eventStreamMs?: number;
  /** How often a live read (a GET sent `Accept: text/event-stream`) reads its data again: one
   * call a stream, as a page polling would make, but sent on only when the data changed.
   * (Default: 1 000 ms) */
  livePollMs?: number;
  /** The path the routes live under: the function's name. (Default: "/jobs") */
  basePath?: string;
}

/** An error answer: HTTP status, code, message, details and extra headers. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The API's error code for an HTTP status. */
const CODE_FOR_STATUS: Record<number, string> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  429: "rate_limited",
};

const TERMINAL = new Set(["completed", "failed", "cancelled"]);


type Env = { Variables: { db: DatabaseClient } };

/** Calls one SQL function; a PostgREST error becomes an ApiError with PostgREST's status. */
async function rpc<Fn extends FunctionName>(db: DatabaseClient, fn: Fn, args: FunctionArgs<Fn>): Promise<FunctionReturns<Fn>> {
  try {
    return await callRpc(db, fn, args);
  } catch (error) {
    throw error instanceof RpcError ? apiErrorOf(error) : error;
  }
}

/** A table or view read's rows; its PostgREST error as an ApiError. */
function readRows<Row>(relation: string, answer: { data: Row[] | null; error: { code?: string; message: string; details?: string; hint?: string } | null; status: number }): Row[] {
  if (answer.error) throw apiErrorOf(rpcErrorOf(relation, answer.status, answer.error));
  return answer.data ?? [];
}

/** GET /overview's data: what the dashboard's first page shows, read together. `workers` is
 * null for a caller who may not read them (tenants hold no privilege on the table). */
async function overview(db: DatabaseClient) {
  const liveSince = new Date(Date.now() - 60_000).toISOString();
  const [stats, trend, types, workers] = await Promise.all([
    rpc(db, "job_stats", {}),
    rpc(db, "job_throughput", { p_minutes: 60 }),
    db.from("queue_stats").select("*").order("type").then((answer) => readRows("queue_stats", answer)),
    db.from("workers").select("id, kind, started_at, last_heartbeat_at")
      .is("stopped_at", null).gte("last_heartbeat_at", liveSince).order("last_heartbeat_at", { ascending: false }).limit(50)
      .then(({ data, error }) => (error ? null : data)),
  ]);
  return { stats, trend, types, workers };
}

/** An event stream's `error` event: the API's code and message for what ended it. */
function streamFailure(error: unknown): string {
  return JSON.stringify(error instanceof ApiError ? { code: error.code, message: error.message } : { code: "internal", message: String(error) });
}

/** The API's answer to a failed RPC: PostgREST's status (500 when none), with Retry-After on a 429. */
function apiErrorOf(error: RpcError): ApiError {
  const httpStatus = error.status >= 400 ? error.status : 500;
  if (httpStatus === 429) {
    let retryAfterMs = 1_000;
    try {
      retryAfterMs = Number(JSON.parse(error.details ?? "{}").retry_after_ms) || retryAfterMs;
    } catch {
      // No detail: the default wait.
    }
    return new ApiError(429, "rate_limited", error.reason, { retryAfterMs }, { "Retry-After": String(Math.ceil(retryAfterMs / 1000)) });
  }
  return new ApiError(httpStatus, CODE_FOR_STATUS[httpStatus] ?? (httpStatus >= 500 ? "internal" : "invalid_request"), error.reason,
    error.details || error.hint ? { details: error.details, hint: error.hint } : undefined);
}

function validationError(issues: Issue[]): ApiError {
  return new ApiError(400, "validation_failed", issuesText(issues, "body"), { issues: issues.slice(0, 100) });
}

/** `value` parsed by `schema`, or a 400 naming every failing field under `prefix`. */
function parse<S extends z.ZodType>(schema: S, value: unknown, prefix: (string | number)[] = []): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(issuesOf(result.error, prefix));
  return result.data;
}

async function jsonBody(c: Context, optional = false): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") {
    if (optional) return {};
    throw new ApiError(400, "invalid_json", "the request body must be a JSON object");
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, "invalid_json", `the request body is not JSON: ${(error as Error).message}`);
  }
  // A payload may hold values 64 levels deep (enqueue refuses more, with a 400 that names it);
  // past this, sending the body on to Postgres would overflow the stack (a 500).
  if (nestedDeeperThan(body, MAX_BODY_DEPTH)) {
    throw new ApiError(400, "invalid_json", `the request body is nested more than ${MAX_BODY_DEPTH} levels deep`);
  }
  return body;
}

/** How deep a request body may nest: a batch's payloads are level 2, and theirs may go 64 deeper. */
const MAX_BODY_DEPTH = 100;

/** The Hono app of the jobs API. */
export function createJobsApp(options: JobsApiOptions): Hono<Env> {
  const missing = [
    !options.supabaseUrl && "SUPABASE_URL",
    !options.anonKey && "SUPABASE_ANON_KEY",
    !options.serviceRoleKey && "SUPABASE_SERVICE_ROLE_KEY",
  ].filter(Boolean);
  if (missing.length > 0) throw new Error(`jobs API: ${missing.join(", ")} must be set`);
  const {
    registry, maxBodyBytes = 10 * 1024 * 1024, eventPollMs = 250, eventStreamMs = 120_000, maxStreamsPerCaller = 10, livePollMs = 1_000,
  } = options;
  const serviceDb = restClient(options.supabaseUrl, options.serviceRoleKey, options.serviceRoleKey);
  const eventPoll = new SharedEventPoll(
    async (jobIds) => jsonAs<Record<string, JobEvent[]>>(await rpc(serviceDb, "job_events_many", { p_job_ids: jobIds })),
    eventPollMs,
  );
  const streams = new StreamCounter(maxStreamsPerCaller);

  /** Takes one of the caller's stream slots (a release function), or refuses with 429. */
  function openStream(c: Context): () => void {
    const release = streams.open(callerOf(c.req.header("Authorization") ?? ""));
    if (!release) {
      throw new ApiError(429, "rate_limited", `at most ${maxStreamsPerCaller} event streams per caller at once; close one first`, undefined, {
        "Retry-After": "1",
      });
    }
    return release;
  }

  /** Answers a read: its data as JSON, or, asked for `text/event-stream`, a live read (see the
   * header). The first read runs before any stream opens, so a refusal is a plain error answer. */
  async function answerRead(c: Context, read: () => Promise<unknown>): Promise<Response> {
    const first = await read();
    if (!(c.req.header("Accept") ?? "").includes("text/event-stream")) return c.json({ ok: true, data: first });
    const release = openStream(c);
    return streamSSE(c, async (stream) => {
      try {
        let closed = false;
        stream.onAbort(() => {
          closed = true;
        });
        let sent = JSON.stringify(first);
        await stream.writeSSE({ event: "data", data: sent });
        const deadline = Date.now() + eventStreamMs;
        while (!closed) {
          await stream.sleep(Math.min(livePollMs, Math.max(0, deadline - Date.now())));
          if (closed) break;
          if (Date.now() >= deadline) {
            await stream.writeSSE({ event: "timeout", data: JSON.stringify({ reconnect: "open the stream again" }) });
            break;
          }
          let next: string;
          try {
            next = JSON.stringify(await read());
          } catch (error) {
            await stream.writeSSE({ event: "error", data: streamFailure(error) });
            break;
          }
          if (next === sent) continue;
          sent = next;
          await stream.writeSSE({ event: "data", data: sent });
        }
      } finally {
        release();
      }
    });
  }

  /** Checks a type and each payload against its schema; returns the parsed payloads. */
  function checkPayloads(type: string, payloads: Record<string, unknown>[], prefix: (index: number) => (string | number)[]) {
    const definition = registry.get(type);
    if (!definition) {
      throw validationError([{ path: "type", message: `unknown job type "${type}"; known: ${registry.typeNames().join(", ")}` }]);
    }
    const issues: Issue[] = [];
    const parsed = payloads.map((payload, index) => {
      if (!definition.payloadSchema) return payload;
      const result = definition.payloadSchema.safeParse(payload);
      if (result.success) return result.data;
      if (issues.length < 100) issues.push(...issuesOf(result.error, prefix(index)));
      return payload;
    });
    if (issues.length > 0) throw validationError(issues);
    return { definition, payloads: parsed };
  }

  /** enqueue_job(s), with "unknown job type" for a type this code defines explained: the
   * definitions reach the database when a worker starts (registry.publish). */
  async function enqueue<Fn extends "enqueue_job" | "enqueue_jobs">(db: DatabaseClient, fn: Fn, type: string, args: FunctionArgs<Fn>): Promise<FunctionReturns<Fn>> {
    try {
      return await rpc(db, fn, args);
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && error.message.includes("unknown job type")) {
        throw new ApiError(503, "type_not_published",
          `job type "${type}" is defined in this project's code but not yet in the database; a worker publishes the job types when it starts: wake the worker function once (POST /functions/v1/worker) or run npm run worker`);
      }
      throw error;
    }
  }

  const app = new Hono<Env>().basePath(options.basePath ?? "/jobs");
  // Pages on other origins call it (the dashboard, an app): the headers supabase-js sends.
  app.use("*", cors({
    origin: "*",
    allowHeaders: ["authorization", "apikey", "content-type", "x-client-info", "last-event-id"],
    allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
  }));

  app.use("*", async (c, next) => {
    const authorization = c.req.header("Authorization");
    if (!authorization || !/^Bearer \S+$/i.test(authorization)) {
      throw new ApiError(401, "unauthorized", "a JWT is required: send Authorization: Bearer <token>");
    }
    c.set("db", restClient(options.supabaseUrl, options.anonKey, authorization.replace(/^Bearer\s+/i, "")));
    await next();
  });

  const limitBody = bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw new ApiError(413, "payload_too_large", `the request body exceeds ${maxBodyBytes} bytes`);
    },
  });

  app.post("/jobs", limitBody, async (c) => {
    const body = await jsonBody(c);
    const db = c.get("db");
    const isBatch = typeof body === "object" && body !== null && "payloads" in body;
    const runAt = (request: { runAt?: string; delayMs?: number }) =>
      request.runAt ?? (request.delayMs !== undefined ? new Date(Date.now() + request.delayMs).toISOString() : undefined);

    if (!isBatch) {
      const request = parse(enqueueOne, body);
      const { definition, payloads: [payload] } = checkPayloads(request.type, [request.payload], () => ["payload"]);
      const derived = definition.enqueueDefaults?.(payload!) ?? {};
      const sqlOptions = compact({
        priority: request.priority ?? derived.priority,
        run_at: runAt(request),
        group_key: request.groupKey ?? derived.groupKey,
        dedupe_key: request.dedupeKey ?? derived.dedupeKey,
        max_attempts: request.maxAttempts,
      });
      const job = await enqueue(db, "enqueue_job", request.type, { p_type: request.type, p_payload: asJson(payload), p_options: asJson(sqlOptions) });
      const doc = jsonAs<{ id: string; status: string; queuePosition: number | null; estimatedWaitMs: number | null }>(
        await rpc(db, "get_job", { p_job_id: job.id }),
      );
      return c.json({ ok: true, data: { id: doc.id, status: doc.status, queuePosition: doc.queuePosition, estimatedWaitMs: doc.estimatedWaitMs } }, 201);
    }

    const request = parse(enqueueMany, body);
    const { definition, payloads } = checkPayloads(request.type, request.payloads, (index) => ["payloads", index]);
    const derived = payloads.map((payload) => definition.enqueueDefaults?.(payload) ?? {});
    const priorities = new Set(derived.map((d) => d.priority));
    if (request.priority === undefined && priorities.size > 1) {
      throw validationError([{ path: "priority", message: `the payloads derive different priorities (${[...priorities].join(", ")}); set priority, or send one batch per priority` }]);
    }
    const derivedGroupKeys = derived.map((d) => d.groupKey ?? null);
    const derivedDedupeKeys = derived.map((d) => d.dedupeKey ?? null);
    const sqlOptions = compact({
      priority: request.priority ?? derived[0]?.priority,
      run_at: runAt(request),
      max_attempts: request.maxAttempts,
      group_key: request.groupKey,
      group_keys: request.groupKey ? undefined : request.groupKeys ?? (derivedGroupKeys.some(Boolean) ? derivedGroupKeys : undefined),
      dedupe_keys: request.dedupeKeys ?? (derivedDedupeKeys.some(Boolean) ? derivedDedupeKeys : undefined),
    });
    const ids = await enqueue(db, "enqueue_jobs", request.type, { p_type: request.type, p_payloads: asJson(payloads), p_options: asJson(sqlOptions) });
    return c.json({ ok: true, data: { ids, count: ids.length } }, 201);
  });

  app.get("/jobs", (c) => {
    const query = parse(listQuery, c.req.query(), ["query"]);
    // A filter left out takes the function's default (null: no filter).
    return answerRead(c, () => rpc(c.get("db"), "list_jobs", compact({
      p_statuses: query.status,
      p_type: query.type,
      p_group_key: query.groupKey,
      p_search: query.search,
      p_priorities: query.priority,
      p_created_after: query.createdAfter,
      p_created_before: query.createdBefore,
      p_sort: query.sort,
      p_direction: query.order,
      p_cursor: query.cursor,
      p_limit: query.limit,
    })));
  });

  app.get("/jobs/:id", (c) => {
    const id = parse(jobId, c.req.param("id"), ["id"]);
    return answerRead(c, () => rpc(c.get("db"), "get_job", { p_job_id: id }));
  });

  app.delete("/jobs/:id", limitBody, async (c) => {
    const id = parse(jobId, c.req.param("id"), ["id"]);
    const { reason } = parse(cancelBody, await jsonBody(c, true));
    const db = c.get("db");
    await rpc(db, "cancel_job", compact({ p_job_id: id, p_reason: reason }));
    return c.json({ ok: true, data: await rpc(db, "get_job", { p_job_id: id }) });
  });

  app.post("/jobs/:id/retry", async (c) => {
    const id = parse(jobId, c.req.param("id"), ["id"]);
    const db = c.get("db");
    await rpc(db, "retry_job", { p_job_id: id });
    return c.json({ ok: true, data: await rpc(db, "get_job", { p_job_id: id }) });
  });

  app.get("/jobs/:id/events", async (c) => {
    const id = parse(jobId, c.req.param("id"), ["id"]);
    const db = c.get("db");
    // Read once before the stream opens, with the caller's JWT: an unknown job (or another
    // tenant's) is a plain 404, and only then does the shared poll read the job for it.
    let events: JobEvent[] | null = jsonAs<JobEvent[]>(await rpc(db, "job_events", { p_job_id: id }));
    const release = openStream(c);
    const lastEventId = c.req.header("Last-Event-ID");
    return streamSSE(c, async (stream) => {
      try {
        const sent = new Set<string>();
        // A reconnecting client has seen everything up to its last event id.
        const resumeAt = lastEventId ? events!.findIndex((event) => event.id === lastEventId) : -1;
        for (const event of events!.slice(0, resumeAt + 1)) sent.add(event.id);
        let closed = false;
        stream.onAbort(() => {
          closed = true;
        });
        const deadline = Date.now() + eventStreamMs;
        while (!closed) {
          if (events === null) {
            await stream.writeSSE({ event: "error", data: JSON.stringify({ code: "not_found", message: `job ${id} no longer exists` }) });
            break;
          }
          for (const event of events) {
            if (sent.has(event.id)) continue;
            sent.add(event.id);
            await stream.writeSSE({ event: "status", id: event.id, data: JSON.stringify(event) });
          }
          const end = events.find((event) => event.scope === "job" && TERMINAL.has(event.status));
          if (end) {
            await stream.writeSSE({ event: "end", data: JSON.stringify({ status: end.status }) });
            break;
          }
          if (Date.now() >= deadline) {
            await stream.writeSSE({ event: "timeout", data: JSON.stringify({ reconnect: "send Last-Event-ID to resume" }) });
            break;
          }
          try {
            events = await eventPoll.next(id);
          } catch (error) {
            await stream.writeSSE({ event: "error", data: streamFailure(error) });
            break;
          }
        }
      } finally {
        release();
      }
    });
  });

  app.get("/groups/:key", (c) => {
    const groupKey = c.req.param("key");
    const query = parse(groupQuery, c.req.query(), ["query"]);
    return answerRead(c, () => rpc(c.get("db"), "group_jobs", { p_group_key: groupKey, p_limit: query.limit }));
  });

  app.get("/stats", (c) => {
    const query = parse(statsQuery, c.req.query(), ["query"]);
    return answerRead(c, () => rpc(c.get("db"), "job_stats", compact({ p_type: query.type })));
  });

  app.get("/overview", (c) => {
    parse(noQuery, c.req.query(), ["query"]);
    return answerRead(c, () => overview(c.get("db")));
  });

  app.get("/dead-letter", (c) => {
    const query = parse(deadLetterQuery, c.req.query(), ["query"]);
    return answerRead(c, async () =>
      readRows("dead_letter", await c.get("db").from("dead_letter")
        .select("job_id, type, last_error, failed_at, attempts, group_key")
        .order("failed_at", { ascending: false }).limit(query.limit)));
  });

  app.notFound((c) => c.json({ ok: false, error: { code: "not_found", message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` } }, 404));

  app.onError((error, c) => {
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      const body = { ok: false, error: { code: error.code, message: error.message, ...(error.details !== undefined ? { details: error.details } : {}) } };
      return c.json(body, error.status as 400);
    }
    console.error("jobs API:", error);
    return c.json({ ok: false, error: { code: "internal", message: "internal error" } }, 500);
  });

  return app;
}

/** `object` without its undefined entries (an argument left out takes its SQL default). */
function compact<T extends Record<string, unknown>>(object: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
