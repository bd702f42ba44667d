// One group key's queue: its jobs by status, the unfinished ones in the order they will run.
import { useState } from "react";
import { type Client, type GroupDoc, type JobSummary, reads } from "../api.ts";
import { Refusal, StatusBadge, When } from "../components/ui.tsx";
import { useLive } from "../hooks.ts";

function List({ title, jobs }: { title: string; jobs: JobSummary[] }) {
  return (
    <>
      <h2>{title} ({jobs.length})</h2>
      <ol className="queue">
        {jobs.map((job) => (
          <li key={job.id}><a href={`#/jobs/${job.id}`}>{job.id.slice(0, 8)}</a> {job.type} <StatusBadge status={job.status} /> <When at={job.createdAt} /></li>
        ))}
      </ol>
    </>
  );
}

export function Groups({ client, groupKey }: { client: Client; groupKey: string }) {
  const [key, setKey] = useState(groupKey);
  const group = useLive<GroupDoc>(client, groupKey ? reads.group(groupKey) : null);
  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Group key</h1>
      <form onSubmit={(event) => { event.preventDefault(); window.location.hash = `#/groups/${encodeURIComponent(key)}`; }}>
        <label>Group key <input value={key} onChange={(e) => setKey(e.target.value)} /></label>
        <button type="submit">Show</button>
      </form>
      <Refusal error={group.error} />
      {group.data ? (
        <>
          <List title="Running" jobs={group.data.running} />
          <List title="Pending, in queue order" jobs={group.data.pending} />
          <List title="Failed" jobs={group.data.failed} />
          <List title="Completed" jobs={group.data.completed} />
          <List title="Cancelled" jobs={group.data.cancelled} />
        </>
      ) : null}
    </section>
  );
}
