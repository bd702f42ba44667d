// Event streams (GET /jobs/:id/events) share one poll and are capped per caller.
//
// Each open stream used to re-read its job every poll interval: 300 streams were 300 queries a
// quarter second, which slowed every other request. Now one poll per interval reads the events of
// every job a stream of this instance waits on, in one call (job_events_many, as the service
// role: a stream's access was checked with its caller's JWT when it opened). And a caller may hold
// only so many streams at once in an instance.

/** One change as job_events reports it. */
export interface JobEvent {
  /** Stable across reads, so a stream sends each event once. */
  id: string;
  /** When it happened. */
  at: string;
  /** The job's own status, or one of its steps'. */
  scope: "job" | "step";
  /** The status it reached. */
  status: string;
}

type Listener = (events: JobEvent[] | null | Error) => void;

/** Reads the events of every job some stream waits on, one call per `pollMs`. */
export class SharedEventPoll {
  #waiting = new Map<string, Listener[]>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    /** Events by job id for the given jobs (jobs no longer there left out). */
    private readonly read: (jobIds: string[]) => Promise<Record<string, JobEvent[]>>,
    /** The poll interval, ms. */
    private readonly pollMs: number,
  ) {}

  /** The job's events as the next poll reads them; null when the job is gone. Rejects when the
   * poll fails. */
  next(jobId: string): Promise<JobEvent[] | null> {
    return new Promise((resolve, reject) => {
      const listeners = this.#waiting.get(jobId) ?? [];
      listeners.push((events) => (events instanceof Error ? reject(events) : resolve(events)));
      this.#waiting.set(jobId, listeners);
      this.#timer ??= setTimeout(() => void this.#poll(), this.pollMs);
    });
  }

  async #poll(): Promise<void> {
    this.#timer = undefined;
    const waiting = this.#waiting;
    this.#waiting = new Map();
    let byJob: Record<string, JobEvent[]>;
    try {
      byJob = await this.read([...waiting.keys()]);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const listeners of waiting.values()) for (const listener of listeners) listener(failure);
      return;
    }
    for (const [jobId, listeners] of waiting) for (const listener of listeners) listener(byJob[jobId] ?? null);
  }
}

/** Counts the open streams per caller; `open` refuses past `max`. */
export class StreamCounter {
  readonly #open = new Map<string, number>();

  constructor(/** Streams one caller may hold at once. */ readonly max: number) {}

  /** Takes a slot for `caller`: a release function, or undefined when it holds `max` already. */
  open(caller: string): (() => void) | undefined {
    const held = this.#open.get(caller) ?? 0;
    if (held >= this.max) return undefined;
    this.#open.set(caller, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(caller) ?? 1) - 1;
      if (left > 0) this.#open.set(caller, left);
      else this.#open.delete(caller);
    };
  }
}

/** Who a bearer token speaks for: its `sub` (a user), else its `role`, else the token itself. The
 * token was verified by PostgREST when the stream's job was first read. */
export function callerOf(authorization: string): string {
  const token = authorization.replace(/^Bearer\s+/i, "");
  try {
    const part = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=")));
    if (typeof claims.sub === "string" && claims.sub) return `sub:${claims.sub}`;
    if (typeof claims.role === "string" && claims.role) return `role:${claims.role}`;
  } catch {
    // Not a JWT we can read: the token stands for itself.
  }
  return `token:${token}`;
}
