// The long-running worker loop (the Node worker uses it; nothing here is Node-specific):
// register, drain until idle, back off while the queue is empty (1 s doubling to 30 s, with
// jitter; back to 1 s as soon as work is found), and on stop finish the steps in flight,
// release the rest and mark the worker stopped.
import { defaultHeartbeatMs, drain, type DrainOptions, type DrainSummary } from "./drain.ts";
import { runRegistered } from "./registration.ts";
import { silentLogger, systemClock } from "./types.ts";

/** Exponential backoff for polling an empty queue. */
export class IdleBackoff {
  #attempt = 0;

  constructor(
    /** First wait. (Default: 1 000) */
    private readonly initialMs = 1_000,
    /** Longest wait. (Default: 30 000) */
    private readonly maxMs = 30_000,
    /** Each wait is spread by ±jitter (a fraction), so idle workers do not poll in step. (Default: 0.1) */
    private readonly jitter = 0.1,
    /** Source of randomness in [0, 1). (Default: Math.random) */
    private readonly random: () => number = Math.random,
  ) {}

  /** The next wait: initial × 2^n, jittered, capped at max. */
  next(): number {
    const base = this.initialMs * 2 ** Math.min(this.#attempt, 30);
    this.#attempt++;
    const jittered = base * (1 + this.jitter * (2 * this.random() - 1));
    return Math.round(Math.min(this.maxMs, jittered));
  }

  /** Back to the first wait (work was found). */
  reset(): void {
    this.#attempt = 0;
  }
}

/** How to poll: everything drain() takes except the budget, plus the backoff. */
export interface PollOptions extends Omit<DrainOptions, "budgetMs"> {
  /** Waits between empty polls. (Default: new IdleBackoff()) */
  idleBackoff?: IdleBackoff;
  /** Facts recorded with the worker's registration. (Default: {}) */
  metadata?: Record<string, unknown>;
}

/** Totals over every drain of one run. */
export type PollTotals = Omit<DrainSummary, "stoppedBy" | "durationMs"> & { durationMs: number; drains: number };

/** Runs until stopSignal (graceful) or abortSignal (immediate); resolves with the totals. */
export async function poll(options: PollOptions): Promise<PollTotals> {
  const { transport, workerId, stopSignal, abortSignal, clock = systemClock, log = silentLogger } = options;
  const backoff = options.idleBackoff ?? new IdleBackoff();
  const started = clock.now();
  const totals: PollTotals = { claimed: 0, completed: 0, retried: 0, failed: 0, released: 0, lost: 0, durationMs: 0, drains: 0 };
  const stopped = () => Boolean(stopSignal?.aborted || abortSignal?.aborted);
  // Wakes a backoff sleep as soon as either signal fires.
  const wake = new AbortController();
  const onSignal = () => wake.abort();
  stopSignal?.addEventListener("abort", onSignal, { once: true });
  abortSignal?.addEventListener("abort", onSignal, { once: true });

  const heartbeatMs = options.heartbeatMs ?? defaultHeartbeatMs(options.leaseMs ?? 30_000);
  return await runRegistered({ transport, workerId, kind: "node", metadata: options.metadata ?? {}, heartbeatMs, log }, async () => {
    try {
      while (!stopped()) {
        let summary: DrainSummary;
        try {
          summary = await drain(options);
        } catch (error) {
          // One failed drain (the database restarting, say) must not end the worker.
          log.error("Drain failed; retrying after a pause", { error: String(error) });
          await clock.sleep(backoff.next(), wake.signal);
          continue;
        }
        totals.drains++;
        for (const key of ["claimed", "completed", "retried", "failed", "released", "lost"] as const) totals[key] += summary[key];
        if (stopped()) break;
        if (summary.claimed > 0) {
          backoff.reset();
          continue;
        }
        const waitMs = backoff.next();
        log.info(`No work available. Backing off for ${waitMs}ms...`);
        await clock.sleep(waitMs, wake.signal);
      }
    } finally {
      stopSignal?.removeEventListener("abort", onSignal);
      abortSignal?.removeEventListener("abort", onSignal);
      totals.durationMs = clock.now() - started;
    }
    return totals;
  }, (result) => ({ totals: result }));
}
