// The rooms: the library core (supabase/functions/_shared/leaseflow/) must be copyable on its own,
// and the entries must reach it through its one entry module.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const core = join(root, "supabase/functions/_shared/leaseflow");
/** The npm packages the core may import (README: what a project copying it needs). */
const CORE_PACKAGES = ["postgres", "@supabase/supabase-js", "hono", "zod"];

function tsFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? tsFiles(join(folder, entry.name)) : entry.name.endsWith(".ts") ? [join(folder, entry.name)] : [],
  );
}

/** Every module specifier a file imports or re-exports, statically or with import(). */
function specifiers(file: string): string[] {
  const source = readFileSync(file, "utf8");
  return [...source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)"([^"]+)"/gm)].map((match) => match[1]!);
}

function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

it("the core imports nothing outside its folder but its own npm dependencies", () => {
  const strays: string[] = [];
  for (const file of tsFiles(core)) {
    for (const specifier of specifiers(file)) {
      const where = relative(root, file);
      if (specifier.startsWith(".")) {
        const target = resolve(dirname(file), specifier);
        if (relative(core, target).startsWith("..")) strays.push(`${where} imports ${specifier}`);
      } else if (!CORE_PACKAGES.includes(packageOf(specifier))) {
        strays.push(`${where} imports the package ${specifier}`);
      }
    }
  }
  expect(strays).toEqual([]);
});

it("the Node worker and both Edge entries reach the core only through leaseflow/mod.ts", () => {
  const entries = ["node/run.ts", "supabase/functions/worker/index.ts", "supabase/functions/jobs/index.ts"];
  for (const entry of entries) {
    const file = join(root, entry);
    const intoCore = specifiers(file)
      .filter((specifier) => specifier.startsWith("."))
      .map((specifier) => resolve(dirname(file), specifier))
      .filter((target) => !relative(core, target).startsWith(".."));
    expect(intoCore.length, `${entry} imports the core`).toBeGreaterThan(0);
    expect(intoCore.map((target) => relative(core, target)), entry).toEqual(intoCore.map(() => "mod.ts"));
  }
});
