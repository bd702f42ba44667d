// The drain loop, the one runtime both the Edge Function and the Node worker run:
//
//   claim a batch (claim_steps, short lease) → run handlers with bounded concurrency → extend
//   leases while handlers run → settle (completions batched into one complete_steps call,
//   failures one fail_step each) → repeat while work remains and the budget allows.
//
// Settling does not hold a handler slot: the next claim runs while the last completions are
// being written (at most `concurrency` steps wait for their settle at once), and completions
// that arrive while a write is in flight go out together in the next one.
//
// It stops claiming when the remaining budget is smaller than a lease plus a margin (so nothing
// it claims can outlive the invocation), when the queue is empty and nothing runs, or when
// asked. A graceful stop lets the steps in flight finish; an abort (the platform is killing us)
// releases them at once, without consuming their attempt. Errors of one iteration (a failed
// claim, a failed heartbeat) are logged and never stop the loop.
import {
  LeaseLostError,
  settlementFor,
  ShutdownError,
  StepTimeoutError,
} from "./errors.ts";
import type { Registry, StepContext } from "./registry.ts";
import type { ClaimedStep, Clock, Logger, StepResult, Transport } from "./types.ts";
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
  /** With nothing to claim and nothing running, wait for a retry or delayed job due within this
   * long instead of stopping (next_claimable_at). 0 stops at once. (Default: 10 000) */
  lingerMs?: number;
  /** With nothing to claim, nothing running and nothing to linger for, keep polling this long
   * before stopping (an Edge invocation's answer to a steady trickle). (Default: 0) */
  idleGraceMs?: number;
  /** How often to poll during the idle grace. (Default: 100) */
  idlePollMs?: number;
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

/** How often a lease of `leaseMs` is renewed (and a worker heartbeats) by default: three times per
 * lease, so one late renewal never lets it lapse. */
export function defaultHeartbeatMs(leaseMs: number): number {
  return Math.max(1, Math.floor(leaseMs / 3));
}

/** Drains the queue once; resolves with a summary when done. */
export async function drain(options: DrainOptions): Promise<DrainSummary> {
  const {
    workerId,
    transport,
    registry,
    budgetMs = Number.POSITIVE_INFINITY,
    leaseMs = 30_000,
    marginMs = 5_000,
    batchSize = 10,
    concurrency = 10,
    settleDelayMs = 0,
    claimErrorPauseMs = 1_000,
    lingerMs = 10_000,
    idleGraceMs = 0,
    idlePollMs = 100,
    stopSignal,
    abortSignal,
    clock = systemClock,
    log = silentLogger,
  } = options;
  const heartbeatMs = options.heartbeatMs ?? defaultHeartbeatMs(leaseMs);
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
  // Steps whose handler runs (they hold the slots), and every step not yet settled (running or
  // being written).
  const running = new Map<string, { handlerDone: Promise<void>; controller: AbortController }>();
  const settling = new Set<Promise<void>>();
  const completions = new CompletionBatcher(transport, workerId, Math.max(batchSize, concurrency), settleDelayMs, log);
  // Wakes the loop when it waits for a free slot and a stop or abort arrives.
  const interrupted = new AbortController();
  const onInterrupt = () => interrupted.abort();
  // One promise for the whole drain: a listener per wait would pile up on long runs.
  const whenInterrupted = untilAborted(interrupted.signal);
  const untilAStepEnds = () =>
    Promise.race([...[...running.values()].map((entry) => entry.handlerDone), ...settling, whenInterrupted]);
  stopSignal?.addEventListener("abort", onInterrupt, { once: true });
  abortSignal?.addEventListener("abort", onInterrupt, { once: true });

  /** Runs a step's handler and settles it; `handlerDone` is called once the handler has finished. */
  async function runStep(step: ClaimedStep, controller: AbortController, handlerDone: () => void): Promise<void> {
    const timeout = setTimeout(() => controller.abort(new StepTimeoutError(step.timeoutMs)), step.timeoutMs);
    const renewLease = async () => {
      const held = await transport.extendLease({ stepId: step.stepId, workerId, leaseMs });
      if (!held) controller.abort(new LeaseLostError(step.stepId));
      return held;
    };
    const leaseTimer = setInterval(() => {
      renewLease().catch((error) => log.warn("Lease renewal failed", { step: step.stepId, error: String(error) }));
    }, heartbeatMs);
    try {
      const handler = registry.handler(step.jobType, step.stepName);
      if (!handler) {
        await settleFailure(step, {
          kind: "fail",
          error: {
            code: "no_handler",
            message: `worker ${workerId} has no handler for step "${step.stepName}" of job type "${step.jobType}"`,
          },
        });
        return;
      }
      const context: StepContext = {
        jobId: step.jobId,
        stepId: step.stepId,
        jobType: step.jobType,
        stepName: step.stepName,
        attempt: step.attempt,
        maxAttempts: step.maxAttempts,
        payload: step.payload,
        previousOutputs: step.previousOutputs,
        idempotencyKey: step.stepId,
        signal: controller.signal,
        heartbeat: async () => {
          if (!(await renewLease())) throw new LeaseLostError(step.stepId);
        },
        log: stepLogger(log, step),
      };
      // The handler's promise is raced against its signal: a handler that ignores the signal
      // cannot hold its step past the timeout.
      const output = await Promise.race([Promise.resolve().then(() => handler(context)), rejectOnAbort(controller.signal)]);
      handlerDone();
      const completed = await completions.add({ stepId: step.stepId, output: output ?? null });
      if (completed === "completed") {
        summary.completed++;
        log.info(`Completed step ${step.stepId}`, { job: step.jobId, step: step.stepName });
      } else if (completed === "lost") {
        summary.lost++;
        log.warn(`Lost the lease on step ${step.stepId} before completing it; result discarded`, { job: step.jobId });
      }
    } catch (thrown) {
      handlerDone();
      const reason = controller.signal.aborted ? controller.signal.reason : thrown;
      if (reason instanceof LeaseLostError) {
        summary.lost++;
        log.warn(`Lost the lease on step ${step.stepId}; stopped working on it`, { job: step.jobId });
        return;
      }
      // Shutdown is not the step's failure: its step is released after the loop.
      if (reason instanceof ShutdownError) return;
      await settleFailure(step, settlementFor(reason));
    } finally {
      handlerDone();
      clearTimeout(timeout);
      clearInterval(leaseTimer);
    }
  }

  async function settleFailure(step: ClaimedStep, settlement: ReturnType<typeof settlementFor>): Promise<void> {
    try {
      const outcome = await transport.failStep({
        stepId: step.stepId,
        workerId,
        error: settlement.error,
        retryInMs: settlement.kind === "retry" ? settlement.retryInMs : undefined,
        permanent: settlement.kind === "fail",
      });
      if (outcome === "retried") summary.retried++;
      else if (outcome === "failed") summary.failed++;
      else summary.lost++;
      log.info(`${outcome === "retried" ? "Will retry" : outcome === "failed" ? "Failed" : "Lost"} step ${step.stepId}`, {
        job: step.jobId,
        step: step.stepName,
        attempt: step.attempt,
        error: settlement.error.message,
      });
    } catch (error) {
      // Unsettled: the lease lapses and the step is retried (at least once).
      log.error(`Could not record the failure of step ${step.stepId}`, { error: String(error) });
    }
  }

  // How long to wait for the next retry or delayed job: 0 when none is due within lingerMs and
  // the budget, or when it is due already (then something else holds it: stopping is right).
  async function lingerFor(): Promise<number> {
    if (lingerMs <= 0) return 0;
    let next: Date | null;
    try {
      next = await transport.nextClaimableAt(types);
    } catch (error) {
      log.warn("next_claimable_at failed; stopping as idle", { error: String(error) });
      return 0;
    }
    if (!next) return 0;
    const waitMs = next.getTime() - clock.now();
    const spareMs = budgetMs - (clock.now() - started) - leaseMs - marginMs;
    return waitMs > 0 && waitMs <= lingerMs && waitMs < spareMs ? waitMs : 0;
  }

  // When the queue was first seen empty with nothing running (the idle grace counts from it).
  let idleSince: number | undefined;
  try {
    for (;;) {
      if (abortSignal?.aborted) {
        summary.stoppedBy = "abort";
        break;
      }
      if (stopSignal?.aborted) {
        summary.stoppedBy = "stop";
        break;
      }
      if (budgetMs - (clock.now() - started) < leaseMs + marginMs) {
        summary.stoppedBy = "budget";
        break;
      }
      // Handler slots, and no more than `concurrency` steps waiting for their settle.
      const free = Math.min(concurrency - running.size, 2 * concurrency - settling.size);
      if (free <= 0) {
        await untilAStepEnds();
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
      if (claimed.length === 0) {
        // Idle only once every settle is written: a completion can make a job's next step claimable.
        if (settling.size === 0) {
          const waitMs = await lingerFor();
          if (waitMs > 0) {
            await clock.sleep(waitMs, interrupted.signal);
            continue;
          }
          idleSince ??= clock.now();
          if (clock.now() - idleSince < idleGraceMs) {
            await clock.sleep(idlePollMs, interrupted.signal);
            continue;
          }
          summary.stoppedBy = "idle";
          break;
        }
        await untilAStepEnds();
        continue;
      }
      idleSince = undefined;
      summary.claimed += claimed.length;
      for (const step of claimed) {
        log.info(`Claimed step ${step.stepId} (job ${step.jobId}, seq ${step.seq})`, { step: step.stepName, attempt: step.attempt });
        const controller = new AbortController();
        let freeSlot!: () => void;
        const handlerDone = new Promise<void>((resolve) => (freeSlot = resolve));
        running.set(step.stepId, { handlerDone, controller });
        void handlerDone.then(() => running.delete(step.stepId));
        const settled: Promise<void> = runStep(step, controller, freeSlot).finally(() => settling.delete(settled));
        settling.add(settled);
      }
    }

    // An abort (now, or while we wait) stops the handlers; their steps are released below.
    const abortRunning = () => {
      for (const entry of running.values()) entry.controller.abort(new ShutdownError());
    };
    if (summary.stoppedBy === "abort") abortRunning();
    else abortSignal?.addEventListener("abort", abortRunning, { once: true });
    await Promise.all(settling);
    abortSignal?.removeEventListener("abort", abortRunning);
    await completions.flush();
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

/** Gathers completions into few complete_steps calls: those that arrive within `delayMs` of
 * each other, and all that arrive while a write is in flight, go out together (≤ maxBatch each). */
class CompletionBatcher {
  #pending: { result: StepResult; resolve: (outcome: "completed" | "lost" | "unsettled") => void }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly workerId: string,
    private readonly maxBatch: number,
    private readonly delayMs: number,
    private readonly log: Logger,
  ) {}

  /** Queues a completion; resolves once it was written ("completed") or refused ("lost"). */
  add(result: StepResult): Promise<"completed" | "lost" | "unsettled"> {
    return new Promise((resolve) => {
      this.#pending.push({ result, resolve });
      // While a write is in flight, it picks this one up when it ends.
      if (!this.#writing) this.#timer ??= setTimeout(() => void this.flush(), this.delayMs);
    });
  }

  /** Writes everything queued, in batches; resolves when nothing is queued or being written. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#writing ??= this.#writeAll().finally(() => {
      this.#writing = undefined;
      // One may have arrived between the last batch and now: it must not wait for a next add.
      if (this.#pending.length > 0) void this.flush();
    });
    return this.#writing;
  }

  async #writeAll(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.maxBatch);
      try {
        const completed = new Set(
          await this.transport.completeSteps({ workerId: this.workerId, results: batch.map((entry) => entry.result) }),
        );
        for (const entry of batch) entry.resolve(completed.has(entry.result.stepId) ? "completed" : "lost");
      } catch (error) {
        this.log.error("Could not record completions; the steps will be released", { error: String(error), count: batch.length });
        for (const entry of batch) entry.resolve("unsettled");
      }
    }
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

function stepLogger(log: Logger, step: ClaimedStep): Logger {
  const tag = { job: step.jobId, step: step.stepName, attempt: step.attempt };
  return {
    info: (message, fields) => log.info(message, { ...tag, ...fields }),
    warn: (message, fields) => log.warn(message, { ...tag, ...fields }),
    error: (message, fields) => log.error(message, { ...tag, ...fields }),
  };
}
