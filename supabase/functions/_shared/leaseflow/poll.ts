// The long-running worker (npm run worker; nothing here is Node-specific): one registered drain
// with no budget whose idle policy polls until the worker is stopped, 1 s doubling to 30 s with
// jitter, back to 1 s as soon as work is found. On stop it finishes the steps in flight and
// releases the rest; on abort it releases them at once; then it marks the worker stopped.
import { DEFAULT_LEASE_MS, defaultHeartbeatMs, drain, type DrainOptions, type DrainSummary } from "./drain.ts";
import type { IdleOptions } from "./idle.ts";
import { runRegistered } from "./registration.ts";
import { silentLogger, systemClock } from "./types.ts";

/** The long-running worker's idle policy: poll until stopped, 1 s doubling to 30 s, ±10 %. */
export const POLL_IDLE: IdleOptions = { graceMs: Number.POSITIVE_INFINITY, pollMs: 1_000, maxPollMs: 30_000, jitter: 0.1 };

/** How to poll: everything drain() takes except the budget (a long-running worker has none). */
export interface PollOptions extends Omit<DrainOptions, "budgetMs"> {
  /** Facts recorded with the worker's registration. (Default: {}) */
  metadata?: Record<string, unknown>;
}

/** Runs until stopSignal (graceful) or abortSignal (immediate); resolves with what it did.
 * `idle` overrides POLL_IDLE key by key (lingerMs keeps drain()'s default). */
export async function poll(options: PollOptions): Promise<DrainSummary> {
  const { transport, workerId, clock = systemClock, log = silentLogger } = options;
  const idle = { ...POLL_IDLE, ...options.idle };
  const heartbeatMs = options.heartbeatMs ?? defaultHeartbeatMs(options.leaseMs ?? DEFAULT_LEASE_MS);
  const registration = { transport, workerId, kind: "node" as const, metadata: options.metadata ?? {}, heartbeatMs, log };
  return await runRegistered(registration, async () => {
    for (;;) {
      try {
        return await drain({ ...options, idle });
      } catch (error) {
        // drain() settles its own errors; one that escapes it must not end a worker that runs for
        // days. A stop that arrived meanwhile makes the next drain return at once.
        log.error("Drain failed; starting again after a pause", { error: String(error) });
        await clock.sleep(1_000);
      }
    }
  }, (summary) => ({ summary }));
}
