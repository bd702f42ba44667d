-- leaseflow: what the jobs HTTP API reads — get_job, list_jobs, group_jobs, job_stats,
-- job_events. They are SECURITY INVOKER: they run as the caller, so RLS decides what they see
-- (a user's JWT: its own tenant's jobs; service_role: everything) and they can never widen
-- access. Their JSON is the API's (camelCase), so the Edge Function only forwards it.
-- Errors: PT404 (not found), 22023 (a bad argument, naming it and the rule).

-- A job row as the API shows it, without its steps. Formats the row it is given and reads
-- nothing, so granting it to authenticated exposes nothing.
create or replace function public.job_json(p_job public.jobs)
returns jsonb
language sql immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_job.id, 'type', p_job.type, 'status', p_job.status, 'priority', p_job.priority,
    'payload', p_job.payload, 'groupKey', p_job.group_key, 'dedupeKey', p_job.dedupe_key,
    'tenantId', p_job.tenant_id, 'maxAttempts', p_job.max_attempts,
    'result', p_job.result, 'error', p_job.error, 'runAt', p_job.run_at,
    'createdAt', p_job.created_at, 'startedAt', p_job.started_at,
    'completedAt', case when p_job.status = 'completed' then p_job.finished_at end,
    'finishedAt', p_job.finished_at, 'updatedAt', p_job.updated_at)
$$;

comment on function public.job_json(public.jobs) is
  'A jobs row as the jobs API shows it (camelCase JSON, no steps).';

-- A list row: the job without its payload and result, which may be 256 KiB each (a list of 400
-- such jobs was 82 MB); their first 200 characters and their size stand in. get_job has them whole.
create or replace function public.job_summary_json(p_job public.jobs)
returns jsonb
language sql immutable
set search_path = ''
as $$
  select (public.job_json(p_job) - 'payload' - 'result')
    || jsonb_build_object(
         'payloadPreview', case when length(t.payload) > 200 then left(t.payload, 200) || '…' else t.payload end,
         'payloadBytes', octet_length(t.payload),
         'resultPreview', case when length(t.result) > 200 then left(t.result, 200) || '…' else t.result end)
    from (select p_job.payload::text as payload, p_job.result::text as result) t
$$;

comment on function public.job_summary_json(public.jobs) is
  'A jobs row as the API lists it: job_json without payload and result, with their JSON text cut to 200 characters (payloadPreview, resultPreview) and the payload''s size in bytes (payloadBytes).';

create or replace function public.get_job(p_job_id uuid)
returns jsonb
language plpgsql stable
security invoker
set search_path = ''
as $$
declare
  v_job public.jobs := public._visible_job('get_job', p_job_id);
  v_steps jsonb;
  v_queue_position int;
  v_estimated_wait interval;
begin

  -- Each step with every attempt in order; the attempt in progress, and the one that completed
  -- the step, live on the step row itself.
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', s.id, 'name', s.name, 'seq', s.seq, 'status', s.status,
           'attempt', s.attempt, 'maxAttempts', s.max_attempts, 'runAt', s.run_at,
           'startedAt', s.started_at, 'finishedAt', s.finished_at,
           'leaseExpiresAt', s.lease_expires_at, 'lockedBy', s.locked_by,
           'output', s.output, 'error', s.error,
           'attempts',
             coalesce((select jsonb_agg(jsonb_build_object(
                                'attempt', a.attempt, 'workerId', a.worker_id, 'startedAt', a.started_at,
                                'finishedAt', a.finished_at, 'outcome', a.outcome, 'error', a.error) order by a.id)
                         from public.step_attempts a where a.step_id = s.id), '[]')
             || case when s.status in ('running', 'completed') then jsonb_build_array(jsonb_build_object(
                       'attempt', s.attempt,
                       'workerId', case when s.status = 'running' then s.locked_by else s.completed_by end,
                       'startedAt', s.started_at,
                       'finishedAt', case when s.status = 'completed' then s.finished_at end,
                       'outcome', s.status, 'error', null))
                     else '[]' end)
           order by s.seq, s.step_order), '[]')
    into v_steps
    from public.all_steps s
   where s.job_id = p_job_id;

  if v_job.status in ('pending', 'running') then
    select q.queue_position, q.estimated_wait into v_queue_position, v_estimated_wait
      from public.job_queue_position(p_job_id) q;
  end if;
  return public.job_json(v_job) || jsonb_build_object(
    'queuePosition', v_queue_position,
    'estimatedWaitMs', round(extract(epoch from v_estimated_wait) * 1000),
    'steps', v_steps);
end;
$$;

comment on function public.get_job(uuid) is
  'One job with its steps and every attempt (the timeline), and its queue position while unfinished (0 once a step started).';

-- Jobs newest first (or by priority / status), filtered, a page at a time. The cursor is
-- opaque to callers: "<sort>:<sort value>:<enqueue_order>" of the page's last job, base64.
create or replace function public.list_jobs(
  p_statuses text[] default null,
  p_type text default null,
  p_group_key text default null,
  p_search text default null,
  p_sort text default 'created',
  p_direction text default 'desc',
  p_cursor text default null,
  p_limit int default 50,
  p_priorities int[] default null,
  p_created_after timestamptz default null,
  p_created_before timestamptz default null
)
returns jsonb
language plpgsql stable
security invoker
set search_path = ''
as $$
declare
  fn constant text := 'list_jobs';
  c_statuses constant text[] := array['pending', 'running', 'completed', 'failed', 'cancelled'];
  v_ascending boolean;
  v_pattern text;
  v_prefix text;
  v_cursor text[];
  v_after_key int;
  v_after_order bigint;
  v_total bigint;
  v_items jsonb;
  v_next text;
begin
  if p_limit is null or p_limit not between 1 and 500 then
    raise exception '%: p_limit must be from 1 to 500, got %', fn, coalesce(p_limit::text, 'null') using errcode = 'invalid_parameter_value';
  end if;
  if p_sort is null or p_sort not in ('created', 'priority', 'status') then
    raise exception '%: p_sort must be created, priority or status, got %', fn, coalesce(quote_literal(p_sort), 'null')
      using errcode = 'invalid_parameter_value';
  end if;
  if p_direction is null or p_direction not in ('asc', 'desc') then
    raise exception '%: p_direction must be asc or desc, got %', fn, coalesce(quote_literal(p_direction), 'null')
      using errcode = 'invalid_parameter_value';
  end if;
  if p_statuses is not null and not p_statuses <@ c_statuses then
    raise exception '%: p_statuses may only hold %, got %', fn, array_to_string(c_statuses, ', '), p_statuses
      using errcode = 'invalid_parameter_value';
  end if;
  if p_priorities is not null and (cardinality(p_priorities) = 0 or not p_priorities <@ array[1, 2, 3, 4, 5]) then
    raise exception '%: p_priorities must be null (all) or priorities from 1 to 5, got %', fn, p_priorities
      using errcode = 'invalid_parameter_value';
  end if;
  if p_created_after >= p_created_before then
    raise exception '%: p_created_after (%) must be before p_created_before (%)', fn, p_created_after, p_created_before
      using errcode = 'invalid_parameter_value';
  end if;
  if length(p_search) > 200 then
    raise exception '%: p_search is % characters; the maximum is 200', fn, length(p_search) using errcode = 'invalid_parameter_value';
  end if;
  if p_cursor is not null then
    begin
      v_cursor := regexp_match(convert_from(decode(p_cursor, 'base64'), 'utf8'), '^(created|priority|status):(-?\d{1,9}):(\d{1,18})$');
    exception when others then
      v_cursor := null;
    end;
    if v_cursor is null then
      raise exception '%: p_cursor % is not a cursor list_jobs returned', fn, quote_literal(left(p_cursor, 60))
        using errcode = 'invalid_parameter_value';
    end if;
    if v_cursor[1] <> p_sort then
      raise exception '%: p_cursor belongs to sort %, not %', fn, v_cursor[1], p_sort using errcode = 'invalid_parameter_value';
    end if;
    v_after_key := v_cursor[2]::int;
    v_after_order := v_cursor[3]::bigint;
  end if;
  v_ascending := p_direction = 'asc';
  -- ILIKE over the type and the payload's JSON text, with the user's % _ \ taken literally; an id
  -- when the search is its start, 8 characters or more (fewer would match any id holding those
  -- hex digits).
  v_prefix := replace(replace(replace(p_search, '\', '\\'), '%', '\%'), '_', '\_') || '%';
  v_pattern := '%' || v_prefix;

  select count(*) into v_total
    from public.jobs j
   where (p_statuses is null or j.status = any (p_statuses))
     and (p_type is null or j.type = p_type)
     and (p_group_key is null or j.group_key = p_group_key)
     and (p_priorities is null or j.priority = any (p_priorities))
     and (p_created_after is null or j.created_at >= p_created_after)
     and (p_created_before is null or j.created_at < p_created_before)
     and (p_search is null or (length(p_search) >= 8 and j.id::text ilike v_prefix) or j.type ilike v_pattern or j.payload::text ilike v_pattern);

  -- One row more than the page: when it comes back, there is a next page.
  with page as (
    select j as job, k.sort_key, j.enqueue_order
      from public.jobs j
     cross join lateral (select case p_sort when 'created' then 0
                                            when 'priority' then j.priority::int
                                            else array_position(c_statuses, j.status) end as sort_key) k
     where (p_statuses is null or j.status = any (p_statuses))
       and (p_type is null or j.type = p_type)
       and (p_group_key is null or j.group_key = p_group_key)
       and (p_priorities is null or j.priority = any (p_priorities))
       and (p_created_after is null or j.created_at >= p_created_after)
       and (p_created_before is null or j.created_at < p_created_before)
       and (p_search is null or (length(p_search) >= 8 and j.id::text ilike v_prefix) or j.type ilike v_pattern or j.payload::text ilike v_pattern)
       and (v_cursor is null
            or (v_ascending and (k.sort_key, j.enqueue_order) > (v_after_key, v_after_order))
            or (not v_ascending and (k.sort_key, j.enqueue_order) < (v_after_key, v_after_order)))
     order by case when v_ascending then k.sort_key end asc, case when v_ascending then j.enqueue_order end asc,
              case when not v_ascending then k.sort_key end desc, case when not v_ascending then j.enqueue_order end desc
     limit p_limit + 1
  ), numbered as (
    select page.*, row_number() over (order by
             case when v_ascending then page.sort_key end asc, case when v_ascending then page.enqueue_order end asc,
             case when not v_ascending then page.sort_key end desc, case when not v_ascending then page.enqueue_order end desc) as n
      from page
  )
  select coalesce(jsonb_agg(public.job_summary_json(numbered.job) order by numbered.n) filter (where numbered.n <= p_limit), '[]'),
         max(encode(convert_to(format('%s:%s:%s', p_sort, numbered.sort_key, numbered.enqueue_order), 'utf8'), 'base64'))
           filter (where numbered.n = p_limit and exists (select 1 from numbered more where more.n > p_limit))
    into v_items, v_next
    from numbered;
  return jsonb_build_object('items', v_items, 'total', v_total, 'nextCursor', v_next);
end;
$$;

comment on function public.list_jobs(text[], text, text, text, text, text, text, int, int[], timestamptz, timestamptz) is
  'A page of jobs as job_summary_json rows (filters: statuses, type, group key, priorities, created range, a search of the type and the payload''s text or an id''s first 8+ characters; sort: created | priority | status, asc | desc) with the total count and the cursor of the next page (null on the last).';

-- A group key's jobs by status, each list a bounded page: the first p_limit unfinished jobs in
-- queue (enqueue) order, the latest p_limit finished ones newest first; with each list's count
-- and, where it holds more, the list_jobs cursor that continues it (sort created; order asc for
-- pending and running, desc for the finished lists). Rows are job_summary_json: a key with
-- 50 000 waiting jobs answers with 50 rows and a count, not 50 000 payloads.
create or replace function public.group_jobs(p_group_key text, p_limit int default 50)
returns jsonb
language plpgsql stable
security invoker
set search_path = ''
as $$
declare
  fn constant text := 'group_jobs';
begin
  if p_group_key is null or btrim(p_group_key) = '' or length(p_group_key) > 200 then
    raise exception '%: p_group_key must be a non-empty text of at most 200 characters, got %', fn,
      coalesce(quote_literal(left(p_group_key, 60)), 'null') using errcode = 'invalid_parameter_value';
  end if;
  if p_limit is null or p_limit not between 1 and 500 then
    raise exception '%: p_limit must be from 1 to 500, got %', fn, coalesce(p_limit::text, 'null')
      using errcode = 'invalid_parameter_value';
  end if;
  return (
    select jsonb_build_object('groupKey', p_group_key)
        || jsonb_object_agg(status.name, coalesce(lists.jobs, '[]'))
        || jsonb_build_object('counts', jsonb_object_agg(status.name, coalesce(lists.total, 0)),
                              'nextCursors', jsonb_object_agg(status.name, lists.next_cursor))
      from unnest(array['pending', 'running', 'completed', 'failed', 'cancelled']) as status(name)
      cross join lateral (select status.name in ('pending', 'running') as unfinished) u
      left join lateral (
        select jsonb_agg(public.job_summary_json(page.job) order by page.n) as jobs,
               (select count(*) from public.jobs c where c.group_key = p_group_key and c.status = status.name) as total,
               -- The cursor list_jobs would return after this page's last row.
               max(encode(convert_to(format('created:0:%s', page.enqueue_order), 'utf8'), 'base64'))
                 filter (where page.n = p_limit) as next_cursor_candidate,
               count(*) as shown
          from (select j as job, j.enqueue_order,
                       row_number() over (order by case when u.unfinished then j.enqueue_order end asc,
                                                   case when not u.unfinished then j.enqueue_order end desc) as n
                  from public.jobs j
                 where j.group_key = p_group_key and j.status = status.name
                 order by case when u.unfinished then j.enqueue_order end asc,
                          case when not u.unfinished then j.enqueue_order end desc
                 limit p_limit) page
      ) lists0 on true
      cross join lateral (select lists0.jobs, lists0.total,
                                 case when lists0.total > lists0.shown then lists0.next_cursor_candidate end as next_cursor) lists);
end;
$$;

comment on function public.group_jobs(text, int) is
  'A group key''s jobs as {groupKey, pending, running, completed, failed, cancelled, counts, nextCursors}: each list the first p_limit (unfinished, queue order) or latest p_limit (finished, newest first) job_summary_json rows; a list holding more has the list_jobs cursor that continues it.';

-- Queue health as the API's GET /stats shows it: totals by status, and over recent windows the
-- average processing time, throughput, success rate, retries, lease expiries.
create or replace function public.job_stats(p_type text default null)
returns jsonb
language sql stable
security invoker
set search_path = ''
as $$
  with jobs as (
    select
      count(*) filter (where j.status = 'pending') as pending,
      count(*) filter (where j.status = 'running') as running,
      count(*) filter (where j.status = 'completed') as completed,
      count(*) filter (where j.status = 'failed') as failed,
      count(*) filter (where j.status = 'cancelled') as cancelled,
      count(*) filter (where j.status = 'completed' and j.finished_at > now() - interval '1 minute') as done_1m,
      count(*) filter (where j.status = 'completed' and j.finished_at > now() - interval '5 minutes') as done_5m,
      count(*) filter (where j.status = 'completed' and j.finished_at > now() - interval '1 hour') as done_60m,
      count(*) filter (where j.status = 'failed' and j.finished_at > now() - interval '1 hour') as failed_60m,
      min(j.created_at) filter (where j.status = 'pending') as oldest_pending
      from public.jobs j
     where p_type is null or j.type = p_type
  ), timing as (
    -- As queue_stats: wait from due to first claim, processing from there to the end, over the
    -- latest 1 000 jobs completed in the last hour (see there why not all of them).
    select avg(extract(epoch from c.first_claimed_at - greatest(j.created_at, j.run_at)) * 1000) as avg_wait_ms,
           avg(extract(epoch from j.finished_at - c.first_claimed_at) * 1000) as avg_processing_ms
      from (select j.id, j.created_at, j.run_at, j.finished_at
              from public.jobs j
             where j.status = 'completed' and j.finished_at > now() - interval '1 hour'
               and (p_type is null or j.type = p_type)
             order by j.finished_at desc
             limit 1000) j
      cross join lateral (select public.job_first_claimed_at(j.id) as first_claimed_at) c
  ), attempts as (
    select count(*) filter (where a.outcome = 'retried') as retries,
           count(*) filter (where a.outcome = 'lease_expired') as lease_expiries
      from public.step_attempts a
      join public.jobs j on j.id = a.job_id
     where a.finished_at > now() - interval '1 hour'
       and (p_type is null or j.type = p_type)
  )
  select jsonb_build_object(
    'type', p_type,
    'totals', jsonb_build_object('pending', jobs.pending, 'running', jobs.running, 'completed', jobs.completed,
                                 'failed', jobs.failed, 'cancelled', jobs.cancelled,
                                 'all', jobs.pending + jobs.running + jobs.completed + jobs.failed + jobs.cancelled),
    'avgWaitMs', round(timing.avg_wait_ms::numeric, 1),
    'avgProcessingMs', round(timing.avg_processing_ms::numeric, 1),
    'throughputPerSecond', jsonb_build_object('1m', round(jobs.done_1m / 60.0, 2), '5m', round(jobs.done_5m / 300.0, 2),
                                              '60m', round(jobs.done_60m / 3600.0, 3)),
    'completed', jsonb_build_object('1m', jobs.done_1m, '5m', jobs.done_5m, '60m', jobs.done_60m),
    'successRate', round(jobs.done_60m::numeric / nullif(jobs.done_60m + jobs.failed_60m, 0), 4),
    'retries', attempts.retries,
    'leaseExpiries', attempts.lease_expiries,
    'oldestPendingAgeMs', round(extract(epoch from now() - jobs.oldest_pending) * 1000),
    'windowMinutes', 60)
    from jobs, timing, attempts
$$;

comment on function public.job_stats(text) is
  'Totals by status; over the last hour (throughput also 1 and 5 minutes): average wait ms (due to first claim) and processing ms (first claim to finish) of the latest 1 000 jobs completed, completions per second, success rate, retries, lease expiries; the oldest pending job''s age.';

-- A job's status changes, oldest first, rebuilt from its rows (no event table on the hot path):
-- the job's pending / running / terminal moments, and each step attempt's start and outcome.
-- `id` is stable across calls, so a poller sends each event once.
create or replace function public.job_events(p_job_id uuid)
returns jsonb
language plpgsql stable
security invoker
set search_path = ''
as $$
declare
  v_job public.jobs := public._visible_job('job_events', p_job_id);
begin
  return (
    select coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
             'id', e.id, 'at', e.at, 'scope', e.scope, 'status', e.status, 'stepId', e.step_id,
             'stepName', e.step_name, 'seq', e.seq, 'attempt', e.attempt, 'error', e.error))
             -- Events of one moment (a completion that claims the job's next step in the same
             -- write) in the job's order: its start, its steps by seq and attempt, its end.
             order by e.at, e.ord = 4, e.seq nulls first, e.attempt, e.ord), '[]')
      from (
        select 'job:pending' as id, v_job.created_at as at, 0 as ord, 'job' as scope, 'pending' as status,
               null::uuid as step_id, null::text as step_name, null::int as seq, null::int as attempt, null::jsonb as error
        union all
        select 'job:running', v_job.started_at, 1, 'job', 'running', null, null, null, null, null
         where v_job.started_at is not null
        union all
        select format('step:%s:%s:running', s.id, a.attempt), a.started_at, 2, 'step', 'running', s.id, s.name, s.seq, a.attempt, null
          from public.step_attempts a join public.all_steps s on s.id = a.step_id
         where a.job_id = p_job_id and a.started_at is not null
        union all
        select format('step:%s:%s:%s', s.id, a.attempt, a.outcome), a.finished_at, 3, 'step', a.outcome, s.id, s.name, s.seq, a.attempt, a.error
          from public.step_attempts a join public.all_steps s on s.id = a.step_id
         where a.job_id = p_job_id
        union all
        -- The running attempt, and the attempt that completed its step, are the step row.
        select format('step:%s:%s:running', s.id, s.attempt), s.started_at, 2, 'step', 'running', s.id, s.name, s.seq, s.attempt, null
          from public.all_steps s
         where s.job_id = p_job_id and s.status in ('running', 'completed') and s.started_at is not null
        union all
        select format('step:%s:%s:completed', s.id, s.attempt), s.finished_at, 3, 'step', 'completed', s.id, s.name, s.seq, s.attempt, null
          from public.all_steps s
         where s.job_id = p_job_id and s.status = 'completed'
        union all
        select 'job:' || v_job.status, v_job.finished_at, 4, 'job', v_job.status, null, null, null, null, v_job.error
         where v_job.finished_at is not null
      ) e);
end;
$$;

comment on function public.job_events(uuid) is
  'A job''s status changes oldest first ({id, at, scope: job|step, status, stepId, stepName, seq, attempt, error}); step statuses are running and each attempt''s outcome.';

-- Several jobs' events in one call ({job id: events}), for the jobs API's shared event poll: one
-- query per poll for every open stream. Jobs no longer there (pruned) are left out. service_role
-- only: each stream's access was checked when it opened, with its caller's JWT (job_events).
create or replace function public.job_events_many(p_job_ids uuid[])
returns jsonb
language plpgsql stable
security invoker
set search_path = ''
as $$
begin
  if p_job_ids is null or cardinality(p_job_ids) > 10000 then
    raise exception 'job_events_many: p_job_ids must be an array of at most 10000 job ids, got %',
      coalesce(cardinality(p_job_ids)::text || ' ids', 'null') using errcode = 'invalid_parameter_value';
  end if;
  return coalesce((select jsonb_object_agg(j.id, public.job_events(j.id)) from public.jobs j where j.id = any (p_job_ids)), '{}');
end;
$$;

comment on function public.job_events_many(uuid[]) is
  'job_events of several jobs in one call, as {job id: events}; jobs that no longer exist are left out. service_role only.';

-- Completions and failures per minute over the last p_minutes (the dashboard's trend chart):
-- one row per minute, oldest first, the current minute last, minutes without any as zeros.
-- Reads as its caller (RLS: a user counts its own jobs), through the index on finished_at.
create or replace function public.job_throughput(p_minutes int default 60, p_type text default null)
returns jsonb
language plpgsql stable
security invoker
set search_path = ''
as $$
begin
  if p_minutes is null or p_minutes not between 1 and 1440 then
    raise exception 'job_throughput: p_minutes must be from 1 to 1440, got %', coalesce(p_minutes::text, 'null')
      using errcode = 'invalid_parameter_value';
  end if;
  return (
    with counted as (
      select date_trunc('minute', j.finished_at) as minute,
             count(*) filter (where j.status = 'completed') as completed,
             count(*) filter (where j.status = 'failed') as failed
        from public.jobs j
       where j.finished_at >= date_trunc('minute', now()) - (p_minutes - 1) * interval '1 minute'
         and j.status in ('completed', 'failed')
         and (p_type is null or j.type = p_type)
       group by 1
    )
    select jsonb_agg(jsonb_build_object('minute', m.minute, 'completed', coalesce(c.completed, 0), 'failed', coalesce(c.failed, 0))
                     order by m.minute)
      from generate_series(date_trunc('minute', now()) - (p_minutes - 1) * interval '1 minute', date_trunc('minute', now()),
                           interval '1 minute') m(minute)
      left join counted c on c.minute = m.minute);
end;
$$;

comment on function public.job_throughput(int, text) is
  'Jobs completed and failed per minute over the last p_minutes (1 to 1440, default 60), optionally of p_type: [{minute, completed, failed}], oldest first, zero-filled.';

revoke all on function
  public.job_throughput(int, text),
  public.job_json(public.jobs),
  public.job_summary_json(public.jobs),
  public.get_job(uuid),
  public.list_jobs(text[], text, text, text, text, text, text, int, int[], timestamptz, timestamptz),
  public.group_jobs(text, int),
  public.job_stats(text),
  public.job_events(uuid)
  from public, anon;
grant execute on function
  public.job_throughput(int, text),
  public.job_json(public.jobs),
  public.job_summary_json(public.jobs),
  public.get_job(uuid),
  public.list_jobs(text[], text, text, text, text, text, text, int, int[], timestamptz, timestamptz),
  public.group_jobs(text, int),
  public.job_stats(text),
  public.job_events(uuid)
  to authenticated, service_role;

-- get_job and job_events run as their caller and find the job with _visible_job (null id →
-- 22004, unseen → PT404), so the caller needs it and the checks it calls. They read as the
-- caller too (RLS applies), so granting them widens nothing.
grant execute on function
  public._visible_job(text, uuid),
  public._require_id(text, text, uuid),
  public._caller_tenant(text),
  public._caller_role()
  to authenticated, service_role;

revoke all on function public.job_events_many(uuid[]) from public, anon, authenticated;
grant execute on function public.job_events_many(uuid[]) to service_role;
