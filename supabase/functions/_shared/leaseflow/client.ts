// A typed client for app code (browser, Node, Deno) over the app's own supabase-js client:
// enqueue, read, list, cancel, retry and watch jobs through the SQL API, as whoever the client is
// signed in as (a user: its tenant's jobs only, RLS and the functions' tenant checks decide).
// A refusal is the RpcError every RPC of leaseflow throws (the function, the SQLSTATE, the
// database's message). Payload schemas are not checked here: the jobs HTTP API checks them before writing, and workers
// before running (a payload the schema refuses fails as invalid_payload).
import type { Json } from "./database.types.ts";
import { asJson, callRpc, type DatabaseClient, jsonAs } from "./transports/rpc.ts";

/** A job's status. */
export type JobStatus = "pending" | "running" | "completed" | "failed" | "cancelled";

/** The statuses a job ends in. */
export const FINISHED_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled"];

/** A job as lists show it (list_jobs, group_jobs): previews instead of the payload and result. */
export interface JobSummary {
  id: string;
  type: string | null;
  status: JobStatus;
  priority: number;
  groupKey: string | null;
  dedupeKey: string | null;
  tenantId: string | null;
  maxAttempts: number | null;
  runAt: string;
  createdAt: string;
  startedAt: string | null;
  /** When it completed (null unless completed). */
  completedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  /** The payload's JSON text, cut to 200 characters (marked …). */
  payloadPreview: string;
  payloadBytes: number;
  resultPreview: string | null;
  error: { message?: string; code?: string; [key: string]: unknown } | null;
}

/** One attempt of a step: the ones that did not complete it, then the running or completing one. */
export interface JobAttempt {
  attempt: number;
  workerId: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  outcome: "running" | "completed" | "retried" | "failed" | "lease_expired" | "released" | "cancelled";
  error: Json;
}

/** One step of a job with its attempts. */
export interface JobStep {
  id: string;
  name: string | null;
  seq: number;
  status: JobStatus;
  attempt: number;
  maxAttempts: number;
  runAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  output: Json;
  error: Json;
  attempts: JobAttempt[];
}

/** One job whole (get_job): payload, result, steps and every attempt, queue position while waiting. */
export interface JobDocument extends Omit<JobSummary, "payloadPreview" | "payloadBytes" | "resultPreview"> {
  payload: Json;
  result: Json;
  /** Jobs ahead of it in the claim order while unfinished (0 once a step started); null once finished. */
  queuePosition: number | null;
  estimatedWaitMs: number | null;
  steps: JobStep[];
}

/** A page of list(): at most `limit` jobs, the total matching, the cursor of the next page. */
export interface JobPage {
  items: JobSummary[];
  total: number;
  nextCursor: string | null;
}

/** What list() filters and sorts by. */
export interface ListJobsFilter {
  statuses?: JobStatus[];
  type?: string;
  groupKey?: string;
  /** Any of these priorities. */
  priorities?: number[];
  /** Created at or after this instant. */
  createdAfter?: Date | string;
  /** Created before this instant. */
  createdBefore?: Date | string;
  /** Matches the type or the payload's text (ignoring case), or a job id from its first 8 characters. */
  search?: string;
  /** (Default: "created") */
  sort?: "created" | "priority" | "status";
  /** (Default: "desc") */
  direction?: "asc" | "desc";
  /** nextCursor of the page before. */
  cursor?: string | null;
  /** (Default: 50; at most 500) */
  limit?: number;
}

/** enqueue()'s options; the type's defaults apply to those left out. */
export interface EnqueueOptions {
  /** 1 (lowest) to 5. */
  priority?: number;
  /** When it may start (default: now). */
  runAt?: Date | string;
  /** Jobs of one key run one at a time (or the type's group concurrency), in enqueue order. */
  groupKey?: string;
  /** At most one unfinished job per type, tenant and dedupe key. */
  dedupeKey?: string;
  maxAttempts?: number;
}

/** Options of watch(). */
export interface WatchOptions {
  /** How often the job is read. (Default: 500) */
  intervalMs?: number;
  /** Stops watching: watch() rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called with the job each time its status changes (and first with its status now). */
  onChange?: (job: JobDocument) => void;
}

/** How follow() reports and when it stops. */
export interface FollowOptions<T> {
  /** Called with the read's data at once, then each time it changes. */
  onData: (data: T) => void;
  /** Called when the read is refused or its stream fails; it is opened again after `retryMs`. */
  onError?: (error: JobsApiError) => void;
  /** Stops following: follow() then resolves. */
  signal: AbortSignal;
  /** The wait before a failed stream is opened again. (Default: 1 000 ms) */
  retryMs?: number;
  /** The jobs HTTP API's function. (Default: "jobs") */
  functionName?: string;
}

/** A refusal of the jobs HTTP API (its `{error: {code, message}}`), or a network failure (status 0). */
export class JobsApiError extends Error {
  override name = "JobsApiError";
  constructor(
    /** The HTTP status (0 when no answer arrived). */
    readonly status: number,
    /** The API's error code (not_found, validation_failed, ...; "network" without an answer). */
    readonly code: string,
    message: string,
    /** The API's details, e.g. the failing fields of a validation_failed. */
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** The failing fields of a validation_failed (path and rule), none otherwise. */
  get issues(): { path: string; message: string }[] {
    return (this.details as { issues?: { path: string; message: string }[] } | undefined)?.issues ?? [];
  }
}

/** leaseflow's jobs through an app's supabase-js client. */
export class LeaseflowClient {
  constructor(readonly supabase: DatabaseClient) {}

  /** Enqueues one job of `type`; resolves with its id and status (pending, or running when it may start now). */
  async enqueue(type: string, payload: Record<string, unknown> = {}, options: EnqueueOptions = {}): Promise<{ id: string; status: JobStatus }> {
    const job = await callRpc(this.supabase, "enqueue_job", { p_type: type, p_payload: asJson(payload), p_options: asJson(sqlOptions(options)) });
    return { id: job.id, status: job.status as JobStatus };
  }

  /** Enqueues many jobs of `type` in one call, all or none; resolves with their ids in payload order. */
  enqueueMany(type: string, payloads: Record<string, unknown>[], options: EnqueueOptions = {}): Promise<string[]> {
    return callRpc(this.supabase, "enqueue_jobs", { p_type: type, p_payloads: asJson(payloads), p_options: asJson(sqlOptions(options)) });
  }

  /** One job whole; rejects with code PT404 when it does not exist or the caller may not see it. */
  async get(id: string): Promise<JobDocument> {
    return jsonAs<JobDocument>(await callRpc(this.supabase, "get_job", { p_job_id: id }));
  }

  /** A page of jobs. */
  async list(filter: ListJobsFilter = {}): Promise<JobPage> {
    return jsonAs<JobPage>(await callRpc(this.supabase, "list_jobs", {
      ...(filter.statuses?.length ? { p_statuses: filter.statuses } : {}),
      ...(filter.type ? { p_type: filter.type } : {}),
      ...(filter.groupKey ? { p_group_key: filter.groupKey } : {}),
      ...(filter.priorities?.length ? { p_priorities: filter.priorities } : {}),
      ...(filter.createdAfter ? { p_created_after: instant(filter.createdAfter) } : {}),
      ...(filter.createdBefore ? { p_created_before: instant(filter.createdBefore) } : {}),
      ...(filter.search ? { p_search: filter.search } : {}),
      ...(filter.sort ? { p_sort: filter.sort } : {}),
      ...(filter.direction ? { p_direction: filter.direction } : {}),
      ...(filter.cursor ? { p_cursor: filter.cursor } : {}),
      ...(filter.limit ? { p_limit: filter.limit } : {}),
    }));
  }

  /** Cancels an unfinished job (its running steps' late results are then ignored); PT409 once finished. */
  async cancel(id: string, reason?: string): Promise<{ id: string; status: JobStatus }> {
    const job = await callRpc(this.supabase, "cancel_job", { p_job_id: id, ...(reason ? { p_reason: reason } : {}) });
    return { id: job.id, status: job.status as JobStatus };
  }

  /** Runs a failed or cancelled job again (completed steps keep their outputs); PT409 otherwise. */
  async retry(id: string): Promise<{ id: string; status: JobStatus }> {
    const job = await callRpc(this.supabase, "retry_job", { p_job_id: id });
    return { id: job.id, status: job.status as JobStatus };
  }

  /** Follows a read of the jobs HTTP API (a GET such as "/jobs?status=failed", "/jobs/<id>",
   * "/overview") as a live read: `onData` gets its data at once and again each time it changes,
   * over one Server-Sent Events stream the function ends every couple of minutes and this opens
   * again, until `signal` aborts. Needs the `jobs` function deployed. */
  async follow<T>(path: string, options: FollowOptions<T>): Promise<void> {
    const { onData, onError, signal, retryMs = 1_000, functionName = "jobs" } = options;
    while (!signal.aborted) {
      // Only a stream the API ended on time (event `timeout`) is opened again at once; any other
      // end waits retryMs, so a stream dropped as soon as it opens is not asked for in a loop.
      let endedOnTime = false;
      try {
        const { data, error } = await this.supabase.functions.invoke(`${functionName}${path}`, {
          method: "GET", headers: { Accept: "text/event-stream" }, signal,
        });
        if (error) throw await jobsApiErrorOf(error);
        // supabase-js hands over the Response only for text/event-stream; parsed JSON means the
        // answer was not a stream (a proxy that dropped the Accept header, an older API).
        if (!(data instanceof Response)) throw new JobsApiError(200, "not_a_stream", `GET ${path} answered without an event stream`);
        for await (const event of serverSentEvents(data)) {
          if (event.event === "data") onData(JSON.parse(event.data) as T);
          if (event.event === "timeout") endedOnTime = true;
          if (event.event === "error") {
            const { code, message } = JSON.parse(event.data) as { code: string; message: string };
            throw new JobsApiError(200, code, message);
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        onError?.(error instanceof JobsApiError ? error : new JobsApiError(0, "network", String((error as Error)?.message ?? error)));
      }
      if (!endedOnTime) await sleep(retryMs, signal).catch(() => undefined);
    }
  }

  /** Reads the job every `intervalMs` until it has finished; resolves with it then. */
  async watch(id: string, options: WatchOptions = {}): Promise<JobDocument> {
    const { intervalMs = 500, signal, onChange } = options;
    let status: JobStatus | undefined;
    for (;;) {
      signal?.throwIfAborted();
      const job = await this.get(id);
      if (job.status !== status) {
        status = job.status;
        onChange?.(job);
      }
      if (FINISHED_STATUSES.includes(job.status)) return job;
      await (signal ? sleep(intervalMs, signal) : new Promise((resolve) => setTimeout(resolve, intervalMs)));
    }
  }
}

const instant = (at: Date | string) => (at instanceof Date ? at.toISOString() : at);

/** The jobs API's GET /jobs for `filter` (its query names), to read or follow(). */
export function jobsReadPath(filter: ListJobsFilter): string {
  const query = new URLSearchParams();
  const set = (name: string, value: string | number | undefined | null) => {
    if (value !== undefined && value !== null && value !== "") query.set(name, String(value));
  };
  set("status", filter.statuses?.join(","));
  set("type", filter.type);
  set("groupKey", filter.groupKey);
  set("priority", filter.priorities?.join(","));
  set("createdAfter", filter.createdAfter === undefined ? undefined : instant(filter.createdAfter));
  set("createdBefore", filter.createdBefore === undefined ? undefined : instant(filter.createdBefore));
  set("search", filter.search);
  set("sort", filter.sort);
  set("order", filter.direction);
  set("cursor", filter.cursor);
  set("limit", filter.limit);
  return `/jobs?${query}`;
}

/** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/** functions.invoke's error as the API's refusal: its JSON `{error: {code, message, details}}`
 * when the function answered, a network failure otherwise. */
export async function jobsApiErrorOf(error: { message: string; context?: unknown }): Promise<JobsApiError> {
  const answer = error.context instanceof Response ? error.context : undefined;
  if (!answer) return new JobsApiError(0, "network", error.message);
  const body = (await answer.json().catch(() => null)) as { error?: { code?: string; message?: string; details?: unknown } } | null;
  return new JobsApiError(answer.status, body?.error?.code ?? "http_error", body?.error?.message ?? `${answer.status} ${answer.statusText}`,
    body?.error?.details);
}

/** The events of a `text/event-stream` answer (event name, data), as they arrive. */
async function* serverSentEvents(answer: Response): AsyncGenerator<{ event: string; data: string }> {
  if (!answer.body) return;
  const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value.replace(/\r\n?/g, "\n");
      let end: number;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        let event = "message";
        const data: string[] = [];
        for (const line of block.split("\n")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = text;
          else if (field === "data") data.push(text);
        }
        if (data.length > 0) yield { event, data: data.join("\n") };
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function sqlOptions(options: EnqueueOptions): Record<string, unknown> {
  const runAt = options.runAt === undefined ? undefined : instant(options.runAt);
  return Object.fromEntries(Object.entries({
    priority: options.priority,
    run_at: runAt,
    group_key: options.groupKey,
    dedupe_key: options.dedupeKey,
    max_attempts: options.maxAttempts,
  }).filter(([, value]) => value !== undefined));
}
