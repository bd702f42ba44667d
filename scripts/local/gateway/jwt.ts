// LOCAL STAND-IN: HS256 JSON Web Tokens, as Supabase's API gateway and PostgREST check them.
import { createHmac, timingSafeEqual } from "node:crypto";

/** The JWT secret of `supabase start` (Supabase CLI's documented local default). */
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

/** The claims leaseflow cares about. */
export interface JwtClaims {
  role: string;
  sub?: string;
  exp?: number;
  [claim: string]: unknown;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

/** Signs claims with HS256. */
export function signJwt(claims: JwtClaims, secret: string): string {
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

/** Why a token was refused, in PostgREST's words (PGRST301 invalid, PGRST303 expired). */
export class JwtError extends Error {
  constructor(readonly code: "PGRST301" | "PGRST303", message: string) {
    super(message);
  }
}

/** Verifies an HS256 token and its expiry; returns its claims. */
export function verifyJwt(token: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): JwtClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwtError("PGRST301", "Expected 3 parts in JWT; got " + parts.length);
  const [header, payload, signature] = parts as [string, string, string];
  let alg: unknown;
  let claims: JwtClaims;
  try {
    alg = JSON.parse(Buffer.from(header, "base64url").toString()).alg;
    claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  } catch {
    throw new JwtError("PGRST301", "JWT cryptographic operation failed");
  }
  if (alg !== "HS256") throw new JwtError("PGRST301", `Wrong or unsupported encoding algorithm ${String(alg)}`);
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new JwtError("PGRST301", "JWT cryptographic operation failed");
  }
  if (typeof claims.exp === "number" && claims.exp <= nowSeconds) throw new JwtError("PGRST303", "JWT expired");
  if (typeof claims.role !== "string") throw new JwtError("PGRST301", "JWT has no role claim");
  return claims;
}

/** The API key of a role as `supabase start` issues it (same claims, so the same token). */
export function localApiKey(role: "anon" | "service_role", secret = LOCAL_JWT_SECRET): string {
  return signJwt({ iss: "supabase-demo", role, exp: 1983812996 }, secret);
}
