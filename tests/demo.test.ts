// Smoke test of `npm start` (scripts/demo.ts) with a small workload: stack up + reset, enqueue
// through the jobs API, workers woken by kick and tick, progress, summary. It resets the database.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

it("npm start runs a mixed workload end to end and prints the summary", async () => {
  const summaryFile = join(tmpdir(), `leaseflow-demo-${process.pid}.json`);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "scripts/demo.ts", "--campaign", "150", "--builds", "12", "--chats", "3", "--notifications", "30", "--timeout", "150", "--summary-json", summaryFile],
    { timeout: 200_000 },
  );
  const summary = JSON.parse(readFileSync(summaryFile, "utf8"));
  expect(summary.total).toBe(192);
  expect(summary.done).toBe(192);
  expect(summary.duplicateEmails).toBe(0);
  const byType = Object.fromEntries(summary.perType.map((t: { type: string }) => [t.type, t]));
  expect(byType.campaign_email).toMatchObject({ jobs: 150, unfinished: 0 });
  // Build 6 of 12 (index 5) has a syntax error; the others compile.
  expect(byType.build).toMatchObject({ jobs: 12, completed: 11, failed: 1, unfinished: 0 });
  expect(byType.notify).toMatchObject({ jobs: 30, unfinished: 0 });
  for (const reason of summary.reasons) expect(reason.reason).toMatch(/^(compile: |send_email: messages API 422: mailbox <address>|deliver: messages API 422: mailbox <address>|send_email: messages API rate limit|.*timed out)/);
  expect(summary.invocations.find((i: { reason: string }) => i.reason === "enqueue")?.n).toBeGreaterThan(0);
  expect(stdout).toContain("All 192 jobs finished in");
  expect(stdout).toMatch(/type\s+jobs\s+completed\s+failed\s+retries\s+p50 \/ p95 ms/);
  expect(stdout).toContain("duplicate emails: 0");
  expect(stdout).toContain("select * from queue_stats");
  // It ends with the dashboard's address.
  expect(stdout.trimEnd().split("\n").at(-1)).toMatch(/^Dashboard .*: http:\/\/127\.0\.0\.1:\d+$/);
}, 220_000);
