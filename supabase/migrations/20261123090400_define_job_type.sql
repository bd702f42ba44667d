-- leaseflow: define_job_type(p_type, p_steps, p_options) creates or replaces a job type.
--
-- p_steps: ordered step names; a nested array is a group whose steps run in parallel,
--   e.g. '["send_email", "analyze", ["notify_crm", "tag"], "take_action"]'.
-- p_options (every key optional, defaults in brackets):
--   max_attempts   attempts per step, 1..100 [3]
--   backoff        {base [''1 second''], max [''1 hour''], jitter 0..1 [0.2]}: the retry delay is
--                  base * 2^(attempt - 1), spread by ±jitter, capped at max
--   timeout        how long one attempt of a step may run, at most 24 days [''5 minutes'']
--   priority       default priority of the type's jobs, 1..5, higher first [3]
--   concurrency    jobs of one group key running at once, 1..1000 [1]
--   rate_limit     {max, per}: at most max jobs of one group key start per window `per` [none]
-- The steps of a type with unfinished jobs cannot change (PT409); its options can.

create or replace function public.define_job_type(p_type text, p_steps jsonb, p_options jsonb default '{}')
returns void
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  fn constant text := 'define_job_type';
  v_groups jsonb := '[]'::jsonb;
  v_group jsonb;
  v_element jsonb;
  v_index int;
  v_name_index int;
  v_name jsonb;
  v_seen text[] := '{}'::text[];
  v_backoff jsonb;
  v_rate jsonb;
  v_max_attempts int := 3;
  v_backoff_base interval := interval '1 second';
  v_backoff_max interval := interval '1 hour';
  v_backoff_jitter numeric := 0.2;
  v_timeout interval := interval '5 minutes';
  v_priority int := 3;
  v_concurrency int := 1;
  v_rate_max int;
  v_rate_per interval;
  v_unfinished bigint;
begin
  if p_type is null then
    raise exception '%: p_type must not be null', fn using errcode = 'null_value_not_allowed';
  end if;
  if p_type !~ '^[A-Za-z][A-Za-z0-9_.:-]{0,99}$' then
    raise exception '%: p_type must start with a letter and contain only letters, digits and _ . : - (at most 100 characters), got %',
      fn, quote_literal(left(p_type, 100)) using errcode = 'invalid_parameter_value';
  end if;
  if p_steps is null then
    raise exception '%: p_steps must not be null', fn using errcode = 'null_value_not_allowed';
  end if;
  if jsonb_typeof(p_steps) <> 'array' or jsonb_array_length(p_steps) = 0 then
    raise exception '%: p_steps must be a non-empty JSON array of step names, got %', fn, public._json_preview(p_steps)
      using errcode = 'invalid_parameter_value';
  end if;
  if jsonb_array_length(p_steps) > 100 then
    raise exception '%: p_steps has % groups; the maximum is 100', fn, jsonb_array_length(p_steps)
      using errcode = 'invalid_parameter_value';
  end if;

  for v_element, v_index in
    select e.value, e.ordinality - 1 from jsonb_array_elements(p_steps) with ordinality e
  loop
    if jsonb_typeof(v_element) = 'string' then
      v_group := jsonb_build_array(v_element);
    elsif jsonb_typeof(v_element) = 'array' and jsonb_array_length(v_element) > 0 then
      v_group := v_element;
    else
      raise exception '%: p_steps[%] must be a step name or a non-empty array of step names, got %',
        fn, v_index, public._json_preview(v_element) using errcode = 'invalid_parameter_value';
    end if;
    for v_name, v_name_index in
      select n.value, n.ordinality - 1 from jsonb_array_elements(v_group) with ordinality n
    loop
      if jsonb_typeof(v_name) is distinct from 'string' or (v_name #>> '{}') !~ '^[A-Za-z][A-Za-z0-9_.-]{0,99}$' then
        raise exception '%: p_steps[%]% must be a step name (a letter, then letters, digits, _ . -; at most 100 characters), got %',
          fn, v_index, case when jsonb_typeof(v_element) = 'array' then format('[%s]', v_name_index) else '' end,
          public._json_preview(v_name) using errcode = 'invalid_parameter_value';
      end if;
      if (v_name #>> '{}') = any (v_seen) then
        raise exception '%: p_steps names step % twice; step names must be unique within a job type',
          fn, quote_literal(v_name #>> '{}') using errcode = 'invalid_parameter_value';
      end if;
      v_seen := v_seen || (v_name #>> '{}');
    end loop;
    v_groups := v_groups || jsonb_build_array(v_group);
  end loop;

  if p_options is null then
    raise exception '%: p_options must not be null (pass ''{}'' for the defaults)', fn using errcode = 'null_value_not_allowed';
  end if;
  perform public._require_known_keys(fn, 'p_options', p_options,
    array['max_attempts', 'backoff', 'timeout', 'priority', 'concurrency', 'rate_limit']);

  if p_options ? 'max_attempts' then
    v_max_attempts := public._json_int(fn, 'p_options.max_attempts', p_options -> 'max_attempts', 1, 100);
  end if;
  if p_options ? 'backoff' then
    v_backoff := p_options -> 'backoff';
    perform public._require_known_keys(fn, 'p_options.backoff', v_backoff, array['base', 'max', 'jitter']);
    if v_backoff ? 'base' then
      v_backoff_base := public._json_interval(fn, 'p_options.backoff.base', v_backoff -> 'base');
    end if;
    if v_backoff ? 'max' then
      v_backoff_max := public._json_interval(fn, 'p_options.backoff.max', v_backoff -> 'max');
    end if;
    if v_backoff ? 'jitter' then
      v_backoff_jitter := public._json_fraction(fn, 'p_options.backoff.jitter', v_backoff -> 'jitter');
    end if;
    if v_backoff_max < v_backoff_base then
      raise exception '%: p_options.backoff.max (%) must not be shorter than p_options.backoff.base (%)',
        fn, v_backoff_max, v_backoff_base using errcode = 'invalid_parameter_value';
    end if;
  end if;
  if p_options ? 'timeout' then
    v_timeout := public._json_interval(fn, 'p_options.timeout', p_options -> 'timeout');
    -- Workers time a step with a JavaScript timer, which holds at most 2^31 - 1 ms (24.8 days);
    -- a longer one fires at once, failing every attempt.
    if v_timeout > interval '24 days' then
      raise exception '%: p_options.timeout must be at most 24 days (a JavaScript timer holds at most 2^31 - 1 ms), got %',
        fn, public._json_preview(p_options -> 'timeout') using errcode = 'invalid_parameter_value';
    end if;
  end if;
  if p_options ? 'priority' then
    v_priority := public._json_int(fn, 'p_options.priority', p_options -> 'priority', 1, 5);
  end if;
  if p_options ? 'concurrency' then
    v_concurrency := public._json_int(fn, 'p_options.concurrency', p_options -> 'concurrency', 1, 1000);
  end if;
  if p_options ? 'rate_limit' then
    v_rate := p_options -> 'rate_limit';
    perform public._require_known_keys(fn, 'p_options.rate_limit', v_rate, array['max', 'per']);
    if not (v_rate ? 'max' and v_rate ? 'per') then
      raise exception '%: p_options.rate_limit needs both max and per, got %', fn, public._json_preview(v_rate)
        using errcode = 'invalid_parameter_value';
    end if;
    v_rate_max := public._json_int(fn, 'p_options.rate_limit.max', v_rate -> 'max', 1, 1000000);
    v_rate_per := public._json_interval(fn, 'p_options.rate_limit.per', v_rate -> 'per');
  end if;

  -- Unfinished jobs create their later groups from this definition as they go: changing the
  -- steps under them would run steps their workflow never had.
  if exists (select 1 from public.job_types t where t.type = p_type and t.steps <> v_groups) then
    -- Neither held nor queued (jobs_unfinished_type_idx); held (jobs_lease_idx: only jobs in
    -- flight, so few); queued, each its own step (jobs_claimable_idx: the type's own queue).
    select (select count(*) from public.jobs j
             where j.type = p_type and j.finished_at is null and j.locked_by is null and j.queue_at is null)
           + (select count(*) from public.jobs j where j.lease_expires_at is not null and j.type = p_type)
           + (select count(*) from public.jobs j
               where j.status = 'running' and j.locked_by is null and j.queue_at is not null and j.type = p_type)
      into v_unfinished;
    if v_unfinished > 0 then
      raise exception '%: job type % has % unfinished jobs, so its steps cannot change (its options can); wait for them or define a new type',
        fn, quote_literal(p_type), v_unfinished using errcode = 'PT409';
    end if;
  end if;

  insert into public.job_types as t (
    type, steps, max_attempts, backoff_base, backoff_max, backoff_jitter, step_timeout, priority,
    group_concurrency, group_rate_limit, group_rate_interval)
  values (
    p_type, v_groups, v_max_attempts, v_backoff_base, v_backoff_max, v_backoff_jitter, v_timeout, v_priority,
    v_concurrency, v_rate_max, v_rate_per)
  on conflict (type) do update set
    steps = excluded.steps,
    max_attempts = excluded.max_attempts,
    backoff_base = excluded.backoff_base,
    backoff_max = excluded.backoff_max,
    backoff_jitter = excluded.backoff_jitter,
    step_timeout = excluded.step_timeout,
    priority = excluded.priority,
    group_concurrency = excluded.group_concurrency,
    group_rate_limit = excluded.group_rate_limit,
    group_rate_interval = excluded.group_rate_interval,
    updated_at = now();
end;
$$;

comment on function public.define_job_type(text, jsonb, jsonb) is
  'Creates or replaces a job type: its ordered step groups and its options (attempts, backoff, timeout, priority, per-key concurrency and rate limit).';

revoke all on function public.define_job_type(text, jsonb, jsonb) from public, anon, authenticated;
grant execute on function public.define_job_type(text, jsonb, jsonb) to service_role;
