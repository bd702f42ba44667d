// Settling steps: a handler's output goes to complete_steps in batches, a failure to fail_step.
// The Settler counts each outcome in the drain's summary and logs it; it never throws, because a
// settle that cannot be written leaves its step held, and drain() releases what it still holds.
import type { Settlement } from "./errors.ts";
import type { ClaimedStep, Logger, StepResult, Transport } from "./types.ts";

/** The outcome counters a Settler adds to (drain()'s summary). */
export interface SettleCounts {
  /** Steps completed. */
  completed: number;
  /** Steps that failed an attempt and will be retried. */
  retried: number;
  /** Steps that failed for good (their jobs failed). */
  failed: number;
  /** Steps whose lease another worker took over before they were settled. */
  lost: number;
}

/** How a Settler writes. */
export interface SettlerOptions {
  /** The driver to the SQL functions. */
  transport: Transport;
  /** The worker holding the steps. */
  workerId: string;
  /** Most completions per complete_steps call. */
  maxBatch: number;
  /** Completions arriving within this window share one call, as do all that arrive while a write
   * is in flight. */
  delayMs: number;
  /** Where outcomes are counted. */
  counts: SettleCounts;
  /** Where outcomes are logged. */
  log: Logger;
}

/** Writes the outcome of each handler: completions batched, failures one call each. */
export class Settler {
  readonly #completions: CompletionBatcher;

  constructor(private readonly options: SettlerOptions) {
    this.#completions = new CompletionBatcher(options.transport, options.workerId, options.maxBatch, options.delayMs, options.log);
  }

  /** Records a step's output; resolves once it is written, refused (the lease was lost) or given up. */
  async complete(step: ClaimedStep, output: unknown): Promise<void> {
    const { counts, log } = this.options;
    const outcome = await this.#completions.add({ stepId: step.stepId, output: output ?? null });
    if (outcome === "completed") {
      counts.completed++;
      log.info(`Completed step ${step.stepId}`, { job: step.jobId, step: step.stepName });
    } else if (outcome === "lost") {
      counts.lost++;
      log.warn(`Lost the lease on step ${step.stepId} before completing it; result discarded`, { job: step.jobId });
    }
  }

  /** Records a failed attempt: retried later, or failed for good with its job. */
  async fail(step: ClaimedStep, settlement: Settlement): Promise<void> {
    const { transport, workerId, counts, log } = this.options;
    try {
      const outcome = await transport.failStep({
        stepId: step.stepId,
        workerId,
        error: settlement.error,
        retryInMs: settlement.kind === "retry" ? settlement.retryInMs : undefined,
        permanent: settlement.kind === "fail",
      });
      counts[outcome === "retried" ? "retried" : outcome === "failed" ? "failed" : "lost"]++;
      log.info(`${outcome === "retried" ? "Will retry" : outcome === "failed" ? "Failed" : "Lost"} step ${step.stepId}`, {
        job: step.jobId,
        step: step.stepName,
        attempt: step.attempt,
        error: settlement.error.message,
      });
    } catch (error) {
      // Unsettled: the step is released at the end of the drain, or its lease lapses.
      log.error(`Could not record the failure of step ${step.stepId}`, { error: String(error) });
    }
  }

  /** Writes every completion still queued. */
  flush(): Promise<void> {
    return this.#completions.flush();
  }
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

  /** Queues a completion; resolves once it was written ("completed"), refused ("lost") or could
   * not be written ("unsettled"). */
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
