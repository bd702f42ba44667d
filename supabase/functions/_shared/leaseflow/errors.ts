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

/** Classifies what a handler threw (or the abort reason that stopped it). Never throws: whatever
 * the value, the step gets a record Postgres can store. */
export function settlementFor(thrown: unknown): Settlement {
  if (isA(thrown, PermanentError)) {
    return { kind: "fail", error: record("permanent", thrown) };
  }
  if (isA(thrown, RetryAfterError)) {
    return { kind: "retry", retryInMs: thrown.retryAfterMs, error: record("retry_after", thrown) };
  }
  if (isA(thrown, StepTimeoutError)) {
    return { kind: "retry", error: record("timeout", thrown) };
  }
  return { kind: "retry", error: record("transient", thrown) };
}

/** `value instanceof type`, and false where asking throws (a Proxy whose prototype trap throws):
 * a handler can throw anything. */
export function isA<T>(value: unknown, type: abstract new (...args: never[]) => T): value is T {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

function record(code: string, thrown: unknown): StepErrorRecord {
  try {
    if (thrown instanceof Error) {
      const details = (thrown as { details?: unknown }).details;
      const name = storableText(thrown.name);
      return {
        code,
        message: storableText(thrown.message) || name || "Error",
        name,
        ...(details === undefined ? {} : { details: storableDetails(details) }),
      };
    }
    return { code, message: typeof thrown === "string" ? storableText(thrown) : describe(thrown) };
  } catch (error) {
    const why = isA(error, Error) ? storableText(error.message) : describe(error);
    return { code, message: `the handler threw a value that could not be read (${why})` };
  }
}

/** Details as given when Postgres can store them; otherwise why not, in their place. */
function storableDetails(details: unknown): unknown {
  // A copy, as the JSON it is now: a toJSON that answers differently next time cannot make the
  // write fail.
  const json = storableJson(details);
  if (!json.ok) return `details are not JSON: ${json.reason}`;
  return json.json === undefined ? null : JSON.parse(json.json);
}

/** A thrown value that is not an Error, as text: its JSON when it has one, else what String()
 * makes of it and why it is not JSON. */
function describe(value: unknown): string {
  const json = storableJson(value);
  if (json.ok && json.json !== undefined) return json.json;
  let text: string;
  try {
    text = storableText(String(value));
  } catch {
    text = `a value of type ${typeof value} that cannot be turned into text`;
  }
  return json.ok ? text : `${text} (not JSON: ${json.reason})`;
}

/** `value` as text Postgres can store: U+0000 and lone surrogates become U+FFFD. */
function storableText(value: unknown): string {
  if (typeof value !== "string") return value === undefined || value === null ? "" : describe(value);
  return value.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

// JSON.stringify writes U+0000 and lone surrogates as \u escapes (a well-formed pair is written
// as itself); jsonb refuses both. The escape counts only after an even run of backslashes.
const ESCAPE_JSONB_REFUSES = /(?<!\\)(?:\\\\)*\\u(0000|d[89a-f][0-9a-f]{2})/i;

/**
 * Whether parsed JSON holds values more than `maxDepth` levels below `value` (its own members
 * are level 1). Measured without recursion, so a body 100 000 levels deep is answered too:
 * JSON.parse takes any depth, but a recursive JSON.stringify of it overflows the stack later.
 */
export function nestedDeeperThan(value: unknown, maxDepth: number): boolean {
  const pending: Array<{ value: unknown; level: number }> = [{ value, level: 0 }];
  while (pending.length > 0) {
    const { value: current, level } = pending.pop()!;
    if (typeof current !== "object" || current === null) continue;
    for (const member of Object.values(current)) {
      if (level + 1 > maxDepth) return true;
      pending.push({ value: member, level: level + 1 });
    }
  }
  return false;
}

/**
 * `value` as the JSON text Postgres will store, or why it cannot be: JSON.stringify throws (a
 * BigInt, a circular object, nesting too deep, a toJSON that throws) or its text holds what
 * jsonb refuses (U+0000, a lone surrogate). `json` is undefined for undefined, a function or a
 * symbol, which are stored as null.
 */
export function storableJson(value: unknown): { ok: true; json: string | undefined } | { ok: false; reason: string } {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    let reason: string;
    try {
      reason = error instanceof Error ? error.message : String(error);
    } catch {
      reason = "JSON.stringify threw";
    }
    return { ok: false, reason: storableText(reason) };
  }
  const refused = json === undefined ? null : ESCAPE_JSONB_REFUSES.exec(json);
  if (refused) {
    return {
      ok: false,
      reason: refused[1] === "0000"
        ? "a string holds U+0000, which Postgres cannot store"
        : `a string holds a lone surrogate (\\u${refused[1]!.toLowerCase()}), which Postgres cannot store`,
    };
  }
  return { ok: true, json };
}

/** A transport call that got no answer in its callTimeoutMs: transient (code CALL_TIMEOUT), as a
 * dropped connection is; the worker writes again or claims again. */
export class CallTimeoutError extends Error {
  override name = "CallTimeoutError";
  readonly code = "CALL_TIMEOUT";
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

/** SQLSTATEs by which Postgres refuses the data in a write, not the write itself: JSON it cannot
 * read or store (22P02, 22P05, 22021) and values too large or too deep (54000, 54001). Written
 * alone, the item holding such data is refused again; the others are not. */
const REFUSED_INPUT_SQLSTATES = new Set(["22P02", "22P05", "22021", "54000", "54001"]);

/** Whether the database refused a write for the data in it (see REFUSED_INPUT_SQLSTATES). */
export function isRefusedInput(error: unknown): boolean {
  const { code } = (error ?? {}) as { code?: unknown };
  return typeof code === "string" && REFUSED_INPUT_SQLSTATES.has(code);
}

/** Runs `call` again after a transient error (isTransientError) with a pause of 100 ms doubling to
 * 2 s, for up to `forMs`; any other error, or one that outlasts `forMs`, is thrown. A worker's
 * start (publishing its types, registering) must not fail for a database that is restarting. */
export async function retryTransient<T>(
  call: () => Promise<T>,
  options: { what: string; forMs?: number; log?: { warn(message: string, fields?: Record<string, unknown>): void } },
): Promise<T> {
  const deadline = Date.now() + (options.forMs ?? 60_000);
  for (let pauseMs = 100; ; pauseMs = Math.min(pauseMs * 2, 2_000)) {
    try {
      return await call();
    } catch (error) {
      if (!isTransientError(error) || Date.now() + pauseMs > deadline) throw error;
      options.log?.warn(`${options.what} failed; trying again`, { error: String(error), retry_in_ms: pauseMs });
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}
