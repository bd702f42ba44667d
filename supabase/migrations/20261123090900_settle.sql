-- leaseflow: settling claimed steps: complete (one or a batch), fail (retry or for good; one or
-- a batch), extend leases (heartbeat; one or many), release (give back on shutdown).
--
-- Every settle is guarded by the lease holder: it changes a step only while the step is
-- running and locked_by = p_worker_id, and returns no row otherwise, so a worker whose lease
-- was taken over can never overwrite the new holder's work.

-- Locks, in the one order every transition uses (lanes sorted, then jobs by id; the steps come
-- after), the jobs of the steps among p_step_ids that p_worker_id holds (a job that is its own
-- step among them by its step's id: the job's, or jobs.own_step_id). Locking a job also
-- serialises two of its parallel steps settling at once, so the second sees the first. Returns
-- those jobs' ids (null when the worker holds none of the steps).
create or replace function public._lock_held_jobs(p_worker_id text, p_step_ids uuid[])
returns uuid[]
language plpgsql volatile
set search_path = ''
-- Index lookups only; plans made once per connection, as in _complete_steps (see there why that
-- is safe here and not in claim_steps).
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
declare
  v_jobs uuid[];
  v_keyed boolean;
  v_lane record;
begin
  -- The jobs through the held steps' job ids (an index condition), not a join: see _complete_steps.
  -- A job that is its own step is its step's id.
  select array_agg(j.id), bool_or(j.group_key is not null)
    into v_jobs, v_keyed
    from public.jobs j
   where j.id = any (array(select s.job_id from public.job_steps s
                            where s.id = any (p_step_ids) and s.status = 'running' and s.locked_by = p_worker_id
                           union all
                           select o.id from public.jobs o
                            where o.id = any (public._own_step_jobs(p_step_ids)) and o.locked_by = p_worker_id));
  if v_keyed then
    for v_lane in
      select distinct j.tenant_id, j.group_key from public.jobs j
       where j.id = any (v_jobs) and j.group_key is not null
       order by 1, 2
    loop
      perform public._lock_lane(v_lane.tenant_id, v_lane.group_key, true);
    end loop;
  end if;
  perform 1 from public.jobs j where j.id = any (v_jobs) order by j.id for update;
  return v_jobs;
end;
$$;

-- Completes the own steps (jobs.step_name) among p_ids that p_worker_id holds, of jobs with or
-- without a group key (p_keyed), on their job rows; p_outputs maps a step id to its output. A
-- job's last step completes the job (it is the record of its successful attempt: completed_by,
-- step_started_at, attempt). Any other step is written to job_steps as its completed record,
-- under its id, and the job moves on to its next step in the same statement: attempt 0, its
-- place in the claim order kept (so started jobs finish before later ones start, as
-- _create_next_steps does for step rows); or, given p_claim_lease, p_worker_id claims that next
-- step in the same update (attempt 1, a lease of p_claim_lease from now), so it skips the claim
-- queue: complete_and_claim_steps. Returns the completed steps' ids and their jobs' ids, and
-- with p_rows each step as all_steps shows it (built from the statements: a second read cost
-- complete_steps a fifth of its time). Without p_rows the row is null: the worker's write
-- needs only the ids, and the rows, built and carried through two result sets, had cost its
-- completion of one-step jobs a tenth of its time. The caller holds the lanes of keyed ones.
create or replace function public._complete_own_steps(p_worker_id text, p_ids uuid[], p_outputs jsonb, p_keyed boolean,
                                                      p_claim_lease interval, p_rows boolean)
returns table (step_id uuid, job_id uuid, step public.job_steps)
language plpgsql volatile
set search_path = ''
as $$
declare
  v_done bigint;
  v_jobs uuid[];
begin
  -- plpgsql, not SQL: a SQL function with its own settings is planned again on every call.
  -- One-step jobs (step_count null) first, the hot path: their step is their last, found by the
  -- job's id, so one update with no other lookup finishes each.
  return query
  update public.jobs j
     set status = 'completed', result = p_outputs -> j.id::text, completed_by = p_worker_id,
         locked_by = null, lease_expires_at = null, finished_at = now(), updated_at = now()
   where j.id = any (p_ids) and j.step_count is null and j.locked_by = p_worker_id
     and (j.group_key is not null) = p_keyed
  returning j.id, j.id,
            case when p_rows then
              row(j.id, j.id, 0, j.step_name, j.status, j.locked_by, j.lease_expires_at, j.completed_by, j.attempt,
                  -- all_steps' _type_max_attempts inlined: a definer function call per row cost ~2 µs.
                  coalesce(j.max_attempts, (select t.max_attempts from public.job_types t where t.type = j.type), 3),
                  j.priority, j.run_at, j.tenant_id, j.queue_rank, j.queue_at, j.enqueue_order, null::jsonb,
                  j.result, j.step_error, j.started_at, j.updated_at, j.step_started_at, j.finished_at)::public.job_steps
            end;
  get diagnostics v_done = row_count;
  if v_done = cardinality(p_ids) then
    return;
  end if;

  -- Jobs of several steps: a step is found by its id (the job's for the first, own_step_id after).
  v_jobs := public._own_step_jobs(p_ids);
  return query
  with settled as (
    -- `was` is the row as this statement found it (the version the update replaces): the
    -- finished step's attempt, start and error go to its record.
    update public.jobs j
       set status = case when n.last then 'completed' else j.status end,
           result = case when n.last then p_outputs -> coalesce(was.own_step_id, was.id)::text end,
           completed_by = case when n.last then p_worker_id end,
           finished_at = case when n.last then now() end,
           -- The next step, claimed by p_worker_id when p_claim_lease is given, else queued.
           locked_by = case when n.last or p_claim_lease is null then null else p_worker_id end,
           lease_expires_at = case when n.last or p_claim_lease is null then null else now() + p_claim_lease end,
           step_name = case when n.last then j.step_name else n.next_name end,
           step_seq = case when n.last then j.step_seq else j.step_seq + 1 end,
           -- The next step's id: its job's id with another random tail (_new_ids' layout), so
           -- that it sorts beside its job and a batch's ids land together in the indexes they
           -- enter (gen_random_uuid() put each on a random page, and cost 2.5 µs a call).
           own_step_id = case when n.last then j.own_step_id
                              else (left(was.id::text, 24) || lpad(to_hex((random() * 281474976710655)::bigint), 12, '0'))::uuid end,
           attempt = case when n.last then j.attempt when p_claim_lease is null then 0 else 1 end,
           step_started_at = case when n.last then j.step_started_at when p_claim_lease is not null then now() end,
           step_error = case when n.last then j.step_error end,
           updated_at = now()
      from public.jobs was
      -- The type's next step name and attempts per step, one lookup (a type's steps cannot
      -- change while it has unfinished jobs: define_job_type).
      cross join lateral (
        select was.step_seq + 1 >= was.step_count as last, t.steps -> (was.step_seq + 1) ->> 0 as next_name,
               t.max_attempts
          from (select null) one
          left join public.job_types t on t.type = was.type) n
     -- The batch's ids on j, the row updated: on `was` alone, j was planned as a scan of every
     -- job joined to it (a 3-step job's later steps then cost 75 µs each, 30 000 jobs waiting).
     where j.id = any (v_jobs)
       and was.id = j.id
       and was.step_count is not null
       and j.locked_by = p_worker_id and (j.group_key is not null) = p_keyed
    returning j.id as job_id, coalesce(was.own_step_id, was.id) as id, was.step_seq as seq, was.step_name as name,
              n.last, j.status, j.completed_by, was.attempt,
              coalesce(was.max_attempts, n.max_attempts, 3) as max_attempts, j.priority, j.run_at, j.tenant_id,
              j.queue_rank, j.queue_at, j.enqueue_order, p_outputs -> coalesce(was.own_step_id, was.id)::text as output,
              was.step_error as error, j.started_at, j.updated_at, was.step_started_at, j.finished_at
  ), recorded as (
    insert into public.job_steps (id, job_id, seq, name, status, completed_by, attempt, max_attempts, priority,
                                  run_at, tenant_id, queue_rank, queue_at, step_order, output, error, created_at,
                                  updated_at, started_at, finished_at)
    select d.id, d.job_id, d.seq, d.name, 'completed', p_worker_id, d.attempt, d.max_attempts, d.priority,
           d.run_at, d.tenant_id, d.queue_rank, d.queue_at, d.enqueue_order, d.output, d.error, d.started_at,
           d.updated_at, d.step_started_at, d.updated_at
      from settled d
     where not d.last
    returning *
  ), lowered as (
    -- Jobs that moved on to a next step left in the claim queue wait there at their place: the
    -- claim floor must not be past the first (see claim_floor).
    select public._lower_claim_floor(array_agg(d.queue_rank), array_agg(d.queue_at))
      from settled d
     where not d.last and p_claim_lease is null
  )
  select r.id, r.job_id, case when p_rows then r::public.job_steps end
    from recorded r
    -- Joined so that it runs (once: a CTE with a volatile call is computed once); a job moved on
    -- only where a record was written.
    left join lowered on true
  union all
  select d.id, d.job_id,
         case when p_rows then
           row(d.id, d.job_id, d.seq, d.name, d.status, null, null, d.completed_by, d.attempt, d.max_attempts,
               d.priority, d.run_at, d.tenant_id, d.queue_rank, d.queue_at, d.enqueue_order, null::jsonb,
               d.output, d.error, d.started_at, d.updated_at, d.step_started_at, d.finished_at)::public.job_steps
         end
    from settled d
   where d.last;
end;
$$;

-- Completes the held steps among p_step_ids with their outputs (p_outputs: step id -> output; a
-- step not in it keeps a null output); a job whose group is done gets its next group's steps, or
-- completes (result: its last group's output) and lets its group key's next job start. Returns the completed steps. Set-based: a fixed number of statements per
-- batch, whatever its size; per-job work is only a lane advance for keyed jobs that finished.
-- Given p_claim_lease, p_worker_id also claims the next step of each job that is its own step
-- and moves on (_complete_own_steps). Returns the completed steps' ids and their jobs' ids, and
-- with p_rows each step as this batch left it (null without).
create or replace function public._complete_steps(p_worker_id text, p_step_ids uuid[], p_outputs jsonb,
                                                  p_claim_lease interval, p_rows boolean)
returns table (step_id uuid, job_id uuid, step public.job_steps)
language plpgsql volatile
set search_path = ''
-- Index lookups and nested loops only (see claim_steps). And no statement joins the batch to a
-- table: each reads job_steps or jobs through the batch's own ids (= any (...), an index
-- condition) and finds the batch's values for a row in a JSON object keyed by its id. Joined, a
-- batch of 1 000 had been planned as a scan of every job compared with every completed step
-- (statistics saying no job was running): 4 s a settle.
--
-- Because every row is reached through a primary key, a plan made once and cached for the
-- connection (generic) is the same whatever the tables held when it was made: so, unlike the
-- claim's ordered scan, these statements are not planned per call (planning was a quarter of a
-- settle's time: 4.0 -> 2.9 ms a settle of 100). tests/plans.backlog.test.ts passes with them
-- forced generic, and fails when the claim is. Forced, not left to the plan cache (auto): for
-- `= any (<the batch's ids>)` a plan made for the call's values looks cheaper, so under auto the
-- one-step completion in _complete_own_steps was planned on every call
-- (tests/plans.cached.test.ts).
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
declare
  v_own_done bigint;
  v_jobs uuid[];
  v_own_keyed_steps uuid[];
  v_own_keyed_jobs uuid[];
  v_own_keyed_rows public.job_steps[];
  v_done uuid[];
  v_batch jsonb;
  v_next_group uuid[];
  v_finishing uuid[];
  v_results jsonb;
  v_finished_lanes jsonb;
  v_lane record;
begin
  -- The hot path: jobs that are their own step and have no group key finish in one update, with
  -- no lock taken before it (nothing else waits on such a job while holding another lock), and
  -- are returned as that update built them (collected into an array and returned from it, they
  -- had cost a settle of 500 a tenth of its time).
  return query select * from public._complete_own_steps(p_worker_id, p_step_ids, p_outputs, false, p_claim_lease, p_rows);
  get diagnostics v_own_done = row_count;
  -- The ids are distinct (the callers check), so all were done when the counts match.
  if v_own_done = cardinality(p_step_ids) then
    return;
  end if;

  -- The rest of the batch. Every statement below changes only what p_worker_id still holds, so
  -- the jobs completed above (held no more) pass through them untouched.
  v_jobs := public._lock_held_jobs(p_worker_id, p_step_ids);
  if v_jobs is null then
    return;
  end if;

  -- Keyed jobs that are their own step: their lanes are held now; they free them below.
  select array_agg(c.step_id), array_agg(c.job_id), array_agg(c.step) into v_own_keyed_steps, v_own_keyed_jobs, v_own_keyed_rows
    from public._complete_own_steps(p_worker_id, p_step_ids, p_outputs, true, p_claim_lease, p_rows) c;
  if v_own_keyed_jobs is not null then
    -- Only jobs whose last step this was are done (a later step keeps the lane).
    select jsonb_agg(distinct jsonb_build_array(j.tenant_id, j.group_key)) into v_finished_lanes
      from public.jobs j
     where j.id = any (v_own_keyed_jobs)
       and j.status = 'completed';
  end if;

  -- The completed step is the record of its successful attempt (job_timeline reads it). The same
  -- statement sums the batch up per job: the group it completed steps of, how many, and the
  -- output of the first.
  with done as (
    update public.job_steps s
       set status = 'completed', output = p_outputs -> s.id::text, locked_by = null, lease_expires_at = null,
           completed_by = p_worker_id, finished_at = now(), updated_at = now()
     where s.id = any (p_step_ids) and s.status = 'running' and s.locked_by = p_worker_id
    returning s.id, s.job_id, s.seq, s.output
  )
  select (select array_agg(d.id) from done d),
         (select jsonb_object_agg(b.job_id::text,
                                  jsonb_build_object('seq', b.seq, 'completed_now', b.completed_now)
                                  || case when b.output is null then '{}'::jsonb else jsonb_build_object('output', b.output) end)
            from (select d.job_id, max(d.seq) as seq, count(*) as completed_now, (array_agg(d.output))[1] as output
                    from done d
                   group by d.job_id) b)
    into v_done, v_batch;

  -- Steps of this batch completed (none when the batch was only jobs that are their own step).
  if v_done is not null then
    -- A later statement, so it sees this batch's completions: each touched job with no unfinished
    -- step left has finished a group; it starts the next group or, after the last, completes with
    -- its last group's output: the step's own when that group has one step (read from the batch,
    -- no lookup), an object by step name when it ran in parallel. Jobs made by hand (no type) have
    -- all their steps from the start, so theirs was the last one.
    select array_agg(g.id) filter (where g.seq + 1 < g.groups),
           array_agg(g.id) filter (where g.groups is null or g.seq + 1 >= g.groups),
           jsonb_object_agg(g.id::text,
             case when (g.batch ->> 'completed_now')::int = 1 and jsonb_array_length(g.steps -> g.seq) = 1
                  then g.batch -> 'output'
                  else (select case when count(*) = 1 then (array_agg(x.output))[1]
                                    else jsonb_object_agg(coalesce(x.name, x.id::text), x.output) end
                          from public.job_steps x
                         where x.job_id = g.id and x.seq = g.seq) end)
             filter (where g.groups is null or g.seq + 1 >= g.groups)
      into v_next_group, v_finishing, v_results
      from (select f.id, f.batch, (f.batch ->> 'seq')::int as seq, f.steps, jsonb_array_length(f.steps) as groups
              from (select j.id, v_batch -> j.id::text as batch,
                           (select t.steps from public.job_types t where t.type = j.type) as steps
                      from public.jobs j
                     where j.id = any (v_jobs)
                       and v_batch ? j.id::text
                       and j.status = 'running'
                    -- Not merged into the outer query: the type's steps are looked up once per job.
                    offset 0) f
             -- The group is done when this batch completed all of its steps (a typed job's steps
             -- exist only for its current group), which needs no lookup: a single-step group
             -- always is. Otherwise a count per job (a lookup by job id), not NOT EXISTS: that may
             -- be planned as an anti-join, which stale statistics can turn into a scan of every
             -- waiting step.
             where case when (f.batch ->> 'completed_now')::int = jsonb_array_length(f.steps -> (f.batch ->> 'seq')::int)
                        then true
                        else (select count(*) from public.job_steps o where o.job_id = f.id and o.status <> 'completed') = 0 end) g;
  end if;

  if cardinality(v_finishing) > 0 then
    with finished as (
      update public.jobs j
         set status = 'completed', finished_at = now(), updated_at = now(), result = v_results -> j.id::text
       where j.id = any (v_finishing)
      returning j.tenant_id, j.group_key
    )
    select coalesce(v_finished_lanes, '[]'::jsonb)
           || coalesce(jsonb_agg(distinct jsonb_build_array(f.tenant_id, f.group_key)) filter (where f.group_key is not null), '[]'::jsonb)
      into v_finished_lanes
      from finished f;
  end if;

  if cardinality(v_next_group) > 0 then
    perform public._create_next_steps(v_next_group);
  end if;
  -- A finished keyed job frees its lane (held since the start, in lock order).
  for v_lane in select (l ->> 0)::uuid as tenant_id, l ->> 1 as group_key from jsonb_array_elements(v_finished_lanes) l loop
    perform public._advance_lane(v_lane.tenant_id, v_lane.group_key);
  end loop;

  -- Each as this batch left it (a later statement sees the completions).
  return query select s.id, s.job_id, case when p_rows then s end from public.job_steps s where s.id = any (v_done)
               union all
               -- The rows by position: unnested beside the ids, a row's columns would be spread out.
               select o.id, o.job_id, v_own_keyed_rows[o.n]
                 from unnest(v_own_keyed_steps, v_own_keyed_jobs) with ordinality o(id, job_id, n);
end;
$$;

-- complete_steps' batch checked and split into its step ids and their outputs keyed by step id
-- (_complete_steps' p_outputs), for the function named p_function. p_results is either a JSON
-- array of {step_id, output?} (an element without output completes its step with none), every
-- bad element refused with its index, or an object {"<step id>": output, ...}: the worker's form,
-- already keyed by step id, so a valid batch is used as sent (in a one-step drain the map's
-- jsonb_object_agg alone took 5.9 µs a step of complete_and_claim_steps' ~30).
create or replace function public._results_batch(p_function text, p_results jsonb,
                                                 out step_ids uuid[], out outputs jsonb)
language plpgsql immutable
set search_path = ''
as $$
declare
  v_bad_index int;
  v_bad_key text;
  v_count int;
  v_canonical boolean;
  v_duplicate uuid;
begin
  if p_results is null then
    raise exception '%: p_results must not be null', p_function using errcode = 'null_value_not_allowed';
  end if;
  if jsonb_typeof(p_results) = 'object' then
    begin
      select array_agg(k::uuid), count(*), coalesce(bool_and(k = k::uuid::text), true)
        into step_ids, v_count, v_canonical
        from jsonb_object_keys(p_results) k;
    exception when invalid_text_representation then
      select k into v_bad_key from jsonb_object_keys(p_results) k where public._uuid_or_null(k) is null limit 1;
      raise exception '%: p_results key % is not a step id (a uuid)', p_function, quote_literal(left(v_bad_key, 100))
        using errcode = 'invalid_parameter_value';
    end;
    if v_count not between 1 and 1000 then
      raise exception '%: p_results must name 1 to 1000 steps, got %', p_function, v_count
        using errcode = 'invalid_parameter_value';
    end if;
    if v_canonical then
      outputs := p_results;
      return;
    end if;
    -- Keys written another way (upper case, braces) are read as the array form is, which also
    -- finds two keys naming one step.
    p_results := (select jsonb_agg(jsonb_build_object('step_id', e.key, 'output', e.value)) from jsonb_each(p_results) e);
  end if;
  if jsonb_typeof(p_results) <> 'array' or jsonb_array_length(p_results) not between 1 and 1000 then
    raise exception '%: p_results must be a JSON array of 1 to 1000 {step_id, output} objects (or an object of step id: output), got %', p_function,
      public._json_preview(p_results) using errcode = 'invalid_parameter_value';
  end if;
  -- One pass over the batch checks each element's shape and builds the ids and the outputs. A
  -- step id that is not a uuid makes the cast fail; only then is the batch searched for the first
  -- bad element (a regular expression per element would triple the cost of a valid batch).
  begin
    select min(e.ordinality) filter (where not e.shaped) - 1,
           array_agg((e.value ->> 'step_id')::uuid) filter (where e.shaped),
           jsonb_object_agg(((e.value ->> 'step_id')::uuid)::text, e.value -> 'output') filter (where e.shaped and e.value ? 'output')
      into v_bad_index, step_ids, outputs
      from (select r.value, r.ordinality,
                   jsonb_typeof(r.value) = 'object'
                     and jsonb_typeof(r.value -> 'step_id') = 'string'
                     and r.value - 'step_id' - 'output' = '{}'::jsonb as shaped
              from jsonb_array_elements(p_results) with ordinality r) e;
  exception when invalid_text_representation then
    select min(r.ordinality) - 1 into v_bad_index
      from jsonb_array_elements(p_results) with ordinality r
     where jsonb_typeof(r.value) <> 'object'
        or jsonb_typeof(r.value -> 'step_id') is distinct from 'string'
        or r.value - 'step_id' - 'output' <> '{}'::jsonb
        or public._uuid_or_null(r.value ->> 'step_id') is null;
  end;
  if v_bad_index is not null then
    raise exception '%: p_results[%] must be an object {step_id: uuid, output?: any JSON}, got %', p_function, v_bad_index,
      public._json_preview(p_results -> v_bad_index) using errcode = 'invalid_parameter_value';
  end if;
  if (select count(distinct id) from unnest(step_ids) id) < cardinality(step_ids) then
    select id into v_duplicate from unnest(step_ids) id group by id having count(*) > 1 limit 1;
    raise exception '%: p_results names step % more than once', p_function, v_duplicate
      using errcode = 'invalid_parameter_value';
  end if;
  outputs := coalesce(outputs, '{}'::jsonb);
end;
$$;

create or replace function public.complete_steps(p_worker_id text, p_results jsonb)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_batch record;
begin
  perform public._require_worker_id('complete_steps', p_worker_id);
  v_batch := public._results_batch('complete_steps', p_results);
  -- Unnested from an array, each row is taken apart once; (c.step).* took it apart once per
  -- column (4 % of a completion of 500).
  return query select s.* from unnest(array(select c.step from public._complete_steps(p_worker_id, v_batch.step_ids, v_batch.outputs, null, true) c)) s;
end;
$$;

comment on function public.complete_steps(text, jsonb) is
  'Completes, in one call, the steps of p_results ([{step_id, output}], or {"<step id>": output}) that p_worker_id holds; returns those it completed.';

-- complete_steps for a worker that goes on working: a job that is its own step and moves on to
-- its next step (every group of its type has one step) has that step claimed for p_worker_id in
-- the same update, under a lease of p_lease_duration, instead of queueing it for the next
-- claim. The next step keeps its job's turn, so the claim order would serve it soon anyway; this
-- spares it the claim (the queue's index entries, the ordered scan, a second update of the job).
-- With p_lease_duration null nothing is claimed. Returns, first, one row listing the completed
-- steps' ids in completed_step_ids (every other column null; no such row when none completed),
-- then a row per claimed step (the columns claim_steps returns; completed_step_ids null). One
-- row for all the completed steps, not a row each: those rows had cost the worker's one-step
-- drain about 5 % (nine interleaved pairs). Sent again after its answer was lost, it answers the
-- same: the steps p_worker_id completed, and the steps it claimed after them and still holds.
create or replace function public.complete_and_claim_steps(p_worker_id text, p_results jsonb,
                                                         p_lease_duration interval default null)
returns table (
  completed_step_ids uuid[],
  step_id uuid,
  job_id uuid,
  job_type text,
  step_name text,
  seq int,
  attempt int,
  max_attempts int,
  lease_expires_at timestamptz,
  timeout_ms bigint,
  priority smallint,
  group_key text,
  tenant_id uuid,
  payload jsonb,
  input jsonb,
  previous_outputs jsonb
)
language plpgsql volatile
rows 100
security definer
set search_path = ''
-- Lookups by primary key only, as in _complete_steps (see there).
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
declare
  fn constant text := 'complete_and_claim_steps';
  v_batch record;
  v_completed uuid[];
  v_jobs uuid[];
  v_claimed uuid[];
  v_again record;
begin
  perform public._require_worker_id(fn, p_worker_id);
  if p_lease_duration is not null then
    perform public._require_positive_lease(fn, p_lease_duration);
  end if;
  v_batch := public._results_batch(fn, p_results);
  select array_agg(c.step_id), array_agg(c.job_id) into v_completed, v_jobs
    from public._complete_steps(p_worker_id, v_batch.step_ids, v_batch.outputs, p_lease_duration, false) c;

  -- A later statement, so it sees the claimed steps. They are found with one probe of
  -- jobs_lease_idx: every step this call claimed has the same lease, now() + p_lease_duration
  -- (now() is the transaction's start), and of the jobs whose steps this batch completed, only
  -- those it moved on are held again by p_worker_id (the completion cleared every other hold; a
  -- job with step rows is never held on its row). A lookup per completed job instead would cost
  -- a batch of one-step jobs, which never move on, a probe each.
  select array_agg(j.id) into v_claimed
    from public.jobs j
   where j.lease_expires_at = now() + p_lease_duration
     and j.locked_by = p_worker_id and j.id = any (v_jobs) and j.status = 'running';

  -- Steps of the batch this call did not complete, which p_worker_id completed already: this is
  -- a write sent again after its answer was lost (the connection dropped after the commit). They
  -- are reported completed, and the steps claimed after them handed over again: otherwise those
  -- would stay held by a worker that does not know it holds them until their leases lapse, at
  -- the cost of an attempt. Looked for only when steps are missing (a lost lease, or a retry).
  if coalesce(cardinality(v_completed), 0) < cardinality(v_batch.step_ids) then
    select array_agg(d.step_id) as step_ids,
           array_agg(d.job_id) filter (where p_lease_duration is not null and d.job_status = 'running'
                                         and d.job_locked_by = p_worker_id) as held_jobs
      into v_again
      from (select s.id as step_id, s.job_id, j.status as job_status, j.locked_by as job_locked_by
              from public.job_steps s
              join public.jobs j on j.id = s.job_id
             where s.id = any (v_batch.step_ids) and s.status = 'completed' and s.completed_by = p_worker_id
            union all
            select coalesce(j.own_step_id, j.id), j.id, j.status, null
              from public.jobs j
             where j.id = any (public._own_step_jobs(v_batch.step_ids))
               and j.status = 'completed' and j.completed_by = p_worker_id) d
     where not (d.step_id = any (coalesce(v_completed, '{}')));
    v_completed := coalesce(v_completed, '{}') || coalesce(v_again.step_ids, '{}');
    v_claimed := coalesce(v_claimed, '{}') || coalesce(v_again.held_jobs, '{}');
  end if;

  -- Two statements, each run only when it has rows to return (as one union under
  -- plan_cache_mode auto, it was planned on every call: 0.3 ms).
  if cardinality(v_completed) > 0 then
    return query
    select v_completed, null::uuid, null::uuid, null::text, null::text, null::int, null::int, null::int,
           null::timestamptz, null::bigint, null::smallint, null::text, null::uuid, null::jsonb, null::jsonb, null::jsonb;
  end if;
  if v_claimed is null then
    return;
  end if;
  return query
  select null::uuid[], coalesce(j.own_step_id, j.id), j.id, j.type, j.step_name, j.step_seq, j.attempt,
         coalesce(j.max_attempts, t.max_attempts, 3), j.lease_expires_at,
         (extract(epoch from coalesce(t.step_timeout, interval '5 minutes')) * 1000)::bigint,
         j.priority, j.group_key, j.tenant_id, j.payload, null::jsonb,
         -- As claim_steps reads them: the completed step records, by name.
         coalesce((select jsonb_object_agg(coalesce(p.name, p.seq::text), p.output order by p.seq)
                     from public.job_steps p
                    where p.job_id = j.id and p.status = 'completed'), '{}'::jsonb)
    from public.jobs j
    left join public.job_types t on t.type = j.type
   where j.id = any (v_claimed);
end;
$$;

comment on function public.complete_and_claim_steps(text, jsonb, interval) is
  'complete_steps that also claims, for p_worker_id under a lease of p_lease_duration, the next step of each job that runs one step at a time; returns one row listing the completed steps (completed_step_ids) and a row per claimed step (claim_steps'' columns).';

create or replace function public.complete_step(p_step_id uuid, p_worker_id text, p_output jsonb)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
begin
  perform public._require_id('complete_step', 'p_step_id', p_step_id);
  perform public._require_worker_id('complete_step', p_worker_id);
  return query select s.* from unnest(array(select c.step from public._complete_steps(p_worker_id, array[p_step_id],
                                                                     case when p_output is null then '{}'::jsonb
                                                                          else jsonb_build_object(p_step_id::text, p_output) end,
                                                                     null, true) c)) s;
end;
$$;

comment on function public.complete_step(uuid, text, jsonb) is
  'Completes a step p_worker_id holds, storing p_output; returns no row when it no longer holds it. Completes the job with its last step.';

-- The wait before retry attempt p_attempt + 1: the type's base * 2^(p_attempt - 1), spread by
-- ±jitter (failures that happened together should not retry together), capped at its max.
create or replace function public._retry_delay(p_type text, p_attempt int)
returns interval
language plpgsql volatile
set search_path = ''
as $$
declare
  v_base interval := interval '1 second';
  v_max interval := interval '1 hour';
  v_jitter float8 := 0.2;
begin
  select t.backoff_base, t.backoff_max, t.backoff_jitter into v_base, v_max, v_jitter
    from public.job_types t where t.type = p_type;
  if not found then
    v_base := interval '1 second';
    v_max := interval '1 hour';
    v_jitter := 0.2;
  end if;
  -- Jitter before the cap, so that max really is the longest wait.
  return least(v_max, v_base * power(2, least(greatest(p_attempt, 1) - 1, 30))
                      * (1 + v_jitter * (2 * random() - 1)));
end;
$$;

-- _fail_step for a job that is its own step (its step p_step_id, held by p_worker_id): the
-- attempt is recorded, then the job waits for its retry out of the claim queue
-- (_queue_due_steps puts it back) or fails. Returns the step, or null when the worker does not
-- hold it.
create or replace function public._fail_own_step(p_step_id uuid, p_worker_id text, p_error jsonb, p_retry_in interval, p_permanent boolean)
returns public.job_steps
language plpgsql volatile
set search_path = ''
as $$
declare
  v_job public.jobs;
  v_final boolean;
  v_step public.job_steps;
begin
  select * into v_job from public.jobs j
   where j.id = any (public._own_step_jobs(array[p_step_id])) and j.locked_by = p_worker_id;
  if not found then
    return null;
  end if;
  perform public._lock_job(v_job.id, v_job.tenant_id, v_job.group_key);
  select * into v_job from public.jobs j
   where j.id = v_job.id and coalesce(j.own_step_id, j.id) = p_step_id and j.locked_by = p_worker_id;
  if not found then
    return null;
  end if;
  v_final := p_permanent or v_job.attempt >= coalesce(v_job.max_attempts, public._type_max_attempts(v_job.type));

  insert into public.step_attempts (step_id, job_id, attempt, worker_id, started_at, outcome, error)
  values (p_step_id, v_job.id, v_job.attempt, p_worker_id, v_job.step_started_at,
          case when v_final then 'failed' else 'retried' end, p_error);

  update public.jobs j
     set step_error = p_error, locked_by = null, lease_expires_at = null, queue_at = null,
         run_at = case when v_final then j.run_at
                       else now() + coalesce(p_retry_in, public._retry_delay(v_job.type, v_job.attempt)) end,
         updated_at = now()
   where j.id = v_job.id;

  if v_final then
    perform public._fail_job(v_job.id,
      p_error || jsonb_build_object('step_id', p_step_id, 'step', v_job.step_name, 'attempt', v_job.attempt));
  end if;
  select * into v_step from public.all_steps s where s.id = p_step_id;
  return v_step;
end;
$$;

-- A failed attempt of a step p_worker_id holds: retried after p_retry_in or the type's backoff,
-- or failed for good with its job. Returns the step as left, or null when the worker no longer
-- holds it. Arguments are checked by the callers.
create or replace function public._fail_step(p_step_id uuid, p_worker_id text, p_error jsonb, p_retry_in interval, p_permanent boolean)
returns public.job_steps
language plpgsql volatile
set search_path = ''
as $$
declare
  v_job record;
  v_step public.job_steps;
  v_final boolean;
  v_retry_at timestamptz;
begin
  select j.id, j.type, j.tenant_id, j.group_key into v_job
    from public.job_steps s join public.jobs j on j.id = s.job_id
   where s.id = p_step_id and s.status = 'running' and s.locked_by = p_worker_id;
  if not found then
    return public._fail_own_step(p_step_id, p_worker_id, p_error, p_retry_in, p_permanent);
  end if;
  perform public._lock_job(v_job.id, v_job.tenant_id, v_job.group_key);

  select * into v_step
    from public.job_steps s
   where s.id = p_step_id and s.status = 'running' and s.locked_by = p_worker_id
     for update;
  if not found then
    return null;
  end if;
  v_final := p_permanent or v_step.attempt >= v_step.max_attempts;
  if not v_final then
    v_retry_at := now() + coalesce(p_retry_in, public._retry_delay(v_job.type, v_step.attempt));
  end if;

  insert into public.step_attempts (step_id, job_id, attempt, worker_id, started_at, outcome, error)
  values (v_step.id, v_step.job_id, v_step.attempt, p_worker_id, v_step.started_at,
          case when v_final then 'failed' else 'retried' end, p_error);

  update public.job_steps s
     set status = case when v_final then 'failed' else 'pending' end,
         error = p_error,
         locked_by = null,
         lease_expires_at = null,
         run_at = coalesce(v_retry_at, s.run_at),
         -- A retry leaves the claim order until its run_at, then takes its tenant's next turn
         -- (_queue_due_steps).
         queue_at = case when v_final then s.queue_at end,
         finished_at = case when v_final then now() end,
         updated_at = now()
   where s.id = p_step_id
  returning * into v_step;

  if v_final then
    perform public._fail_job(v_job.id,
      p_error || jsonb_build_object('step_id', v_step.id, 'step', v_step.name, 'attempt', v_step.attempt));
  end if;
  return v_step;
end;
$$;

create or replace function public.fail_step(
  p_step_id uuid,
  p_worker_id text,
  p_error jsonb,
  p_retry_in interval default null,
  p_permanent boolean default false
)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  fn constant text := 'fail_step';
  v_step public.job_steps;
begin
  perform public._require_id(fn, 'p_step_id', p_step_id);
  perform public._require_worker_id(fn, p_worker_id);
  if p_error is null then
    raise exception '%: p_error must not be null', fn using errcode = 'null_value_not_allowed';
  end if;
  if jsonb_typeof(p_error) <> 'object' then
    raise exception '%: p_error must be a JSON object such as {"message": "..."}, got %', fn, public._json_preview(p_error)
      using errcode = 'invalid_parameter_value';
  end if;
  if p_permanent is null then
    raise exception '%: p_permanent must not be null', fn using errcode = 'null_value_not_allowed';
  end if;
  if p_retry_in < interval '0' then
    raise exception '%: p_retry_in must not be negative, got %', fn, quote_literal(p_retry_in::text)
      using errcode = 'invalid_parameter_value';
  end if;
  if p_permanent and p_retry_in is not null then
    raise exception '%: p_retry_in (%) cannot be combined with p_permanent = true', fn, quote_literal(p_retry_in::text)
      using errcode = 'invalid_parameter_value';
  end if;
  v_step := public._fail_step(p_step_id, p_worker_id, p_error, p_retry_in, p_permanent);
  if v_step.id is not null then
    return next v_step;
  end if;
end;
$$;

comment on function public.fail_step(uuid, text, jsonb, interval, boolean) is
  'Records a failed attempt of a step p_worker_id holds: retried after p_retry_in or the type''s backoff, or failed for good (with its job) when p_permanent or out of attempts.';
-- The batch form, for a worker that settles its failures together: p_failures is
-- [{step_id, error, retry_in_ms?, permanent?}] (1..1000). One call; each failure is still its
-- own transition (the type's backoff, a final attempt failing the job), since failures are not
-- the hot path. Returns the steps it settled; those the worker no longer holds are left out.
create or replace function public.fail_steps(p_worker_id text, p_failures jsonb)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  fn constant text := 'fail_steps';
  v_bad_index int;
  v_bad_rule text;
  v_duplicate uuid;
  v_failure record;
  v_step public.job_steps;
begin
  perform public._require_worker_id(fn, p_worker_id);
  if p_failures is null then
    raise exception '%: p_failures must not be null', fn using errcode = 'null_value_not_allowed';
  end if;
  if jsonb_typeof(p_failures) <> 'array' or jsonb_array_length(p_failures) not between 1 and 1000 then
    raise exception '%: p_failures must be a JSON array of 1 to 1000 {step_id, error, retry_in_ms?, permanent?} objects, got %',
      fn, public._json_preview(p_failures) using errcode = 'invalid_parameter_value';
  end if;
  select b.i, b.rule into v_bad_index, v_bad_rule
    from (select e.ordinality - 1 as i,
                 case when jsonb_typeof(e.value) <> 'object' or e.value - 'step_id' - 'error' - 'retry_in_ms' - 'permanent' <> '{}'::jsonb
                        then ' must be an object {step_id, error, retry_in_ms?, permanent?}'
                      when jsonb_typeof(e.value -> 'step_id') is distinct from 'string' or public._uuid_or_null(e.value ->> 'step_id') is null
                        then '.step_id must be a uuid'
                      when jsonb_typeof(e.value -> 'error') is distinct from 'object'
                        then '.error must be a JSON object such as {"message": "..."}'
                      when e.value ? 'retry_in_ms' and (jsonb_typeof(e.value -> 'retry_in_ms') <> 'number'
                             or (e.value ->> 'retry_in_ms')::numeric not between 0 and 2147483647
                             or (e.value ->> 'retry_in_ms')::numeric <> trunc((e.value ->> 'retry_in_ms')::numeric))
                        then '.retry_in_ms must be an integer from 0 to 2147483647'
                      when e.value ? 'permanent' and jsonb_typeof(e.value -> 'permanent') <> 'boolean'
                        then '.permanent must be true or false'
                      when e.value -> 'permanent' = 'true'::jsonb and e.value ? 'retry_in_ms'
                        then '.retry_in_ms cannot be combined with permanent = true'
                 end as rule
            from jsonb_array_elements(p_failures) with ordinality e) b
   where b.rule is not null
   order by b.i
   limit 1;
  if v_bad_rule is not null then
    raise exception '%: p_failures[%]%, got %', fn, v_bad_index, v_bad_rule,
      public._json_preview(p_failures -> v_bad_index) using errcode = 'invalid_parameter_value';
  end if;
  select (e.value ->> 'step_id')::uuid into v_duplicate
    from jsonb_array_elements(p_failures) e
   group by (e.value ->> 'step_id')::uuid
  having count(*) > 1
   limit 1;
  if found then
    raise exception '%: p_failures names step % more than once', fn, v_duplicate using errcode = 'invalid_parameter_value';
  end if;

  -- The whole batch's locks first (each failure then finds its own held), so two batches can
  -- never wait on each other in a circle.
  perform public._lock_held_jobs(p_worker_id,
    array(select (e.value ->> 'step_id')::uuid from jsonb_array_elements(p_failures) e));

  for v_failure in
    select (e.value ->> 'step_id')::uuid as step_id, e.value -> 'error' as error,
           make_interval(secs => (e.value ->> 'retry_in_ms')::numeric / 1000) as retry_in,
           coalesce((e.value ->> 'permanent')::boolean, false) as permanent
      from jsonb_array_elements(p_failures) with ordinality e
     order by e.ordinality
  loop
    v_step := public._fail_step(v_failure.step_id, p_worker_id, v_failure.error, v_failure.retry_in, v_failure.permanent);
    if v_step.id is not null then
      return next v_step;
    end if;
  end loop;
end;
$$;

comment on function public.fail_steps(text, jsonb) is
  'Records several failed attempts of steps p_worker_id holds in one call ([{step_id, error, retry_in_ms?, permanent?}]), each as fail_step would; returns the steps it settled.';

-- Renews the leases of the steps among p_step_ids that p_worker_id still holds (a worker renews
-- every step it holds in one call); returns their ids, so the missing ones were lost.
create or replace function public.extend_leases(p_worker_id text, p_step_ids uuid[], p_lease_duration interval)
returns setof uuid
language plpgsql volatile
security definer
set search_path = ''
-- Lookups by primary key only, planned once per connection, as in _complete_steps (see there).
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
begin
  perform public._require_worker_id('extend_leases', p_worker_id);
  perform public._require_positive_lease('extend_leases', p_lease_duration);
  if p_step_ids is null or cardinality(p_step_ids) not between 1 and 10000 or array_position(p_step_ids, null) is not null then
    raise exception 'extend_leases: p_step_ids must be an array of 1 to 10000 step ids without nulls, got %',
      coalesce(left(p_step_ids::text, 100), 'null') using errcode = 'invalid_parameter_value';
  end if;
  -- SKIP LOCKED: a step another transaction holds right now is being settled (often by this
  -- same worker, on another connection), cancelled or taken over, and is not renewed. Waiting
  -- for it deadlocked with the worker's own completions, which lock their steps in another order
  -- (seen in the sustained benchmark at 11 765 jobs/s); a renewal that never waits cannot.
  return query
  update public.job_steps s
     set lease_expires_at = now() + p_lease_duration, updated_at = now()
   where s.id = any (array(select h.id
                             from public.job_steps h
                            where h.id = any (p_step_ids) and h.status = 'running' and h.locked_by = p_worker_id
                              for update skip locked))
  returning s.id;
  -- Jobs that are their own step, likewise.
  return query
  update public.jobs j
     set lease_expires_at = now() + p_lease_duration, updated_at = now()
   where j.id = any (array(select h.id
                             from public.jobs h
                            where h.id = any (public._own_step_jobs(p_step_ids)) and h.locked_by = p_worker_id
                              for no key update skip locked))
  returning coalesce(j.own_step_id, j.id);
end;
$$;

comment on function public.extend_leases(text, uuid[], interval) is
  'Heartbeat for many steps: moves the leases of the steps in p_step_ids that p_worker_id holds to now() + p_lease_duration; returns the ids it renewed. A step another transaction holds locked at that moment (being settled, cancelled or expired) is left out: renewing never waits.';


create or replace function public.extend_lease(p_step_id uuid, p_worker_id text, p_lease_duration interval)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
begin
  perform public._require_id('extend_lease', 'p_step_id', p_step_id);
  perform public._require_worker_id('extend_lease', p_worker_id);
  perform public._require_positive_lease('extend_lease', p_lease_duration);
  update public.job_steps s
     set lease_expires_at = now() + p_lease_duration, updated_at = now()
   where s.id = p_step_id and s.status = 'running' and s.locked_by = p_worker_id;
  if not found then
    update public.jobs j
       set lease_expires_at = now() + p_lease_duration, updated_at = now()
     where j.id = any (public._own_step_jobs(array[p_step_id])) and j.locked_by = p_worker_id;
  end if;
  if found then
    return query select * from public.all_steps s where s.id = p_step_id;
  end if;
end;
$$;

comment on function public.extend_lease(uuid, text, interval) is
  'Heartbeat: moves the lease of a step p_worker_id holds to now() + p_lease_duration; returns no row when it no longer holds it.';

create or replace function public.release_steps(p_worker_id text, p_step_ids uuid[] default null)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_released uuid[];
  v_queue_ranks smallint[];
  v_queue_ats timestamptz[];
begin
  perform public._require_worker_id('release_steps', p_worker_id);
  if array_position(p_step_ids, null) is not null then
    raise exception 'release_steps: p_step_ids must not contain null, got %', p_step_ids
      using errcode = 'invalid_parameter_value';
  end if;
  -- SKIP LOCKED: a step another transaction is settling or cancelling is left to it.
  return query
  with held as (
    select s.id, s.attempt, s.started_at
      from public.job_steps s
     where s.status = 'running' and s.locked_by = p_worker_id
       -- Always true of a running step; it lets the lease index find this worker's steps.
       and s.lease_expires_at is not null
       and (p_step_ids is null or s.id = any (p_step_ids))
       -- The step's job first, in the one lock order (job, then step): the attempt recorded below
       -- takes a key-share lock on it (step_attempts' foreign key). Taken after the step, it
       -- waited for a sibling step's settle that held the job and waited for this step: a
       -- deadlock. A job being settled or cancelled keeps its steps (SKIP LOCKED).
       and exists (select 1 from public.jobs j where j.id = s.job_id for key share skip locked)
       for update of s skip locked
  ), recorded as (
    insert into public.step_attempts (step_id, job_id, attempt, worker_id, started_at, outcome)
    select h.id, s.job_id, h.attempt, p_worker_id, h.started_at, 'released'
      from held h join public.job_steps s on s.id = h.id
  )
  update public.job_steps s
     set status = 'pending', attempt = s.attempt - 1, locked_by = null, lease_expires_at = null,
         started_at = null, updated_at = now()
    from held
   where s.id = held.id
  returning s.*;

  -- Jobs that are their own step, likewise: back in the claim queue at their place.
  with held as (
    select j.id, coalesce(j.own_step_id, j.id) as step_id, j.attempt, j.step_started_at
      from public.jobs j
     where j.locked_by = p_worker_id
       -- Always true of a held job; it lets the lease index find this worker's jobs.
       and j.lease_expires_at is not null
       and (p_step_ids is null or j.id = any (public._own_step_jobs(p_step_ids)))
       for no key update skip locked
  ), recorded as (
    insert into public.step_attempts (step_id, job_id, attempt, worker_id, started_at, outcome)
    select h.step_id, h.id, h.attempt, p_worker_id, h.step_started_at, 'released'
      from held h
  ), released as (
    update public.jobs j
       set attempt = j.attempt - 1, locked_by = null, lease_expires_at = null, step_started_at = null,
           updated_at = now()
      from held
     where j.id = held.id
    returning held.step_id, j.queue_rank, j.queue_at
  )
  select array_agg(r.step_id), array_agg(r.queue_rank), array_agg(r.queue_at)
    into v_released, v_queue_ranks, v_queue_ats
    from released r;
  -- They wait again at their places: the claim floor must not be past the first.
  perform public._lower_claim_floor(v_queue_ranks, v_queue_ats);
  -- A later statement, so it sees them released.
  return query select s.* from public.all_steps s where s.id = any (v_released);
end;
$$;

comment on function public.release_steps(text, uuid[]) is
  'Gives back steps p_worker_id holds (all, or those in p_step_ids) without consuming their attempt, e.g. on shutdown.';

revoke all on function
  public._lock_held_jobs(text, uuid[]),
  public._complete_own_steps(text, uuid[], jsonb, boolean, interval, boolean),
  public._fail_own_step(uuid, text, jsonb, interval, boolean),
  public._complete_steps(text, uuid[], jsonb, interval, boolean),
  public._results_batch(text, jsonb),
  public._fail_step(uuid, text, jsonb, interval, boolean),
  public._retry_delay(text, int)
  from public, anon, authenticated, service_role;
revoke all on function
  public.complete_steps(text, jsonb),
  public.complete_and_claim_steps(text, jsonb, interval),
  public.complete_step(uuid, text, jsonb),
  public.fail_step(uuid, text, jsonb, interval, boolean),
  public.fail_steps(text, jsonb),
  public.extend_lease(uuid, text, interval),
  public.extend_leases(text, uuid[], interval),
  public.release_steps(text, uuid[])
  from public, anon, authenticated;
grant execute on function
  public.complete_steps(text, jsonb),
  public.complete_and_claim_steps(text, jsonb, interval),
  public.complete_step(uuid, text, jsonb),
  public.fail_step(uuid, text, jsonb, interval, boolean),
  public.fail_steps(text, jsonb),
  public.extend_lease(uuid, text, interval),
  public.extend_leases(text, uuid[], interval),
  public.release_steps(text, uuid[])
  to service_role;
