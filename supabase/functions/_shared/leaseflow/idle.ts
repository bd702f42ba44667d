// The one idle policy: what drain() does when a claim comes back empty while nothing runs or
// waits to be settled. In order: wait for a retry, delayed job or held step's lease that is about
// to come due (linger), else keep polling for a grace period with a backoff between polls, else stop.
// An Edge invocation polls every 50 ms for 5 s and stops; the Node worker polls forever,
// 1 s doubling to 30 s; a plain drain() stops at once.

/** The idle policy's knobs (drain()'s `idle` option). */
export interface IdleOptions {
  /** Wait for a retry, delayed job or held step's lease that comes due within this long
   * (next_claimable_at), as long as the budget allows, rather than poll or stop; 0 never waits for
   * one. (Default: 10 000) */
  lingerMs?: number;
  /** Keep polling this long after the queue went empty, then stop; Infinity polls until the worker
   * is stopped. (Default: 0, stop at the first empty claim) */
  graceMs?: number;
  /** The wait before the first poll of an idle period; it doubles after each empty poll up to
   * maxPollMs, and starts over once a claim finds work. (Default: 100) */
  pollMs?: number;
  /** The longest wait between polls. (Default: pollMs, a fixed interval) */
  maxPollMs?: number;
  /** Each wait between polls is spread by ±jitter (a fraction), so idle workers do not poll in
   * step. (Default: 0) */
  jitter?: number;
}

/** What to do after an empty claim: wait `waitMs` and claim again, or stop. */
export type IdleDecision = { kind: "linger" | "poll"; waitMs: number } | { kind: "stop" };

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

/** Decides, after each empty claim, between lingering, polling again and stopping. */
export class IdlePolicy {
  readonly #lingerMs: number;
  readonly #graceMs: number;
  readonly #backoff: IdleBackoff;
  /** When the current idle period began (the grace counts from it); undefined while there is work. */
  #idleSince: number | undefined;

  constructor(options: IdleOptions = {}, random: () => number = Math.random) {
    const { lingerMs = 10_000, graceMs = 0, pollMs = 100, jitter = 0 } = options;
    this.#lingerMs = lingerMs;
    this.#graceMs = graceMs;
    this.#backoff = new IdleBackoff(pollMs, options.maxPollMs ?? pollMs, jitter, random);
  }

  /** A claim found work: the next idle period starts from scratch. */
  reset(): void {
    this.#idleSince = undefined;
    this.#backoff.reset();
  }

  /**
   * The decision at `now`, with `spareMs` of budget left to wait in. `nextClaimableAt` says when
   * the next retry, delayed job or held step's lease comes due (null: none); it is asked only when lingering
   * is on.
   */
  async decide(now: number, spareMs: number, nextClaimableAt: () => Promise<Date | null>): Promise<IdleDecision> {
    if (this.#lingerMs > 0) {
      const next = await nextClaimableAt();
      const waitMs = next ? next.getTime() - now : 0;
      // Due already means another worker holds it: linger only for what is still to come.
      if (waitMs > 0 && waitMs <= this.#lingerMs && waitMs < spareMs) return { kind: "linger", waitMs };
    }
    this.#idleSince ??= now;
    if (now - this.#idleSince < this.#graceMs) return { kind: "poll", waitMs: this.#backoff.next() };
    return { kind: "stop" };
  }
}
