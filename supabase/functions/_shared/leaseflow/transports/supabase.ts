// The API transport: `.rpc()` of supabase-js's PostgREST client (@supabase/postgrest-js, the
// library supabase-js's own .rpc() delegates to) with the service-role key (SUPABASE_URL +
// SUPABASE_SERVICE_ROLE_KEY), for workers that reach the project over HTTPS only. Same SQL
// functions, same shapes, one HTTP round trip each. The client is used without the rest of
// supabase-js because supabase-js 2.109 refuses to start on Node 20, which has no native
// WebSocket for its realtime part; the RPC behaviour is the same code.
import { PostgrestClient } from "@supabase/postgrest-js";
import type { ClaimedStep, JobTypeOptions, StepErrorRecord, StepResult, Transport } from "../types.ts";
import { type ClaimStepsRow, interval, settledAs, toClaimedStep, toSqlOptions } from "./contract.ts";

/** A failed RPC, with PostgREST's error code and message. */
export class RpcError extends Error {
  override name = "RpcError";
  constructor(readonly fn: string, readonly code: string, message: string) {
    super(`${fn}: ${message} (${code})`);
  }
}

/** Transport over Supabase's REST API. */
export class SupabaseTransport implements Transport {
  constructor(readonly client: PostgrestClient) {}

  /** A client for the project at `url` (e.g. https://<ref>.supabase.co) with the service-role key. */
  static connect(url: string, serviceRoleKey: string): SupabaseTransport {
    const rest = `${url.replace(/\/+$/, "")}/rest/v1`;
    return new SupabaseTransport(
      new PostgrestClient(rest, { headers: { apikey: serviceRoleKey, Authorization: `Bearer ${serviceRoleKey}` } }),
    );
  }

  async #rpc<T>(fn: string, args: Record<string, unknown>): Promise<T> {
    const { data, error } = await this.client.rpc(fn, args as never);
    if (error) throw new RpcError(fn, error.code ?? "unknown", error.message);
    return data as T;
  }

  async defineJobType(type: string, steps: (string | string[])[], options: JobTypeOptions): Promise<void> {
    await this.#rpc("define_job_type", { p_type: type, p_steps: steps, p_options: toSqlOptions(options) });
  }

  async claimSteps(params: { workerId: string; leaseMs: number; limit: number; types?: string[] }): Promise<ClaimedStep[]> {
    const rows = await this.#rpc<ClaimStepsRow[]>("claim_steps", {
      p_worker_id: params.workerId,
      p_lease_duration: interval(params.leaseMs),
      p_limit: params.limit,
      p_types: params.types ?? null,
    });
    return rows.map(toClaimedStep);
  }

  async completeSteps(params: { workerId: string; results: StepResult[] }): Promise<string[]> {
    const rows = await this.#rpc<{ id: string }[]>("complete_steps", {
      p_worker_id: params.workerId,
      p_results: params.results.map((result) => ({ step_id: result.stepId, output: result.output ?? null })),
    });
    return rows.map((row) => row.id);
  }

  async failStep(params: {
    stepId: string;
    workerId: string;
    error: StepErrorRecord;
    retryInMs?: number;
    permanent: boolean;
  }): Promise<"retried" | "failed" | "lost"> {
    const rows = await this.#rpc<{ status: string }[]>("fail_step", {
      p_step_id: params.stepId,
      p_worker_id: params.workerId,
      p_error: params.error,
      p_retry_in: params.retryInMs === undefined ? null : interval(params.retryInMs),
      p_permanent: params.permanent,
    });
    return settledAs(rows[0]?.status);
  }

  async extendLease(params: { stepId: string; workerId: string; leaseMs: number }): Promise<boolean> {
    const rows = await this.#rpc<unknown[]>("extend_lease", {
      p_step_id: params.stepId,
      p_worker_id: params.workerId,
      p_lease_duration: interval(params.leaseMs),
    });
    return rows.length > 0;
  }

  async releaseSteps(params: { workerId: string; stepIds?: string[] }): Promise<number> {
    const rows = await this.#rpc<unknown[]>("release_steps", { p_worker_id: params.workerId, p_step_ids: params.stepIds ?? null });
    return rows.length;
  }

  async nextClaimableAt(types?: string[]): Promise<Date | null> {
    const at = await this.#rpc<string | null>("next_claimable_at", { p_types: types ?? null });
    return at === null ? null : new Date(at);
  }

  async registerWorker(params: { workerId: string; kind: "edge" | "node"; metadata?: Record<string, unknown> }): Promise<void> {
    await this.#rpc("register_worker", { p_worker_id: params.workerId, p_kind: params.kind, p_metadata: params.metadata ?? {} });
  }

  async heartbeatWorker(workerId: string): Promise<void> {
    await this.#rpc("heartbeat_worker", { p_worker_id: workerId });
  }

  async stopWorker(workerId: string, metadata: Record<string, unknown> = {}): Promise<void> {
    await this.#rpc("stop_worker", { p_worker_id: workerId, p_metadata: metadata });
  }

  async close(): Promise<void> {}
}
