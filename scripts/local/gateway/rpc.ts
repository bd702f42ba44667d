// LOCAL STAND-IN: the slice of PostgREST leaseflow uses, `POST /rest/v1/rpc/<function>`:
//   - the caller's role comes from its verified JWT (no token: anon), switched to with
//     `set local role`, with the claims in request.jwt.claims, as PostgREST does;
//   - named JSON arguments, matched to a public function by argument names (those left out take
//     their defaults, all of them when the body is {} or empty);
//   - a set-returning function answers a JSON array, a composite one an object, a scalar one
//     its value, a void one null;
//   - errors as {code, message, details, hint} with PostgREST's HTTP statuses (PGRST202 404 for
//     an unknown function, PTxyz → xyz, 42501 → 401 for anon / 403 otherwise, ...).
import type postgres from "postgres";
import { wholeRows } from "../../../supabase/functions/_shared/leaseflow/transports/postgres.ts";

/** One public function as the RPC layer sees it. */
interface RpcFunction {
  argNames: string[];
  argTypes: string[];
  argDefaults: number;
  returnsSet: boolean;
  returnType: string;
  returnsVoid: boolean;
}

/** An RPC answer: status and JSON body. */
export interface RpcResponse {
  status: number;
  body: unknown;
}

/** PostgREST's mapping from SQLSTATE to HTTP status. */
export function httpStatusFor(sqlstate: string, role: string): number {
  if (/^PT\d{3}$/.test(sqlstate)) return Number(sqlstate.slice(2));
  if (sqlstate === "42501") return role === "anon" ? 401 : 403;
  const exact: Record<string, number> = {
    "23503": 409, "23505": 409, "25006": 405, "53400": 500, P0001: 400, "42883": 404, "42P01": 404, "42P17": 500,
  };
  if (exact[sqlstate]) return exact[sqlstate]!;
  const byClass: Record<string, number> = {
    "08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500, "38": 500, "39": 500, "3B": 500,
    "40": 500, "53": 503, "54": 500, "55": 500, "57": 500, "58": 500, F0: 500, HV: 500, XX: 500,
  };
  return byClass[sqlstate.slice(0, 2)] ?? 400;
}

const ROLE_SETTINGS_TTL_MS = 5_000;
let cachedRoleSettings: { at: number; settings: Promise<Record<string, Record<string, string>>> } | undefined;

/** Each role's settings (ALTER ROLE ... SET), for this database or all, read again every 5 s. */
function roleSettings(sql: postgres.Sql): Promise<Record<string, Record<string, string>>> {
  if (!cachedRoleSettings || Date.now() - cachedRoleSettings.at > ROLE_SETTINGS_TTL_MS) {
    const settings = wholeRows(sql<{ role: string; setting: string; value: string }[]>`
      select r.rolname as role, split_part(c, '=', 1) as setting, substr(c, strpos(c, '=') + 1) as value
        from pg_db_role_setting s
        join pg_roles r on r.oid = s.setrole
        cross join unnest(s.setconfig) c
       where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
       order by s.setdatabase`).then((rows) => {
      const byRole: Record<string, Record<string, string>> = {};
      for (const row of rows) (byRole[row.role] ??= {})[row.setting] = row.value;
      return byRole;
    });
    settings.catch(() => {
      cachedRoleSettings = undefined;
    });
    cachedRoleSettings = { at: Date.now(), settings };
  }
  return cachedRoleSettings.settings;
}

async function lookUp(sql: postgres.Sql, name: string): Promise<RpcFunction[]> {
  return wholeRows(sql<RpcFunction[]>`
    select coalesce(p.proargnames[1:p.pronargs], '{}') as "argNames",
           coalesce(array(select format_type(t, null) from unnest(p.proargtypes) t), '{}') as "argTypes",
           p.pronargdefaults as "argDefaults",
           p.proretset as "returnsSet",
           format_type(p.prorettype, null) as "returnType",
           p.prorettype = 'void'::regtype as "returnsVoid"
      from pg_proc p
     where p.pronamespace = 'public'::regnamespace and p.proname = ${name}`);
}

/** Calls public.<name> with the JSON object `args` as `role` with `claims`. */
export async function callRpc(
  sql: postgres.Sql,
  name: string,
  args: Record<string, unknown>,
  role: string,
  claims: Record<string, unknown>,
): Promise<RpcResponse> {
  const given = Object.keys(args).sort();
  const candidates = await lookUp(sql, name);
  const match = candidates.find((fn) => {
    const required = fn.argNames.slice(0, fn.argNames.length - fn.argDefaults);
    return given.every((arg) => fn.argNames.includes(arg)) && required.every((arg) => given.includes(arg));
  });
  if (!match) {
    return {
      status: 404,
      body: {
        code: "PGRST202",
        message: `Could not find the function public.${name}(${given.join(", ")}) in the schema cache`,
        details: `Searched for the function public.${name} with parameters ${given.join(", ") || "(none)"}`,
        hint: null,
      },
    };
  }
  // A JSON value that is not an array cannot be cast to an array type: PostgREST passes it on and
  // Postgres refuses it (22P02, a 400). Read as null instead, `claim_steps` with p_types "x"
  // claimed every type.
  for (const arg of given) {
    const value = args[arg];
    if (match.argTypes[match.argNames.indexOf(arg)]!.endsWith("[]") && value !== null && !Array.isArray(value)) {
      const text = typeof value === "string" ? value : JSON.stringify(value);
      return {
        status: 400,
        body: { code: "22P02", message: `malformed array literal: "${text}"`, details: 'Array value must start with "{" or dimension information.', hint: null },
      };
    }
  }
  // Every argument comes out of the request body, bound once as text (bound as jsonb, the
  // driver would JSON-encode the already encoded body again), and is cast to its type.
  const argsSql = given.map((arg) => {
    const type = match.argTypes[match.argNames.indexOf(arg)]!;
    const value = `($1::text::jsonb -> '${arg.replace(/'/g, "''")}')`;
    const cast = type === "jsonb" || type === "json" ? `(${value})::${type}`
      : type.endsWith("[]")
        ? `(case when jsonb_typeof(${value}) = 'array' then coalesce((select array_agg(e) from jsonb_array_elements_text(${value}) e), '{}') end)::${type}`
      : `(${value} #>> '{}')::${type}`;
    return `"${arg.replace(/"/g, '""')}" => ${cast}`;
  }).join(", ");
  const call = `public."${name.replace(/"/g, '""')}"(${argsSql})`;
  const query = match.returnsSet
    ? `select coalesce(jsonb_agg(to_jsonb(r)), '[]'::jsonb) as body from ${call} r`
    : match.returnsVoid
      ? `select (${call}) is null as ignored, null::jsonb as body`
      : `select to_jsonb(${call}) as body`;
  try {
    const rows = await asRole(sql, role, claims, (tx) =>
      // With no arguments the call names no parameter, and an unused $1 has no type (42P18).
      wholeRows(tx.unsafe(query, given.length > 0 ? [JSON.stringify(args)] : [])));
    const body = (rows[0] as { body: unknown } | undefined)?.body ?? null;
    return { status: 200, body };
  } catch (error) {
    return errorAnswer(error, role);
  }
}

/** Runs `run` in a transaction as `role`, with the role's own settings and `claims` in
 * request.jwt.claims, as PostgREST runs each request. */
export async function asRole<T>(
  sql: postgres.Sql,
  role: string,
  claims: Record<string, unknown>,
  run: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  const settings = await roleSettings(sql);
  return sql.begin(async (tx) => {
    await tx.unsafe(`set local role "${role.replace(/"/g, '""')}"`);
    // A role's own settings (Supabase: anon 3 s, authenticated 8 s of statement_timeout) apply
    // to its requests, as PostgREST applies them: SET ROLE alone does not read them. One
    // statement sets them and the JWT claims.
    const configs = [...Object.entries(settings[role] ?? {}), ["request.jwt.claims", JSON.stringify(claims)]];
    await tx.unsafe(`select ${configs.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(", ")}`, configs.flat());
    return run(tx);
  }) as Promise<T>;
}

/** A Postgres error as PostgREST answers it: {code, message, details, hint} with its HTTP
 * status. Anything else is rethrown. */
export function errorAnswer(error: unknown, role: string): RpcResponse {
  const pgError = error as { code?: string; message?: string; detail?: string; hint?: string };
  if (!pgError.code) throw error;
  return {
    status: httpStatusFor(pgError.code, role),
    body: { code: pgError.code, message: pgError.message ?? "", details: pgError.detail ?? null, hint: pgError.hint ?? null },
  };
}
