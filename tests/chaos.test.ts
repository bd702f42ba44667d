// The short chaos run (`npm run chaos -- --quick`): every fault scenario against the local stack,
// with Node workers of the chaos job types; none may lose a job, complete a step twice or crash a
// worker. The full run (`npm run chaos`) writes chaos/results/latest.md.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

it("chaos (quick): SIGKILLed workers, a Postgres restart, connection-kill storms (one-step and 3-step jobs) and poison handlers lose nothing, complete nothing twice, crash no worker", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/chaos/index.ts", "--quick"], { timeout: 240_000 })
    .catch((error: Error & { stdout?: string }) => {
      // A failed run still printed its table and what it found: the checks below show them.
      if (!error.stdout?.includes("| Scenario |")) throw error;
      return { stdout: error.stdout };
    });
  const found = stdout.split("\n").filter((line) => line.startsWith("chaos: unfinished"));
  const rows = stdout.split("\n").filter((line) => /^\| (sigkill|pg-restart|conn-kill|conn-kill-chain|poison) \|/.test(line))
    .map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim()));
  expect(rows.map((row) => row[0])).toEqual(["sigkill", "pg-restart", "conn-kill", "conn-kill-chain", "poison"]);
  for (const [scenario, jobs, lost, completedTwice, , , crashes] of rows) {
    const unfinished = found.filter((line) => line.includes(` ${scenario}:`));
    expect({ scenario, lost, completedTwice, crashes, unfinished }).toEqual({ scenario, lost: "0", completedTwice: "0", crashes: "0", unfinished: [] });
    expect(Number(jobs)).toBeGreaterThan(0);
  }
  expect(stdout).toContain("chaos: 0 lost, 0 completed twice, 0 worker crashes");
}, 250_000);
