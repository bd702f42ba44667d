// Create a job: a type (those some worker can claim), a JSON payload, priority, run at, group and
// dedupe keys. The jobs API checks the payload against the type's schema and writes nothing when
// it refuses; each failing field is shown next to the payload.
import { useState } from "react";
import { claimableTypes, type Client, createJob, JobsApiError, type NewJob } from "../api.ts";
import { Refusal } from "../components/ui.tsx";
import { usePoll } from "../hooks.ts";

export function CreateJob({ client }: { client: Client }) {
  const types = usePoll(() => claimableTypes(client));
  const [type, setType] = useState("");
  const [payload, setPayload] = useState("{}");
  const [priority, setPriority] = useState("");
  const [runAt, setRunAt] = useState("");
  const [groupKey, setGroupKey] = useState("");
  const [dedupeKey, setDedupeKey] = useState("");
  const [issues, setIssues] = useState<{ path: string; message: string }[]>([]);
  const [error, setError] = useState<Error>();
  const [created, setCreated] = useState<{ id: string; status: string }>();

  async function submit() {
    setIssues([]);
    setError(undefined);
    setCreated(undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch (failure) {
      setIssues([{ path: "payload", message: `not JSON: ${(failure as Error).message}` }]);
      return;
    }
    const job: NewJob = {
      type,
      payload: parsed,
      ...(priority ? { priority: Number(priority) } : {}),
      ...(runAt ? { runAt: new Date(runAt).toISOString() } : {}),
      ...(groupKey ? { groupKey } : {}),
      ...(dedupeKey ? { dedupeKey } : {}),
    };
    try {
      setCreated(await createJob(client, job));
    } catch (failure) {
      if (failure instanceof JobsApiError && failure.issues.length > 0) setIssues(failure.issues);
      setError(failure as Error);
    }
  }

  const fieldIssues = (prefix: string) => issues.filter((issue) => issue.path === prefix || issue.path.startsWith(`${prefix}.`));
  return (
    <section aria-labelledby="create-title">
      <h1 id="create-title">Create a job</h1>
      <form className="create" onSubmit={(event) => { event.preventDefault(); void submit(); }}>
        <label>
          Type
          <input name="type" list="job-types" required value={type} onChange={(e) => setType(e.target.value)} aria-invalid={fieldIssues("type").length > 0} />
          <datalist id="job-types">{(types.data ?? []).map((name) => <option key={name} value={name} />)}</datalist>
        </label>
        <FieldIssues issues={fieldIssues("type")} />
        <label>
          Payload (JSON)
          <textarea name="payload" rows={8} value={payload} onChange={(e) => setPayload(e.target.value)} aria-invalid={fieldIssues("payload").length > 0} spellCheck={false} />
        </label>
        <FieldIssues issues={fieldIssues("payload")} />
        <label>Priority (1–5) <input name="priority" type="number" min={1} max={5} value={priority} onChange={(e) => setPriority(e.target.value)} /></label>
        <FieldIssues issues={fieldIssues("priority")} />
        <label>Run at <input name="runAt" type="datetime-local" value={runAt} onChange={(e) => setRunAt(e.target.value)} /></label>
        <FieldIssues issues={fieldIssues("runAt")} />
        <label>Group key <input name="groupKey" value={groupKey} onChange={(e) => setGroupKey(e.target.value)} /></label>
        <label>Dedupe key <input name="dedupeKey" value={dedupeKey} onChange={(e) => setDedupeKey(e.target.value)} /></label>
        <button type="submit">Create job</button>
      </form>
      {issues.length === 0 ? <Refusal error={error} /> : null}
      {created ? <p role="status">Created <a href={`#/jobs/${created.id}`} data-testid="created-job">{created.id}</a> ({created.status})</p> : null}
    </section>
  );
}

function FieldIssues({ issues }: { issues: { path: string; message: string }[] }) {
  if (issues.length === 0) return null;
  return (
    <ul className="field-issues" role="alert">
      {issues.map((issue) => <li key={`${issue.path}:${issue.message}`}><code>{issue.path}</code>: {issue.message}</li>)}
    </ul>
  );
}
