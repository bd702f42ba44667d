// For scripts that run against the local stack (the demo, the benchmark): `scripts/stack reset`
// (a fresh database, whatever its migration history), then `scripts/stack up` (the gateway),
// returning the KEY=value facts `up` prints (SUPABASE_DB_URL, ...).
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";

const stack = join(resolve(import.meta.dirname, "../.."), "scripts/stack");

/** Resets the local stack's database and brings the stack up; returns what `scripts/stack up` printed. */
export function stackUpAndReset(): Record<string, string> {
  execFileSync(stack, ["reset"], { stdio: ["ignore", "ignore", "inherit"] });
  return Object.fromEntries(
    execFileSync(stack, ["up"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
      .split("\n")
      .map((line) => /^([A-Z_]+)=(.*)$/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => [match[1]!, match[2]!]),
  );
}
