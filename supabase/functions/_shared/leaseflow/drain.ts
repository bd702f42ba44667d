// The claim loop, the one runtime both the Edge Function and the Node worker run:
//
//   claim a batch (claim_steps, short lease) → run handlers with bounded concurrency, leases
//   renewed while they run (RunningSet, running.ts) → settle (Settler, settle.ts: completions
//   batched into one complete_steps call, failures one fail_step each) → repeat while work
//   remains and the budget allows; with nothing to claim, the idle policy (idle.ts) decides
//   between waiting for a retry about to come due, polling again and stopping.
//
// Settling does not hold a handler slot: the next claim runs while the last completions are
// being written (at most `concurrency` steps wait for their settle at once), and completions
// that arrive while a write is in flight go out together in the next one.
//
// It stops claiming when the remaining budget is smaller than a lease plus a margin (so nothing
// it claims can outlive the invocation), when the idle policy says so, or when asked. A graceful
// stop lets the steps in flight finish; an abort (the platform is killing us) releases them at
// once, without consuming their attempt. Errors of one iteration (a failed claim, a failed lease
// renewal) are logged and never stop the loop.
import { IdlePolicy, type IdleOptions } from "./idle.ts";
import type { Registry } from "./registry.ts";
import { RunningSet } from "./running.ts";
import { Settler } from "./settle.ts";
import type { ClaimedStep, Clock, Logger, Transport } from "./types.ts";
import { silentLogger, systemClock } from "./types.ts";

/** How to drain. */
export interface DrainOptions {
  /** This worker's id: every claim and settle is guarded by it. */
  workerId: string;
  /** The driver to the SQL functions. */
  transport: Transport;
  /** The job types (handlers) this worker runs. */
  registry: Registry;
  /** Wall-clock budget for the whole drain, in ms. (Default: Infinity) */
  budgetMs?: number;
  /** Lease taken per claim and renewed while a handler runs. (Default: 30 000) */
  leaseMs?: number;
  /** Claiming stops once less than leaseMs + marginMs of the budget remains. (Default: 5 000) */
  marginMs?: number;
  /** Steps per claim. (Default: 10) */
  batchSize?: number;
  /** Handlers running at once. (Default: 10) */
  concurrency?: number;
  /** How often running steps' leases are renewed. (Default: leaseMs / 3) */
  heartbeatMs?: number;
  /** Completions arriving within this window share one complete_steps call, as do all that
   * arrive while a write is in flight. (Default: 0, i.e. those of the same event-loop turn) */
  settleDelayMs?: number;
  /** What to do when there is nothing to claim: linger for a retry, poll, stop (idle.ts).
   * (Default: linger up to 10 000 ms, then stop) */
  idle?: IdleOptions;
  /** Pause after a failed claim before trying again. (Default: 1 000) */
  claimErrorPauseMs?: number;
  /** Job types to claim. (Default: every type in the registry) */
  types?: string[];
  /** Stop claiming; steps in flight finish and are settled. */
  stopSignal?: AbortSignal;
  /** Stop now: handlers are aborted and their steps released. */
  abortSignal?: AbortSignal;
  /** Time source. (Default: the system clock) */
  clock?: Clock;
  /** Where log lines go. (Default: nowhere) */
  log?: Logger;
}

/** What one drain did. */
export interface DrainSummary {
  /** Steps claimed. */
  claimed: number;
  /** Steps completed. */
  completed: number;
  /** Steps that failed an attempt and will be retried. */
  retried: number;
  /** Steps that failed for good (their jobs failed). */
  failed: number;
  /** Steps given back without consuming an attempt (abort, or settles that could not be written). */
  released: number;
  /** Steps whose lease another worker took over before they were settled (results discarded). */
  lost: number;
  /** Wall-clock duration, ms. */
  durationMs: number;
  /** Why the loop stopped claiming. */
  stoppedBy: "idle" | "budget" | "stop" | "abort";
}

/** The lease a claim takes unless told otherwise (DrainOptions.leaseMs). */
export const DEFAULT_LEASE_MS = 30_000;

/** How often a lease of `leaseMs` is renewed (and a worker heartbeats) by default: three times per
 * lease, so one late renewal never lets it lapse. */
export function defaultHeartbeatMs(leaseMs: number): number {
  return Math.max(1, Math.floor(leaseMs / 3));
}

/** Drains the queue; resolves with a summary once it stopped claiming and settled what it held. */
export async function drain(options: DrainOptions): Promise<DrainSummary> {
  const {
    workerId,
    transport,
    registry,
    budgetMs = Number.POSITIVE_INFINITY,
    leaseMs = DEFAULT_LEASE_MS,
    marginMs = 5_000,
    batchSize = 10,
    concurrency = 10,
    settleDelayMs = 0,
    claimErrorPauseMs = 1_000,
    stopSignal,
    abortSignal,
    clock = systemClock,
    log = silentLogger,
  } = options;
  const types = options.types ?? registry.typeNames();
  const started = clock.now();
  const summary: DrainSummary = {
    claimed: 0,
    completed: 0,
    retried: 0,
    failed: 0,
    released: 0,
    lost: 0,
    durationMs: 0,
    stoppedBy: "idle",
  };
  const settler = new Settler({
    transport,
    workerId,
    maxBatch: Math.max(batchSize, concurrency),
    delayMs: settleDelayMs,
    counts: summary,
    log,
  });
  const steps = new RunningSet({
    workerId,
    transport,
    registry,
    leaseMs,
    heartbeatMs: options.heartbeatMs ?? defaultHeartbeatMs(leaseMs),
    settler,
    counts: summary,
    log,
  });
  const idle = new IdlePolicy(options.idle);
  // Wakes the loop from any wait when a stop or abort arrives; one promise for the whole drain,
  // since a listener per wait would pile up on long runs.
  const interrupted = new AbortController();
  const onInterrupt = () => interrupted.abort();
  const whenInterrupted = untilAborted(interrupted.signal);
  stopSignal?.addEventListener("abort", onInterrupt, { once: true });
  abortSignal?.addEventListener("abort", onInterrupt, { once: true });
  const spareBudgetMs = () => budgetMs - (clock.now() - started) - leaseMs - marginMs;
  const nextClaimableAt = () =>
    transport.nextClaimableAt(types).catch((error) => {
      log.warn("next_claimable_at failed; not lingering", { error: String(error) });
      return null;
    });
  // A fixed poll interval is logged once per idle period, a growing backoff at each step.
  let loggedPollMs: number | undefined;

  try {
    for (;;) {
      const stop = abortSignal?.aborted ? "abort" : stopSignal?.aborted ? "stop" : spareBudgetMs() < 0 ? "budget" : undefined;
      if (stop) {
        summary.stoppedBy = stop;
        break;
      }
      // Handler slots, and no more than `concurrency` steps waiting for their settle.
      const free = Math.min(concurrency - steps.running, 2 * concurrency - steps.unsettled);
      if (free <= 0) {
        await steps.untilOneEnds(whenInterrupted);
        continue;
      }
      let claimed: ClaimedStep[];
      try {
        claimed = await transport.claimSteps({ workerId, leaseMs, limit: Math.min(batchSize, free), types });
      } catch (error) {
        log.error("Claim failed", { error: String(error) });
        await clock.sleep(claimErrorPauseMs, interrupted.signal);
        continue;
      }
      if (claimed.length > 0) {
        idle.reset();
        loggedPollMs = undefined;
        summary.claimed += claimed.length;
        for (const step of claimed) {
          log.info(`Claimed step ${step.stepId} (job ${step.jobId}, seq ${step.seq})`, { step: step.stepName, attempt: step.attempt });
          steps.start(step);
        }
        continue;
      }
      // Idle only once every settle is written: a completion can make a job's next step claimable.
      if (steps.unsettled > 0) {
        await steps.untilOneEnds(whenInterrupted);
        continue;
      }
      const decision = await idle.decide(clock.now(), spareBudgetMs(), nextClaimableAt);
      if (decision.kind === "stop") {
        summary.stoppedBy = "idle";
        break;
      }
      if (decision.kind === "poll" && decision.waitMs !== loggedPollMs) {
        log.info(`No work available. Backing off for ${decision.waitMs}ms...`);
        loggedPollMs = decision.waitMs;
      }
      await clock.sleep(decision.waitMs, interrupted.signal);
    }

    // An abort (now, or while we wait) stops the handlers; their steps are released below.
    const abortRunning = () => steps.abortAll();
    if (summary.stoppedBy === "abort") abortRunning();
    else abortSignal?.addEventListener("abort", abortRunning, { once: true });
    await steps.allSettled();
    abortSignal?.removeEventListener("abort", abortRunning);
    await settler.flush();
  } finally {
    stopSignal?.removeEventListener("abort", onInterrupt);
    abortSignal?.removeEventListener("abort", onInterrupt);
    // Whatever this worker still holds (aborted steps, settles that could not be written) goes
    // back to the queue without consuming an attempt. A drain that claimed nothing holds nothing:
    // an idle poll or an empty invocation skips the round trip.
    if (summary.claimed > 0) {
      try {
        summary.released = await transport.releaseSteps({ workerId });
      } catch (error) {
        log.error("Could not release this worker's steps; their leases will lapse", { error: String(error) });
      }
    }
    summary.durationMs = clock.now() - started;
  }
  return summary;
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
