import type postgres from "postgres";

/** What one statement read, from auto_explain's plan of it (nested statements included). */
export interface StatementCost {
  /** The statement's text, whitespace collapsed. */
  query: string;
  /** Shared buffers it touched (hit + read): what it cost, without a clock's noise. */
  buffers: number;
  /** Rows its plan nodes produced or filtered out, over all their loops: a join that compares
   * every row of one batch with every row of another shows here, not in buffers. */
  rowsExamined: number;
  /** auto_explain's JSON plan. */
  plan: unknown;
}

/** The client options `explainStatements` needs: a connection whose notices are collected. */
export function explainedConnection(): { options: postgres.Options<{}>; notices: string[] } {
  const notices: string[] = [];
  return { options: { onnotice: (notice: postgres.Notice) => notices.push(String(notice.message)) }, notices };
}

/** Runs `run` with auto_explain reporting every statement (nested ones too) as a notice on
 * `sql`'s one connection, and returns what each statement read. auto_explain is loaded into the
 * session, so the plans the connection has cached stay as they are. */
export async function explainStatements(
  sql: postgres.Sql,
  notices: string[],
  run: () => Promise<unknown>,
): Promise<StatementCost[]> {
  await sql.unsafe(`
    load 'auto_explain';
    set auto_explain.log_min_duration = 0;
    set auto_explain.log_analyze = on;
    set auto_explain.log_buffers = on;
    set auto_explain.log_nested_statements = on;
    set auto_explain.log_format = 'json';
    set auto_explain.log_level = 'notice';
    set client_min_messages = notice`);
  notices.length = 0;
  try {
    await run();
  } finally {
    await sql`set auto_explain.log_min_duration = -1`;
  }
  return notices.map((message) => {
    const explained = JSON.parse(message.slice(message.indexOf("{")));
    return {
      query: String(explained["Query Text"]).replace(/\s+/g, " ").trim(),
      buffers: explained.Plan["Shared Hit Blocks"] + explained.Plan["Shared Read Blocks"],
      rowsExamined: rowsExamined(explained.Plan),
      plan: explained.Plan,
    };
  });
}

interface PlanNode {
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  "Rows Removed by Join Filter"?: number;
  "Rows Removed by Index Recheck"?: number;
  Plans?: PlanNode[];
}

/** EXPLAIN ANALYZE reports a node's rows per loop; this sums them over loops and nodes. */
function rowsExamined(node: PlanNode): number {
  const perLoop = (node["Actual Rows"] ?? 0) + (node["Rows Removed by Filter"] ?? 0)
    + (node["Rows Removed by Join Filter"] ?? 0) + (node["Rows Removed by Index Recheck"] ?? 0);
  return perLoop * (node["Actual Loops"] ?? 1) + (node.Plans ?? []).reduce((sum, child) => sum + rowsExamined(child), 0);
}

/** The cost of the first statement that starts with `startsWith`; throws naming them all if none does. */
export function statement(costs: StatementCost[], startsWith: string): StatementCost {
  const found = costs.find((cost) => cost.query.startsWith(startsWith));
  if (!found) throw new Error(`no statement starting with "${startsWith}" in ${costs.map((c) => c.query).join(" | ")}`);
  return found;
}
