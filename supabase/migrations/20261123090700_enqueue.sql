-- leaseflow: enqueue_job / enqueue_jobs, one code path (_enqueue) for one job or 50 000.
--
-- p_options (every key optional):
--   priority      1..5, higher first [the type's priority]
--   run_at        ISO 8601 timestamp, from 1 year ago to 10 years ahead: not started before
--                 then [now]
--   group_key     jobs sharing a key (per tenant) run in enqueue order under the type's
--                 concurrency / rate limit
--   dedupe_key    an unfinished job of the same type and tenant with this key is returned
--                 instead of creating another (also between elements of one batch)
--   max_attempts  1..100 [the type's max_attempts]
--   tenant_id     uuid; service_role only (authenticated callers are always their own tenant)
--   group_keys, dedupe_keys   (enqueue_jobs only) one entry per payload, null for none
-- Limits: at most 50 000 payloads per call; each payload a JSON object of at most 256 KiB; at
-- most 1 000 distinct group keys per call.
-- All or nothing: any bad element raises before anything is written.

-- p_count time-ordered ids (uuid version 7 layout): the current millisecond, then the id's
-- place in the batch, then 48 bits of random(). Ids of one batch increase, so primary keys grow
-- at their right edge instead of at random pages; and random() is far cheaper than
-- gen_random_uuid() (2.5 µs a call on the 2-core CI box). One call per batch, because a call
-- per row of a function with its own settings costs ~6 µs (it cannot be inlined); plpgsql (see
-- _lane_tenant).
-- Ids are identifiers, not secrets: access is decided by grants, RLS and tenant checks.
-- Its plan is made once: planned for each p_count (the default for plpgsql here, as a custom
-- plan looks cheaper), it was planned on every enqueue.
create or replace function public._new_ids(p_count int)
returns uuid[]
language plpgsql volatile
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
begin
  return array(
    select (lpad(to_hex(ms.value), 12, '0')
            || '7' || lpad(to_hex((g >> 14) & 4095), 3, '0')
            || to_hex(8 + ((g >> 12) & 3)) || lpad(to_hex(g & 4095), 3, '0')
            || lpad(to_hex((random() * 281474976710655)::bigint), 12, '0'))::uuid
      from (select (extract(epoch from clock_timestamp()) * 1000)::bigint as value) ms,
           generate_series(1, p_count) g
     order by g);
end;
$$;

-- work_mem: the insert takes the batch in payload order, and a sort of 50 000 rows in the
-- default 4 MB spilled to disk (~60 ms of 600).
create or replace function public._enqueue(p_function text, p_type text, p_payloads jsonb, p_options jsonb, p_batch boolean)
returns uuid[]
language plpgsql volatile
set search_path = ''
set work_mem = '64MB'
as $$
declare
  fn constant text := p_function;
  c_max_batch constant int := 50000;
  -- Each key's lane is locked until the call commits, and a lock takes a slot of the server's
  -- shared lock table (max_locks_per_transaction × max_connections slots, about 6 400 on a
  -- 100-connection server): 50 000 keys in one call failed with "out of shared memory", and
  -- a call that fills the table makes every other session's next lock fail the same way.
  c_max_lanes constant int := 1000;
  c_max_payload_bytes constant int := 262144;
  c_max_payload_depth constant int := 64;
  -- Parsed once here: written in the query, format()'s result was parsed again for each payload.
  c_too_deep constant jsonpath := format('strict $.**{%s}', c_max_payload_depth + 1)::jsonpath;
  v_type public.job_types;
  v_count int;
  v_bad_index int;
  v_bad jsonb;
  v_bad_bytes int;
  v_bad_element text;
  v_payload_name text := case when p_batch then 'p_payloads' else 'p_payload' end;
  v_tenant uuid;
  v_priority int;
  v_max_attempts int;
  v_run_at timestamptz := now();
  v_group_keys text[];
  v_dedupe_keys text[];
  v_lanes text[];
  v_ids uuid[];
  v_step_ids uuid[];
  v_first_group text[];
  v_own_step boolean;
  v_step_count int;
  v_queue_rank smallint;
  v_first_turn_at timestamptz;
  v_started int;
  v_first_of_key boolean[];
  v_lane text;
  v_result uuid[];
begin
  if p_type is null then
    raise exception '%: p_type must not be null', fn using errcode = 'null_value_not_allowed';
  end if;
  select * into v_type from public.job_types t where t.type = p_type;
  if not found then
    raise exception '%: unknown job type %; define it first with define_job_type()', fn, quote_literal(left(p_type, 100))
      using errcode = 'invalid_parameter_value';
  end if;

  -- Payloads -----------------------------------------------------------------------------
  if p_payloads is null then
    raise exception '%: % must not be null', fn, v_payload_name using errcode = 'null_value_not_allowed';
  end if;
  if p_batch then
    if jsonb_typeof(p_payloads) <> 'array' or jsonb_array_length(p_payloads) = 0 then
      raise exception '%: p_payloads must be a non-empty JSON array of payload objects, got %', fn, public._json_preview(p_payloads)
        using errcode = 'invalid_parameter_value';
    end if;
    v_count := jsonb_array_length(p_payloads);
    if v_count > c_max_batch then
      raise exception '%: p_payloads has % elements; the maximum is %', fn, v_count, c_max_batch
        using errcode = 'invalid_parameter_value';
    end if;
  else
    v_count := 1;
  end if;

  -- One pass finds the first bad element; the error then names the rule it broke. Nesting is
  -- checked too, at most 64 levels: a payload 10 000 levels deep is stored fine but breaks
  -- whoever reads it later (a recursive JSON.stringify overflows its stack, and a worker's whole
  -- claim fails with it). The walk reads the jsonb as stored (~15 ms for 50 000 small payloads);
  -- filtering on a count of opening brackets in the text first cost ~150 ms more. One pass, not
  -- one a rule: each pass takes the 50 000 elements out of the array again (~20 ms).
  select e.ordinality - 1, e.value into v_bad_index, v_bad
    from jsonb_array_elements(p_payloads) with ordinality e
   where jsonb_typeof(e.value) <> 'object'
      or octet_length(e.value::text) > c_max_payload_bytes
      or jsonb_path_exists(e.value, c_too_deep)
   order by e.ordinality
   limit 1;
  if found then
    v_bad_element := case when p_batch then format('p_payloads[%s]', v_bad_index) else 'p_payload' end;
    if jsonb_typeof(v_bad) <> 'object' then
      raise exception '%: % must be a JSON object, got %', fn, v_bad_element, public._json_preview(v_bad)
        using errcode = 'invalid_parameter_value';
    end if;
    v_bad_bytes := octet_length(v_bad::text);
    if v_bad_bytes > c_max_payload_bytes then
      -- PT413: PostgREST answers 413 Payload Too Large (a 54xxx code would be a 500).
      raise exception '%: % is % bytes of JSON; the maximum is % (256 KiB)', fn, v_bad_element, v_bad_bytes, c_max_payload_bytes
        using errcode = 'PT413';
    end if;
    raise exception '%: % holds values nested more than % levels deep; the maximum is % (a value of the payload object is level 1)', fn,
      v_bad_element, c_max_payload_depth, c_max_payload_depth
      using errcode = 'invalid_parameter_value';
  end if;

  -- Options ------------------------------------------------------------------------------
  if p_options is null then
    raise exception '%: p_options must not be null (pass ''{}'' for the defaults)', fn using errcode = 'null_value_not_allowed';
  end if;
  perform public._require_known_keys(fn, 'p_options', p_options,
    case when p_batch
      then array['priority', 'run_at', 'group_key', 'group_keys', 'dedupe_key', 'dedupe_keys', 'max_attempts', 'tenant_id']
      else array['priority', 'run_at', 'group_key', 'dedupe_key', 'max_attempts', 'tenant_id'] end);

  v_tenant := public._caller_tenant(fn);
  if p_options ? 'tenant_id' then
    if v_tenant is not null then
      raise exception '%: p_options.tenant_id may only be set by service_role; your jobs always belong to you', fn
        using errcode = 'insufficient_privilege';
    end if;
    begin
      v_tenant := (public._json_text(fn, 'p_options.tenant_id', p_options -> 'tenant_id', 36))::uuid;
    exception when invalid_text_representation then
      raise exception '%: p_options.tenant_id must be a uuid, got %', fn, public._json_preview(p_options -> 'tenant_id')
        using errcode = 'invalid_parameter_value';
    end;
  end if;

  v_priority := case when p_options ? 'priority'
    then public._json_int(fn, 'p_options.priority', p_options -> 'priority', 1, 5) else v_type.priority end;
  if p_options ? 'max_attempts' then
    v_max_attempts := public._json_int(fn, 'p_options.max_attempts', p_options -> 'max_attempts', 1, 100);
  end if;
  if p_options ? 'run_at' then
    v_run_at := public._json_timestamptz(fn, 'p_options.run_at', p_options -> 'run_at');
    -- Finite and near: 'infinity' never runs and breaks every age and wait computed from it.
    if v_run_at not between now() - interval '1 year' and now() + interval '10 years' then
      raise exception '%: p_options.run_at must be from 1 year ago to 10 years ahead, got %', fn, public._json_preview(p_options -> 'run_at')
        using errcode = 'invalid_parameter_value';
    end if;
  end if;
  v_group_keys := public._enqueue_keys(fn, 'group', p_options, v_count);
  v_dedupe_keys := public._enqueue_keys(fn, 'dedupe', p_options, v_count);
  v_lanes := array(select distinct k from unnest(v_group_keys) k where k is not null order by k);
  if cardinality(v_lanes) > c_max_lanes then
    raise exception '%: p_options.group_keys holds % distinct keys; the maximum is % per call (each key''s lane stays locked until the call commits): split the batch',
      fn, cardinality(v_lanes), c_max_lanes using errcode = 'invalid_parameter_value';
  end if;

  -- Write --------------------------------------------------------------------------------
  -- Lanes first (sorted), as every multi-row transition does: lane → job → steps.
  foreach v_lane in array v_lanes loop
    perform public._lock_lane(v_tenant, v_lane, true);
  end loop;

  -- Jobs that may start now get their first group's steps in the same statement; the others
  -- get them when they start (_start_jobs).
  v_first_group := array(select n.name from jsonb_array_elements_text(v_type.steps -> 0) with ordinality n(name, o) order by n.o);
  v_ids := public._new_ids(v_count);
  select q.queue_rank, q.first_turn_at into v_queue_rank, v_first_turn_at
    from public._queue_turn(v_tenant, v_priority::smallint) q;
  v_own_step := public._runs_on_job_row(v_type.steps);
  -- Jobs that are their own step and start now wait in jobs_claimable_idx from their first turn
  -- on: the claim floor must not be past it (see claim_floor).
  if v_own_step and v_run_at <= now() then
    perform public._lower_claim_floor(array[v_queue_rank], array[coalesce(v_first_turn_at, v_run_at)]);
  end if;
  -- As _create_next_steps sets it: the steps the job runs on its row, null for one.
  v_step_count := case when v_own_step then nullif(jsonb_array_length(v_type.steps), 1) end;
  if not v_own_step then
    v_step_ids := public._new_ids(v_count * cardinality(v_first_group));
  end if;

  -- Inside one batch, the first element with a dedupe key creates the job; the later ones match
  -- it. Worked out only when there are dedupe keys (a window over the whole batch otherwise).
  if exists (select 1 from unnest(v_dedupe_keys) k where k is not null) then
    v_first_of_key := array(
      select k is null or row_number() over (partition by k order by o) = 1
        from unnest(v_dedupe_keys) with ordinality u(k, o)
       order by o);
  end if;

  -- ROWS FROM zips the arrays in one pass: subscripting them per row (v_keys[i]) would cost
  -- O(n) per access for arrays holding nulls, O(n²) per batch (8.8 s for 50 000 measured).
  with input as (
    select i.ord::int as ord, i.payload, i.id, i.group_key, i.dedupe_key, i.first_of_key
      from rows from (jsonb_array_elements(p_payloads), unnest(v_ids), unnest(v_group_keys), unnest(v_dedupe_keys),
                      unnest(v_first_of_key))
           with ordinality as i(payload, id, group_key, dedupe_key, first_of_key, ord)
  ), new_jobs as (
    insert into public.jobs (id, type, status, payload, priority, run_at, group_key, dedupe_key, tenant_id,
                             max_attempts, started_at, step_name, step_count, queue_rank, queue_at)
    select i.id, p_type,
           case when i.group_key is null and v_run_at <= now() then 'running' else 'pending' end,
           i.payload, v_priority, v_run_at, i.group_key, i.dedupe_key, v_tenant, v_max_attempts,
           case when i.group_key is null and v_run_at <= now() then now() end,
           -- A job that is its own step and starts now joins the claim queue here, on its payload's
           -- turn: a deduplicated payload leaves its turn unused (a window numbering only the new
           -- jobs sorted the batch once more, ~50 ms for 50 000).
           case when v_own_step then v_first_group[1] end,
           v_step_count,
           case when v_own_step and i.group_key is null and v_run_at <= now() then v_queue_rank else 0 end,
           case when v_own_step and i.group_key is null and v_run_at <= now()
                then coalesce(v_first_turn_at + (i.ord - 1) * interval '1 microsecond', v_run_at) end
      from input i
     where i.dedupe_key is null or i.first_of_key
     order by i.ord
        on conflict (type, public._lane_tenant(tenant_id), dedupe_key)
           where dedupe_key is not null and status in ('pending', 'running')
        do nothing
    returning id, status, run_at, enqueue_order
  ), first_steps as (
    -- One turn per job in the claim queue (its parallel steps share it): see _queue_turn.
    insert into public.job_steps (id, job_id, seq, name, max_attempts, priority, run_at, tenant_id, queue_rank, queue_at)
    select v_step_ids[f.n], f.job_id, 0, f.name, coalesce(v_max_attempts, v_type.max_attempts), v_priority, f.run_at,
           v_tenant, v_queue_rank,
           coalesce(v_first_turn_at + ((f.n - 1) / cardinality(v_first_group)) * interval '1 microsecond', f.run_at)
      from (select j.id as job_id, j.run_at, n.name, row_number() over (order by j.enqueue_order, n.o) as n
              from new_jobs j
             cross join unnest(v_first_group) with ordinality as n(name, o)
             where j.status = 'running' and not v_own_step) f
     order by f.n
    returning 1
  )
  select count(*) into v_started from new_jobs where new_jobs.status = 'running';

  foreach v_lane in array v_lanes loop
    v_started := v_started + public._advance_lane(v_tenant, v_lane);
  end loop;

  -- Claimable work appeared: wake workers now rather than at the next tick (_kick_workers).
  if v_started > 0 then
    perform public._kick_workers();
  end if;

  if v_first_of_key is null then
    return v_ids;
  end if;
  -- With dedupe keys, a position maps to the job it created or to the unfinished job it matched.
  select array_agg(coalesce(created.id, matched.id) order by i.ord) into v_result
    from unnest(v_ids, v_dedupe_keys) with ordinality as i(id, dedupe_key, ord)
    left join public.jobs created on created.id = i.id
    left join public.jobs matched
      on created.id is null
     and matched.type = p_type
     and public._lane_tenant(matched.tenant_id) = public._lane_tenant(v_tenant)
     and matched.dedupe_key = i.dedupe_key
     and matched.status in ('pending', 'running');
  if array_position(v_result, null) is not null then
    -- The matched job finished between our insert and this lookup: ask the caller to retry.
    raise exception '%: a job with dedupe_key % finished while this call ran; retry the call', fn,
      quote_literal(v_dedupe_keys[array_position(v_result, null)]) using errcode = 'serialization_failure';
  end if;
  return v_result;
end;
$$;

-- Per-payload keys for one batch: p_options.<kind>_key (the same for all), or
-- p_options.<kind>_keys (one entry per payload, null for none), or null when there are none
-- (ROWS FROM pads an unnest of null with nulls; an array of 50 000 nulls took ~20 ms to build
-- and read).
create or replace function public._enqueue_keys(p_function text, p_kind text, p_options jsonb, p_count int)
returns text[]
language plpgsql immutable
set search_path = ''
as $$
declare
  v_single text := p_kind || '_key';
  v_many text := p_kind || '_keys';
  v_keys text[];
  v_element jsonb;
  v_index int;
begin
  if p_options ? v_single and p_options ? v_many then
    raise exception '%: p_options.% and p_options.% exclude each other', p_function, v_single, v_many
      using errcode = 'invalid_parameter_value';
  end if;
  if p_options ? v_single and jsonb_typeof(p_options -> v_single) <> 'null' then
    return array_fill(public._json_text(p_function, 'p_options.' || v_single, p_options -> v_single, 200), array[p_count]);
  end if;
  if not (p_options ? v_many) or jsonb_typeof(p_options -> v_many) = 'null' then
    return null;
  end if;
  if jsonb_typeof(p_options -> v_many) <> 'array' or jsonb_array_length(p_options -> v_many) <> p_count then
    raise exception '%: p_options.% must be an array with one entry per payload (%), got %',
      p_function, v_many, p_count, public._json_preview(p_options -> v_many) using errcode = 'invalid_parameter_value';
  end if;
  select e.ordinality::int - 1, e.value into v_index, v_element
    from jsonb_array_elements(p_options -> v_many) with ordinality e
   where jsonb_typeof(e.value) <> 'null'
     and (jsonb_typeof(e.value) <> 'string' or btrim(e.value #>> '{}') = '' or length(e.value #>> '{}') > 200)
   order by e.ordinality
   limit 1;
  if found then
    perform public._json_text(p_function, format('p_options.%s[%s]', v_many, v_index), v_element, 200);
  end if;
  v_keys := array(select e.value #>> '{}'
                    from jsonb_array_elements(p_options -> v_many) with ordinality e
                   order by e.ordinality);
  return v_keys;
end;
$$;

-- The entry points take the caller's enqueue tokens first, so a refused call does no work.
create or replace function public.enqueue_jobs(p_type text, p_payloads jsonb, p_options jsonb default '{}')
returns setof uuid
language plpgsql volatile
security definer
set search_path = ''
as $$
begin
  perform public._take_enqueue_tokens('enqueue_jobs',
    case when jsonb_typeof(p_payloads) = 'array' then jsonb_array_length(p_payloads) else 0 end);
  return query select unnest(public._enqueue('enqueue_jobs', p_type, p_payloads, p_options, true));
end;
$$;

comment on function public.enqueue_jobs(text, jsonb, jsonb) is
  'Enqueues one job per element of p_payloads (at most 50 000) atomically; returns their ids in payload order (a deduplicated element returns the matched job''s id).';

create or replace function public.enqueue_job(p_type text, p_payload jsonb default '{}', p_options jsonb default '{}')
returns public.jobs
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_id uuid;
  v_job public.jobs;
begin
  perform public._take_enqueue_tokens('enqueue_job', 1);
  -- Two statements: a query cannot see rows that a function it calls inserted.
  v_id := (public._enqueue('enqueue_job', p_type, jsonb_build_array(p_payload), p_options, false))[1];
  select * into v_job from public.jobs j where j.id = v_id;
  return v_job;
end;
$$;

comment on function public.enqueue_job(text, jsonb, jsonb) is
  'Enqueues one job of type p_type with p_payload; returns it (or the unfinished job its dedupe_key matched).';

revoke all on function
  public._new_ids(int),
  public._enqueue(text, text, jsonb, jsonb, boolean),
  public._enqueue_keys(text, text, jsonb, int)
  from public, anon, authenticated, service_role;
revoke all on function
  public.enqueue_jobs(text, jsonb, jsonb),
  public.enqueue_job(text, jsonb, jsonb)
  from public, anon;
grant execute on function
  public.enqueue_jobs(text, jsonb, jsonb),
  public.enqueue_job(text, jsonb, jsonb)
  to authenticated, service_role;
