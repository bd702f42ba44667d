// LOCAL STAND-IN: the slice of Supabase Auth that supabase-js's password sign-in uses, on
// `/auth/v1`, from the auth tables the baseline creates (supabase-baseline.sql):
//   POST /token?grant_type=password       {email, password}: a session (the password checked
//                                         against the user's bcrypt hash, in Postgres)
//   POST /token?grant_type=refresh_token  {refresh_token}: the next session; the token is used up
//   GET  /user                            the signed-in user (its session must still exist)
//   POST /logout?scope=global|local|others  ends sessions; their refresh tokens go with them
// Access tokens are HS256 JWTs with the claims Auth puts in them (sub, role authenticated,
// email, session_id, ...), signed with the project's JWT secret, so PostgREST takes them.
// Errors as Auth answers them for API version 2024-01-01: {code, message} with the
// X-Supabase-Api-Version header (supabase-js reads `code` then). Sign-up, magic links, OAuth,
// MFA and the admin API are not served.
import { randomBytes, randomUUID } from "node:crypto";
import type postgres from "postgres";
import { JwtError, signJwt, verifyJwt } from "./jwt.ts";
import { wholeRows } from "../../../supabase/functions/_shared/leaseflow/transports/postgres.ts";

/** An Auth answer: status, JSON body (none for 204) and headers. */
export interface AuthResponse {
  status: number;
  body?: unknown;
  headers: Record<string, string>;
}

/** How long an access token lasts (Auth's default, `jwt_expiry`). */
const ACCESS_TOKEN_SECONDS = 3600;
const API_VERSION = { "X-Supabase-Api-Version": "2024-01-01" };

interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string;
  email_confirmed_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date | null;
}

/** The auth.users columns a UserRow holds. */
const USER_COLUMNS = ["id", "aud", "role", "email", "email_confirmed_at", "last_sign_in_at", "raw_app_meta_data",
  "raw_user_meta_data", "created_at", "updated_at"] satisfies (keyof UserRow)[];

const error = (status: number, code: string, message: string): AuthResponse => ({ status, body: { code, message }, headers: API_VERSION });

/** The user as Auth's API shows it. */
function userJson(user: UserRow) {
  return {
    id: user.id,
    aud: user.aud ?? "authenticated",
    role: user.role ?? "authenticated",
    email: user.email,
    email_confirmed_at: user.email_confirmed_at,
    confirmed_at: user.email_confirmed_at,
    phone: "",
    last_sign_in_at: user.last_sign_in_at,
    app_metadata: user.raw_app_meta_data ?? { provider: "email", providers: ["email"] },
    user_metadata: user.raw_user_meta_data ?? {},
    identities: [],
    created_at: user.created_at,
    updated_at: user.updated_at ?? user.created_at,
    is_anonymous: false,
  };
}

/** Serves Auth's password sign-in slice for `issuer` (…/auth/v1), signing with `jwtSecret`. */
export class AuthSlice {
  constructor(
    private readonly sql: postgres.Sql,
    private readonly jwtSecret: string,
    private readonly issuer: string,
  ) {}

  /** One request: `path` after /auth/v1, its query, the parsed JSON body, the Authorization header. */
  async handle(method: string, path: string, query: URLSearchParams, body: unknown, authorization: string | undefined): Promise<AuthResponse> {
    if (path === "/token" && method === "POST") return this.#token(query.get("grant_type"), body);
    if (path === "/user" && method === "GET") return this.#user(authorization);
    if (path === "/logout" && method === "POST") return this.#logout(authorization, query.get("scope") ?? "global");
    return error(404, "not_found", `the local gateway serves Supabase Auth's password sign-in only (POST /token, GET /user, POST /logout), not ${method} ${path}`);
  }

  async #token(grantType: string | null, body: unknown): Promise<AuthResponse> {
    const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    if (grantType === "password") {
      if (typeof fields.email !== "string" || typeof fields.password !== "string" || !fields.email || !fields.password) {
        return error(400, "validation_failed", "email and password are required");
      }
      const [user] = await wholeRows(this.sql<UserRow[]>`
        select ${this.sql(USER_COLUMNS)}
          from auth.users
         where lower(email) = lower(${fields.email})
           and encrypted_password = extensions.crypt(${fields.password}, encrypted_password)`);
      if (!user) return error(400, "invalid_credentials", "Invalid login credentials");
      if (!user.email_confirmed_at) return error(400, "email_not_confirmed", "Email not confirmed");
      const [signedIn] = await wholeRows(this.sql<UserRow[]>`
        update auth.users set last_sign_in_at = now(), updated_at = now() where id = ${user.id}
        returning ${this.sql(USER_COLUMNS)}`);
      const sessionId = randomUUID();
      await this.sql`insert into auth.sessions (id, user_id) values (${sessionId}, ${user.id})`;
      return this.#session(signedIn!, sessionId);
    }
    if (grantType === "refresh_token") {
      if (typeof fields.refresh_token !== "string" || !fields.refresh_token) return error(400, "validation_failed", "refresh_token is required");
      // Used up in the same statement that finds it, so two refreshes of one token cannot both win.
      const [used] = await wholeRows(this.sql<{ session_id: string; user_id: string; was_revoked: boolean }[]>`
        with found as (select id, revoked from auth.refresh_tokens where token = ${fields.refresh_token} for update)
        update auth.refresh_tokens r set revoked = true, updated_at = now()
          from found
         where r.id = found.id
        returning r.session_id, r.user_id, found.revoked as was_revoked`);
      if (!used) return error(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
      if (used.was_revoked) return error(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used");
      const [user] = await wholeRows(this.sql<UserRow[]>`
        select ${this.sql(USER_COLUMNS)}
          from auth.users where id = ${used.user_id}::uuid`);
      if (!user) return error(400, "user_not_found", "User from the refresh token no longer exists");
      return this.#session(user, used.session_id);
    }
    return error(400, "validation_failed", `unsupported grant_type ${JSON.stringify(grantType)}: the local gateway serves password and refresh_token`);
  }

  /** A new access token and refresh token for `sessionId`. */
  async #session(user: UserRow, sessionId: string): Promise<AuthResponse> {
    const now = Math.floor(Date.now() / 1000);
    const refreshToken = randomBytes(16).toString("base64url");
    await this.sql`insert into auth.refresh_tokens (token, user_id, session_id) values (${refreshToken}, ${user.id}, ${sessionId})`;
    const json = userJson(user);
    const accessToken = signJwt({
      iss: this.issuer,
      aud: "authenticated",
      sub: user.id,
      exp: now + ACCESS_TOKEN_SECONDS,
      iat: now,
      email: user.email,
      phone: "",
      app_metadata: json.app_metadata,
      user_metadata: json.user_metadata,
      role: "authenticated",
      aal: "aal1",
      amr: [{ method: "password", timestamp: now }],
      session_id: sessionId,
      is_anonymous: false,
    }, this.jwtSecret);
    return {
      status: 200,
      headers: API_VERSION,
      body: {
        access_token: accessToken,
        token_type: "bearer",
        expires_in: ACCESS_TOKEN_SECONDS,
        expires_at: now + ACCESS_TOKEN_SECONDS,
        refresh_token: refreshToken,
        user: json,
      },
    };
  }

  /** The caller's verified claims with a live session, or the answer refusing it. */
  async #caller(authorization: string | undefined): Promise<{ sub: string; sessionId?: string } | AuthResponse> {
    const token = /^Bearer (.+)$/i.exec(authorization ?? "")?.[1];
    if (!token) return error(401, "no_authorization", "This endpoint requires a Bearer token");
    let claims;
    try {
      claims = verifyJwt(token, this.jwtSecret);
    } catch (failure) {
      if (failure instanceof JwtError) return error(403, "bad_jwt", `invalid JWT: ${failure.message}`);
      throw failure;
    }
    if (typeof claims.sub !== "string") return error(403, "bad_jwt", "invalid JWT: no sub claim (an API key is not a user's token)");
    const sessionId = typeof claims.session_id === "string" ? claims.session_id : undefined;
    if (sessionId) {
      const [session] = await wholeRows(this.sql`select 1 from auth.sessions where id = ${sessionId}::uuid`);
      if (!session) return error(403, "session_not_found", "Session from session_id claim in JWT does not exist");
    }
    return { sub: claims.sub, sessionId };
  }

  async #user(authorization: string | undefined): Promise<AuthResponse> {
    const caller = await this.#caller(authorization);
    if ("status" in caller) return caller;
    const [user] = await wholeRows(this.sql<UserRow[]>`
      select ${this.sql(USER_COLUMNS)}
        from auth.users where id = ${caller.sub}::uuid`);
    if (!user) return error(403, "user_not_found", "User from sub claim in JWT does not exist");
    return { status: 200, headers: API_VERSION, body: userJson(user) };
  }

  async #logout(authorization: string | undefined, scope: string): Promise<AuthResponse> {
    if (!["global", "local", "others"].includes(scope)) return error(400, "validation_failed", `scope must be global, local or others, got ${JSON.stringify(scope)}`);
    const caller = await this.#caller(authorization);
    if ("status" in caller) return caller;
    // Deleting a session deletes its refresh tokens (on delete cascade).
    if (scope === "global" || !caller.sessionId) await this.sql`delete from auth.sessions where user_id = ${caller.sub}::uuid`;
    else if (scope === "local") await this.sql`delete from auth.sessions where id = ${caller.sessionId}::uuid`;
    else await this.sql`delete from auth.sessions where user_id = ${caller.sub}::uuid and id <> ${caller.sessionId}::uuid`;
    return { status: 204, headers: API_VERSION };
  }
}
