// Small shared pieces: status badges, times, the refusal banner, a collapsible JSON viewer.
import { useState } from "react";
import type { JobStatus } from "../api.ts";

export function StatusBadge({ status }: { status: JobStatus | string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}

/** "12:03:04" today, else a date and time; a dash for null. */
export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  const date = new Date(at);
  const today = new Date().toDateString() === date.toDateString();
  return <time dateTime={at} title={date.toISOString()}>{today ? date.toLocaleTimeString() : date.toLocaleString()}</time>;
}

/** A duration in ms as "850 ms", "4.2 s", "3 min". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** What the API refused, as the page shows it. */
export function Refusal({ error }: { error: Error | undefined | null }) {
  if (!error) return null;
  return <div role="alert" className="refusal">{error.message}</div>;
}

/** JSON, collapsed to one line until opened, with a copy button. */
export function JsonView({ label, value }: { label: string; value: unknown }) {
  const [open, setOpen] = useState(false);
  const [copied, setCopied] = useState(false);
  const text = JSON.stringify(value, null, 2) ?? "null";
  const oneLine = JSON.stringify(value) ?? "null";
  return (
    <div className="json">
      <div className="json-head">
        <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>{open ? "▾" : "▸"} {label}</button>
        <button
          type="button"
          onClick={async () => {
            await navigator.clipboard?.writeText(text).catch(() => {});
            setCopied(true);
            setTimeout(() => setCopied(false), 1_500);
          }}
        >
          {copied ? "copied" : "copy"}
        </button>
      </div>
      {open ? <pre aria-label={label}>{text}</pre> : <code className="json-line">{oneLine.length > 140 ? `${oneLine.slice(0, 140)}…` : oneLine}</code>}
    </div>
  );
}
