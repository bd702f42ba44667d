// Dead letter: failed jobs grouped by their last error, and a retry of every job of a reason.
import { useState } from "react";
import { type Client, type DeadLetter as DeadLetterRow, reads, retryJob } from "../api.ts";
import { Refusal, When } from "../components/ui.tsx";
import { useLive } from "../hooks.ts";

export function DeadLetter({ client }: { client: Client }) {
  const failed = useLive<DeadLetterRow[]>(client, reads.deadLetter);
  const [outcome, setOutcome] = useState<string>();
  const byReason = new Map<string, NonNullable<typeof failed.data>>();
  for (const job of failed.data ?? []) {
    const reason = job.last_error ?? "(no message)";
    byReason.set(reason, [...(byReason.get(reason) ?? []), job]);
  }
  async function retryAll(reason: string) {
    const jobs = byReason.get(reason) ?? [];
    let retried = 0;
    const refused: string[] = [];
    for (const job of jobs) {
      try {
        await retryJob(client, job.job_id!);
        retried += 1;
      } catch (failure) {
        refused.push(`${job.job_id}: ${(failure as Error).message}`);
      }
    }
    setOutcome(`Retried ${retried} of ${jobs.length}${refused.length ? `; refused: ${refused.join("; ")}` : ""}`);
    failed.refresh();
  }
  return (
    <section aria-labelledby="dead-title">
      <h1 id="dead-title">Dead letter</h1>
      <Refusal error={failed.error} />
      {outcome ? <p role="status">{outcome}</p> : null}
      {[...byReason].map(([reason, jobs]) => (
        <article key={reason} className="reason">
          <h2>{reason} <span className="muted">({jobs.length})</span></h2>
          <button type="button" onClick={() => retryAll(reason)}>Retry all {jobs.length}</button>
          <ul>
            {jobs.slice(0, 20).map((job) => (
              <li key={job.job_id}><a href={`#/jobs/${job.job_id}`}>{job.job_id?.slice(0, 8)}</a> {job.type} · {job.attempts} attempts · failed <When at={job.failed_at} /></li>
            ))}
          </ul>
        </article>
      ))}
      {failed.data?.length === 0 ? <p className="muted">No failed job.</p> : null}
    </section>
  );
}
