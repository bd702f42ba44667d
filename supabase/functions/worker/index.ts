// The `worker` Edge Function: woken by pg_cron (through pg_net) with
// `Authorization: Bearer <LEASEFLOW_WORKER_SECRET>`, it drains the queue for one invocation.
// Everything but the platform wiring lives in the core (../_shared/leaseflow/edge-worker.ts).
import { createRegistry } from "../_shared/examples/index.ts";
import { createConsoleLogger, createWorkerHandler } from "../_shared/leaseflow/mod.ts";

// CPU time used, in microseconds, where this Deno reports it (not in its public types).
const cpuUsage = (Deno as unknown as { cpuUsage?: () => { user: number; system: number } }).cpuUsage?.bind(Deno);

// Present on Supabase's edge runtime (hosted and `supabase functions serve`), absent in plain Deno.
const edgeRuntime = (globalThis as { EdgeRuntime?: { waitUntil(work: Promise<unknown>): void } }).EdgeRuntime;

Deno.serve(
  createWorkerHandler({
    env: (name) => Deno.env.get(name),
    waitUntil: edgeRuntime ? (work) => edgeRuntime.waitUntil(work) : undefined,
    onShutdown: (listener) =>
      globalThis.addEventListener("beforeunload", (event) => {
        listener(String((event as Event & { detail?: { reason?: unknown } }).detail?.reason ?? "beforeunload"));
      }),
    cpuTimeMs: cpuUsage
      ? () => {
        const { user, system } = cpuUsage();
        return (user + system) / 1000;
      }
      : undefined,
    registry: createRegistry((name) => Deno.env.get(name)),
    // Every line; the handler keeps those at LEASEFLOW_LOG_LEVEL and above.
    log: createConsoleLogger("debug"),
  }),
);
