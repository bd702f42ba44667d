// The steps a drain holds, from claim to settle. Each runs its handler in a slot, under its type's
// timeout, with its lease renewed on a timer; the slot frees as soon as the handler ends, before
// its settle is written, so the next claim overlaps the last settles.
import { LeaseLostError, type Settlement, settlementFor, ShutdownError, StepTimeoutError } from "./errors.ts";
import type { Registry, StepContext } from "./registry.ts";
import type { Settler } from "./settle.ts";
import type { ClaimedStep, Logger, Transport } from "./types.ts";

/** What a RunningSet needs to run and settle steps. */
export interface RunningSetOptions {
  /** The worker holding the steps. */
  workerId: string;
  /** The driver to the SQL functions (lease renewals). */
  transport: Transport;
  /** The handlers. */
  registry: Registry;
  /** Each renewal extends the lease to this long from now. */
  leaseMs: number;
  /** How often a running step's lease is renewed. */
  heartbeatMs: number;
  /** Where outcomes are written. */
  settler: Settler;
  /** Where steps whose lease was taken over mid-run are counted. */
  counts: { lost: number };
  /** Where step lines go. */
  log: Logger;
}

/** The steps a drain holds: handlers running, and settles not yet written. */
export class RunningSet {
  /** Steps whose handler runs (each holds a slot), with what ends and aborts it. */
  readonly #handlers = new Map<string, { ended: Promise<void>; controller: AbortController }>();
  /** Every step not settled yet: its handler runs, or its settle is being written. */
  readonly #unsettled = new Set<Promise<void>>();

  constructor(private readonly options: RunningSetOptions) {}

  /** Handlers running now (slots in use). */
  get running(): number {
    return this.#handlers.size;
  }

  /** Steps not settled yet. */
  get unsettled(): number {
    return this.#unsettled.size;
  }

  /** Starts a claimed step's handler; its settle follows by itself. */
  start(step: ClaimedStep): void {
    const controller = new AbortController();
    let handlerEnded!: () => void;
    const ended = new Promise<void>((resolve) => (handlerEnded = resolve));
    this.#handlers.set(step.stepId, { ended, controller });
    void ended.then(() => this.#handlers.delete(step.stepId));
    const settled: Promise<void> = this.#run(step, controller, handlerEnded).finally(() => this.#unsettled.delete(settled));
    this.#unsettled.add(settled);
  }

  /** Resolves when a handler ends or a settle is written, or when `interrupted` resolves. */
  untilOneEnds(interrupted: Promise<void>): Promise<void> {
    return Promise.race([...[...this.#handlers.values()].map((entry) => entry.ended), ...this.#unsettled, interrupted]);
  }

  /** Aborts every running handler (shutdown): their steps stay held, for the drain to release. */
  abortAll(): void {
    for (const entry of this.#handlers.values()) entry.controller.abort(new ShutdownError());
  }

  /** Resolves when every step has been settled or given up. */
  async allSettled(): Promise<void> {
    await Promise.all(this.#unsettled);
  }

  /** Runs a step's handler, frees its slot, then settles it; its lease is renewed until then. */
  async #run(step: ClaimedStep, controller: AbortController, handlerEnded: () => void): Promise<void> {
    const { workerId, transport, leaseMs, heartbeatMs, log } = this.options;
    const renewLease = async () => {
      const held = await transport.extendLease({ stepId: step.stepId, workerId, leaseMs });
      if (!held) controller.abort(new LeaseLostError(step.stepId));
      return held;
    };
    const leaseTimer = setInterval(() => {
      renewLease().catch((error) => log.warn("Lease renewal failed", { step: step.stepId, error: String(error) }));
    }, heartbeatMs);
    try {
      let ran: HandlerRun;
      try {
        ran = await this.#runHandler(step, controller, renewLease);
      } finally {
        handlerEnded();
      }
      await this.#settle(step, ran);
    } finally {
      clearInterval(leaseTimer);
    }
  }

  /** Runs the step's handler under its timeout; what it returned, or why it stopped. */
  async #runHandler(step: ClaimedStep, controller: AbortController, renewLease: () => Promise<boolean>): Promise<HandlerRun> {
    const { workerId, registry, log } = this.options;
    const handler = registry.handler(step.jobType, step.stepName);
    if (!handler) {
      return {
        settlement: {
          kind: "fail",
          error: { code: "no_handler", message: `worker ${workerId} has no handler for step "${step.stepName}" of job type "${step.jobType}"` },
        },
      };
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
    const timeout = setTimeout(() => controller.abort(new StepTimeoutError(step.timeoutMs)), step.timeoutMs);
    try {
      // Raced against its signal: a handler that ignores the signal cannot hold its step past the
      // timeout, a lost lease or a shutdown.
      return { output: await Promise.race([Promise.resolve().then(() => handler(context)), rejectOnAbort(controller.signal)]) };
    } catch (thrown) {
      return { thrown: controller.signal.aborted ? controller.signal.reason : thrown };
    } finally {
      clearTimeout(timeout);
    }
  }

  /** Writes what the handler's run means for its step. */
  async #settle(step: ClaimedStep, ran: HandlerRun): Promise<void> {
    const { settler, counts, log } = this.options;
    if ("output" in ran) return await settler.complete(step, ran.output);
    if ("settlement" in ran) return await settler.fail(step, ran.settlement);
    if (ran.thrown instanceof LeaseLostError) {
      counts.lost++;
      log.warn(`Lost the lease on step ${step.stepId}; stopped working on it`, { job: step.jobId });
      return;
    }
    // Shutdown is not the step's failure: the drain releases its step.
    if (ran.thrown instanceof ShutdownError) return;
    await settler.fail(step, settlementFor(ran.thrown));
  }
}

/** How a handler's run ended: its output, what it threw (or why it was aborted), or a settlement
 * decided without running it. */
type HandlerRun = { output: unknown } | { thrown: unknown } | { settlement: Settlement };

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
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
