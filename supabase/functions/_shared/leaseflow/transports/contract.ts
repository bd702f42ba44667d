// The SQL contract's shapes, shared by every transport: claim_steps and complete_and_claim_steps
// rows in, define_job_type options out. Rows are snake_case as Postgres (or PostgREST's JSON) gives them.
import type { ClaimedStep, CompletedSteps, FailOutcome, JobTypeOptions, StepFailure } from "../types.ts";

/** One claim_steps row as it arrives (timestamps may be Date or ISO text, bigints text or number). */
export interface ClaimStepsRow {
  step_id: string;
  job_id: string;
  job_type: string;
  step_name: string;
  seq: number;
  attempt: number;
  max_attempts: number;
  lease_expires_at: Date | string;
  timeout_ms: number | string;
  payload: Record<string, unknown> | null;
  previous_outputs: Record<string, unknown> | null;
}

/** One complete_and_claim_steps row: the completed steps' ids (one row, when any completed), or
 * a claimed step (a claim_steps row). */
export type CompleteAndClaimRow = { completed_step_ids: string[] } | ({ completed_step_ids: null } & ClaimStepsRow);

/** complete_and_claim_steps' rows as the runtime uses them. */
export function toCompletedSteps(rows: CompleteAndClaimRow[]): CompletedSteps {
  let completed: string[] = [];
  const claimed: ClaimedStep[] = [];
  for (const row of rows) {
    if (row.completed_step_ids === null) claimed.push(toClaimedStep(row));
    else completed = row.completed_step_ids;
  }
  return { completed, claimed };
}

/** A claim_steps row as the runtime uses it. */
export function toClaimedStep(row: ClaimStepsRow): ClaimedStep {
  return {
    stepId: row.step_id,
    jobId: row.job_id,
    jobType: row.job_type,
    stepName: row.step_name,
    seq: row.seq,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    leaseExpiresAt: new Date(row.lease_expires_at),
    timeoutMs: Number(row.timeout_ms),
    payload: row.payload ?? {},
    previousOutputs: row.previous_outputs ?? {},
  };
}

/** Milliseconds as a Postgres interval literal ('1500 milliseconds'). */
export function interval(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`a duration must be a finite number of ms ≥ 0, got ${ms}`);
  return `${Math.round(ms)} milliseconds`;
}

/** JobTypeOptions as define_job_type's p_options JSON. */
export function toSqlOptions(options: JobTypeOptions): Record<string, unknown> {
  const sql: Record<string, unknown> = {};
  if (options.maxAttempts !== undefined) sql.max_attempts = options.maxAttempts;
  if (options.backoff) {
    const backoff: Record<string, unknown> = {};
    if (options.backoff.baseMs !== undefined) backoff.base = interval(options.backoff.baseMs);
    if (options.backoff.maxMs !== undefined) backoff.max = interval(options.backoff.maxMs);
    if (options.backoff.jitter !== undefined) backoff.jitter = options.backoff.jitter;
    sql.backoff = backoff;
  }
  if (options.timeoutMs !== undefined) sql.timeout = interval(options.timeoutMs);
  if (options.priority !== undefined) sql.priority = options.priority;
  if (options.concurrency !== undefined) sql.concurrency = options.concurrency;
  if (options.rateLimit) sql.rate_limit = { max: options.rateLimit.max, per: interval(options.rateLimit.perMs) };
  return sql;
}

/** StepFailures as fail_steps' p_failures JSON. */
export function toSqlFailures(failures: StepFailure[]): Record<string, unknown>[] {
  return failures.map((failure) => ({
    step_id: failure.stepId,
    error: failure.error,
    ...(failure.retryInMs !== undefined ? { retry_in_ms: Math.round(failure.retryInMs) } : {}),
    ...(failure.permanent ? { permanent: true } : {}),
  }));
}

/** What fail_step's returned row (or its absence) means for the worker. */
export function settledAs(status: string | undefined): FailOutcome {
  if (status === "pending") return "retried";
  if (status === "failed") return "failed";
  return "lost";
}
