-- LOCAL STAND-IN (not shipped to Supabase): the slice of pg_net and supabase_vault that
-- leaseflow uses, for a machine where neither extension can be installed. Hosted Supabase (and
-- `supabase start`) has the real extensions; nothing in supabase/ knows these exist.
--
-- pg_net:  net.http_post(url, body, params, headers, timeout_milliseconds) returns bigint queues
--          a request in net.http_request_queue; it is sent only after the calling transaction
--          commits (nothing is sent on rollback), by the local gateway's delivery loop
--          (scripts/local/gateway.ts, woken by NOTIFY, which Postgres delivers at commit). The
--          response lands in net._http_response. No retries, as with pg_net.
-- Vault:   vault.create_secret(new_secret, new_name, new_description) and the view
--          vault.decrypted_secrets. Secrets are stored in plain text here: a local stand-in.
--
-- Both schemas are owned by supabase_admin, like Supabase's, so `supabase db reset` keeps them.
-- Idempotent: `scripts/stack up` runs it on every start.

create schema if not exists net authorization supabase_admin;

create table if not exists net.http_request_queue (
  id bigserial primary key,
  method text not null,
  url text not null,
  headers jsonb not null,
  body bytea,
  timeout_milliseconds int not null
);

create table if not exists net._http_response (
  id bigint,
  status_code int,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);

create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds int default 5000
)
returns bigint
language plpgsql volatile
set search_path = ''
as $$
declare
  v_url text := url;
  v_id bigint;
begin
  if params is not null and params <> '{}'::jsonb then
    v_url := v_url || case when position('?' in v_url) > 0 then '&' else '?' end
      || (select string_agg(format('%s=%s', key, value), '&') from jsonb_each_text(params));
  end if;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', v_url, coalesce(headers, '{}'::jsonb), convert_to(coalesce(body, 'null'::jsonb)::text, 'UTF8'), timeout_milliseconds)
  returning id into v_id;
  -- NOTIFY is delivered when the transaction commits: the request leaves only then.
  perform pg_notify('net_http_request_queue', v_id::text);
  return v_id;
end;
$$;

alter table net.http_request_queue owner to supabase_admin;
alter table net._http_response owner to supabase_admin;
alter function net.http_post(text, jsonb, jsonb, jsonb, int) owner to supabase_admin;
grant usage on schema net to postgres, service_role;
grant select, insert, update, delete on net.http_request_queue, net._http_response to postgres, service_role;
grant usage, select on sequence net.http_request_queue_id_seq to postgres, service_role;
revoke all on function net.http_post(text, jsonb, jsonb, jsonb, int) from public;
grant execute on function net.http_post(text, jsonb, jsonb, jsonb, int) to postgres, service_role;

create schema if not exists vault authorization supabase_admin;

create table if not exists vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text unique,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create or replace view vault.decrypted_secrets as
select id, name, description, secret, secret as decrypted_secret, key_id, nonce, created_at, updated_at
  from vault.secrets;

create or replace function vault.create_secret(
  new_secret text,
  new_name text default null,
  new_description text default '',
  new_key_id uuid default null
)
returns uuid
language sql volatile
set search_path = ''
as $$
  insert into vault.secrets (secret, name, description, key_id)
  values (new_secret, new_name, coalesce(new_description, ''), new_key_id)
  returning id
$$;

create or replace function vault.update_secret(
  secret_id uuid,
  new_secret text default null,
  new_name text default null,
  new_description text default null,
  new_key_id uuid default null
)
returns void
language sql volatile
set search_path = ''
as $$
  update vault.secrets
     set secret = coalesce(new_secret, secret), name = coalesce(new_name, name),
         description = coalesce(new_description, description), key_id = coalesce(new_key_id, key_id),
         updated_at = now()
   where id = secret_id
$$;

alter table vault.secrets owner to supabase_admin;
alter view vault.decrypted_secrets owner to supabase_admin;
alter function vault.create_secret(text, text, text, uuid) owner to supabase_admin;
alter function vault.update_secret(uuid, text, text, text, uuid) owner to supabase_admin;
grant usage on schema vault to postgres, service_role;
grant select, insert, update, delete on vault.secrets to postgres, service_role;
grant select on vault.decrypted_secrets to postgres, service_role;
revoke all on function vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid) from public;
grant execute on function vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid) to postgres, service_role;
