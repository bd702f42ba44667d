// The handler registry: for each job type, its ordered step groups, its options and one async
// function per step. publish() writes every definition to the database with define_job_type, so
// the SQL engine and the code that runs the steps cannot drift apart.
import type { JobTypeOptions, Logger, Transport } from "./types.ts";

/** What a step handler receives. */
export interface StepContext<Payload = Record<string, unknown>> {
  /** The job this step belongs to. */
  jobId: string;
  /** The step's id. */
  stepId: string;
  /** The job's type. */
  jobType: string;
  /** The step's name. */
  stepName: string;
  /** This attempt's number, 1 for the first. */
  attempt: number;
  /** Attempts the step may use in all. */
  maxAttempts: number;
  /** The job's payload. */
  payload: Payload;
  /** Outputs of the job's completed steps, by step name. */
  previousOutputs: Record<string, unknown>;
  /** The same for every attempt of this step: pass it to external APIs that deduplicate. */
  idempotencyKey: string;
  /** Aborted when the step times out, loses its lease, or the worker shuts down without waiting. */
  signal: AbortSignal;
  /** Extends the lease now (the runtime also does it on a timer); rejects when the lease is lost. */
  heartbeat(): Promise<void>;
  /** Log lines tagged with the step. */
  log: Logger;
}

/** One step's code: returns the step's output (JSON), or throws (see errors.ts). */
export type StepHandler<Payload = Record<string, unknown>> = (context: StepContext<Payload>) => unknown;

/** A validator for a type's payload; a Zod schema is one (only safeParse is used). */
export interface PayloadSchema<Payload> {
  /** Checks `data`; on failure each issue names the field (path) and the rule it broke. */
  safeParse(data: unknown):
    | { success: true; data: Payload }
    | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/** One way a value broke its schema. */
export interface Issue {
  /** The field, e.g. "payloads.3.to" ("" for the whole value). */
  path: string;
  /** The rule it broke. */
  message: string;
}

/** A schema's issues as {path, message}, paths under `prefix`. */
export function issuesOf(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }, prefix: (string | number)[] = []): Issue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join("."),
    message: issue.message,
  }));
}

/** The first five issues as text ("to: Invalid email; ..."), counting the rest; an issue about
 * the whole value is named `whole`. */
export function issuesText(issues: readonly Issue[], whole: string): string {
  const shown = issues.slice(0, 5).map((issue) => `${issue.path || whole}: ${issue.message}`).join("; ");
  return issues.length > 5 ? `${shown} (and ${issues.length - 5} more)` : shown;
}

/** Enqueue options a type derives from a job's payload (the jobs API applies them). */
export interface EnqueueDefaults {
  /** The job's group key, e.g. the chat whose builds must run in order. */
  groupKey?: string;
  /** The job's priority, 1..5. */
  priority?: number;
  /** The job's dedupe key. */
  dedupeKey?: string;
}

/** A job type as the code defines it. */
export interface JobTypeDefinition<Payload = Record<string, unknown>> {
  /** The type's name (a letter, then letters, digits, _ . : -). */
  type: string;
  /** Step names in order; a nested array is a group whose steps run in parallel. */
  steps: readonly (string | readonly string[])[];
  /** Attempts, backoff, timeout, priority, per-key concurrency and rate limit. (Default: the SQL defaults) */
  options?: JobTypeOptions;
  /** One handler per step name, no more, no fewer. */
  handlers: Record<string, StepHandler<Payload>>;
  /** What a payload must look like: the jobs API refuses others at enqueue with the failing field,
   * and a worker fails a job whose payload breaks it before any handler runs (a job enqueued
   * over RPC or SQL skips the API). (Default: any JSON object) */
  payloadSchema?: PayloadSchema<Payload>;
  /** Options derived from a valid payload; explicit options of the request win. (Default: none) */
  enqueueDefaults?: (payload: Payload) => EnqueueDefaults;
}

/** The job types one worker can run. */
export class Registry {
  readonly #types = new Map<string, JobTypeDefinition<never>>();

  /** Adds a job type; throws when its steps and handlers do not match one to one. */
  define<Payload extends Record<string, unknown> = Record<string, unknown>>(definition: JobTypeDefinition<Payload>): this {
    const { type, steps, handlers } = definition;
    if (this.#types.has(type)) throw new Error(`Registry: job type "${type}" is defined twice`);
    if (steps.length === 0) throw new Error(`Registry: job type "${type}" has no steps`);
    const names = steps.flatMap((group) => (typeof group === "string" ? [group] : [...group]));
    const repeated = names.find((name, index) => names.indexOf(name) !== index);
    if (repeated) throw new Error(`Registry: job type "${type}" names step "${repeated}" twice`);
    const missing = names.filter((name) => typeof handlers[name] !== "function");
    if (missing.length > 0) {
      throw new Error(`Registry: job type "${type}" has no handler for step(s) ${missing.map((n) => `"${n}"`).join(", ")}`);
    }
    const extra = Object.keys(handlers).filter((name) => !names.includes(name));
    if (extra.length > 0) {
      throw new Error(`Registry: job type "${type}" has handler(s) for unknown step(s) ${extra.map((n) => `"${n}"`).join(", ")}`);
    }
    this.#types.set(type, definition as unknown as JobTypeDefinition<never>);
    return this;
  }

  /** The handler of a type's step, or undefined when this worker does not know it. */
  handler(type: string, stepName: string): StepHandler<Record<string, unknown>> | undefined {
    return this.#types.get(type)?.handlers[stepName] as StepHandler<Record<string, unknown>> | undefined;
  }

  /** The definition of a type, or undefined when this registry does not know it. */
  get(type: string): JobTypeDefinition<Record<string, unknown>> | undefined {
    return this.#types.get(type) as JobTypeDefinition<Record<string, unknown>> | undefined;
  }

  /** A job's payload checked against its type's schema: the payload as the schema parsed it, or
   * the issues (the payload as given when the type has no schema or is unknown here). */
  checkPayload(type: string, payload: Record<string, unknown>): { ok: true; payload: Record<string, unknown> } | { ok: false; issues: Issue[] } {
    const schema = this.#types.get(type)?.payloadSchema as PayloadSchema<Record<string, unknown>> | undefined;
    if (!schema) return { ok: true, payload };
    const result = schema.safeParse(payload);
    return result.success ? { ok: true, payload: result.data } : { ok: false, issues: issuesOf(result.error) };
  }

  /** The names of every defined type (what this worker claims). */
  typeNames(): string[] {
    return [...this.#types.keys()];
  }

  /** Writes every definition to the database (define_job_type), in definition order. */
  async publish(transport: Transport): Promise<void> {
    for (const definition of this.#types.values()) {
      const steps = definition.steps.map((group) => (typeof group === "string" ? group : [...group]));
      await transport.defineJobType(definition.type, steps, definition.options ?? {});
    }
  }
}
