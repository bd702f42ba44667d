// leaseflow.sleep: a one-step job that waits payload.ms (0..60 000) and returns it with the
// moment it started (the worker's clock, ms since the epoch). Operators use it to check the whole
// path (enqueue → tick → worker → settle) on a real project; the tests and benchmarks use it as a
// handler of known duration, and the start to measure pick-up on the same clock as the enqueue.
import { PermanentError } from "./errors.ts";
import type { JobTypeDefinition } from "./registry.ts";

/** The diagnostic job type. */
export const sleepJobType: JobTypeDefinition = {
  type: "leaseflow.sleep",
  steps: ["sleep"],
  options: { maxAttempts: 3, timeoutMs: 90_000 },
  handlers: {
    sleep: async (context) => {
      const startedAtMs = Date.now();
      const { payload } = context;
      const ms = payload.ms ?? 0;
      if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0 || ms > 60_000) {
        throw new PermanentError(`leaseflow.sleep: payload.ms must be an integer from 0 to 60000, got ${JSON.stringify(ms)}`);
      }
      // ms 0 is the benchmarks' no-op job: no timer to arm.
      if (ms === 0) return { slept_ms: 0, started_at_ms: startedAtMs };
      const { signal } = context;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(signal.reason);
        }, { once: true });
      });
      return { slept_ms: ms, started_at_ms: startedAtMs };
    },
  },
};

/** leaseflow.pipeline: three steps that hand a counter along (the end-to-end tests' workload). */
export const pipelineJobType: JobTypeDefinition = {
  type: "leaseflow.pipeline",
  steps: ["start", "middle", "finish"],
  options: { maxAttempts: 3, timeoutMs: 30_000 },
  handlers: {
    start: ({ payload }) => ({ count: typeof payload.n === "number" ? payload.n : 0 }),
    middle: ({ previousOutputs }) => ({ count: (previousOutputs.start as { count: number }).count + 1 }),
    finish: ({ previousOutputs }) => ({ count: (previousOutputs.middle as { count: number }).count + 1 }),
  },
};
