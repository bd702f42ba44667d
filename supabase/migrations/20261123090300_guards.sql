-- leaseflow: argument guards and option parsers shared by every public function.
--
-- One message shape everywhere: "<function>: <argument or option path> must <rule>, got <value>"
-- with the value truncated. Null arguments raise 22004 (null_value_not_allowed), other bad
-- values 22023 (invalid_parameter_value); PostgREST answers both with HTTP 400. Not-found and
-- wrong-state errors use PostgREST's PTxyz codes (HTTP xyz): PT404, PT409.
-- These helpers are internal: only the leaseflow functions (running as their owner) call them.

-- A JSON value for an error message: compact, at most 100 characters.
create or replace function public._json_preview(p_value jsonb)
returns text
language sql immutable
set search_path = ''
as $$
  select case
    when p_value is null then 'null'
    when length(p_value::text) > 100 then left(p_value::text, 97) || '...'
    else p_value::text
  end
$$;

create or replace function public._require_worker_id(p_function text, p_worker_id text)
returns void
language plpgsql immutable
set search_path = ''
as $$
begin
  if p_worker_id is null then
    raise exception '%: p_worker_id must not be null', p_function
      using errcode = 'null_value_not_allowed';
  end if;
  if btrim(p_worker_id) = '' then
    raise exception '%: p_worker_id must be a non-empty string, got %', p_function, quote_literal(p_worker_id)
      using errcode = 'invalid_parameter_value';
  end if;
end;
$$;

create or replace function public._require_positive_lease(p_function text, p_lease_duration interval)
returns void
language plpgsql immutable
set search_path = ''
as $$
begin
  if p_lease_duration is null then
    raise exception '%: p_lease_duration must not be null', p_function
      using errcode = 'null_value_not_allowed';
  end if;
  if p_lease_duration <= interval '0' then
    raise exception '%: p_lease_duration must be positive, got %', p_function, quote_literal(p_lease_duration::text)
      using errcode = 'invalid_parameter_value';
  end if;
end;
$$;

-- For a uuid argument that must be given (p_step_id, p_job_id).
create or replace function public._require_id(p_function text, p_argument text, p_id uuid)
returns void
language plpgsql immutable
set search_path = ''
as $$
begin
  if p_id is null then
    raise exception '%: % must not be null', p_function, p_argument
      using errcode = 'null_value_not_allowed';
  end if;
end;
$$;

-- p_text as a uuid, or null when it is not one (for locating a bad element after a batch's cast
-- failed; each call opens a subtransaction, so it stays off the success path).
create or replace function public._uuid_or_null(p_text text)
returns uuid
language plpgsql immutable
set search_path = ''
as $$
begin
  return p_text::uuid;
exception when invalid_text_representation then
  return null;
end;
$$;

-- Options objects: unknown keys are mistakes (a typo would otherwise be silently ignored).
create or replace function public._require_known_keys(p_function text, p_path text, p_object jsonb, p_allowed text[])
returns void
language plpgsql immutable
set search_path = ''
as $$
declare
  v_unknown text;
begin
  if p_object is null or jsonb_typeof(p_object) <> 'object' then
    raise exception '%: % must be a JSON object, got %', p_function, p_path, public._json_preview(p_object)
      using errcode = 'invalid_parameter_value';
  end if;
  select k into v_unknown from jsonb_object_keys(p_object) k where k <> all (p_allowed) order by k limit 1;
  if v_unknown is not null then
    raise exception '%: %.% is not a known option (known: %)', p_function, p_path, v_unknown, array_to_string(p_allowed, ', ')
      using errcode = 'invalid_parameter_value';
  end if;
end;
$$;

create or replace function public._json_int(p_function text, p_path text, p_value jsonb, p_min int, p_max int)
returns int
language plpgsql immutable
set search_path = ''
as $$
declare
  v_number numeric;
begin
  if jsonb_typeof(p_value) = 'number' then
    v_number := (p_value::text)::numeric;
  end if;
  if v_number is null or v_number <> trunc(v_number) or v_number not between p_min and p_max then
    raise exception '%: % must be an integer from % to %, got %', p_function, p_path, p_min, p_max, public._json_preview(p_value)
      using errcode = 'invalid_parameter_value';
  end if;
  return v_number::int;
end;
$$;

create or replace function public._json_fraction(p_function text, p_path text, p_value jsonb)
returns numeric
language plpgsql immutable
set search_path = ''
as $$
declare
  v_number numeric;
begin
  if jsonb_typeof(p_value) = 'number' then
    v_number := (p_value::text)::numeric;
  end if;
  if v_number is null or v_number not between 0 and 1 then
    raise exception '%: % must be a number from 0 to 1, got %', p_function, p_path, public._json_preview(p_value)
      using errcode = 'invalid_parameter_value';
  end if;
  return v_number;
end;
$$;

-- A positive duration written as a Postgres interval string: '30 seconds', '5 minutes', '1500 ms'.
create or replace function public._json_interval(p_function text, p_path text, p_value jsonb)
returns interval
language plpgsql stable
set search_path = ''
as $$
declare
  v_interval interval;
begin
  if jsonb_typeof(p_value) = 'string' then
    begin
      v_interval := (p_value #>> '{}')::interval;
    exception when invalid_datetime_format or datetime_field_overflow or interval_field_overflow then
      v_interval := null;
    end;
  end if;
  if v_interval is null then
    raise exception '%: % must be a duration string such as ''30 seconds'', got %', p_function, p_path, public._json_preview(p_value)
      using errcode = 'invalid_parameter_value';
  end if;
  if v_interval <= interval '0' then
    raise exception '%: % must be a positive duration, got %', p_function, p_path, public._json_preview(p_value)
      using errcode = 'invalid_parameter_value';
  end if;
  return v_interval;
end;
$$;

create or replace function public._json_timestamptz(p_function text, p_path text, p_value jsonb)
returns timestamptz
language plpgsql stable
set search_path = ''
as $$
declare
  v_timestamp timestamptz;
begin
  if jsonb_typeof(p_value) = 'string' then
    begin
      v_timestamp := (p_value #>> '{}')::timestamptz;
    exception when invalid_datetime_format or datetime_field_overflow then
      v_timestamp := null;
    end;
  end if;
  if v_timestamp is null then
    raise exception '%: % must be an ISO 8601 timestamp string, got %', p_function, p_path, public._json_preview(p_value)
      using errcode = 'invalid_parameter_value';
  end if;
  return v_timestamp;
end;
$$;

-- A non-empty string of at most p_max_length characters (keys, names).
create or replace function public._json_text(p_function text, p_path text, p_value jsonb, p_max_length int)
returns text
language plpgsql immutable
set search_path = ''
as $$
begin
  if jsonb_typeof(p_value) is distinct from 'string'
     or btrim(p_value #>> '{}') = ''
     or length(p_value #>> '{}') > p_max_length then
    raise exception '%: % must be a non-empty string of at most % characters, got %', p_function, p_path, p_max_length, public._json_preview(p_value)
      using errcode = 'invalid_parameter_value';
  end if;
  return p_value #>> '{}';
end;
$$;

-- Who is calling, as PostgREST (or a direct connection) tells it: the role from the verified
-- JWT claims, else the role set with SET ROLE. Null means a direct, trusted connection.
-- plpgsql: see _lane_tenant.
create or replace function public._caller_role()
returns text
language plpgsql stable
set search_path = ''
as $$
begin
  return coalesce(
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role',
    nullif(nullif(current_setting('role', true), ''), 'none'));
end;
$$;

-- The tenant whose rows an authenticated caller may touch; null for service_role and direct
-- connections (they act for every tenant). Anyone else is refused.
create or replace function public._caller_tenant(p_function text)
returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
  v_role text := public._caller_role();
  v_uid uuid;
begin
  if v_role is null or v_role in ('service_role', 'postgres', 'supabase_admin') then
    return null;
  end if;
  if v_role = 'authenticated' then
    v_uid := (select auth.uid());
    if v_uid is null then
      raise exception '%: the JWT of an authenticated caller must carry a sub (user id)', p_function
        using errcode = 'insufficient_privilege';
    end if;
    -- The nil uuid is no user: it stands for "no tenant" (service_role's jobs) in lanes and dedupe
    -- keys (_lane_tenant), so a token carrying it would share service_role's jobs.
    if v_uid = '00000000-0000-0000-0000-000000000000'::uuid then
      raise exception '%: the JWT sub % is not a user id (the nil uuid stands for no tenant)', p_function, v_uid
        using errcode = 'insufficient_privilege';
    end if;
    return v_uid;
  end if;
  raise exception '%: role % may not call this function', p_function, v_role
    using errcode = 'insufficient_privilege';
end;
$$;

revoke all on function
  public._json_preview(jsonb),
  public._require_worker_id(text, text),
  public._require_positive_lease(text, interval),
  public._require_id(text, text, uuid),
  public._uuid_or_null(text),
  public._require_known_keys(text, text, jsonb, text[]),
  public._json_int(text, text, jsonb, int, int),
  public._json_fraction(text, text, jsonb),
  public._json_interval(text, text, jsonb),
  public._json_timestamptz(text, text, jsonb),
  public._json_text(text, text, jsonb, int),
  public._caller_role(),
  public._caller_tenant(text)
  from public, anon, authenticated, service_role;
