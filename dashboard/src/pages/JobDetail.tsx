// One job: its status, queue position and ETA while it waits, its steps as a timeline with every
// attempt (worker, start, duration, outcome, error), its payload, outputs and errors, and cancel
// and retry.
import { useState } from "react";
import { cancelJob, type Client, type JobDocument, reads, retryJob } from "../api.ts";
import { formatMs, JsonView, Refusal, StatusBadge, When } from "../components/ui.tsx";
import { useLive } from "../hooks.ts";

const duration = (start: string | null, end: string | null) =>
  start && end ? formatMs(Date.parse(end) - Date.parse(start)) : start ? "running" : "—";

export function JobDetail({ client, id }: { client: Client; id: string }) {
  const job = useLive<JobDocument>(client, reads.job(id));
  const [actionError, setActionError] = useState<Error>();
  const act = async (action: (client: Client, id: string) => Promise<unknown>) => {
    try {
      setActionError(undefined);
      await action(client, id);
      job.refresh();
    } catch (failure) {
      setActionError(failure as Error);
    }
  };
  const doc = job.data;
  return (
    <section aria-labelledby="job-title">
      <h1 id="job-title">Job <code>{id}</code></h1>
      <Refusal error={job.error} />
      <Refusal error={actionError} />
      {doc ? (
        <>
          <dl className="facts">
            <div><dt>Status</dt><dd data-testid="job-status"><StatusBadge status={doc.status} /></dd></div>
            <div><dt>Type</dt><dd>{doc.type}</dd></div>
            <div><dt>Priority</dt><dd>{doc.priority}</dd></div>
            <div><dt>Group key</dt><dd>{doc.groupKey ? <a href={`#/groups/${encodeURIComponent(doc.groupKey)}`}>{doc.groupKey}</a> : "—"}</dd></div>
            <div><dt>Created</dt><dd><When at={doc.createdAt} /></dd></div>
            <div><dt>Run at</dt><dd><When at={doc.runAt} /></dd></div>
            <div><dt>Finished</dt><dd><When at={doc.finishedAt} /></dd></div>
            {doc.queuePosition !== null ? (
              <div><dt>Queue position</dt><dd>{doc.queuePosition} (ETA {formatMs(doc.estimatedWaitMs)})</dd></div>
            ) : null}
          </dl>
          <div className="toolbar">
            <button type="button" disabled={!["pending", "running"].includes(doc.status)} onClick={() => act(cancelJob)}>Cancel job</button>
            <button type="button" disabled={!["failed", "cancelled"].includes(doc.status)} onClick={() => act(retryJob)}>Retry job</button>
          </div>
          <JsonView label="Payload" value={doc.payload} />
          {doc.result !== null ? <JsonView label="Result" value={doc.result} /> : null}
          {doc.error ? <JsonView label="Error" value={doc.error} /> : null}
          <h2>Timeline</h2>
          <ol className="timeline" aria-label="Steps and attempts">
            {doc.steps.map((step) => (
              <li key={step.id}>
                <h3>{step.name ?? `step ${step.seq}`} <StatusBadge status={step.status} /> <span className="muted">attempt {step.attempt} of {step.maxAttempts}</span></h3>
                <table>
                  <thead><tr><th scope="col">Attempt</th><th scope="col">Worker</th><th scope="col">Started</th><th scope="col">Duration</th><th scope="col">Outcome</th><th scope="col">Error</th></tr></thead>
                  <tbody>
                    {step.attempts.map((attempt) => (
                      <tr key={`${attempt.attempt}-${attempt.outcome}`}>
                        <td>{attempt.attempt}</td>
                        <td>{attempt.workerId}</td>
                        <td><When at={attempt.startedAt} /></td>
                        <td>{duration(attempt.startedAt, attempt.finishedAt)}</td>
                        <td><StatusBadge status={attempt.outcome} /></td>
                        <td>{attempt.error ? (attempt.error as { message?: string }).message ?? JSON.stringify(attempt.error) : ""}</td>
                      </tr>
                    ))}
                    {step.attempts.length === 0 ? <tr><td colSpan={6} className="muted">Not claimed yet.</td></tr> : null}
                  </tbody>
                </table>
                {step.output !== null ? <JsonView label={`Output of ${step.name ?? step.seq}`} value={step.output} /> : null}
              </li>
            ))}
            {doc.steps.length === 0 ? <li className="muted">No step yet: the job waits for its run_at or its group key's turn.</li> : null}
          </ol>
        </>
      ) : null}
    </section>
  );
}
