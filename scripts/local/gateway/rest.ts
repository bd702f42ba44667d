// LOCAL STAND-IN: the slice of PostgREST's table and view reads that supabase-js's
// `.from(name).select(...)` uses, `GET|HEAD /rest/v1/<table or view>`:
//   - select=* or a list of plain columns;
//   - filters <column>=[not.]<op>.<value> with op eq, neq, gt, gte, lt, lte, like, ilike (`*` is
//     the wildcard), in.(a,b,"c,d") and is.(null|true|false);
//   - order=<column>[.asc|.desc][.nullsfirst|.nullslast],...; limit and offset;
//   - Prefer: count=exact (the total in Content-Range), Accept: application/vnd.pgrst.object+json
//     (one object, 406 PGRST116 unless exactly one row);
//   - run as the caller's role with its claims (rpc.ts), so grants and RLS decide what it reads;
//   - errors in PostgREST's shape: PGRST100 for a request it cannot parse, PGRST205 for an unknown
//     relation, Postgres's own (42703 for an unknown column, 42501 for a missing grant).
// Nothing else of PostgREST (embedding, writes, `or`, aggregates) is served: asked for, they get
// a PGRST100 that says so, not a silently different answer.
import type postgres from "postgres";
import { asRole, errorAnswer, type RpcResponse } from "./rpc.ts";
import { wholeRows } from "../../../supabase/functions/_shared/leaseflow/transports/postgres.ts";

/** A read's answer: status, JSON body (undefined for HEAD) and headers. */
export interface ReadResponse extends RpcResponse {
  headers: Record<string, string>;
}

/** What the request asks for, from its query string and headers. */
interface ReadRequest {
  columns: string[] | "*";
  filters: { column: string; negated: boolean; operator: string; values: string[] }[];
  order: { column: string; direction: "asc" | "desc"; nulls?: "first" | "last" }[];
  limit?: number;
  offset: number;
  countExact: boolean;
  single: boolean;
}

class ParseError extends Error {
  constructor(message: string, readonly details: string | null = null) {
    super(message);
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const COMPARISONS: Record<string, string> = { eq: "=", neq: "<>", gt: ">", gte: ">=", lt: "<", lte: "<=", like: "like", ilike: "ilike" };
const RESERVED = new Set(["select", "order", "limit", "offset", "columns", "on_conflict"]);
const SINGLE_OBJECT = "application/vnd.pgrst.object+json";

function column(name: string, where: string): string {
  if (!IDENTIFIER.test(name)) throw new ParseError(`"failed to parse ${where} (${name})"`, "the local gateway reads plain column names only (no casts, renames, JSON paths or embedded resources)");
  return name;
}

/** in.(a,b,"c,d"): the values, unquoted. */
function listValues(text: string): string[] {
  const inner = /^\((.*)\)$/s.exec(text)?.[1];
  if (inner === undefined) throw new ParseError(`"failed to parse filter (in.${text})"`, "expected a list in parentheses: in.(a,b)");
  const values: string[] = [];
  const pattern = /\s*(?:"((?:[^"\\]|\\.)*)"|([^,]*))\s*(?:,|$)/gy;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < inner.length && (match = pattern.exec(inner))) {
    values.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2]!.trim());
  }
  return inner.trim() === "" ? [] : values;
}

function parseRead(query: URLSearchParams, headers: Record<string, string | string[] | undefined>): ReadRequest {
  const request: ReadRequest = { columns: "*", filters: [], order: [], offset: 0, countExact: false, single: false };
  const select = query.get("select");
  if (select !== null && select.trim() !== "*") {
    request.columns = select.split(",").map((name) => column(name.trim(), "select"));
  }
  for (const part of (query.get("order") ?? "").split(",").filter(Boolean)) {
    const [name, ...modifiers] = part.split(".");
    const term: ReadRequest["order"][number] = { column: column(name!, "order"), direction: "asc" };
    for (const modifier of modifiers) {
      if (modifier === "asc" || modifier === "desc") term.direction = modifier;
      else if (modifier === "nullsfirst" || modifier === "nullslast") term.nulls = modifier === "nullsfirst" ? "first" : "last";
      else throw new ParseError(`"failed to parse order (${part})"`, `unexpected "${modifier}": expecting asc, desc, nullsfirst or nullslast`);
    }
    request.order.push(term);
  }
  for (const [key, target] of [["limit", "limit"], ["offset", "offset"]] as const) {
    const text = query.get(key);
    if (text === null) continue;
    if (!/^\d+$/.test(text)) throw new ParseError(`"failed to parse ${key} (${text})"`, "expected a non-negative integer");
    request[target] = Number(text);
  }
  for (const [key, text] of query) {
    if (RESERVED.has(key)) continue;
    if (key === "or" || key === "and" || key.includes(".")) {
      throw new ParseError(`"failed to parse filter (${key})"`, "the local gateway supports column filters only (no or/and, no embedded resources)");
    }
    const match = /^(not\.)?([a-z]+)\.(.*)$/s.exec(text);
    const operator = match?.[2] ?? "";
    if (!match || !(operator in COMPARISONS || operator === "in" || operator === "is")) {
      throw new ParseError(`"failed to parse filter (${text})"`, "expected [not.]<operator>.<value> with operator eq, neq, gt, gte, lt, lte, like, ilike, in or is");
    }
    const value = match[3]!;
    if (operator === "is" && !["null", "true", "false"].includes(value.toLowerCase())) {
      throw new ParseError(`"failed to parse filter (${text})"`, "is. takes null, true or false");
    }
    request.filters.push({
      column: column(key, "filter"),
      negated: Boolean(match[1]),
      operator,
      values: operator === "in" ? listValues(value) : [operator === "like" || operator === "ilike" ? value.replaceAll("*", "%") : value],
    });
  }
  const prefer = String(headers.prefer ?? "");
  request.countExact = /(^|[,;\s])count=exact\b/.test(prefer);
  request.single = String(headers.accept ?? "").includes(SINGLE_OBJECT);
  return request;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Builds the read's SQL: the rows as one JSON array, and the total when asked. */
function readSql(relation: string, request: ReadRequest): { text: string; params: string[] } {
  const params: string[] = [];
  const param = (value: string) => {
    params.push(value);
    return `$${params.length}`;
  };
  const target = `public.${quote(relation)}`;
  // Columns qualified by the relation's name, so Postgres names it in its errors as PostgREST's
  // SQL makes it do ("column jobs.nope does not exist").
  const qualified = (name: string) => `${quote(relation)}.${quote(name)}`;
  const where = request.filters.map((filter) => {
    let test: string;
    if (filter.operator === "is") test = `${qualified(filter.column)} is ${filter.values[0]!.toLowerCase()}`;
    else if (filter.operator === "in") test = `${qualified(filter.column)} = any (${param(`{${filter.values.map((v) => `"${v.replace(/["\\]/g, "\\$&")}"`).join(",")}}`)})`;
    else test = `${qualified(filter.column)} ${COMPARISONS[filter.operator]} ${param(filter.values[0]!)}`;
    return filter.negated ? `not (${test})` : test;
  });
  const whereSql = where.length > 0 ? ` where ${where.join(" and ")}` : "";
  const columnsSql = request.columns === "*" ? `${quote(relation)}.*` : request.columns.map(qualified).join(", ");
  const orderSql = request.order.length > 0
    ? ` order by ${request.order.map((term) => `${qualified(term.column)} ${term.direction}${term.nulls ? ` nulls ${term.nulls}` : ""}`).join(", ")}`
    : "";
  const limitSql = `${request.limit !== undefined ? ` limit ${request.limit}` : ""} offset ${request.offset}`;
  const rows = `select ${columnsSql} from ${target}${whereSql}${orderSql}${limitSql}`;
  const total = request.countExact ? `(select count(*) from ${target}${whereSql})` : "null::bigint";
  return {
    text: `select coalesce((select jsonb_agg(to_jsonb(r)) from (${rows}) r), '[]'::jsonb) as body, ${total} as total`,
    params,
  };
}

/** Does `relation` exist in the public schema (a table or a view)? Its privileges are the role's to check. */
async function relationExists(sql: postgres.Sql, relation: string): Promise<boolean> {
  const [row] = await wholeRows(sql<{ found: boolean }[]>`
    select exists (select 1 from pg_class c
                    where c.relnamespace = 'public'::regnamespace and c.relname = ${relation}
                      and c.relkind in ('r', 'v', 'm', 'p', 'f')) as found`);
  return row!.found;
}

/** Reads public.<relation> as `role` with `claims`; `head` answers headers only. */
export async function readRelation(
  sql: postgres.Sql,
  relation: string,
  query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>,
  role: string,
  claims: Record<string, unknown>,
  head: boolean,
): Promise<ReadResponse> {
  let request: ReadRequest;
  try {
    request = parseRead(query, headers);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    return { status: 400, headers: {}, body: { code: "PGRST100", message: error.message, details: error.details, hint: null } };
  }
  if (!(await relationExists(sql, relation))) {
    return {
      status: 404,
      headers: {},
      body: { code: "PGRST205", message: `Could not find the table 'public.${relation}' in the schema cache`, details: null, hint: null },
    };
  }
  const { text, params } = readSql(relation, request);
  let rows: unknown[];
  let total: number | null;
  try {
    const [result] = await asRole(sql, role, claims, (tx) => wholeRows(tx.unsafe<{ body: unknown[]; total: string | null }[]>(text, params)));
    rows = result!.body;
    total = result!.total === null ? null : Number(result!.total);
  } catch (error) {
    return { ...errorAnswer(error, role), headers: {} };
  }
  if (total !== null && request.offset > total) {
    return {
      status: 416,
      headers: { "Content-Range": `*/${total}` },
      body: { code: "PGRST103", message: "Requested range not satisfiable", details: `An offset of ${request.offset} was requested, but there are only ${total} rows.`, hint: null },
    };
  }
  const range = rows.length > 0 ? `${request.offset}-${request.offset + rows.length - 1}` : "*";
  const contentRange = `${range}/${total ?? "*"}`;
  if (request.single) {
    if (rows.length !== 1) {
      return {
        status: 406,
        headers: { "Content-Range": contentRange },
        body: { code: "PGRST116", message: "JSON object requested, multiple (or no) rows returned", details: `The result contains ${rows.length} rows`, hint: null },
      };
    }
    return { status: 200, headers: { "Content-Range": contentRange, "Content-Type": SINGLE_OBJECT }, body: head ? undefined : rows[0] };
  }
  // PostgREST answers 206 when the page is part of a known larger total.
  const partial = total !== null && rows.length > 0 && rows.length < total;
  return { status: partial ? 206 : 200, headers: { "Content-Range": contentRange }, body: head ? undefined : rows };
}
