// Settling steps: outputs go to complete_and_claim_steps and failures to fail_steps, each in
// batches: all that arrive within a short window, and all that arrive while a write of their kind
// is in flight, go out together. A completion write may also claim the next step of each job it
// moves on (claimNext), handed to the drain. A write that fails on a transient error (the
// connection dropped, the database restarting) is retried with backoff for as long as every lease
// in it holds (a write that committed but whose answer was lost gets the same answer again,
// claimed steps included); only then are its steps given up, to be released at the end of the
// drain or to lapse. A write the database refuses for the data in it is written again in halves
// until the item holding that data is alone: that step fails for good, the others are written.
// The Settler counts each outcome in the drain's summary and logs it, and never throws.
import { isRefusedInput, isTransientError, type Settlement } from "./errors.ts";
import type { ClaimedStep, Clock, FailOutcome, Logger, StepFailure, StepResult, Transport } from "./types.ts";

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

/** A step being settled, as the Settler sees it. */
export interface SettledStep {
  /** The step's id. */
  stepId: string;
  /** Its job, for log lines. */
  jobId: string;
  /** Its name, for log lines. */
  stepName: string;
  /** Its attempt, for log lines. */
  attempt: number;
  /** When its lease lapses (ms since the epoch), kept current by the lease renewals. */
  leaseExpiresAt: number;
}

/** How a Settler writes. */
export interface SettlerOptions {
  /** The driver to the SQL functions. */
  transport: Transport;
  /** The worker holding the steps. */
  workerId: string;
  /** Most steps per write. */
  maxBatch: number;
  /** Settles arriving within this window share one write. */
  delayMs: number;
  /** A failed write is retried while every lease in it has more than this left. */
  leaseMarginMs: number;
  /** Where outcomes are counted. */
  counts: SettleCounts;
  /** Time source (retry pauses). */
  clock: Clock;
  /** Where outcomes are logged. */
  log: Logger;
  /** Asked before each completion write, with its size: the lease (ms) under which the write also
   * claims the next step of each job it moves on, or undefined to claim none. (Default: none) */
  claimNext?: (count: number) => number | undefined;
  /** Takes the steps a completion write claimed. (Default: none; claimNext must be unset) */
  onClaimed?: (steps: ClaimedStep[]) => void;
}

/** What came of a settle: the write's outcome, "lost" when the write left the step out (its lease
 * was gone), "unsettled" when it could not be written. */
export type SettleOutcome = "completed" | FailOutcome | "unsettled";

/** Writes the outcome of each handler: completions and failures, each kind batched. */
export class Settler {
  readonly #completions: WriteBatcher<StepResult, "completed">;
  readonly #failures: WriteBatcher<StepFailure, FailOutcome>;

  constructor(private readonly options: SettlerOptions) {
    const { transport, workerId } = options;
    this.#completions = new WriteBatcher(options, "completions", async (results) => {
      const claimNextLeaseMs = options.claimNext?.(results.length);
      const { completed, claimed } = await transport.completeSteps({ workerId, results, claimNextLeaseMs });
      // Handed over before the completions are reported: a handler slot they free finds them queued.
      if (claimed.length > 0) options.onClaimed?.(claimed);
      return new Map(completed.map((id) => [id, "completed" as const]));
    });
    this.#failures = new WriteBatcher(options, "failures", (failures) => transport.failSteps({ workerId, failures }));
  }

  /** Steps waiting for their write or being written. */
  get pending(): number {
    return this.#completions.pending + this.#failures.pending;
  }

  /** Records a step's output (JSON text); `done` runs once it is written, refused (the lease was
   * lost) or given up. */
  complete(step: SettledStep, outputJson: string, done: (outcome: SettleOutcome) => void): void {
    this.#completions.add(step, { stepId: step.stepId, outputJson }, (outcome, refusal) => {
      const { counts, log } = this.options;
      if (outcome === "refused") {
        const error = { code: "output_refused", message: `the database refused the output: ${refusal}` };
        return this.fail(step, { kind: "fail", error }, done);
      }
      if (outcome === "completed") {
        counts.completed++;
        log.debug?.(`Completed step ${step.stepId}`, { job: step.jobId, step: step.stepName });
      } else if (outcome === "lost") {
        counts.lost++;
        log.warn(`Lost the lease on step ${step.stepId} before completing it; result discarded`, { job: step.jobId });
      }
      done(outcome);
    });
  }

  /** Records a failed attempt: retried later, or failed for good with its job; `done` runs once
   * it is written or given up. */
  fail(step: SettledStep, settlement: Settlement, done: (outcome: SettleOutcome) => void): void {
    const failure: StepFailure = {
      stepId: step.stepId,
      error: settlement.error,
      retryInMs: settlement.kind === "retry" ? settlement.retryInMs : undefined,
      permanent: settlement.kind === "fail",
    };
    this.#failures.add(step, failure, (outcome, refusal) => {
      const { counts, log } = this.options;
      if (outcome === "refused") {
        // Once, with a record made here: the failure is written, without what was refused.
        const refused = settlement.error.code === "error_refused";
        if (!refused) {
          const error = { code: "error_refused", message: `the database refused the error record (${settlement.error.code}): ${refusal}` };
          return this.fail(step, { ...settlement, error }, done);
        }
        outcome = "unsettled";
      }
      if (outcome !== "unsettled") {
        counts[outcome]++;
        log.info(`${outcome === "retried" ? "Will retry" : outcome === "failed" ? "Failed" : "Lost"} step ${step.stepId}`, {
          job: step.jobId,
          step: step.stepName,
          attempt: step.attempt,
          error: settlement.error.message,
        });
      }
      done(outcome);
    });
  }

  /** Writes that have ended so far: one more is the drain's cue that a completion may have made
   * a job's next step claimable. */
  get writesEnded(): number {
    return this.#completions.writesEnded + this.#failures.writesEnded;
  }

  /** Writes everything queued. */
  async flush(): Promise<void> {
    await Promise.all([this.#completions.flush(), this.#failures.flush()]);
  }
}

/** How an item's write went: the write's outcome, "lost" when the write left it out (the lease
 * was gone), "unsettled" when it could not be written, "refused" (with the database's reason)
 * when the database refused the data of this item. */
type WriteOutcome<Outcome> = Outcome | "lost" | "unsettled" | "refused";

/** An item waiting for its write, and who to tell how it went. */
interface Queued<Item, Outcome> {
  step: SettledStep;
  item: Item;
  done: (outcome: WriteOutcome<Outcome>, refusal?: string) => void;
}

/** Gathers items of one kind into few writes (≤ maxBatch each): those that arrive within
 * `delayMs` of each other go out together, and so do all that arrive while a write is in flight,
 * unless they fill half a batch: then a second write goes out beside the first, so a busy worker
 * keeps two database connections writing. */
class WriteBatcher<Item, Outcome extends string> {
  static readonly MAX_WRITES_IN_FLIGHT = 2;
  #queued: Queued<Item, Outcome>[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writes = new Set<Promise<void>>();
  #inWrite = 0;
  /** Writes that have ended so far. */
  writesEnded = 0;

  constructor(
    private readonly options: SettlerOptions,
    private readonly kind: string,
    private readonly write: (items: Item[]) => Promise<Map<string, Outcome>>,
  ) {}

  /** Items queued or in a write in flight. */
  get pending(): number {
    return this.#queued.length + this.#inWrite;
  }

  /** Queues an item; `done` gets its outcome (WriteOutcome). */
  add(step: SettledStep, item: Item, done: (outcome: WriteOutcome<Outcome>, refusal?: string) => void): void {
    this.#queued.push({ step, item, done });
    if (this.#writes.size === 0) this.#timer ??= setTimeout(() => this.#startWrites(), this.options.delayMs);
    else this.#startWrites(true);
  }

  /** Writes everything queued; resolves when nothing is queued or being written. */
  async flush(): Promise<void> {
    while (this.#queued.length > 0 || this.#writes.size > 0) {
      this.#startWrites();
      await Promise.race(this.#writes);
    }
  }

  /** Starts writes while there are items and room for a write; with `onlyFull`, only for a queue
   * holding at least half a batch (a write in flight takes the rest when it ends). */
  #startWrites(onlyFull = false): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const { maxBatch } = this.options;
    while (this.#queued.length > 0 && this.#writes.size < WriteBatcher.MAX_WRITES_IN_FLIGHT) {
      if (onlyFull && this.#queued.length < Math.ceil(maxBatch / 2)) return;
      const batch = this.#queued.splice(0, maxBatch);
      const written: Promise<void> = this.#writeBatch(batch).finally(() => {
        this.#writes.delete(written);
        this.#startWrites();
      });
      this.#writes.add(written);
    }
  }

  async #writeBatch(batch: Queued<Item, Outcome>[]): Promise<void> {
    this.#inWrite += batch.length;
    await this.#writeOrSplit(batch);
  }

  /** Writes `batch`; when the database refuses data in it, writes each half on its own, down to
   * the refused item alone. */
  async #writeOrSplit(batch: Queued<Item, Outcome>[]): Promise<void> {
    const { log } = this.options;
    const written = await this.#writeWithRetries(batch);
    if (!("outcomes" in written) && isRefusedInput(written.error) && batch.length > 1) {
      log.warn(`The database refused the data of one of ${batch.length} ${this.kind}; writing them in halves to find it`, {
        error: errorText(written.error),
      });
      const half = Math.ceil(batch.length / 2);
      await this.#writeOrSplit(batch.slice(0, half));
      await this.#writeOrSplit(batch.slice(half));
      return;
    }
    // These items' write is over: counted out before anyone is told, since the drain reads
    // `pending` and `writesEnded` when a step's settle is done, and nothing wakes it after.
    this.#inWrite -= batch.length;
    this.writesEnded++;
    if ("outcomes" in written) {
      for (const entry of batch) entry.done(written.outcomes.get(entry.step.stepId) ?? "lost");
    } else if (isRefusedInput(written.error)) {
      batch[0]!.done("refused", errorText(written.error));
    } else {
      log.error(`Could not record ${this.kind}; the steps will be released or their leases lapse`, {
        error: errorText(written.error),
        count: batch.length,
      });
      for (const entry of batch) entry.done("unsettled");
    }
  }

  /** The write's outcomes, or the error it failed with for good (an error that would recur, or a
   * transient one that outlasted the leases). */
  async #writeWithRetries(batch: Queued<Item, Outcome>[]): Promise<{ outcomes: Map<string, Outcome> } | { error: unknown }> {
    const { clock, log, leaseMarginMs } = this.options;
    for (let pauseMs = 50; ; pauseMs = Math.min(pauseMs * 2, 1_000)) {
      try {
        return { outcomes: await this.write(batch.map((entry) => entry.item)) };
      } catch (error) {
        const leaseLeftMs = Math.min(...batch.map((entry) => entry.step.leaseExpiresAt)) - clock.now();
        if (!isTransientError(error) || leaseLeftMs - pauseMs < leaseMarginMs) return { error };
        log.warn(`Recording ${this.kind} failed; retrying while the leases hold`, { error: errorText(error), retry_in_ms: pauseMs });
        await clock.sleep(pauseMs);
      }
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
