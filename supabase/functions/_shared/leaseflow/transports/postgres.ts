// The direct transport: postgres.js on SUPABASE_DB_URL, or LEASEFLOW_DB_URL for Supabase's
// transaction pooler (port 6543), which is why statements are not prepared. Each method calls one
// SQL function: the drain's calls in one round trip (see claimSteps), the others with parameters
// in two.
import postgres from "postgres";
import { CallTimeoutError } from "../errors.ts";
import type {
  ClaimedStep,
  ClaimStepsParams,
  CompletedSteps,
  CompleteStepsParams,
  ExtendLeaseParams,
  ExtendLeasesParams,
  FailOutcome,
  FailStepParams,
  FailStepsParams,
  JobTypeOptions,
  RegisterWorkerParams,
  ReleaseStepsParams,
  StepGroups,
  Transport,
} from "../types.ts";
import { type ClaimStepsRow, type CompleteAndClaimRow, interval, settledAs, toClaimedStep, toCompletedSteps, toSqlFailures, toSqlOptions } from "./contract.ts";

/** Connection settings for {@link PostgresTransport.connect}. */
export interface PostgresTransportOptions {
  /** Connections in the pool. A worker's statements are few and large (claims of up to 1 000 steps,
   * settles in batches), so two carry a claim and a settle at once and postgres.js pipelines the
   * rest; each more connection is another backend that must fault in the shared buffers and
   * contends for the same pages: a Node worker's 50 000-job drain here took 38-43 us of Postgres
   * CPU per job on two connections against 46-48 on four, and ran 8 % faster. (Default: 2) */
  maxConnections?: number;
  /** A connection attempt not finished in this long fails and is tried again. postgres.js's own
   * 30 s held every query queued behind a connection the server closed during its startup
   * (porsager/postgres#1193; the chaos suite's connection-kill storm hit it): a worker's claims
   * and settles waited with them. (Default: 5 000) */
  connectTimeoutMs?: number;
  /** The longest wait between reconnection attempts after failures (postgres.js's grows to 20 s):
   * a worker wants its queue back soon after a restart. (Default: 2 000) */
  maxReconnectDelayMs?: number;
  /** A call with no answer in this long fails with a transient error (code CALL_TIMEOUT), which
   * the runtime treats as a dropped connection; a pool the transport opened is replaced first,
   * the old one ended once its other calls answer. postgres.js 3.4.9 can leave a query
   * unsettled forever when the server terminates its connection: the query sent while the
   * connection was failing waits in a connection that is closed (scripts/bench/pg-stranded.ts:
   * four clients of four within 20 s of kills every 50 ms), and a worker whose claim waits so
   * claims nothing again. A worker's calls answer in milliseconds, but not always: in a sustained
   * run whose tables outgrew shared_buffers, renewing 3 000 leases took over 15 s. A call that
   * outlasts a lease (30 s by default) serves none of the steps it claims or renews.
   * (Default: 30 000) */
  callTimeoutMs?: number;
}

/** postgres.js settings for a connection a worker depends on (see PostgresTransportOptions). */
export function workerConnectionSettings(options: Pick<PostgresTransportOptions, "connectTimeoutMs" | "maxReconnectDelayMs"> = {}) {
  const { connectTimeoutMs = 5_000, maxReconnectDelayMs = 2_000 } = options;
  return {
    connect_timeout: connectTimeoutMs / 1000,
    // postgres.js's curve (3^retries / 100 s, jittered), capped.
    backoff: (retries: number) => Math.min((0.5 + Math.random() / 2) * (3 ** retries / 100), maxReconnectDelayMs / 1000),
  };
}

/** The columns of a claimed step that toClaimedStep reads (ClaimStepsRow), as claim_steps and
 * complete_and_claim_steps name them. */
const CLAIMED_STEP_COLUMNS =
  "step_id, job_id, job_type, step_name, seq, attempt, max_attempts, lease_expires_at, timeout_ms, payload, previous_outputs";

/**
 * A postgres.js pool whose calls fail after `timeoutMs` without an answer (CallTimeoutError), and
 * which, given `reopen`, is then replaced: its stranded connection would keep a later query
 * waiting too (see PostgresTransportOptions.callTimeoutMs). The old pool is ended in the
 * background once the calls still in flight on it answer (or after another `timeoutMs`): ended at
 * once, it cut them all, and a slow moment became a worker's failed claims and writes.
 */
export class DeadlinePool {
  // TypeScript-private, not #private: see PostgresTransport.
  private current: postgres.Sql;

  constructor(
    sql: postgres.Sql,
    /** How long a call may go unanswered. */
    readonly timeoutMs: number,
    /** Opens a pool in place of one a call went unanswered on; none keeps the one given. */
    private readonly reopen?: () => postgres.Sql,
  ) {
    this.current = sql;
  }

  /** The pool calls go through now (a new one after an unanswered call replaced it). */
  get sql(): postgres.Sql {
    return this.current;
  }

  /** Runs `run` on the current pool; `what` names the call in the error. */
  async call<T>(what: string, run: (sql: postgres.Sql) => PromiseLike<T>): Promise<T> {
    const sql = this.current;
    const answer = Promise.resolve(run(sql));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // A late answer or error goes nowhere.
        answer.catch(() => {});
        if (this.reopen && this.current === sql) {
          this.current = this.reopen();
          // Not awaited: ending a pool with a stranded connection can itself wait forever
          // (porsager/postgres#1097) but for its timeout.
          sql.end({ timeout: this.timeoutMs / 1000 }).catch(() => {});
        }
        reject(new CallTimeoutError(`${what}: no answer from Postgres in ${this.timeoutMs} ms (callTimeoutMs)${this.reopen ? "; its connection pool was replaced" : ""}`));
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([answer, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Transport over a direct (or pooled) Postgres connection. */
export class PostgresTransport implements Transport {
  // TypeScript-private, not #private: an object made with Object.create(transport) (a wrapper that
  // overrides some calls) runs these methods with itself as `this`, and has no #fields.
  private readonly pool: DeadlinePool;
  private readonly ownsClient: boolean;

  /** Wraps an existing postgres.js client; close() ends it only when `ownsClient`. A call
   * unanswered in `callTimeoutMs` (30 000) fails (see PostgresTransportOptions); the client is
   * replaced by `reopen` when given, else kept. */
  constructor(sql: postgres.Sql, ownsClient = false, options: { callTimeoutMs?: number; reopen?: () => postgres.Sql } = {}) {
    this.pool = new DeadlinePool(sql, options.callTimeoutMs ?? 30_000, options.reopen);
    this.ownsClient = ownsClient;
  }

  /** Opens a pool on `url` (prepare: false, so it also works through the transaction pooler). */
  static connect(url: string, options: PostgresTransportOptions = {}): PostgresTransport {
    const open = () => postgres(url, { max: options.maxConnections ?? 2, prepare: false, onnotice: () => {}, ...workerConnectionSettings(options) });
    return new PostgresTransport(open(), true, { callTimeoutMs: options.callTimeoutMs, reopen: open });
  }

  /** The postgres.js client calls go through now (a new one after an unanswered call replaced it). */
  get sql(): postgres.Sql {
    return this.pool.sql;
  }

  async defineJobType(type: string, steps: StepGroups, options: JobTypeOptions): Promise<void> {
    await this.pool.call("define_job_type", (sql) => sql`
      select public.define_job_type(${type}, ${sql.json(steps)}, ${sql.json(toSqlOptions(options) as postgres.JSONValue)})`);
  }

  // The drain's calls (claim, complete, fail: one per batch each) carry their values as literals in
  // the statement's text (sqlLiteral), not as parameters: without prepared statements (the
  // transaction pooler has none), postgres.js sends a statement with parameters in two round trips,
  // the first to learn the parameters' types, and lines up no other statement on that connection
  // meanwhile. drain() of 50 000 no-op jobs at concurrency 32 over this transport ran 27 833-30 569
  // jobs/s with parameters against 33 660-35 190 with prepared statements, and 33 103-35 085 with
  // literals against 32 845-36 002 prepared (three interleaved pairs each).

  async claimSteps(params: ClaimStepsParams): Promise<ClaimedStep[]> {
    const types = params.types == null ? "null" : `array[${params.types.map(sqlLiteral).join(",")}]`;
    const rows = await this.pool.call("claim_steps", (sql) => wholeRows(sql.unsafe<ClaimStepsRow[]>(`
      select ${CLAIMED_STEP_COLUMNS}
        from public.claim_steps(${sqlLiteral(params.workerId)}, ${sqlLiteral(interval(params.leaseMs))}::interval,
                                ${sqlInteger(params.limit)}, ${types}::text[])`)));
    return rows.map(toClaimedStep);
  }

  async completeSteps(params: CompleteStepsParams): Promise<CompletedSteps> {
    // The batch's JSON built from each output's checked text: no output is parsed or stringified
    // again (those copies and their garbage were 2-3 of the worker's 34-36 us of CPU per no-op job).
    // An object keyed by step id, which the database uses as sent (see _results_batch).
    let results = "{";
    for (const result of params.results) {
      if (results.length > 1) results += ",";
      results += `${JSON.stringify(result.stepId)}:${result.outputJson}`;
    }
    results += "}";
    const lease = params.claimNextLeaseMs === undefined ? "null" : sqlLiteral(interval(params.claimNextLeaseMs));
    const rows = await this.pool.call("complete_and_claim_steps", (sql) => wholeRows(sql.unsafe<CompleteAndClaimRow[]>(`
      select completed_step_ids, ${CLAIMED_STEP_COLUMNS}
        from public.complete_and_claim_steps(${sqlLiteral(params.workerId)}, ${sqlLiteral(results)}::jsonb, ${lease}::interval)`)));
    return toCompletedSteps(rows);
  }

  async failStep(params: FailStepParams): Promise<FailOutcome> {
    const retryIn = params.retryInMs === undefined ? null : interval(params.retryInMs);
    const [row] = await this.pool.call("fail_step", (sql) => wholeRows(sql<{ status: string }[]>`
      select status from public.fail_step(${params.stepId}, ${params.workerId},
                                          ${sql.json(params.error as unknown as postgres.JSONValue)},
                                          ${retryIn}::interval, ${params.permanent})`));
    return settledAs(row?.status);
  }

  async failSteps(params: FailStepsParams): Promise<Map<string, FailOutcome>> {
    const rows = await this.pool.call("fail_steps", (sql) => wholeRows(sql.unsafe<{ id: string; status: string }[]>(`
      select id, status from public.fail_steps(${sqlLiteral(params.workerId)}, ${sqlLiteral(JSON.stringify(toSqlFailures(params.failures)))}::jsonb)`)));
    return new Map(rows.map((row) => [row.id, settledAs(row.status)]));
  }

  async extendLeases(params: ExtendLeasesParams): Promise<Set<string>> {
    const rows = await this.pool.call("extend_leases", (sql) => wholeRows(sql<{ id: string }[]>`
      select id from public.extend_leases(${params.workerId}, ${params.stepIds}::uuid[], ${interval(params.leaseMs)}::interval) as id`));
    return new Set(rows.map((row) => row.id));
  }

  async extendLease(params: ExtendLeaseParams): Promise<boolean> {
    const rows = await this.pool.call("extend_lease", (sql) => wholeRows(sql`
      select id from public.extend_lease(${params.stepId}, ${params.workerId}, ${interval(params.leaseMs)}::interval)`));
    return rows.length > 0;
  }

  async releaseSteps(params: ReleaseStepsParams): Promise<number> {
    const rows = await this.pool.call("release_steps", (sql) => wholeRows(sql`
      select id from public.release_steps(${params.workerId}, ${params.stepIds ?? null}::uuid[])`));
    return rows.length;
  }

  async nextClaimableAt(types?: string[]): Promise<Date | null> {
    const [row] = await this.pool.call("next_claimable_at", (sql) =>
      wholeRows(sql<{ at: Date | null }[]>`select public.next_claimable_at(${types ?? null}::text[]) as at`));
    return row?.at ?? null;
  }

  async tick(): Promise<void> {
    await this.pool.call("tick", (sql) => sql`select public.tick()`);
  }

  async registerWorker(params: RegisterWorkerParams): Promise<void> {
    await this.pool.call("register_worker", (sql) => sql`
      select 1 from public.register_worker(${params.workerId}, ${params.kind},
                                           ${sql.json((params.metadata ?? {}) as postgres.JSONValue)})`);
  }

  async heartbeatWorker(workerId: string): Promise<void> {
    await this.pool.call("heartbeat_worker", (sql) => sql`select 1 from public.heartbeat_worker(${workerId})`);
  }

  async stopWorker(workerId: string, metadata: Record<string, unknown> = {}): Promise<void> {
    await this.pool.call("stop_worker", (sql) => sql`select 1 from public.stop_worker(${workerId}, ${sql.json(metadata as postgres.JSONValue)})`);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.pool.sql.end({ timeout: 5 });
  }
}

/**
 * A query's rows with no empty slots before them. postgres.js 3.4 counts a result's rows per
 * connection and does not reset the count when a query's rows are cut off (its connection closed,
 * or an error came after some rows): the next query on that connection resolves with that many
 * empty slots before its own rows (porsager/postgres#1119, #1181, open). A claim read so after a
 * Postgres restart crashed a chaos-suite worker. Every row the query returned follows the slots.
 */
export async function wholeRows<T>(query: PromiseLike<T[]>): Promise<T[]> {
  const rows = await query;
  return rows.length === 0 || 0 in rows ? rows : rows.filter(() => true);
}

/** `text` as a SQL string literal, in the E'' form (backslashes doubled as well as quotes), so that
 * it reads the same whatever standard_conforming_strings says. A NUL is refused: no Postgres text
 * holds one. */
export function sqlLiteral(text: string): string {
  if (text.includes("\0")) throw new RangeError(`a value sent to Postgres must not contain a NUL character, got ${JSON.stringify(text.slice(0, 100))}`);
  return `E'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

/** `value` as a SQL integer literal; anything but a safe integer is refused. */
export function sqlInteger(value: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`expected an integer, got ${value}`);
  return String(value);
}
