// What a handler throws decides how its step is settled:
//   TransientError (or anything else)  → retried after the type's backoff
//   RetryAfterError(ms)                 → retried after exactly ms (rate limits)
//   PermanentError                      → failed now, no retry
// A step that outlives its timeout is aborted and settled as transient.
import type { StepErrorRecord } from "./types.ts";

/** A failure worth retrying later with backoff (network blips, 5xx, timeouts). */
export class TransientError extends Error {
  override name = "TransientError";
  /** Extra details recorded with the attempt. */
  readonly details?: unknown;
  constructor(message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, { cause: options?.cause });
    this.details = options?.details;
  }
}

/** A failure no retry can fix (invalid input, 4xx): the step and its job fail now. */
export class PermanentError extends Error {
  override name = "PermanentError";
  /** Extra details recorded with the attempt. */
  readonly details?: unknown;
  constructor(message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, { cause: options?.cause });
    this.details = options?.details;
  }
}

/** The remote side said when to come back (HTTP 429 Retry-After): retry after exactly retryAfterMs. */
export class RetryAfterError extends Error {
  override name = "RetryAfterError";
  /** Extra details recorded with the attempt. */
  readonly details?: unknown;
  constructor(
    /** Milliseconds to wait before the next attempt (≥ 0). */
    readonly retryAfterMs: number,
    message = `retry after ${retryAfterMs} ms`,
    options?: { cause?: unknown; details?: unknown },
  ) {
    super(message, { cause: options?.cause });
    if (!Number.isFinite(retryAfterMs) || retryAfterMs < 0) {
      throw new RangeError(`RetryAfterError: retryAfterMs must be a finite number ≥ 0, got ${retryAfterMs}`);
    }
    this.details = options?.details;
  }
}

/** Raised into a handler's signal when its step outlives the type's timeout. */
export class StepTimeoutError extends Error {
  override name = "StepTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`step timed out after ${timeoutMs} ms`);
  }
}

/** Raised into a handler's signal when another worker took its step over (the lease was lost). */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor(readonly stepId: string) {
    super(`lease on step ${stepId} was lost`);
  }
}

/** Raised into a handler's signal when the worker shuts down without waiting for it. */
export class ShutdownError extends Error {
  override name = "ShutdownError";
  constructor() {
    super("the worker is shutting down");
  }
}

/** How a thrown value settles its step. */
export type Settlement =
  | { kind: "retry"; retryInMs?: number; error: StepErrorRecord }
  | { kind: "fail"; error: StepErrorRecord };

/** Classifies what a handler threw (or the abort reason that stopped it). */
export function settlementFor(thrown: unknown): Settlement {
  if (thrown instanceof PermanentError) {
    return { kind: "fail", error: record("permanent", thrown) };
  }
  if (thrown instanceof RetryAfterError) {
    return { kind: "retry", retryInMs: thrown.retryAfterMs, error: record("retry_after", thrown) };
  }
  if (thrown instanceof StepTimeoutError) {
    return { kind: "retry", error: record("timeout", thrown) };
  }
  return { kind: "retry", error: record("transient", thrown) };
}

function record(code: string, thrown: unknown): StepErrorRecord {
  if (thrown instanceof Error) {
    const details = (thrown as { details?: unknown }).details;
    return {
      code,
      message: thrown.message || thrown.name,
      name: thrown.name,
      ...(details === undefined ? {} : { details }),
    };
  }
  return { code, message: typeof thrown === "string" ? thrown : JSON.stringify(thrown) ?? String(thrown) };
}

/** SQLSTATE classes of failures that a later attempt may not meet: connection exceptions (08),
 * serialization failures and deadlocks (40), insufficient resources (53), operator intervention
 * such as a restart (57) and system errors (58). */
const TRANSIENT_SQLSTATE_CLASSES = new Set(["08", "40", "53", "57", "58"]);

/**
 * Whether writing again may succeed where this attempt failed: the connection dropped or the
 * database was restarting, busy or in a deadlock. A bad argument or a bug in the SQL is not
 * transient: it would fail the same way again.
 */
export function isTransientError(error: unknown): boolean {
  const { code, status } = (error ?? {}) as { code?: unknown; status?: unknown };
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_SQLSTATE_CLASSES.has(code.slice(0, 2));
  // No SQLSTATE: PostgREST could not reach the database (503, PGRST00x) or no answer came (0).
  if (typeof status === "number") return status === 0 || status >= 500;
  // postgres.js and Node name connection failures (CONNECTION_CLOSED, ECONNRESET, ...).
  return typeof code === "string" && code.length > 0;
}
