// Worker settings from the environment, read and checked once; every problem is reported in one
// error, so a misconfigured deployment says all that is wrong at once.
import { DEFAULT_BATCH_SIZE, DEFAULT_MAX_HELD_BYTES } from "./drain.ts";
import type { LogLevel } from "./types.ts";

const LOG_LEVELS: LogLevel[] = ["debug", "info", "warn", "error"];

/** How the worker reaches the SQL functions. */
export type TransportSettings =
  | { kind: "postgres"; dbUrl: string }
  | { kind: "api"; supabaseUrl: string; serviceRoleKey: string };

/** What a worker needs from its environment. */
export interface WorkerEnv {
  /** Postgres URL: LEASEFLOW_DB_URL (e.g. the transaction pooler) or SUPABASE_DB_URL ("" with the API transport). */
  dbUrl: string;
  /** LEASEFLOW_TRANSPORT: "postgres" (direct) or "api" (supabase-js RPC with SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY).
   * (Default: "postgres" when a database URL is set, else "api") */
  transport: TransportSettings;
  /** LEASEFLOW_LEASE_MS: lease per claim. (Default: 30 000) */
  leaseMs: number;
  /** LEASEFLOW_CONCURRENCY: handlers at once. (Default: 10) */
  concurrency: number;
  /** LEASEFLOW_BATCH_SIZE: most steps per claim; up to twice as many are held at once. (Default: 1 000) */
  batchSize: number;
  /** LEASEFLOW_MAX_HELD_MB: the most the held steps may weigh, in MiB of JSON (payloads, previous
   * outputs, outputs waiting for their write). (Default: 32) */
  maxHeldBytes: number;
  /** LEASEFLOW_LOG_LEVEL: debug (a line per claimed and completed step), info, warn or error. (Default: info) */
  logLevel: LogLevel;
  /** LEASEFLOW_LINGER_MS: with nothing to claim, wait this long at most for a retry, a delayed job or a held step's lease that is about to come due. (Default: 10 000) */
  lingerMs: number;
  /** LEASEFLOW_IDLE_GRACE_MS: with nothing to claim, keep polling this long before stopping, so a
   * steady trickle of jobs is served by a running invocation instead of one wake-up each. (Default: 5 000) */
  idleGraceMs: number;
  /** LEASEFLOW_BUDGET_MS: one Edge Function invocation's budget. (Default: 140 000, under the free tier's 150 s) */
  budgetMs: number;
  /** LEASEFLOW_CPU_BUDGET_MS: the CPU time one Edge Function invocation may spend; 0 for no limit.
   * (Default: 1 500, under the platform's 2 s per request) */
  cpuBudgetMs: number;
}

/** Reads and checks the worker settings; throws one error listing every problem. */
export function readWorkerEnv(get: (name: string) => string | undefined): WorkerEnv {
  const problems: string[] = [];
  const dbUrl = get("LEASEFLOW_DB_URL") || get("SUPABASE_DB_URL");
  const supabaseUrl = get("SUPABASE_URL");
  const serviceRoleKey = get("SUPABASE_SERVICE_ROLE_KEY");
  const kind = get("LEASEFLOW_TRANSPORT") || (dbUrl || !supabaseUrl ? "postgres" : "api");
  let transport: TransportSettings = { kind: "postgres", dbUrl: dbUrl ?? "" };
  if (kind === "postgres") {
    if (!dbUrl) problems.push("SUPABASE_DB_URL (or LEASEFLOW_DB_URL) is not set");
  } else if (kind === "api") {
    if (!supabaseUrl) problems.push("SUPABASE_URL is not set (LEASEFLOW_TRANSPORT=api)");
    if (!serviceRoleKey) problems.push("SUPABASE_SERVICE_ROLE_KEY is not set (LEASEFLOW_TRANSPORT=api)");
    transport = { kind: "api", supabaseUrl: supabaseUrl ?? "", serviceRoleKey: serviceRoleKey ?? "" };
  } else {
    problems.push(`LEASEFLOW_TRANSPORT must be "postgres" or "api", got ${JSON.stringify(kind)}`);
  }
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  };
  const concurrency = integer("LEASEFLOW_CONCURRENCY", 10, 1, 1_000);
  const logLevel = (get("LEASEFLOW_LOG_LEVEL") || "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LEASEFLOW_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(logLevel)}`);
  }
  const env: WorkerEnv = {
    dbUrl: dbUrl ?? "",
    transport,
    leaseMs: integer("LEASEFLOW_LEASE_MS", 30_000, 1_000, 3_600_000),
    concurrency,
    batchSize: integer("LEASEFLOW_BATCH_SIZE", DEFAULT_BATCH_SIZE, 1, 1_000),
    maxHeldBytes: integer("LEASEFLOW_MAX_HELD_MB", DEFAULT_MAX_HELD_BYTES / 2 ** 20, 1, 4_096) * 2 ** 20,
    logLevel,
    lingerMs: integer("LEASEFLOW_LINGER_MS", 10_000, 0, 60_000),
    idleGraceMs: integer("LEASEFLOW_IDLE_GRACE_MS", 5_000, 0, 60_000),
    budgetMs: integer("LEASEFLOW_BUDGET_MS", 140_000, 5_000, 3_600_000),
    cpuBudgetMs: integer("LEASEFLOW_CPU_BUDGET_MS", 1_500, 0, 3_600_000),
  };
  if (problems.length > 0) throw new Error(`leaseflow worker settings:\n  - ${problems.join("\n  - ")}`);
  return env;
}
