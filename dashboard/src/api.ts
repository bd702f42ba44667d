// Everything the dashboard reads and does, through supabase-js: what a page shows is a live read
// of the jobs API (functions.invoke, GET with Accept: text/event-stream: the data now and again
// each time it changes), actions are SQL functions (.rpc()), and job creation goes through the
// jobs API, which checks a payload against its type's schema. Who the caller is decides what it
// sees: the database's RLS, never this code.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import {
  type JobDocument,
  type JobPage,
  type JobStatus,
  type JobSummary,
  JobsApiError,
  jobsApiErrorOf,
  jobsReadPath,
  LeaseflowClient,
  type ListJobsFilter,
} from "../../supabase/functions/_shared/leaseflow/client.ts";
import type { Database } from "../../supabase/functions/_shared/leaseflow/database.types.ts";
import { callRpc, type FunctionName, restClient } from "../../supabase/functions/_shared/leaseflow/transports/rpc.ts";

/** The project the dashboard talks to, from ./config.json next to the build. */
export interface DashboardConfig {
  /** The project's URL (https://<ref>.supabase.co, or the local stack's gateway). */
  supabaseUrl: string;
  /** Its anon (publishable) key: users sign in with it. */
  anonKey: string;
  /** A service-role key, only where the dashboard is served for an operator (the local stack):
   * it then opens without sign-in and sees every tenant. Never in a deployed config. */
  operatorKey?: string;
}

export type Client = SupabaseClient<Database>;

/** Reads ./config.json; throws with what is missing. */
export async function loadConfig(): Promise<DashboardConfig> {
  const response = await fetch("./config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`./config.json answered ${response.status}: put {"supabaseUrl", "anonKey"} next to index.html`);
  const config = (await response.json()) as Partial<DashboardConfig>;
  if (!config.supabaseUrl || !config.anonKey) throw new Error('./config.json must hold "supabaseUrl" and "anonKey"');
  return config as DashboardConfig;
}

/** A client for a signed-in user (its session kept by supabase-js in localStorage). */
export function userClient(config: DashboardConfig): Client {
  return createClient<Database>(config.supabaseUrl, config.anonKey);
}

/** A client acting with a service-role key: an operator, who sees every tenant. */
export function operatorClient(config: DashboardConfig, key: string): Client {
  return restClient(config.supabaseUrl, config.anonKey, key);
}

/** Calls a SQL function (README, "The SQL API") and reads its JSON answer as `T`; a refusal is
 * the core's RpcError. */
const rpc = async <T>(client: Client, fn: FunctionName, args: Record<string, unknown> = {}): Promise<T> =>
  (await callRpc(client, fn, args as never)) as T;

export { JobsApiError };
export type { JobDocument, JobPage, JobStatus, JobSummary, ListJobsFilter };

/** The jobs of whoever `client` is signed in as (leaseflow's typed client). */
const jobs = (client: Client) => new LeaseflowClient(client);
export const cancelJob = (client: Client, id: string) => jobs(client).cancel(id, "cancelled from the dashboard");
export const retryJob = (client: Client, id: string) => jobs(client).retry(id);

export interface GroupDoc {
  groupKey: string;
  pending: JobSummary[];
  running: JobSummary[];
  completed: JobSummary[];
  failed: JobSummary[];
  cancelled: JobSummary[];
  counts: Record<JobStatus, number>;
}

/** job_stats' document: every type the caller sees, together. */
export interface JobStats {
  totals: Record<JobStatus | "all", number>;
  avgWaitMs: number | null;
  avgProcessingMs: number | null;
  throughputPerSecond: { "1m": number; "5m": number; "60m": number };
  completed: { "1m": number; "5m": number; "60m": number };
  successRate: number | null;
  retries: number;
  leaseExpiries: number;
  oldestPendingAgeMs: number | null;
}

export interface Throughput {
  minute: string;
  completed: number;
  failed: number;
}

/** The types some worker can claim (null while no worker has registered). */
export const claimableTypes = (client: Client) => rpc<string[] | null>(client, "claimable_job_types");

export type QueueStats = Database["public"]["Views"]["queue_stats"]["Row"];
export type DeadLetter = Pick<Database["public"]["Views"]["dead_letter"]["Row"],
  "job_id" | "type" | "last_error" | "failed_at" | "attempts" | "group_key">;
export type Worker = Pick<Database["public"]["Tables"]["workers"]["Row"], "id" | "kind" | "started_at" | "last_heartbeat_at">;

/** GET /overview: the stats, the last hour per minute, each type, and the live workers (null
 * for a caller who may not read them: tenants hold no privilege on `workers`). */
export interface OverviewDoc {
  stats: JobStats;
  trend: Throughput[];
  types: QueueStats[];
  workers: Worker[] | null;
}

/** The jobs API's reads each page follows (see useLive). */
export const reads = {
  overview: "/overview",
  deadLetter: "/dead-letter",
  job: (id: string) => `/jobs/${encodeURIComponent(id)}`,
  group: (key: string) => `/groups/${encodeURIComponent(key)}?limit=50`,
  /** GET /jobs with the filter as its query. */
  jobs: jobsReadPath,
};

/** What the create form sends: the jobs API's POST /jobs body. */
export interface NewJob {
  type: string;
  payload: unknown;
  priority?: number;
  runAt?: string;
  groupKey?: string;
  dedupeKey?: string;
}

/** Enqueues through the jobs API, which checks the payload against its type's schema: a
 * refusal is a JobsApiError whose `issues` name each failing field. */
export async function createJob(client: Client, job: NewJob): Promise<{ id: string; status: string }> {
  const { data, error } = await client.functions.invoke("jobs/jobs", { body: job });
  if (error) throw await jobsApiErrorOf(error);
  return (data as { data: { id: string; status: string } }).data;
}
