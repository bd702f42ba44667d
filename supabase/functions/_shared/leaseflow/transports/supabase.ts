// The API transport: the SQL functions through PostgREST's RPC (rpc.ts) with the service-role
// key (SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY), for workers that reach the project over HTTPS
// only. Same SQL functions, same shapes, one HTTP round trip each.
import { CallTimeoutError } from "../errors.ts";
import type {
  ClaimedStep,
  ClaimStepsParams,
  CompletedSteps,
  CompleteStepsParams,
  ExtendLeaseParams,
  ExtendLeasesParams,
  FailOutcome,
  FailStepParams,
  FailStepsParams,
  JobTypeOptions,
  RegisterWorkerParams,
  ReleaseStepsParams,
  StepGroups,
  Transport,
} from "../types.ts";
import { type ClaimStepsRow, type CompleteAndClaimRow, interval, settledAs, toClaimedStep, toCompletedSteps, toSqlFailures, toSqlOptions } from "./contract.ts";
import { asJson, callRpc, type DatabaseClient, type FunctionArgs, type FunctionName, type FunctionReturns, restClient } from "./rpc.ts";

/** Transport over Supabase's REST API. */
export class SupabaseTransport implements Transport {
  // TypeScript-private, not #private, as in PostgresTransport: a wrapper made with
  // Object.create(transport) runs these methods with itself as `this`.
  private readonly callTimeoutMs: number;

  /** Calls PostgREST through `client`; a call with no answer in `callTimeoutMs` is aborted and
   * fails with CallTimeoutError, as PostgresTransport's do (fetch sets no deadline of its own;
   * Node's waits up to 300 s for an answer's headers). (Default: 30 000) */
  constructor(readonly client: DatabaseClient, options: { callTimeoutMs?: number } = {}) {
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
  }

  /** A client for the project at `url` (e.g. https://<ref>.supabase.co) with the service-role key. */
  static connect(url: string, serviceRoleKey: string, options: { callTimeoutMs?: number } = {}): SupabaseTransport {
    return new SupabaseTransport(restClient(url, serviceRoleKey, serviceRoleKey), options);
  }

  private async rpc<Fn extends FunctionName>(fn: Fn, args: FunctionArgs<Fn>): Promise<FunctionReturns<Fn>> {
    const deadline = AbortSignal.timeout(this.callTimeoutMs);
    try {
      return await callRpc(this.client, fn, args, deadline);
    } catch (error) {
      if (deadline.aborted) throw new CallTimeoutError(`${fn}: no answer from the API in ${this.callTimeoutMs} ms (callTimeoutMs)`);
      throw error;
    }
  }

  async defineJobType(type: string, steps: StepGroups, options: JobTypeOptions): Promise<void> {
    await this.rpc("define_job_type", { p_type: type, p_steps: asJson(steps), p_options: asJson(toSqlOptions(options)) });
  }

  async claimSteps(params: ClaimStepsParams): Promise<ClaimedStep[]> {
    const rows = await this.rpc("claim_steps", {
      p_worker_id: params.workerId,
      p_lease_duration: interval(params.leaseMs),
      p_limit: params.limit,
      ...(params.types ? { p_types: params.types } : {}),
    });
    // The generated types know payload only as Json; enqueue stores a JSON object there.
    return (rows as ClaimStepsRow[]).map(toClaimedStep);
  }

  async completeSteps(params: CompleteStepsParams): Promise<CompletedSteps> {
    const rows = await this.rpc("complete_and_claim_steps", {
      p_worker_id: params.workerId,
      // Keyed by step id, the form the database uses as sent (see _results_batch).
      p_results: asJson(Object.fromEntries(params.results.map((result) => [result.stepId, JSON.parse(result.outputJson)]))),
      ...(params.claimNextLeaseMs === undefined ? {} : { p_lease_duration: interval(params.claimNextLeaseMs) }),
    });
    return toCompletedSteps(rows as CompleteAndClaimRow[]);
  }

  async failStep(params: FailStepParams): Promise<FailOutcome> {
    const rows = await this.rpc("fail_step", {
      p_step_id: params.stepId,
      p_worker_id: params.workerId,
      p_error: asJson(params.error),
      ...(params.retryInMs === undefined ? {} : { p_retry_in: interval(params.retryInMs) }),
      p_permanent: params.permanent,
    });
    return settledAs(rows[0]?.status);
  }

  async failSteps(params: FailStepsParams): Promise<Map<string, FailOutcome>> {
    const rows = await this.rpc("fail_steps", {
      p_worker_id: params.workerId,
      p_failures: asJson(toSqlFailures(params.failures)),
    });
    return new Map(rows.map((row) => [row.id, settledAs(row.status)]));
  }

  async extendLeases(params: ExtendLeasesParams): Promise<Set<string>> {
    const ids = await this.rpc("extend_leases", {
      p_worker_id: params.workerId,
      p_step_ids: params.stepIds,
      p_lease_duration: interval(params.leaseMs),
    });
    return new Set(ids);
  }

  async extendLease(params: ExtendLeaseParams): Promise<boolean> {
    const rows = await this.rpc("extend_lease", {
      p_step_id: params.stepId,
      p_worker_id: params.workerId,
      p_lease_duration: interval(params.leaseMs),
    });
    return rows.length > 0;
  }

  async releaseSteps(params: ReleaseStepsParams): Promise<number> {
    const rows = await this.rpc("release_steps", { p_worker_id: params.workerId, ...(params.stepIds ? { p_step_ids: params.stepIds } : {}) });
    return rows.length;
  }

  async nextClaimableAt(types?: string[]): Promise<Date | null> {
    const at = await this.rpc("next_claimable_at", types ? { p_types: types } : {});
    return at === null ? null : new Date(at);
  }

  async tick(): Promise<void> {
    await this.rpc("tick", {});
  }

  async registerWorker(params: RegisterWorkerParams): Promise<void> {
    await this.rpc("register_worker", { p_worker_id: params.workerId, p_kind: params.kind, p_metadata: asJson(params.metadata ?? {}) });
  }

  async heartbeatWorker(workerId: string): Promise<void> {
    await this.rpc("heartbeat_worker", { p_worker_id: workerId });
  }

  async stopWorker(workerId: string, metadata: Record<string, unknown> = {}): Promise<void> {
    await this.rpc("stop_worker", { p_worker_id: workerId, p_metadata: asJson(metadata) });
  }

  async close(): Promise<void> {}
}
