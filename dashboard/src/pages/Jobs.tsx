// Jobs: search and filters (status, type, group key, priority, created range), sort, cursor pages, and bulk cancel or retry with a confirmation and
// each row's own result.
import { useState } from "react";
import { cancelJob, type Client, type JobPage, type JobStatus, type ListJobsFilter, reads, retryJob } from "../api.ts";
import { Refusal, StatusBadge, When } from "../components/ui.tsx";
import { useLive } from "../hooks.ts";

const STATUSES: JobStatus[] = ["pending", "running", "completed", "failed", "cancelled"];

/** A datetime-local input's value (the viewer's local time) as an instant; empty: no bound. */
const localInstant = (value: string) => (value ? new Date(value).toISOString() : undefined);
type BulkAction = "cancel" | "retry";

export function Jobs({ client }: { client: Client }) {
  const [filters, setFilters] = useState<ListJobsFilter>({ sort: "created", direction: "desc", limit: 25 });
  // The cursors of the pages before this one (the first page has none).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors.at(-1) ?? null;
  const page = useLive<JobPage>(client, reads.jobs({ ...filters, cursor }));
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirming, setConfirming] = useState<BulkAction | null>(null);
  const [results, setResults] = useState<Record<string, string>>({});

  const update = (change: Partial<ListJobsFilter>) => {
    setFilters((current) => ({ ...current, ...change }));
    setCursors([null]);
    setSelected(new Set());
  };
  const toggle = (id: string) => setSelected((current) => {
    const next = new Set(current);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  });

  async function runBulk(action: BulkAction) {
    setConfirming(null);
    const outcome: Record<string, string> = {};
    for (const id of selected) {
      try {
        await (action === "cancel" ? cancelJob(client, id) : retryJob(client, id));
        outcome[id] = action === "cancel" ? "cancelled" : "retried";
      } catch (failure) {
        outcome[id] = `refused: ${(failure as Error).message}`;
      }
    }
    setResults(outcome);
    setSelected(new Set());
    page.refresh();
  }

  const items = page.data?.items ?? [];
  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label="Filters">
        <label>Search <input type="search" placeholder="type, payload text, or an id" onChange={(e) => update({ search: e.target.value || undefined })} /></label>
        <label>Type <input name="type" onChange={(e) => update({ type: e.target.value || undefined })} /></label>
        <label>Group key <input name="groupKey" onChange={(e) => update({ groupKey: e.target.value || undefined })} /></label>
        <label>
          Priority
          <select name="priority" onChange={(e) => update({ priorities: e.target.value ? [Number(e.target.value)] : undefined })}>
            <option value="">any</option>
            {[5, 4, 3, 2, 1].map((priority) => <option key={priority} value={priority}>{priority}</option>)}
          </select>
        </label>
        <label>Created from <input name="createdAfter" type="datetime-local" onChange={(e) => update({ createdAfter: localInstant(e.target.value) })} /></label>
        <label>Created before <input name="createdBefore" type="datetime-local" onChange={(e) => update({ createdBefore: localInstant(e.target.value) })} /></label>
        <fieldset>
          <legend>Status</legend>
          {STATUSES.map((status) => (
            <label key={status} className="check">
              <input
                type="checkbox"
                name={`status-${status}`}
                checked={filters.statuses?.includes(status) ?? false}
                onChange={(e) => update({ statuses: e.target.checked ? [...(filters.statuses ?? []), status] : filters.statuses?.filter((s) => s !== status) })}
              />
              {status}
            </label>
          ))}
        </fieldset>
        <label>
          Sort
          <select value={filters.sort} onChange={(e) => update({ sort: e.target.value as ListJobsFilter["sort"] })}>
            <option value="created">created</option>
            <option value="priority">priority</option>
            <option value="status">status</option>
          </select>
        </label>
        <label>
          Order
          <select value={filters.direction} onChange={(e) => update({ direction: e.target.value as "asc" | "desc" })}>
            <option value="desc">descending</option>
            <option value="asc">ascending</option>
          </select>
        </label>
      </form>
      <Refusal error={page.error} />
      <div className="toolbar">
        <span>{page.data ? `${page.data.total} jobs` : "…"}</span>
        <button type="button" disabled={selected.size === 0} onClick={() => setConfirming("cancel")}>Cancel selected</button>
        <button type="button" disabled={selected.size === 0} onClick={() => setConfirming("retry")}>Retry selected</button>
      </div>
      {confirming ? (
        <div role="alertdialog" aria-labelledby="confirm-text" className="confirm">
          <p id="confirm-text">{confirming === "cancel" ? "Cancel" : "Retry"} {selected.size} job{selected.size === 1 ? "" : "s"}?</p>
          <button type="button" onClick={() => runBulk(confirming)}>Yes, {confirming}</button>
          <button type="button" onClick={() => setConfirming(null)}>No</button>
        </div>
      ) : null}
      <table>
        <thead>
          <tr>
            <th scope="col">
              <input
                type="checkbox"
                aria-label="Select every job on this page"
                checked={items.length > 0 && items.every((job) => selected.has(job.id))}
                onChange={(e) => setSelected(e.target.checked ? new Set(items.map((job) => job.id)) : new Set())}
              />
            </th>
            <th scope="col">Job</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Priority</th>
            <th scope="col">Group key</th><th scope="col">Created</th><th scope="col">Payload</th><th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {items.map((job) => (
            <tr key={job.id} data-job-id={job.id}>
              <td><input type="checkbox" aria-label={`Select job ${job.id}`} checked={selected.has(job.id)} onChange={() => toggle(job.id)} /></td>
              <td><a href={`#/jobs/${job.id}`}>{job.id.slice(0, 8)}</a></td>
              <td>{job.type}</td>
              <td><StatusBadge status={job.status} /></td>
              <td>{job.priority}</td>
              <td>{job.groupKey ? <a href={`#/groups/${encodeURIComponent(job.groupKey)}`}>{job.groupKey}</a> : null}</td>
              <td><When at={job.createdAt} /></td>
              <td><code className="preview">{job.payloadPreview}</code></td>
              <td className="bulk-result">{results[job.id] ?? ""}</td>
            </tr>
          ))}
          {page.data && items.length === 0 ? <tr><td colSpan={9} className="muted">No job matches.</td></tr> : null}
        </tbody>
      </table>
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
        <span>page {cursors.length}</span>
        <button type="button" disabled={!page.data?.nextCursor} onClick={() => setCursors([...cursors, page.data!.nextCursor])}>Next</button>
      </nav>
    </section>
  );
}
