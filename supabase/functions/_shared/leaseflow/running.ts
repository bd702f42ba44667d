// The steps a drain holds, from claim to settle. Claimed steps wait in a local queue until a
// handler slot is free (graphile-worker's localQueue is the model: the next step is at hand when
// a handler ends, without a round trip); each runs under its type's timeout, its slot freed as
// soon as the handler ends, before its settle is written. One timer renews the lease of every
// held step in one call; a step whose lease was taken over stops (running) or is dropped
// (queued).
//
// The path of a step allocates little and awaits nothing of its own (callbacks, not a chain of
// promises per step): at tens of thousands of steps a second, the worker's own CPU is part of
// the throughput.
import { isA, LeaseLostError, type Settlement, settlementFor, ShutdownError, StepTimeoutError, storableJson } from "./errors.ts";
import { issuesText, type Registry, type StepContext } from "./registry.ts";
import type { SettledStep, SettleOutcome, Settler } from "./settle.ts";
import { Signal } from "./signal.ts";
import type { ClaimedStep, Clock, Logger, Transport } from "./types.ts";

/** What a StepPool needs to run and settle steps. */
export interface StepPoolOptions {
  /** The worker holding the steps. */
  workerId: string;
  /** The driver to the SQL functions (lease renewals). */
  transport: Transport;
  /** The handlers. */
  registry: Registry;
  /** Handlers running at once. */
  concurrency: number;
  /** Each renewal extends the leases to this long from now. */
  leaseMs: number;
  /** How often the held steps' leases are renewed. */
  heartbeatMs: number;
  /** Renewals stop at this time (ms since the epoch): a drain still holding steps then is hung,
   * and its steps must lapse to another worker rather than stay held. (Default: never) */
  renewUntil?: number;
  /** Where outcomes are written. */
  settler: Settler;
  /** Where steps whose lease was taken over are counted. */
  counts: { lost: number };
  /** Time source. */
  clock: Clock;
  /** Where step lines go. */
  log: Logger;
}

/** How a handler's run ended: its output, what it threw (or why it was stopped), or a
 * settlement decided without running it. */
type HandlerRun = { output: unknown } | { thrown: unknown } | { settlement: Settlement };

/** A step this worker holds, with the lease as last renewed, and its handler's run. A step's
 * state lives here and its transitions are the pool's methods, not closures made per step: at
 * tens of thousands of steps a second, each closure was an allocation (and, under tsx, a
 * property definition naming it). */
class Held implements SettledStep {
  readonly stepId: string;
  readonly jobId: string;
  readonly stepName: string;
  readonly attempt: number;
  /** Made when the handler first reads its signal. */
  controller: AbortController | undefined;
  /** True while the handler runs: StepPool.#stop may end it (timeout, lost lease, shutdown). */
  running = false;
  /** When the handler started (clock ms). */
  startedAt = 0;
  /** The handler's timeout. */
  timeout: ReturnType<typeof setTimeout> | undefined;
  /** Its payload's and previous outputs' JSON size (jsonSizeEstimate), counted while it is held. */
  readonly bytes: number;
  /** Its output's JSON text length once its handler returned, counted until the write. */
  outputBytes = 0;

  constructor(
    readonly step: ClaimedStep,
    public leaseExpiresAt: number,
  ) {
    this.stepId = step.stepId;
    this.jobId = step.jobId;
    this.stepName = step.stepName;
    this.attempt = step.attempt;
    this.bytes = jsonSizeEstimate(step.payload) + jsonSizeEstimate(step.previousOutputs);
  }
}

/** The length of `value`'s JSON text, estimated without writing it (a string counts its UTF-16
 * length, a number 8 characters): what a held step's payload and previous outputs weigh. Walking
 * the value costs far less than the JSON.parse that made it, and nothing for small payloads. */
export function jsonSizeEstimate(value: unknown): number {
  switch (typeof value) {
    case "string":
      return value.length + 2;
    case "number":
      return 8;
    case "boolean":
      return 5;
    case "object": {
      if (value === null) return 4;
      let size = 2;
      if (Array.isArray(value)) {
        for (const item of value) size += jsonSizeEstimate(item) + 1;
        return size;
      }
      for (const key in value) size += key.length + 4 + jsonSizeEstimate((value as Record<string, unknown>)[key]);
      return size;
    }
    default:
      return 0;
  }
}

/** What a handler gets: the step's fields, and its signal, lease renewal and log made on first
 * use (most handlers read none of them). */
class HeldContext implements StepContext {
  readonly jobId: string;
  readonly stepId: string;
  readonly jobType: string;
  readonly stepName: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly previousOutputs: Record<string, unknown>;
  readonly idempotencyKey: string;
  // Private (#): a handler that logs or spreads its context sees the step's fields only.
  readonly #held: Held;
  readonly #renew: (held: Held) => Promise<void>;
  readonly #log: Logger;
  #heartbeat: (() => Promise<void>) | undefined;

  constructor(held: Held, readonly payload: Record<string, unknown>, renew: (held: Held) => Promise<void>, log: Logger) {
    this.#held = held;
    this.#renew = renew;
    this.#log = log;
    const { step } = held;
    this.jobId = step.jobId;
    this.stepId = step.stepId;
    this.jobType = step.jobType;
    this.stepName = step.stepName;
    this.attempt = step.attempt;
    this.maxAttempts = step.maxAttempts;
    this.previousOutputs = step.previousOutputs;
    this.idempotencyKey = step.stepId;
  }

  get signal(): AbortSignal {
    return (this.#held.controller ??= new AbortController()).signal;
  }

  /** Bound on first read, so `const { heartbeat } = context` works too. */
  get heartbeat(): () => Promise<void> {
    return (this.#heartbeat ??= () => this.#renew(this.#held));
  }

  get log(): Logger {
    return stepLogger(this.#log, this.#held.step);
  }
}

/** The steps a drain holds: queued for a handler, running, or waiting for their settle. */
export class StepPool {
  /** Claimed steps in claim order; those before #queueHead were dispatched (their slots emptied). */
  readonly #queue: (Held | undefined)[] = [];
  #queueHead = 0;
  readonly #held = new Map<string, Held>();
  #heldBytes = 0;
  #largestStepBytes = 0;
  /** Dispatched steps (counted as running) whose handlers start at the next microtask. */
  #starting: Held[] = [];
  #startQueued = false;
  #running = 0;
  #closed = false;
  #dropping = false;
  #aborted = false;
  /** A moving average of how long a handler runs, ms (undefined until one has ended). */
  #handlerMs: number | undefined;
  readonly #changed = new Signal();
  readonly #leaseTimer: ReturnType<typeof setInterval>;

  constructor(private readonly options: StepPoolOptions) {
    this.#leaseTimer = setInterval(() => void this.#renewLeases(), options.heartbeatMs);
  }

  /** Handlers running now. */
  get running(): number {
    return this.#running;
  }

  /** Claimed steps waiting for a handler slot. */
  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** Steps held until settled: queued, running, or waiting for their settle. */
  get held(): number {
    return this.#held.size;
  }

  /** The held steps' payloads and previous outputs (jsonSizeEstimate), and the outputs waiting
   * for their write, in bytes of JSON. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** The heaviest step (payload, previous outputs and, once run, output; bytes of JSON) so far;
   * 0 before any. */
  get largestStepBytes(): number {
    return this.#largestStepBytes;
  }

  /** Steps whose handler ended and whose settle is not written yet. */
  get settling(): number {
    return this.#held.size - this.#running - this.queued;
  }

  /** A moving average of handler run time, ms; undefined before the first handler ends. */
  get handlerMs(): number | undefined {
    return this.#handlerMs;
  }

  /** Takes claimed steps: they start as slots free up, in claim order. Once closed, it takes
   * none (they stay with this worker in the database until the drain releases them). */
  add(steps: ClaimedStep[]): void {
    if (this.#closed) return;
    const now = this.options.clock.now();
    for (const step of steps) {
      // The lease runs from the claim; with clock skew between here and the database, the lease
      // the database computed is the one that counts, so take the earlier of the two.
      const held = new Held(step, Math.min(step.leaseExpiresAt.getTime(), now + this.options.leaseMs));
      const replaced = this.#held.get(step.stepId);
      if (replaced) this.#heldBytes -= replaced.bytes + replaced.outputBytes;
      this.#held.set(step.stepId, held);
      this.#heldBytes += held.bytes;
      if (held.bytes > this.#largestStepBytes) this.#largestStepBytes = held.bytes;
      this.#queue.push(held);
    }
    this.#dispatch();
  }

  /** Resolves at the next change: a handler ended, a settle was written or a step was dropped. */
  changed(): Promise<void> {
    return this.#changed.next();
  }

  /** Takes no more claimed steps. With `dropQueued`, no queued step starts either: they are
   * dropped (the drain releases them); without it, they still run. */
  close(dropQueued = true): void {
    this.#closed = true;
    if (!dropQueued) return;
    this.#dropping = true;
    for (const held of this.#queue.splice(0).slice(this.#queueHead)) this.#forget(held!);
    this.#queueHead = 0;
    this.#changed.fire();
  }

  /** Stops every running handler (shutdown) and drops the queued steps; all stay held by this
   * worker in the database, for the drain to release. */
  abortAll(): void {
    this.#aborted = true;
    this.close();
    for (const held of this.#held.values()) this.#stop(held, new ShutdownError());
  }

  /** Resolves when every held step has been settled or given up. */
  async allSettled(): Promise<void> {
    while (this.#held.size > 0) await this.#changed.next();
  }

  /** Stops renewing leases (the drain is over). */
  dispose(): void {
    clearInterval(this.#leaseTimer);
  }

  #dispatch(): void {
    while (!this.#dropping && this.#running < this.options.concurrency && this.#queueHead < this.#queue.length) {
      this.#running++;
      this.#starting.push(this.#queue[this.#queueHead]!);
      // Emptied at once: until the next compaction, a consumed slot would keep its step, payload
      // and all, alive after it settled (a thousand 200 KiB payloads).
      this.#queue[this.#queueHead++] = undefined;
    }
    // Started from a microtask, not here: a synchronous handler must not run inside this loop (nor
    // recurse into it). One microtask for all the steps dispatched before it runs.
    if (this.#starting.length > 0 && !this.#startQueued) {
      this.#startQueued = true;
      queueMicrotask(this.#startDispatched);
    }
    // Compact the consumed head now and then, not on every step.
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
  }

  /** Starts the steps dispatched so far, in order (those their ends dispatch wait for the next
   * microtask). */
  readonly #startDispatched = (): void => {
    this.#startQueued = false;
    const starting = this.#starting;
    this.#starting = [];
    for (const held of starting) this.#start(held);
  };

  /** Runs a step's handler under its timeout; `#end` settles what came of it. */
  #start(held: Held): void {
    const { workerId, registry, clock, log } = this.options;
    const { step } = held;
    if (this.#aborted) {
      // Dispatched just before the shutdown: it never starts.
      this.#running--;
      this.#settle(held, { thrown: new ShutdownError() });
      return;
    }
    held.startedAt = clock.now();
    held.running = true;
    held.timeout = setTimeout(this.#timedOut, step.timeoutMs, held);
    log.debug?.(`Claimed step ${held.stepId} (job ${held.jobId}, seq ${step.seq})`, { step: held.stepName, attempt: held.attempt });

    const handler = registry.handler(step.jobType, step.stepName);
    if (!handler) {
      this.#end(held, {
        settlement: {
          kind: "fail",
          error: { code: "no_handler", message: `worker ${workerId} has no handler for step "${step.stepName}" of job type "${step.jobType}"` },
        },
      });
      return;
    }
    // A payload that breaks its type's schema (enqueued over RPC or SQL, past the jobs API) fails
    // its job before any handler sees it: no retry can fix it.
    const checked = registry.checkPayload(step.jobType, step.payload);
    if (!checked.ok) {
      this.#end(held, {
        settlement: {
          kind: "fail",
          error: {
            code: "invalid_payload",
            message: `payload is invalid: ${issuesText(checked.issues, "payload")}`,
            details: { issues: checked.issues.slice(0, 100) },
          },
        },
      });
      return;
    }
    const context = new HeldContext(held, checked.payload, this.#heartbeat, log);
    // Whatever the handler does (throws, returns a thenable whose `then` throws) ends its step
    // here: nothing it does may escape into the event loop and take the worker down.
    let result: unknown;
    try {
      result = handler(context);
      if (isThenable(result)) {
        result.then((output) => this.#end(held, { output }), (thrown: unknown) => this.#end(held, { thrown }));
        return;
      }
    } catch (thrown) {
      this.#end(held, { thrown });
      return;
    }
    this.#end(held, { output: result });
  }

  /** The handler's run ended (or was ended): its slot is free, its outcome goes to the Settler.
   * Only the first end of a run counts (a stopped handler may still settle later). */
  #end(held: Held, run: HandlerRun): void {
    if (!held.running) return;
    held.running = false;
    clearTimeout(held.timeout);
    const ms = this.options.clock.now() - held.startedAt;
    this.#handlerMs = this.#handlerMs === undefined ? ms : this.#handlerMs * 0.9 + ms * 0.1;
    this.#running--;
    this.#dispatch();
    this.#settle(held, run);
    this.#changed.fire();
  }

  /** Ends a running handler now with `reason` (timeout, lost lease, shutdown): its signal is
   * aborted, and a handler that ignores it cannot hold its step past that. */
  #stop(held: Held, reason: Error): void {
    if (!held.running) return;
    held.controller?.abort(reason);
    this.#end(held, { thrown: reason });
  }

  /** The timeout of every step (one function: setTimeout hands it the step). */
  readonly #timedOut = (held: Held): void => this.#stop(held, new StepTimeoutError(held.step.timeoutMs));

  /** A handler's own lease renewal (context.heartbeat). */
  readonly #heartbeat = async (held: Held): Promise<void> => {
    const { transport, workerId, leaseMs, clock } = this.options;
    const renewedAt = clock.now();
    if (!(await transport.extendLease({ stepId: held.stepId, workerId, leaseMs }))) {
      this.#stop(held, new LeaseLostError(held.stepId));
      throw new LeaseLostError(held.stepId);
    }
    held.leaseExpiresAt = renewedAt + leaseMs;
  };

  /** Hands what the handler's run means for its step to the Settler; the step stays held until
   * the settle is written. */
  #settle(held: Held, run: HandlerRun): void {
    const { settler, counts, log } = this.options;
    const settled = (_outcome?: SettleOutcome) => {
      this.#forget(held);
      this.#changed.fire();
    };
    if ("output" in run) {
      // An output Postgres cannot store would fail its whole batch's write, on every attempt:
      // the step fails for good instead, and its batch-mates complete.
      const json = storableJson(run.output);
      if (!json.ok) {
        return settler.fail(held, { kind: "fail", error: { code: "output_not_json", message: `output is not JSON: ${json.reason}` } }, settled);
      }
      // The text as checked: a toJSON that answers differently next time cannot fail the write.
      const text = json.json ?? "null";
      this.#weighOutput(held, text.length);
      return settler.complete(held, text, settled);
    }
    if ("settlement" in run) return settler.fail(held, run.settlement, settled);
    if (isA(run.thrown, LeaseLostError)) {
      counts.lost++;
      log.warn(`Lost the lease on step ${held.stepId}; stopped working on it`, { job: held.jobId });
      return settled();
    }
    // Shutdown is not the step's failure: the drain releases its step.
    if (isA(run.thrown, ShutdownError)) return settled();
    settler.fail(held, settlementFor(run.thrown), settled);
  }

  /** Counts an output waiting for its write with its step's input: a step's weight is both. */
  #weighOutput(held: Held, bytes: number): void {
    held.outputBytes = bytes;
    this.#heldBytes += bytes;
    if (held.bytes + bytes > this.#largestStepBytes) this.#largestStepBytes = held.bytes + bytes;
  }

  /** The step is no longer this pool's: settled, dropped, or taken over. */
  #forget(held: Held): void {
    // Only its own entry: the same step claimed again meanwhile (its lease lapsed) is a new one.
    if (this.#held.get(held.stepId) !== held) return;
    this.#held.delete(held.stepId);
    this.#heldBytes -= held.bytes + held.outputBytes;
  }

  /** One call renews every held step's lease; a step missing from the answer was taken over. */
  async #renewLeases(): Promise<void> {
    const { transport, workerId, leaseMs, clock, counts, log } = this.options;
    const stepIds = [...this.#held.keys()];
    if (stepIds.length === 0) return;
    if (clock.now() > (this.options.renewUntil ?? Number.POSITIVE_INFINITY)) {
      clearInterval(this.#leaseTimer);
      log.error("Still holding steps past the budget and a lease: no longer renewing their leases, so another worker takes them", {
        steps: stepIds.length,
      });
      return;
    }
    const renewedAt = clock.now();
    let kept: Set<string>;
    try {
      kept = await transport.extendLeases({ workerId, stepIds, leaseMs });
    } catch (error) {
      log.warn("Lease renewal failed", { steps: stepIds.length, error: String(error) });
      return;
    }
    for (const stepId of stepIds) {
      const held = this.#held.get(stepId);
      if (!held) continue; // settled meanwhile
      if (kept.has(stepId)) {
        held.leaseExpiresAt = renewedAt + leaseMs;
        continue;
      }
      if (held.running) {
        this.#stop(held, new LeaseLostError(stepId));
        continue;
      }
      const index = this.#queue.indexOf(held, this.#queueHead);
      if (index === -1) continue; // its handler ended: the settle will find the lease gone
      // Still queued: never started, so nothing to stop; another worker has it now.
      this.#queue.splice(index, 1);
      this.#forget(held);
      counts.lost++;
      log.warn(`Lost the lease on queued step ${stepId} before starting it`, { job: held.jobId });
      this.#changed.fire();
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

function stepLogger(log: Logger, step: ClaimedStep): Logger {
  const tag = { job: step.jobId, step: step.stepName, attempt: step.attempt };
  return {
    info: (message, fields) => log.info(message, { ...tag, ...fields }),
    warn: (message, fields) => log.warn(message, { ...tag, ...fields }),
    error: (message, fields) => log.error(message, { ...tag, ...fields }),
  };
}
