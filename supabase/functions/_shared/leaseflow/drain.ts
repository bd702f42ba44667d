// The claim loop, the one runtime both the Edge Function and the Node worker run:
//
//   claim batches (claim_steps, short lease) into a local queue → run handlers with bounded
//   concurrency, every held step's lease renewed in one call (StepPool, running.ts) → settle
//   (Settler, settle.ts: completions and failures each batched, written again on a transient
//   error while the leases hold; a completion write claims the next step of each job it moves on,
//   while the loop still claims) → repeat while work remains and the budget allows; with nothing
//   to claim, the idle policy (idle.ts) decides between waiting for a retry (or a lease) about to
//   come due, polling again and stopping.
//
// The loop keeps Postgres busy and the handlers fed: a claim is sized to the free capacity (up to
// batchSize), up to two claims are in flight at once, and the capacity is concurrency plus a
// prefetch sized to what the handlers consume while a claim travels (none while that is unknown,
// up to twice batchSize for handlers much faster than a claim: one claim's steps run while the
// next claim travels). Settling does not hold a handler slot: the next claim runs while the last
// completions are being written.
//
// It stops claiming when the remaining budget is smaller than a lease plus a margin (so nothing
// it claims can outlive the invocation), when the idle policy says so, or when asked. A graceful
// stop lets the running steps finish and gives the queued ones back; an abort (the platform is
// killing us) releases them all at once, without consuming their attempt. Errors of one
// iteration (a failed claim, a failed lease renewal) are logged and never stop the loop.
import { IdlePolicy, type IdleOptions } from "./idle.ts";
import type { Registry } from "./registry.ts";
import { StepPool } from "./running.ts";
import { Settler } from "./settle.ts";
import { Signal } from "./signal.ts";
import type { Clock, Logger, Transport } from "./types.ts";
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
  /** Handlers running at once. (Default: 10) */
  concurrency?: number;
  /** Most steps per claim; up to twice as many are held at once (the prefetch fills the room
   * above concurrency). (Default: 1 000) */
  batchSize?: number;
  /** The most the held steps may weigh, in bytes of JSON (payloads, previous outputs, and outputs
   * waiting for their write): claims are sized so that the held steps, and each step asked for
   * counted as the heaviest so far, stay under it (an Edge Function has 256 MB). A step heavier
   * than this alone still runs. (Default: 32 MiB) */
  maxHeldBytes?: number;
  /** How often the held steps' leases are renewed. (Default: leaseMs / 3) */
  heartbeatMs?: number;
  /** Settles arriving within this window share one write, as do all that arrive while a write
   * is in flight. (Default: 0, i.e. those of the same event-loop turn) */
  settleDelayMs?: number;
  /** What to do when there is nothing to claim: linger for a retry, poll, stop (idle.ts).
   * (Default: linger up to 10 000 ms, then stop) */
  idle?: IdleOptions;
  /** Pause after a failed claim before trying again. (Default: 1 000) */
  claimErrorPauseMs?: number;
  /** The CPU time this drain may spend (an Edge invocation's limit is 2 s): claims stop, and are
   * sized, so that the CPU used plus what the held and claimed steps are expected to use stays
   * under `limitMs`. (Default: no limit) */
  cpuBudget?: CpuBudget;
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
  /** Why the loop stopped claiming: nothing to do, the wall-clock or the CPU budget, or asked to. */
  stoppedBy: "idle" | "budget" | "cpu" | "stop" | "abort";
  /** CPU time spent while draining, ms, where the platform reports it. */
  cpuMs?: number;
}

/** The lease a claim takes unless told otherwise (DrainOptions.leaseMs). */
export const DEFAULT_LEASE_MS = 30_000;

/** A CPU budget for one drain. */
export interface CpuBudget {
  /** CPU time the drain may use, ms. */
  limitMs: number;
  /** CPU time used by this process (or isolate) so far, ms; without it, the drain counts
   * `perStepMs` for every step it starts. */
  usedMs?: () => number;
  /** The CPU a step is expected to cost until enough steps were measured, ms. (Default: 0.1) */
  perStepMs?: number;
}

/** Claims in flight at once: one travels while the last one's steps are handed out. */
const MAX_CLAIMS_IN_FLIGHT = 2;

/** The most steps a claim takes unless told otherwise (DrainOptions.batchSize): claim_steps'
 * maximum. The prefetch only grows toward twice it for handlers much faster than a claim, so slow
 * handlers still claim about as many steps as there are slots. */
export const DEFAULT_BATCH_SIZE = 1_000;

/** The most JSON the held steps carry unless told otherwise (DrainOptions.maxHeldBytes): an Edge
 * invocation's 256 MB must also hold the runtime, the claims' answers as they are read and what
 * the handlers make of their payloads. Without it, a drain of 200 KiB payloads (up to 2 000 steps
 * held) reached 730 MiB. */
export const DEFAULT_MAX_HELD_BYTES = 32 * 2 ** 20;

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
    concurrency = 10,
    batchSize = DEFAULT_BATCH_SIZE,
    maxHeldBytes = DEFAULT_MAX_HELD_BYTES,
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
  // Twice a claim's worth: with fast handlers, a full claim travels while the last one's steps
  // run. Held to one claim's worth, claims shrank to what had just been freed (about half a
  // batch) and the database idled while the worker ran a batch: a Node worker's drain of 50 000
  // no-op jobs at concurrency 32 went from 25 287-26 639 to 25 872-31 628 jobs/s (medians 25 889
  // and 28 804, four interleaved repetitions).
  const maxHeld = Math.max(concurrency, 2 * batchSize);
  const settler = new Settler({
    transport,
    workerId,
    // A write is at most a claim's worth (or the slots'): complete_and_claim_steps and fail_steps
    // take 1 000 at most, the most a worker's settings allow for either.
    maxBatch: Math.max(concurrency, batchSize),
    delayMs: settleDelayMs,
    leaseMarginMs: Math.min(2_000, leaseMs / 5),
    counts: summary,
    clock,
    log,
    // A job that runs one step at a time moves on when its step completes: its next step is
    // claimed by the same write, for as long as the loop itself would claim (the steps it
    // completes were counted, so their successors fit the capacity; the CPU and byte budgets are
    // asked).
    claimNext: (count) => (claimingOpen && stopReason(count) === undefined && byteRoom() >= count ? leaseMs : undefined),
    onClaimed: (steps) => {
      summary.claimed += steps.length;
      pool.add(steps);
    },
  });
  const pool = new StepPool({
    workerId,
    transport,
    registry,
    concurrency,
    leaseMs,
    heartbeatMs: options.heartbeatMs ?? defaultHeartbeatMs(leaseMs),
    // A drain stops claiming a lease and a margin before its budget ends, so one still holding
    // steps a lease after it is hung (a write that never returns): its steps go to others.
    renewUntil: started + budgetMs + leaseMs,
    settler,
    counts: summary,
    clock,
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
  const cpu = options.cpuBudget;
  const cpuAtStart = cpu?.usedMs?.() ?? 0;
  const cpuUsedMs = () => (cpu?.usedMs ? cpu.usedMs() - cpuAtStart : summary.claimed * (cpu?.perStepMs ?? 0.1));
  /** How many more steps the CPU budget affords, held and travelling ones counted. */
  const cpuRoom = () => {
    if (!cpu) return Number.POSITIVE_INFINITY;
    const begun = summary.claimed - pool.queued;
    const perStep = cpu.usedMs && begun >= 10 ? cpuUsedMs() / begun : (cpu.perStepMs ?? 0.1);
    return Math.floor((cpu.limitMs - cpuUsedMs()) / perStep) - pool.queued - pool.running - claiming;
  };
  /** How many more steps the byte budget affords, each one asked for counted as the heaviest step
   * so far (unknown before the first claim returns, which asks for the slots' worth). At least
   * one while nothing is held, so a step heavier than the whole budget still runs. The
   * steps a completion write finishes are counted until it returns, so it claims next steps only
   * while those fit beside them. */
  const byteRoom = (): number => {
    const perStep = pool.largestStepBytes;
    if (perStep === 0) return Number.POSITIVE_INFINITY;
    const room = Math.floor((maxHeldBytes - pool.heldBytes) / perStep) - claiming;
    return pool.held === 0 && claiming === 0 ? Math.max(1, room) : room;
  };
  /** Why the loop must stop claiming now, if it must; with `claimNext`, whether a completion
   * write may claim that many next steps. */
  const stopReason = (claimNext = 0): DrainSummary["stoppedBy"] | undefined =>
    abortSignal?.aborted ? "abort"
    : stopSignal?.aborted ? "stop"
    : spareBudgetMs() < 0 ? "budget"
    : claimNext > 0 ? (cpuRoom() < claimNext ? "cpu" : undefined)
    // Out of CPU only once nothing is held: a step's cost is estimated from the steps begun so
    // far, and the first ones carry the invocation's warm-up; as held steps finish, the
    // estimate falls and may leave room for another claim.
    : cpuRoom() <= 0 && claims.size === 0 && pool.held === 0 ? "cpu"
    : undefined;
  // False once the loop stopped claiming: completion writes claim nothing more either.
  let claimingOpen = true;
  const nextClaimableAt = () =>
    transport.nextClaimableAt(types).catch((error) => {
      log.warn("next_claimable_at failed; not lingering", { error: String(error) });
      return null;
    });

  // Claims in flight: how many, and how many steps they asked for.
  const claims = new Set<Promise<void>>();
  let claiming = 0;
  const claimFinished = new Signal();
  // A moving average of a claim's round trip, ms (undefined until one returned).
  let claimMs: number | undefined;
  // The last claim found fewer steps than it asked for: claim again only once a settle was
  // written after it was sent (a completion can create a job's next step) or the idle policy says
  // so.
  let drained = false;
  let writesWhenDrained = 0;
  const stillDrained = () => drained && settler.writesEnded === writesWhenDrained;
  let pausedUntil = 0;
  // The wait for the current pause to end: one timer per pause, not one per turn of the loop
  // (steps settling during a pause turned it many times; each turn's timer held a listener).
  let pauseOver: { until: number; over: Promise<void> } | undefined;
  // A fixed poll interval is logged once per idle period, a growing backoff at each step.
  let loggedPollMs: number | undefined;

  /** The steps to hold (queued and running): concurrency, plus what the handlers consume during
   * two claim round trips, up to maxHeld. */
  const capacity = () => {
    const handlerMs = pool.handlerMs;
    if (handlerMs === undefined || claimMs === undefined) return concurrency;
    return Math.min(maxHeld, concurrency + Math.ceil((2 * concurrency * claimMs) / Math.max(handlerMs, 0.01)));
  };

  function claim(limit: number): void {
    claiming += limit;
    const sent = clock.now();
    // The settles written before the claim was sent: one that ended while it travelled may have
    // committed after the claim's snapshot, so the claim cannot speak for what that one created.
    const writesAtSend = settler.writesEnded;
    const claimed: Promise<void> = transport
      .claimSteps({ workerId, leaseMs, limit, types })
      .then(
        (steps) => {
          claimMs = claimMs === undefined ? clock.now() - sent : claimMs * 0.8 + (clock.now() - sent) * 0.2;
          summary.claimed += steps.length;
          if (steps.length > 0) {
            idle.reset();
            loggedPollMs = undefined;
          }
          drained = steps.length < limit;
          writesWhenDrained = writesAtSend;
          pool.add(steps);
        },
        (error) => {
          log.error("Claim failed", { error: String(error) });
          pausedUntil = clock.now() + claimErrorPauseMs;
        },
      )
      .finally(() => {
        claiming -= limit;
        claims.delete(claimed);
        claimFinished.fire();
      });
    claims.add(claimed);
  }

  try {
    for (;;) {
      const stop = stopReason();
      if (stop) {
        summary.stoppedBy = stop;
        break;
      }
      const target = capacity();
      const room = Math.min(target - pool.queued - pool.running - claiming, cpuRoom(), byteRoom());
      // Keep one claim travelling whenever there is room; send a second beside it only for half
      // the capacity or more. Never while settles pile up (the database is slower than the
      // handlers).
      const worthwhile = claims.size === 0 || room >= Math.ceil(target / 2);
      if (!stillDrained() && room > 0 && worthwhile && claims.size < MAX_CLAIMS_IN_FLIGHT && pool.settling < 2 * maxHeld && clock.now() >= pausedUntil) {
        claim(Math.min(batchSize, room));
        continue;
      }
      if (stillDrained() && claims.size === 0 && pool.held === 0 && settler.pending === 0) {
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
        drained = false;
        continue;
      }
      // A settle written means a held step ended: pool.changed() covers it.
      const waits: Promise<unknown>[] = [pool.changed(), claimFinished.next(), whenInterrupted];
      if (clock.now() < pausedUntil) {
        if (pauseOver?.until !== pausedUntil) pauseOver = { until: pausedUntil, over: clock.sleep(pausedUntil - clock.now(), interrupted.signal) };
        waits.push(pauseOver.over);
      }
      await Promise.race(waits);
    }

    claimingOpen = false;
    // No more claims. Out of CPU budget, the queued steps still run (the budget counted them);
    // otherwise they go back (with those of claims still in flight). The running ones finish,
    // or stop on an abort, now or later.
    pool.close(summary.stoppedBy !== "cpu");
    const abortRunning = () => pool.abortAll();
    if (summary.stoppedBy === "abort") abortRunning();
    else abortSignal?.addEventListener("abort", abortRunning, { once: true });
    await Promise.all(claims);
    await pool.allSettled();
    abortSignal?.removeEventListener("abort", abortRunning);
    await settler.flush();
  } finally {
    pool.dispose();
    stopSignal?.removeEventListener("abort", onInterrupt);
    abortSignal?.removeEventListener("abort", onInterrupt);
    // Whatever this worker still holds (queued and aborted steps, settles that could not be
    // written) goes back to the queue without consuming an attempt. A drain that claimed nothing
    // holds nothing: an idle poll or an empty invocation skips the round trip.
    if (summary.claimed > 0) {
      try {
        summary.released = await transport.releaseSteps({ workerId });
      } catch (error) {
        log.error("Could not release this worker's steps; their leases will lapse", { error: String(error) });
      }
    }
    summary.durationMs = clock.now() - started;
    if (cpu?.usedMs) summary.cpuMs = Math.round(cpuUsedMs());
  }
  return summary;
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
