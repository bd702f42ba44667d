// LeaseflowClient, the typed client for app code, over supabase-js as an app holds it: signed in
// as a demo user through the local stack's Auth, so every call runs as that user (RLS and the
// functions' tenant checks), or with the service-role key. follow() goes through the jobs
// function of the local stack.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { JobsApiError, jobsReadPath, type JobStatus, LeaseflowClient, RpcError } from "../supabase/functions/_shared/leaseflow/mod.ts";
import { ALICE, appSupabase, BOB, publishExampleTypes } from "./helpers/apps.ts";
import { connect, emptyQueue, SERVICE_ROLE_KEY } from "./helpers/db.ts";

const admin = connect({ max: 2 });

async function signedIn(user: { email: string; password: string }): Promise<LeaseflowClient> {
  const client = appSupabase();
  const { error } = await client.auth.signInWithPassword(user);
  if (error) throw error;
  return new LeaseflowClient(client);
}

beforeAll(publishExampleTypes);
beforeEach(() => emptyQueue(admin, { edgeWorkersOff: true }));
afterAll(async () => {
  await admin`update public.leaseflow_settings set max_invocations = 10`;
  await admin.end();
});

describe("LeaseflowClient", () => {
  it("enqueues, reads, lists, cancels and retries as the signed-in user, whose jobs are its tenant's", async () => {
    const alice = await signedIn(ALICE);
    const job = await alice.enqueue("leaseflow.sleep", { ms: 5 }, { priority: 5, groupKey: "k1" });
    expect(job.status).toBe("running");
    const [row] = await admin`select tenant_id, priority, group_key from public.jobs where id = ${job.id}`;
    expect(row).toEqual({ tenant_id: ALICE.id, priority: 5, group_key: "k1" });
    const ids = await alice.enqueueMany("leaseflow.sleep", [{ ms: 1 }, { ms: 2 }], { runAt: new Date(Date.now() + 3_600_000) });
    expect(ids).toHaveLength(2);

    const doc = await alice.get(job.id);
    expect(doc).toMatchObject({ id: job.id, type: "leaseflow.sleep", payload: { ms: 5 }, tenantId: ALICE.id, groupKey: "k1" });
    expect(doc.steps.map((step) => step.name)).toEqual(["sleep"]);
    const pending = await alice.list({ statuses: ["pending"], limit: 1 });
    expect([pending.total, pending.items.length, typeof pending.nextCursor]).toEqual([2, 1, "string"]);
    const next = await alice.list({ statuses: ["pending"], limit: 1, cursor: pending.nextCursor });
    expect(next.items[0]!.id).not.toBe(pending.items[0]!.id);

    expect(await alice.cancel(job.id, "changed my mind")).toEqual({ id: job.id, status: "cancelled" });
    await expect(alice.cancel(job.id)).rejects.toMatchObject({ name: "RpcError", fn: "cancel_job", code: "PT409" });
    expect((await alice.retry(job.id)).status).toBe("running");
  });

  it("refuses what the database refuses, with its code and message: another tenant's job is not found, bad input is 22023", async () => {
    const alice = await signedIn(ALICE);
    const bob = await signedIn(BOB);
    const job = await alice.enqueue("leaseflow.sleep", { ms: 1 });
    const hidden = await bob.get(job.id).catch((error: unknown) => error);
    expect(hidden).toBeInstanceOf(RpcError);
    expect(hidden).toMatchObject({ fn: "get_job", code: "PT404" });
    expect((await bob.list()).total).toBe(0);
    await expect(alice.enqueue("leaseflow.sleep", {}, { priority: 9 })).rejects.toMatchObject({ code: "22023" });
    await expect(alice.enqueue("no.such.type", {})).rejects.toThrow(/unknown job type/);
  });

  it("watches a job until it finishes, reporting each status it saw", async () => {
    await admin`update public.leaseflow_settings set max_invocations = 10`;
    const operator = new LeaseflowClient(appSupabase(SERVICE_ROLE_KEY));
    const { id } = await operator.enqueue("leaseflow.sleep", { ms: 300 });
    const seen: JobStatus[] = [];
    const done = await operator.watch(id, { intervalMs: 100, onChange: (job) => seen.push(job.status) });
    expect(done.status).toBe("completed");
    expect(done.result).toMatchObject({ slept_ms: 300 });
    expect(seen.at(-1)).toBe("completed");
    expect(seen[0]).not.toBe("completed");

    const stop = new AbortController();
    const { id: later } = await operator.enqueue("leaseflow.sleep", { ms: 0 }, { runAt: new Date(Date.now() + 3_600_000) });
    setTimeout(() => stop.abort(new Error("stopped watching")), 300);
    await expect(operator.watch(later, { intervalMs: 100, signal: stop.signal })).rejects.toThrow("stopped watching");
  });

  it("follows a read of the jobs API live: the user's list now and after a change; a refused read reports the API's error and is tried again", async () => {
    const alice = await signedIn(ALICE);
    const stop = new AbortController();
    const totals: number[] = [];
    const following = alice.follow<{ total: number }>(jobsReadPath({ statuses: ["pending"] }), { signal: stop.signal, onData: (page) => totals.push(page.total) });
    await expect.poll(() => totals, { timeout: 20_000 }).toEqual([0]);
    await alice.enqueue("leaseflow.sleep", { ms: 0 }, { runAt: new Date(Date.now() + 3_600_000) });
    await enqueueAsBob();
    await expect.poll(() => totals, { timeout: 3_000 }).toEqual([0, 1]);
    stop.abort();
    await following;

    const refusals: JobsApiError[] = [];
    const again = new AbortController();
    const refused = alice.follow("/jobs/not-a-uuid", { signal: again.signal, retryMs: 200, onData: () => {}, onError: (error) => refusals.push(error) });
    await expect.poll(() => refusals.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    again.abort();
    await refused;
    expect(refusals[0]).toBeInstanceOf(JobsApiError);
    expect(refusals[0]).toMatchObject({ status: 400, code: "validation_failed" });
    expect(refusals[0]!.message).toMatch(/id.*UUID/);
  });
});

describe("LeaseflowClient.follow, against answers the jobs API should not give", () => {
  /** A supabase-js stand-in whose functions.invoke answers `answer()` and counts its calls. */
  function answering(answer: () => { data: unknown; error: null }) {
    const calls = { invoke: 0 };
    // Each answer after a timer turn, as a real request would be (and the test's abort timer runs).
    const invoke = async () => {
      calls.invoke++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return answer();
    };
    const client = { functions: { invoke } } as unknown as ConstructorParameters<typeof LeaseflowClient>[0];
    return { client, calls };
  }

  it("waits retryMs before asking again when the answer is not a stream or a stream ends early, and reports it", async () => {
    const json = answering(() => ({ data: { ok: true, data: [] }, error: null }));
    const refusals: JobsApiError[] = [];
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 450);
    await new LeaseflowClient(json.client).follow("/jobs", { signal: stop.signal, retryMs: 100, onData: () => {}, onError: (e) => refusals.push(e) });
    expect(json.calls.invoke).toBeGreaterThanOrEqual(3);
    expect(json.calls.invoke).toBeLessThanOrEqual(5);
    expect(refusals[0]).toMatchObject({ code: "not_a_stream", message: "GET /jobs answered without an event stream" });

    // A stream that ends without the API's `timeout` event (dropped) also waits; one that ends on
    // time is opened again at once.
    const seen: number[] = [];
    const dropped = answering(() => ({ data: new Response('event: data\ndata: 1\n\n', { headers: { "content-type": "text/event-stream" } }), error: null }));
    const stopDropped = new AbortController();
    setTimeout(() => stopDropped.abort(), 450);
    await new LeaseflowClient(dropped.client).follow<number>("/stats", { signal: stopDropped.signal, retryMs: 100, onData: (n) => seen.push(n) });
    expect(dropped.calls.invoke).toBeLessThanOrEqual(5);
    expect(seen[0]).toBe(1);
    const onTime = answering(() => ({ data: new Response('event: data\ndata: 2\n\nevent: timeout\ndata: {}\n\n'), error: null }));
    const stopOnTime = new AbortController();
    setTimeout(() => stopOnTime.abort(), 200);
    await new LeaseflowClient(onTime.client).follow<number>("/stats", { signal: stopOnTime.signal, retryMs: 100, onData: () => {} });
    expect(onTime.calls.invoke).toBeGreaterThan(10);
  });
});

/** Bob enqueues into his own tenant: Alice's live list must not change for it. */
async function enqueueAsBob(): Promise<void> {
  const bob = await signedIn(BOB);
  await bob.enqueue("leaseflow.sleep", { ms: 0 }, { runAt: new Date(Date.now() + 3_600_000) });
}
