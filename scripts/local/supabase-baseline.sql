-- LOCAL STAND-IN (not shipped to Supabase): the slice of a hosted Supabase database that
-- leaseflow's migrations and tests rely on, for a bare Postgres cluster without Docker.
--
-- Hosted Supabase (and `supabase start`) already has all of this. It mirrors Supabase's own
-- initial schema where it matters for behaviour:
--   * the API roles anon / authenticated / service_role (service_role bypasses RLS), and
--     authenticator, the role PostgREST logs in as and switches from;
--   * DEFAULT PRIVILEGES that grant every new table and function in `public` to the API roles.
--     This is why leaseflow's migrations must REVOKE explicitly: on Supabase a table or function
--     without an explicit revoke is reachable by `anon`.
--   * schemas `extensions` and `auth` with auth.uid() / auth.role() / auth.jwt() reading the
--     claims PostgREST puts in `request.jwt.claims`, and the part of Supabase Auth's tables that
--     password sign-in uses (users with bcrypt hashes, identities, sessions, refresh tokens:
--     the gateway's auth.ts serves /auth/v1 from them), with pgcrypto for the hashes.
--
-- Idempotent: `scripts/stack up` runs it on every start, as the cluster superuser.

do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      execute format('create role %I nologin noinherit', r);
    end if;
  end loop;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
  if not exists (select 1 from pg_roles where rolname = 'supabase_admin') then
    create role supabase_admin login superuser createdb createrole replication bypassrls
      password 'postgres';
  end if;
end $$;

alter role service_role bypassrls;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;

alter database postgres set search_path = "$user", public, extensions;

create schema if not exists extensions authorization supabase_admin;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
grant usage on schema public to postgres, anon, authenticated, service_role;

alter default privileges for role postgres in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to anon, authenticated, service_role;

create schema if not exists auth authorization supabase_admin;
grant usage on schema auth to anon, authenticated, service_role;

create extension if not exists pgcrypto with schema extensions;

-- Supabase Auth's own columns, as its migrations name them (a seed written for a hosted project
-- or `supabase start` runs here unchanged). Its token columns are '' rather than null: Auth
-- reads them as strings.
create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text unique,
  created_at timestamptz not null default now()
);
alter table auth.users
  add column if not exists instance_id uuid,
  add column if not exists aud varchar(255),
  add column if not exists role varchar(255),
  add column if not exists encrypted_password varchar(255),
  add column if not exists email_confirmed_at timestamptz,
  add column if not exists last_sign_in_at timestamptz,
  add column if not exists raw_app_meta_data jsonb,
  add column if not exists raw_user_meta_data jsonb,
  add column if not exists updated_at timestamptz,
  add column if not exists confirmation_token varchar(255) default '',
  add column if not exists recovery_token varchar(255) default '',
  add column if not exists email_change_token_new varchar(255) default '',
  add column if not exists email_change varchar(255) default '';
alter table auth.users owner to supabase_admin;

create table if not exists auth.identities (
  id uuid primary key default gen_random_uuid(),
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  unique (provider_id, provider)
);
alter table auth.identities owner to supabase_admin;

create table if not exists auth.sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table auth.sessions owner to supabase_admin;

create table if not exists auth.refresh_tokens (
  id bigserial primary key,
  token varchar(255) unique,
  user_id varchar(255),
  session_id uuid references auth.sessions (id) on delete cascade,
  revoked boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table auth.refresh_tokens owner to supabase_admin;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
  )::text
$$;

alter function auth.jwt() owner to supabase_admin;
alter function auth.uid() owner to supabase_admin;
alter function auth.role() owner to supabase_admin;
grant execute on function auth.jwt(), auth.uid(), auth.role() to anon, authenticated, service_role;

-- Supabase enables pg_stat_statements in `extensions` (the stack preloads it, tracking nested
-- statements, so the functions' inner statements can be profiled).
create extension if not exists pg_stat_statements with schema extensions;
