// The runtime's vocabulary, shared by the core, the transports and the entries. Row shapes
// from SQL are snake_case and stay inside the transports; everything here is camelCase.

/** A step claimed by this worker, with everything its handler needs (one claim_steps row). */
export interface ClaimedStep {
  /** The step's id; stable across retries of the step, so it doubles as the idempotency key. */
  stepId: string;
  /** The job the step belongs to. */
  jobId: string;
  /** The job's type; selects the handler together with stepName. */
  jobType: string;
  /** The step's name within its job type. */
  stepName: string;
  /** The step's group index in the job (0 first). */
  seq: number;
  /** This attempt's number, 1 for the first. */
  attempt: number;
  /** Attempts the step may use in all. */
  maxAttempts: number;
  /** When the lease lapses unless extended. */
  leaseExpiresAt: Date;
  /** How long one attempt may run before it is aborted (the type's timeout). */
  timeoutMs: number;
  /** The job's payload. */
  payload: Record<string, unknown>;
  /** Outputs of the job's completed steps, by step name. */
  previousOutputs: Record<string, unknown>;
}

/** The JSON a failed attempt records (step_attempts.error, jobs.error). */
export interface StepErrorRecord {
  /** A short machine-readable code (transient, permanent, retry_after, timeout, ...). */
  code: string;
  /** Human-readable message, the thrown error's message. */
  message: string;
  /** The thrown error's class name. */
  name?: string;
  /** Extra details the error carried. */
  details?: unknown;
}

/** One step's successful result for complete_steps. */
export interface StepResult {
  /** The completed step. */
  stepId: string;
  /** What the handler returned, as the JSON text that was checked to be storable ("null" for
   * nothing): the direct transport writes it into the batch as it is, parsed by no one. */
  outputJson: string;
}

/** A job type's steps as define_job_type takes them: names in order; a nested array is a group
 * whose steps run in parallel. */
export type StepGroups = (string | string[])[];

/** A job type's options as define_job_type takes them (camelCase; the transport maps them). */
export interface JobTypeOptions {
  /** Attempts per step, 1..100. (Default: 3) */
  maxAttempts?: number;
  /** Retry delay base × 2^(attempt − 1), spread by ±jitter, capped at maxMs. (Default: 1 s, 1 h, 0.2) */
  backoff?: { baseMs?: number; maxMs?: number; jitter?: number };
  /** How long one attempt of a step may run. (Default: 5 minutes) */
  timeoutMs?: number;
  /** Default priority of the type's jobs, 1..5, higher first. (Default: 3) */
  priority?: number;
  /** Jobs of one group key running at once. (Default: 1) */
  concurrency?: number;
  /** At most `max` jobs of one group key start per `perMs`. (Default: none) */
  rateLimit?: { max: number; perMs: number };
}

/** claim_steps' arguments. */
export interface ClaimStepsParams {
  /** The claiming worker; every later settle of these steps is guarded by it. */
  workerId: string;
  /** The lease each claimed step gets. */
  leaseMs: number;
  /** At most this many steps, 1..1000. */
  limit: number;
  /** Only steps of these job types. (Default: every type) */
  types?: string[];
}

/** complete_and_claim_steps' arguments. */
export interface CompleteStepsParams {
  /** The worker that holds the steps. */
  workerId: string;
  /** One output per completed step. */
  results: StepResult[];
  /** Also claim, under a lease this long, the next step of each job that moves on and runs one
   * step at a time (every group of its type has one step). (Default: claim nothing) */
  claimNextLeaseMs?: number;
}

/** What a completion write did. */
export interface CompletedSteps {
  /** The ids of the steps it completed (a lost lease is left out). */
  completed: string[];
  /** The next steps it claimed for the worker (CompleteStepsParams.claimNextLeaseMs). */
  claimed: ClaimedStep[];
}

/** fail_step's arguments. */
export interface FailStepParams {
  /** The failed step. */
  stepId: string;
  /** The worker that holds it. */
  workerId: string;
  /** What went wrong, recorded with the attempt. */
  error: StepErrorRecord;
  /** Retry after exactly this long instead of the type's backoff (a rate limit's Retry-After). */
  retryInMs?: number;
  /** Fail the step and its job now, whatever attempts remain. */
  permanent: boolean;
}

/** What fail_step did: scheduled a retry, failed the step for good, or nothing (the lease was lost). */
export type FailOutcome = "retried" | "failed" | "lost";

/** One failed attempt in a fail_steps batch. */
export interface StepFailure {
  /** The failed step. */
  stepId: string;
  /** What went wrong, recorded with the attempt. */
  error: StepErrorRecord;
  /** Retry after exactly this long instead of the type's backoff. */
  retryInMs?: number;
  /** Fail the step and its job now, whatever attempts remain. */
  permanent: boolean;
}

/** fail_steps' arguments. */
export interface FailStepsParams {
  /** The worker that holds the steps. */
  workerId: string;
  /** One entry per failed step. */
  failures: StepFailure[];
}

/** extend_lease's arguments. */
export interface ExtendLeaseParams {
  /** The running step. */
  stepId: string;
  /** The worker that holds it. */
  workerId: string;
  /** The new lease, counted from now. */
  leaseMs: number;
}

/** extend_leases' arguments. */
export interface ExtendLeasesParams {
  /** The worker that holds the steps. */
  workerId: string;
  /** The steps whose leases to renew. */
  stepIds: string[];
  /** The new lease, counted from now. */
  leaseMs: number;
}

/** release_steps' arguments. */
export interface ReleaseStepsParams {
  /** The worker whose steps go back. */
  workerId: string;
  /** Only these of its steps. (Default: all it holds) */
  stepIds?: string[];
}

/** register_worker's arguments. */
export interface RegisterWorkerParams {
  /** The worker's id, unique per process or invocation. */
  workerId: string;
  /** "edge" (one Edge Function invocation) or "node" (a long-running process). */
  kind: "edge" | "node";
  /** Facts the worker reports about itself (host, budget, the wake-up that started it). (Default: {}) */
  metadata?: Record<string, unknown>;
}

/** The driver: one method per SQL function the runtime calls. Implementations: postgres.js, supabase-js. */
export interface Transport {
  /** define_job_type: publishes a job type's steps and options. */
  defineJobType(type: string, steps: StepGroups, options: JobTypeOptions): Promise<void>;
  /** claim_steps: claims up to `limit` steps under a lease. */
  claimSteps(params: ClaimStepsParams): Promise<ClaimedStep[]>;
  /** complete_and_claim_steps: completes the held steps, claiming the next steps of their jobs when asked. */
  completeSteps(params: CompleteStepsParams): Promise<CompletedSteps>;
  /** fail_step: retry later (after retryInMs, or the type's backoff) or fail for good. */
  failStep(params: FailStepParams): Promise<FailOutcome>;
  /** fail_steps: fail_step for a batch; the outcome of each step it settled (a lost lease is left out). */
  failSteps(params: FailStepsParams): Promise<Map<string, FailOutcome>>;
  /** extend_lease: false when the worker no longer holds the step. */
  extendLease(params: ExtendLeaseParams): Promise<boolean>;
  /** extend_leases: renews many leases at once; returns the ids still held (the others were lost). */
  extendLeases(params: ExtendLeasesParams): Promise<Set<string>>;
  /** release_steps: gives steps back without consuming their attempt; returns how many. */
  releaseSteps(params: ReleaseStepsParams): Promise<number>;
  /** next_claimable_at: when the next step of `types` (all when omitted) becomes claimable (a held one when its lease lapses); null when none waits or is held. */
  nextClaimableAt(types?: string[]): Promise<Date | null>;
  /** tick: sweep and wake as many worker invocations as the backlog needs. */
  tick(): Promise<void>;
  /** register_worker: records the worker as alive. */
  registerWorker(params: RegisterWorkerParams): Promise<void>;
  /** heartbeat_worker: records that the worker is still alive. */
  heartbeatWorker(workerId: string): Promise<void>;
  /** stop_worker, merging `metadata` (e.g. the drain summary) into the worker's. */
  stopWorker(workerId: string, metadata?: Record<string, unknown>): Promise<void>;
  /** Releases the transport's connections. */
  close(): Promise<void>;
}

/** Structured log lines; the entries decide where they go. */
export interface Logger {
  /** A line per claimed and completed step: for following a worker closely. (Default: dropped) */
  debug?(message: string, fields?: Record<string, unknown>): void;
  /** Progress a person follows. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something went wrong but the worker carries on. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Something went wrong. */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Time, injected so tests can drive it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/** How much a console logger writes: each level includes the ones after it. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** `log` without the lines below `level`. */
export function atLevel(log: Logger, level: LogLevel): Logger {
  const rank = { debug: 0, info: 1, warn: 2, error: 3 }[level];
  return {
    ...(rank <= 0 && log.debug ? { debug: log.debug.bind(log) } : {}),
    info: rank <= 1 ? log.info.bind(log) : () => {},
    warn: rank <= 2 ? log.warn.bind(log) : () => {},
    error: log.error.bind(log),
  };
}

/** A logger that writes one line per event at `level` and above to the console. */
export function createConsoleLogger(level: LogLevel = "info"): Logger {
  return atLevel({
    debug: (message, fields) => console.log(formatLine(message, fields)),
    info: (message, fields) => console.log(formatLine(message, fields)),
    warn: (message, fields) => console.warn(formatLine(message, fields)),
    error: (message, fields) => console.error(formatLine(message, fields)),
  }, level);
}

/** The console at info level: progress, retries and failures, but no line per step. */
export const consoleLogger: Logger = createConsoleLogger("info");

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

function formatLine(message: string, fields?: Record<string, unknown>): string {
  if (!fields || Object.keys(fields).length === 0) return message;
  const rendered = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
  return `${message} ${rendered}`;
}
