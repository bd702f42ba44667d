// The `worker` Edge Function's request handling, with every platform global (env,
// EdgeRuntime.waitUntil, beforeunload) behind the small EdgePlatform object, so it runs and is
// tested under Node as well as Deno.
//
// One POST = one invocation: register in `workers`, drain for at most the budget, stop with the
// summary. Where EdgeRuntime.waitUntil exists (hosted Supabase, `supabase functions serve`) the
// request is answered at once with 202 and the drain continues in the background; elsewhere
// (plain Deno) the drain runs first and the answer carries its summary. beforeunload (the
// platform is about to kill the instance) aborts every drain in progress: no more claims, the
// steps in flight are released without consuming their attempt.
import { defaultHeartbeatMs, drain, type DrainSummary } from "./drain.ts";
import { readWorkerEnv, type WorkerEnv } from "./env.ts";
import type { Registry } from "./registry.ts";
import { runRegistered } from "./registration.ts";
import { connectTransport } from "./transports/connect.ts";
import { atLevel, type Clock, type Logger, type Transport } from "./types.ts";

/** How often an idle invocation polls through its idle grace: a job enqueued while one is live
 * waits for its next poll (25 ms on average), at the cost of 20 empty claims a second. */
const EDGE_IDLE_POLL_MS = 50;

/** What the handler needs from the platform it runs on. */
export interface EdgePlatform {
  /** Reads an environment variable. */
  env(name: string): string | undefined;
  /** EdgeRuntime.waitUntil, where the platform has it. */
  waitUntil?: (work: Promise<unknown>) => void;
  /** Registers a callback for the platform's shutdown notice (beforeunload). */
  onShutdown(listener: (reason: string) => void): void;
  /** The job types this function runs. */
  registry: Registry;
  /** Where log lines go; those below LEASEFLOW_LOG_LEVEL are dropped. */
  log: Logger;
  /** Time source. (Default: the system clock) */
  clock?: Clock;
  /** CPU time this process (isolate) has used, ms, where the platform tells; the drain keeps each
   * invocation under LEASEFLOW_CPU_BUDGET_MS with it, or counts an estimate per step without it. */
  cpuTimeMs?: () => number;
  /** Builds the transport. (Default: as LEASEFLOW_TRANSPORT says; postgres.js on SUPABASE_DB_URL on Supabase) */
  createTransport?: (env: WorkerEnv) => Transport;
}

/** The JSON body of a worker response. */
export type WorkerResponseBody =
  | { ok: true; data: { invocation_id: string; worker_id: string; summary?: DrainSummary } }
  | { ok: false; error: { code: string; message: string } };

/** Builds the function's request handler; state (transport, shutdown) lives per instance. */
export function createWorkerHandler(platform: EdgePlatform): (request: Request) => Promise<Response> {
  const { log } = platform;
  const shutdown = new AbortController();
  platform.onShutdown((reason) => {
    log.warn("Shutting down: no more claims, releasing the steps in flight", { reason });
    shutdown.abort();
  });
  let instance: { env: WorkerEnv; secret: string; transport: Transport; published: Promise<void> } | undefined;

  function setUp(): typeof instance {
    if (instance) return instance;
    const secret = platform.env("LEASEFLOW_WORKER_SECRET") ?? "";
    const problems: string[] = [];
    let env: WorkerEnv | undefined;
    try {
      env = readWorkerEnv((name) => platform.env(name));
    } catch (error) {
      problems.push((error as Error).message);
    }
    if (secret.length < 16) problems.push("LEASEFLOW_WORKER_SECRET must be set to a secret of at least 16 characters");
    if (problems.length > 0 || !env) throw new Error(problems.join("\n"));
    const transport = platform.createTransport?.(env) ?? connectTransport(env.transport);
    const published = platform.registry.publish(transport);
    // A failed publish is retried by the next request rather than poisoning the instance.
    published.catch(() => {
      instance = undefined;
    });
    instance = { env, secret, transport, published };
    return instance;
  }

  async function invoke(setup: NonNullable<typeof instance>, invocationId: string, workerId: string, wakeupId: number | undefined): Promise<DrainSummary> {
    await setup.published;
    const { env, transport } = setup;
    const log = atLevel(platform.log, env.logLevel);
    // The wake-up id tells tick() and the kick that this wake-up has been answered; the types
    // tell them which steps an invocation can claim (others must not wake one).
    const metadata = {
      invocation_id: invocationId,
      budget_ms: env.budgetMs,
      types: platform.registry.typeNames(),
      ...(wakeupId !== undefined ? { wakeup_id: wakeupId } : {}),
    };
    // An invocation still working a lease past its budget is hung (the platform would have ended
    // it at its wall clock): it stops vouching for itself, so tick() counts it lost.
    const registration = {
      transport,
      workerId,
      kind: "edge" as const,
      metadata,
      heartbeatMs: defaultHeartbeatMs(env.leaseMs),
      heartbeatForMs: env.budgetMs + env.leaseMs,
      log,
    };
    const summary = await runRegistered(registration, async () => {
      const summary = await drain({
        workerId,
        transport,
        registry: platform.registry,
        budgetMs: env.budgetMs,
        leaseMs: env.leaseMs,
        batchSize: env.batchSize,
        maxHeldBytes: env.maxHeldBytes,
        concurrency: env.concurrency,
        // Polling through the idle grace, a trickle of jobs is served by a running invocation
        // instead of one wake-up each; a job enqueued meanwhile waits half the interval on average.
        idle: { lingerMs: env.lingerMs, graceMs: env.idleGraceMs, pollMs: EDGE_IDLE_POLL_MS },
        cpuBudget: env.cpuBudgetMs > 0 ? { limitMs: env.cpuBudgetMs, usedMs: platform.cpuTimeMs } : undefined,
        abortSignal: shutdown.signal,
        clock: platform.clock,
        log,
      });
      log.info(`Invocation ${invocationId} done`, { ...summary });
      return summary;
    }, (summary) => ({ summary }));
    // Out of time or CPU with work left: the next invocation takes over now, not at the next tick
    // (this one is already marked stopped, so tick() counts it out).
    if (summary.stoppedBy === "budget" || summary.stoppedBy === "cpu") {
      await transport.tick().catch((error) => log.warn("Could not wake the next invocation", { error: String(error) }));
    }
    return summary;
  }

  return async (request: Request): Promise<Response> => {
    if (request.method !== "POST") {
      return json(405, { ok: false, error: { code: "method_not_allowed", message: `use POST, not ${request.method}` } }, { Allow: "POST" });
    }
    let setup: NonNullable<typeof instance>;
    try {
      setup = setUp()!;
    } catch (error) {
      log.error("The worker function is misconfigured", { error: (error as Error).message });
      return json(503, { ok: false, error: { code: "misconfigured", message: (error as Error).message } });
    }
    const presented = /^Bearer (.+)$/.exec(request.headers.get("Authorization") ?? "")?.[1] ?? "";
    if (!constantTimeEqual(presented, setup.secret)) {
      return json(401, { ok: false, error: { code: "unauthorized", message: "Authorization: Bearer <LEASEFLOW_WORKER_SECRET> is required" } });
    }
    if (shutdown.signal.aborted) {
      return json(503, { ok: false, error: { code: "shutting_down", message: "this instance is shutting down; call again" } });
    }

    const invocationId = crypto.randomUUID();
    const workerId = `edge-${invocationId}`;
    const work = invoke(setup, invocationId, workerId, await wakeupIdOf(request));
    if (platform.waitUntil) {
      platform.waitUntil(work.catch((error) => log.error(`Invocation ${invocationId} failed`, { error: String(error) })));
      return json(202, { ok: true, data: { invocation_id: invocationId, worker_id: workerId } });
    }
    try {
      const summary = await work;
      return json(200, { ok: true, data: { invocation_id: invocationId, worker_id: workerId, summary } });
    } catch (error) {
      log.error(`Invocation ${invocationId} failed`, { error: String(error) });
      return json(500, { ok: false, error: { code: "drain_failed", message: String(error) } });
    }
  };
}

/** Compares two strings in time that depends only on their lengths, not on where they differ. */
export function constantTimeEqual(presented: string, expected: string): boolean {
  const a = new TextEncoder().encode(presented);
  const b = new TextEncoder().encode(expected);
  let difference = a.length ^ b.length;
  for (let index = 0; index < b.length; index++) difference |= (a[index % Math.max(a.length, 1)] ?? 0) ^ b[index]!;
  return difference === 0 && a.length === b.length;
}

function json(status: number, body: WorkerResponseBody, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

/** The wake-up id tick() and the kick put in the body ({reason, wakeup_id}); undefined otherwise. */
async function wakeupIdOf(request: Request): Promise<number | undefined> {
  try {
    const body = (await request.json()) as { wakeup_id?: unknown };
    return Number.isSafeInteger(body?.wakeup_id) ? (body.wakeup_id as number) : undefined;
  } catch {
    return undefined; // no body, or not JSON: a manual wake-up
  }
}
