-- leaseflow: claiming steps under leases.
--
-- claim_steps claims a batch in one statement and returns enriched rows for the runtime;
-- claim_next_step (one step, the row as stored) calls it; next_claimable_at tells an idle worker
-- when the next retry or delayed job comes due.
--
-- Leases. A claim sets lease_expires_at; a step whose lease lapsed is claimable again. Lapsed
-- leases are reset in one place, _expire_leases(), which the claim path and sweep() call: back
-- to pending while attempts remain (the next claim counts a new attempt), otherwise the step
-- fails and takes its job with it. Lock order: see the admission file (lane → job → steps).

-- Fails a job: records the error, cancels its unfinished steps (a running sibling's late
-- completion then changes nothing) and lets its group key's next job start. The caller holds
-- the job's row lock and, for a keyed job, its lane lock.
create or replace function public._fail_job(p_job_id uuid, p_error jsonb)
returns void
language plpgsql volatile
set search_path = ''
as $$
declare
  v_job record;
begin
  -- Steps first: a job that is its own step gives up its claim before it may leave running.
  perform public._cancel_unfinished_steps(p_job_id,
    jsonb_build_object('code', 'job_failed', 'message', 'the job failed in another step'));
  update public.jobs
     set status = 'failed', error = p_error, finished_at = now(), updated_at = now()
   where id = p_job_id
     and status in ('pending', 'running')
  returning tenant_id, group_key into v_job;
  if not found then
    return;
  end if;
  perform public._advance_lane(v_job.tenant_id, v_job.group_key);
end;
$$;

-- Cancels a job's pending and running steps, recording the running attempts as cancelled. A
-- job that is its own step leaves the claim queue and its holder's lease (the caller then
-- finishes the job).
create or replace function public._cancel_unfinished_steps(p_job_id uuid, p_reason jsonb)
returns void
language plpgsql volatile
set search_path = ''
as $$
begin
  with own as (
    select j.id, coalesce(j.own_step_id, j.id) as step_id, j.locked_by, j.step_started_at, j.attempt
      from public.jobs j
     where j.id = p_job_id and j.status = 'running' and (j.locked_by is not null or j.queue_at is not null)
       for update
  ), cleared as (
    update public.jobs j
       set locked_by = null, lease_expires_at = null, queue_at = null, updated_at = now()
      from own
     where j.id = own.id
  )
  insert into public.step_attempts (step_id, job_id, attempt, worker_id, started_at, outcome, error)
  select own.step_id, own.id, own.attempt, own.locked_by, own.step_started_at, 'cancelled', p_reason
    from own
   where own.locked_by is not null;

  with unfinished as (
    select s.id, s.locked_by, s.started_at, s.attempt, s.status
      from public.job_steps s
     where s.job_id = p_job_id and s.status in ('pending', 'running')
       for update
  ), cancelled as (
    update public.job_steps s
       set status = 'cancelled', locked_by = null, lease_expires_at = null,
           finished_at = now(), updated_at = now()
      from unfinished u
     where s.id = u.id
    returning s.id
  )
  insert into public.step_attempts (step_id, job_id, attempt, worker_id, started_at, outcome, error)
  select u.id, p_job_id, u.attempt, u.locked_by, u.started_at, 'cancelled', p_reason
    from unfinished u
   where u.status = 'running';
end;
$$;

-- The error of an attempt whose lease lapsed.
create or replace function public._lease_expired_error(p_worker_id text, p_lease_expires_at timestamptz,
                                                       p_attempt int, p_max_attempts int)
returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'code', 'lease_expired',
    'message', format('lease of worker %s expired at %s on attempt %s of %s',
                      quote_literal(p_worker_id), p_lease_expires_at, p_attempt, p_max_attempts),
    'worker', p_worker_id,
    'attempt', p_attempt)
$$;

-- Resets every lapsed lease: back to pending while attempts remain, failed (with its job)
-- once they are used up. Jobs, lanes or steps another transaction holds are skipped, seen next
-- time: the claim path calls this, and a claim never waits.
create or replace function public._expire_leases(out reclaimed int, out failed int)
language plpgsql volatile
set search_path = ''
-- Normal costing, although claim_steps (its caller) prices sorts out, and planned on every call
-- (its caller's plans are cached): see _start_due_jobs.
set enable_sort = on
set plan_cache_mode = force_custom_plan
as $$
declare
  v_job record;
  v_failure jsonb;
  v_reclaimed int;
  v_queue_ranks smallint[];
  v_queue_ats timestamptz[];
begin
  reclaimed := 0;
  failed := 0;
  for v_job in
    select j.id, j.tenant_id, j.group_key
      from public.jobs j
     where j.id in (select s.job_id from public.job_steps s
                     where s.status = 'running' and s.lease_expires_at < now()
                    union all
                    select o.id from public.jobs o where o.lease_expires_at < now())
     order by j.id
  loop
    if v_job.group_key is not null
       and not public._lock_lane(v_job.tenant_id, v_job.group_key, false) then
      continue;
    end if;
    perform 1 from public.jobs j where j.id = v_job.id for update skip locked;
    if not found then
      continue;
    end if;

    -- SKIP LOCKED here too: a lapsed step whose row is held (its old holder renewing or settling
    -- it right now) is seen next time; the claim never waits for a lock.
    with lapsed as (
      select s.id, s.locked_by, s.started_at
        from public.job_steps s
       where s.job_id = v_job.id and s.status = 'running' and s.lease_expires_at < now()
         for update skip locked
    ), expired as (
      update public.job_steps s
         set status = case when s.attempt >= s.max_attempts then 'failed' else 'pending' end,
             error = public._lease_expired_error(s.locked_by, s.lease_expires_at, s.attempt, s.max_attempts),
             finished_at = case when s.attempt >= s.max_attempts then now() end,
             locked_by = null,
             lease_expires_at = null,
             updated_at = now()
        from lapsed
       where s.id = lapsed.id
      returning s.id, s.status, s.error, s.attempt, lapsed.locked_by as worker_id, lapsed.started_at
    ), recorded as (
      insert into public.step_attempts (step_id, job_id, attempt, worker_id, started_at, outcome, error)
      select e.id, v_job.id, e.attempt, e.worker_id, e.started_at, 'lease_expired', e.error
        from expired e
    )
    select count(*) filter (where e.status = 'pending'),
           (array_agg(e.error || jsonb_build_object('step_id', e.id)) filter (where e.status = 'failed'))[1]
      into v_reclaimed, v_failure
      from expired e;

    reclaimed := reclaimed + v_reclaimed;

    -- The job itself, when it is its own step (its row is locked above): back in the claim
    -- queue at its place, or out of it when that was its last attempt (the job then fails).
    with held as (
      select o.id, coalesce(o.own_step_id, o.id) as step_id, o.locked_by, o.lease_expires_at, o.step_started_at, o.attempt,
             coalesce(o.max_attempts, public._type_max_attempts(o.type)) as max_attempts
        from public.jobs o
       where o.id = v_job.id and o.lease_expires_at < now()
    ), expired as (
      update public.jobs o
         set step_error = public._lease_expired_error(h.locked_by, h.lease_expires_at, h.attempt, h.max_attempts),
             locked_by = null, lease_expires_at = null,
             queue_at = case when h.attempt >= h.max_attempts then null else o.queue_at end,
             updated_at = now()
        from held h
       where o.id = h.id
      returning o.id, h.step_id, o.step_error as error, h.attempt, h.max_attempts, h.locked_by as worker_id, h.step_started_at,
                o.queue_rank, o.queue_at
    ), recorded as (
      insert into public.step_attempts (step_id, job_id, attempt, worker_id, started_at, outcome, error)
      select e.step_id, e.id, e.attempt, e.worker_id, e.step_started_at, 'lease_expired', e.error
        from expired e
    )
    select count(*) filter (where e.attempt < e.max_attempts),
           coalesce(v_failure, (array_agg(e.error || jsonb_build_object('step_id', e.step_id))
                                  filter (where e.attempt >= e.max_attempts))[1]),
           array_agg(e.queue_rank), array_agg(e.queue_at)
      into v_reclaimed, v_failure, v_queue_ranks, v_queue_ats
      from expired e;
    reclaimed := reclaimed + v_reclaimed;
    -- Waiting again at its place (none when that was its last attempt: queue_at is then null).
    perform public._lower_claim_floor(v_queue_ranks, v_queue_ats);

    if v_failure is not null then
      perform public._fail_job(v_job.id, v_failure);
      failed := failed + 1;
    end if;
  end loop;
end;
$$;

-- The turn being served, where a tenant with nothing queued takes its next one (_queue_turn):
-- the latest turn a claim took (p_turn, the claimed steps' latest queue_at in the first rank;
-- null for none). Moved only forward (a job's later steps keep its first step's, older turn) and
-- only by a millisecond (1 000 turns) or more, so concurrent claims rarely write it (a write per
-- claim cost eight claimers a third of their throughput). plpgsql: see _claim_queue_types.
create or replace function public._serve_claim_turn(p_turn timestamptz)
returns void
language plpgsql volatile
set search_path = ''
as $$
begin
  perform setval('public.claim_turn_seq', m.turn)
     from (select (extract(epoch from p_turn) * 1000000)::bigint as turn) m,
          public.claim_turn_seq t
    where m.turn >= t.last_value + 1000 or not t.is_called;
end;
$$;

-- The claim: lapsed leases, due jobs and due retries first, then one statement that locks and
-- takes the first claimable steps in the claim order (fair across tenants by default: see
-- _queue_turn) and returns them with what their handlers need.
create or replace function public.claim_steps(
  p_worker_id text,
  p_lease_duration interval,
  p_limit int default 10,
  p_types text[] default null
)
returns table (
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
-- The planner's guess for a set-returning function is 1000 rows; with it, a caller joining the
-- result to jobs chose a full scan (18 ms a claim on a 10 000-job queue). A batch is small.
rows 10
security definer
set search_path = ''
-- Plans are made once per connection and cached (generic), so they are made from whatever the
-- statistics said then, often an empty queue. That is safe because no statement here leaves the
-- planner a choice that depends on them: the candidates come from the one ordered scan (sorts are
-- priced out, below), and every other row is reached through a primary key by a lookup
-- correlated to the row at hand (a subquery, never a join: a join of the candidates to jobs was
-- planned, from an empty queue's statistics, as a scan of every job per candidate, 4 000 buffers
-- a claim of 10 under 100 000 waiting jobs, tests/plans.backlog.test.ts).
set plan_cache_mode = force_generic_plan
-- The ordered scan of job_steps_claimable_idx is right at any size, but a plan made before the
-- tables have statistics (a fresh project, a bulk enqueue) sorts every claimable step instead
-- (~150 ms a claim with 20 000 queued, against 0.4 ms). Sorts are priced out (still used where
-- nothing else can give the order).
set enable_sort = off
-- For the same reason, every other access is an index lookup or a nested loop over one: stale
-- statistics must not make a plan scan or hash tables that hold millions of rows. And no JIT:
-- the priced-out sort makes the estimate look huge (JIT compiling took 270 ms a call).
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
declare
  v_floor_rank smallint;
  v_floor_at timestamptz;
begin
  perform public._require_worker_id('claim_steps', p_worker_id);
  perform public._require_positive_lease('claim_steps', p_lease_duration);
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception 'claim_steps: p_limit must be from 1 to 1000, got %', coalesce(p_limit::text, 'null')
      using errcode = 'invalid_parameter_value';
  end if;
  if p_types is not null and (cardinality(p_types) = 0 or array_position(p_types, null) is not null) then
    raise exception 'claim_steps: p_types must be null (every type) or a non-empty array of type names, got %', p_types
      using errcode = 'invalid_parameter_value';
  end if;
  -- Lapsed leases, due jobs and due retries are rare; each is looked for with one probe of the
  -- partial index that holds exactly those rows (a plan no statistics can change, so cached),
  -- and only found work calls the function that does it, which is planned for the rows at hand
  -- on every call. Planning those three on every claim had cost 0.5 ms (half a claim of 10).
  if exists (select 1 from public.job_steps s where s.lease_expires_at < now())
     or exists (select 1 from public.jobs j where j.lease_expires_at < now()) then
    perform public._expire_leases();
  end if;
  if exists (select 1 from public.jobs j where j.status = 'pending' and j.group_key is null and j.type is not null
                                                  and j.run_at <= now()) then
    perform public._start_due_jobs(greatest(p_limit, 100));
  end if;
  if exists (select 1 from public.job_steps s where s.status = 'pending' and s.queue_at is null and s.run_at <= now())
     or exists (select 1 from public.jobs j where j.status = 'running' and j.locked_by is null and j.queue_at is null
                                              and j.step_name is not null and j.run_at <= now()) then
    perform public._queue_due_steps(greatest(p_limit, 100));
  end if;

  -- Jobs are read from the claim floor on (see claim_floor). One claim a second raises it, when
  -- no transaction that makes a job wait is in flight (_raise_claim_floor): at 16 700 jobs/s the
  -- scan then passes over the entries of about a second's claims, not of every claim since the
  -- last vacuum.
  if (select f.raised_at from public.claim_floor f) < now() - interval '1 second' then
    perform public._raise_claim_floor();
  end if;
  select f.queue_rank, f.queue_at into v_floor_rank, v_floor_at from public.claim_floor f;

  -- One statement: each candidate is locked (SKIP LOCKED: a row another claimer holds is passed
  -- over, never waited for) and updated before the statement ends, so two callers can never
  -- both get it; a row changed by a concurrent commit is re-checked against the WHERE clause.
  -- The seq gate only matters for steps made by hand (jobs without a type): an enqueued job's
  -- later steps do not exist until their group may run (_create_next_steps), so for those it
  -- costs no lookup.
  --
  -- The previous outputs are read by the same statement, so in the snapshot the claim ran in: a
  -- later step is visible only together with the completion of the step before it (one
  -- transaction makes both). Read by a calling statement, in an older snapshot, an output could
  -- be missing (tests/claim.snapshot.test.ts); so could a job that is its own step reached past
  -- the snapshot by its row lock (see `taken`). A first step has none to read.
  --
  -- The sources, in one claim order: the queue of each type claimed (p_types, or every type) of
  -- jobs that are their own step (jobs_claimable_idx) and job_steps rows
  -- (job_steps_claimable_idx), each read in order, locked as read (SKIP LOCKED: a row another
  -- claimer holds is passed over, never waited for), at most p_limit of each; the first p_limit of
  -- them all by the claim order are claimed. When more than one source has rows, rows read but
  -- not taken stay locked until this statement's transaction ends (milliseconds).
  --
  -- When no step row is claimable (every job then runs on its row: the common case), the first
  -- statement claims jobs only, as the second would, without merging in step rows: no union, no
  -- lookup of a step's job per row (a tenth of a claim's time).
  -- A step row queued after the probe waits for the next claim, as if queued after this one.
  if not exists (select 1 from public.job_steps s where s.status = 'pending' and s.attempt < s.max_attempts
                                                 and s.queue_at is not null and s.run_at <= now()) then
    return query
    with next_jobs as (
      -- Each type's queue in the claim order (jobs_claimable_idx), the first p_limit of them all
      -- taken (see above).
      select n.id, n.seq
        from unnest(public._claim_queue_types(p_types)) as k(type)
       cross join lateral (
         select j.id, j.step_seq as seq, j.queue_rank, j.queue_at, j.priority, j.enqueue_order
           from public.jobs j
          where j.type = k.type
            and j.status = 'running'
            and j.locked_by is null
            and j.queue_at is not null
            and (j.queue_rank, j.queue_at) >= (v_floor_rank, v_floor_at)
            and j.run_at <= now()
          order by j.queue_rank, j.queue_at, j.priority desc, j.enqueue_order
          limit p_limit
            for no key update of j skip locked) n
       order by n.queue_rank, n.queue_at, n.priority desc, n.enqueue_order
       limit p_limit
    ), claimed as (
      update public.jobs j
         set locked_by = p_worker_id,
             lease_expires_at = now() + p_lease_duration,
             attempt = j.attempt + 1,
             step_started_at = now(),
             updated_at = now()
       -- Passed over when it moved on past this snapshot, as in `taken` below.
       where j.id = any (array(select n.id from next_jobs n
                                where not (n.seq > 0
                                           and (select o.step_seq from public.jobs o where o.id = n.id) is distinct from n.seq)))
      returning coalesce(j.own_step_id, j.id) as id, j.id as job_id, j.type, j.step_name as name, j.step_seq as seq,
                j.attempt, j.max_attempts, j.lease_expires_at, j.priority, j.group_key, j.tenant_id, j.payload,
                j.queue_rank, j.queue_at, j.enqueue_order
    ), served as (
      select public._serve_claim_turn(max(c.queue_at) filter (where c.queue_rank = 0)) from claimed c
    )
    select c.id, c.job_id, c.type, c.name, c.seq, c.attempt, coalesce(c.max_attempts, t.max_attempts, 3), c.lease_expires_at,
           (extract(epoch from coalesce(t.step_timeout, interval '5 minutes')) * 1000)::bigint,
           c.priority, c.group_key, c.tenant_id, c.payload, null::jsonb,
           case when c.seq = 0 then '{}'::jsonb
                else coalesce((select jsonb_object_agg(coalesce(p.name, p.seq::text), p.output order by p.seq)
                                 from public.job_steps p
                                where p.job_id = c.job_id and p.status = 'completed'), '{}'::jsonb) end
      from claimed c
      -- Looked up by each row's type (offset 0 keeps it a lookup): as a join, the plan cached for
      -- the connection could scan every type once per claimed row.
      left join lateral (select t.max_attempts, t.step_timeout from public.job_types t where t.type = c.type offset 0) t on true
      left join served on true
     order by c.queue_rank, c.queue_at, c.priority desc, c.enqueue_order;
    return;
  end if;

  return query
  with next_jobs as (
    -- Each type's queue, as in the statement above.
    select n.*
      from unnest(public._claim_queue_types(p_types)) as k(type)
     cross join lateral (
       select j.id, j.step_seq as seq, j.queue_rank, j.queue_at, j.priority, j.enqueue_order as claim_order
         from public.jobs j
        where j.type = k.type
          and j.status = 'running'
          and j.locked_by is null
          and j.queue_at is not null
          and (j.queue_rank, j.queue_at) >= (v_floor_rank, v_floor_at)
          and j.run_at <= now()
        order by j.queue_rank, j.queue_at, j.priority desc, j.enqueue_order
        limit p_limit
          -- NO KEY: what the update below takes anyway; a FOR UPDATE would also block the key-share
          -- lock of a step_attempts row being recorded for the job.
          for no key update of j skip locked) n
  ), next_steps as (
    select s.id, s.seq, s.queue_rank, s.queue_at, s.priority, s.step_order as claim_order
      from public.job_steps s
     where s.status = 'pending'
       and s.attempt < s.max_attempts
       and s.queue_at is not null
       and s.run_at <= now()
       and coalesce((select j.status = 'running'
                            and (p_types is null or j.type = any (p_types))
                            and (j.type is not null
                                 or not exists (select 1
                                                  from public.job_steps earlier
                                                 where earlier.job_id = s.job_id
                                                   and earlier.seq < s.seq
                                                   and earlier.status <> 'completed'))
                       from public.jobs j
                      where j.id = s.job_id), false)
     order by s.queue_rank, s.queue_at, s.priority desc, s.step_order
     limit p_limit
       for update of s skip locked
  ), taken as (
    select n.id, n.is_job
      from (select x.id, true as is_job, x.seq, x.queue_rank, x.queue_at, x.priority, x.claim_order from next_jobs x
            union all
            select x.id, false, x.seq, x.queue_rank, x.queue_at, x.priority, x.claim_order from next_steps x) n
     -- A job that is its own step and moved on to a later step after this statement's snapshot
     -- was taken is passed over: the lock above follows the row to its newest version, but this
     -- snapshot cannot see the completed step records that version's previous outputs come from
     -- (the next claim takes it). Its version in this snapshot is read by its id.
     where not (n.is_job and n.seq > 0
                and (select o.step_seq from public.jobs o where o.id = n.id) is distinct from n.seq)
     order by n.queue_rank, n.queue_at, n.priority desc, n.claim_order
     limit p_limit
  ), claimed_jobs as (
    update public.jobs j
       set locked_by = p_worker_id,
           lease_expires_at = now() + p_lease_duration,
           attempt = j.attempt + 1,
           step_started_at = now(),
           updated_at = now()
     -- = any(array(...)) is a primary-key lookup whatever the row estimate; a join on the CTE
     -- became a hash join over the whole table under a misjudged plan (5.6 ms).
     where j.id = any (array(select t.id from taken t where t.is_job))
    -- The job's own fields come with it: no second lookup of a job that is its own step.
    returning coalesce(j.own_step_id, j.id) as id, j.id as job_id, j.step_name as name, j.step_seq as seq, j.attempt, j.max_attempts,
              j.lease_expires_at, j.priority, null::jsonb as input, j.queue_rank, j.queue_at,
              j.enqueue_order as claim_order, true as is_job, j.type, j.group_key, j.tenant_id, j.payload
  ), claimed_steps as (
    update public.job_steps s
       set status = 'running',
           locked_by = p_worker_id,
           lease_expires_at = now() + p_lease_duration,
           attempt = s.attempt + 1,
           started_at = now(),
           updated_at = now()
     where s.id = any (array(select t.id from taken t where not t.is_job))
    returning s.id, s.job_id, s.name, s.seq, s.attempt, s.max_attempts, s.lease_expires_at, s.priority, s.input,
              s.queue_rank, s.queue_at, s.step_order as claim_order, false as is_job, null::text as type,
              null::text as group_key, null::uuid as tenant_id, null::jsonb as payload
  ), claimed as (
    select * from claimed_jobs
    union all
    select * from claimed_steps
  ), served as (
    select public._serve_claim_turn(max(c.queue_at) filter (where c.queue_rank = 0)) from claimed c
  )
  select c.id, c.job_id, j.type, c.name, c.seq, c.attempt, coalesce(c.max_attempts, t.max_attempts, 3), c.lease_expires_at,
         (extract(epoch from coalesce(t.step_timeout, interval '5 minutes')) * 1000)::bigint,
         c.priority, j.group_key, j.tenant_id, j.payload, c.input,
         case when c.seq = 0 then '{}'::jsonb
              else coalesce((select jsonb_object_agg(coalesce(p.name, p.seq::text), p.output order by p.seq)
                               from public.job_steps p
                              where p.job_id = c.job_id and p.status = 'completed'), '{}'::jsonb) end
    from claimed c
    -- A claimed step's job by its id (offset 0 keeps the subquery from being merged into a join;
    -- see the plan note above); a job that is its own step brought its fields along.
    cross join lateral (select c.type, c.group_key, c.tenant_id, c.payload
                         where c.is_job
                        union all
                        select j.type, j.group_key, j.tenant_id, j.payload
                          from public.jobs j
                         where not c.is_job and j.id = c.job_id
                        offset 0) j
    -- By each row's type, as above.
    left join lateral (select t.max_attempts, t.step_timeout from public.job_types t where t.type = j.type offset 0) t on true
    -- Joined so that it runs (once: a CTE with a volatile call is computed once).
    left join served on true
   order by c.queue_rank, c.queue_at, c.priority desc, c.claim_order;
end;
$$;

comment on function public.claim_steps(text, interval, int, text[]) is
  'Claims up to p_limit of the first claimable steps in the claim order (optionally only of p_types) for p_worker_id under a lease; each row carries what its handler needs.';

create or replace function public.claim_next_step(
  p_worker_id text,
  p_lease_duration interval default '5 minutes'
)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_claimed uuid;
begin
  perform public._require_worker_id('claim_next_step', p_worker_id);
  perform public._require_positive_lease('claim_next_step', p_lease_duration);
  select c.step_id into v_claimed from public.claim_steps(p_worker_id, p_lease_duration, 1) c;
  -- A second statement: it sees the row as the claim left it.
  return query select * from public.all_steps s where s.id = v_claimed;
end;
$$;

comment on function public.claim_next_step(text, interval) is
  'Claims the oldest claimable step for p_worker_id under a lease of p_lease_duration, or returns no row.';

-- When the next step becomes claimable: a worker that finds nothing to claim asks this before
-- it stops, since a retry due in two seconds is better served by waiting two seconds than by the
-- next tick (5 s hosted; a minute where pg_cron has no second schedules). A held step counts from
-- when its lease lapses: a holder renews it a lease ahead (a third of it at a time), so one due
-- to lapse soon is a holder that stopped renewing (killed, hung), and the next claim takes it
-- back (_expire_leases) the moment it lapses; an idle Node worker had polled up to 30 s apart.
create or replace function public.next_claimable_at(p_types text[] default null)
returns timestamptz
language plpgsql stable
security definer
set search_path = ''
-- Each probe reads the partial index that holds exactly its rows, so a call costs a few buffers
-- whatever the tables keep. A plan from statistics taken under a backlog read the claim queue's
-- probe as a scan of every job instead (115 ms over 200 000 finished jobs), or as a parallel scan
-- whose workers took 10 ms to start for the 9 buffers it read. No JIT: the priced-out scans make
-- the estimate look huge (compiling took ~480 ms a call).
set enable_seqscan = off
set max_parallel_workers_per_gather = 0
set jit = off
as $$
begin
  -- plpgsql, not SQL: the statement's plan is kept for the connection (a SQL function's body was
  -- planned on every call, ~2 ms of each idle poll).
  return least(
    -- Steps in job_steps, one partial index each: those queued (job_steps_claimable_idx) and
    -- those waiting for a retry (job_steps_retry_due_idx, read in run_at order up to the first of
    -- a running job of p_types). As one probe of every pending step, no index held exactly those,
    -- and each call read every step record kept (22-25 ms a call with 200 000 of them).
    (select min(s.run_at)
       from public.job_steps s
       join public.jobs j on j.id = s.job_id
      where s.status = 'pending' and s.attempt < s.max_attempts and s.queue_at is not null
        and j.status = 'running' and (p_types is null or j.type = any (p_types))),
    (select s.run_at
       from public.job_steps s
       join public.jobs j on j.id = s.job_id
      where s.status = 'pending' and s.queue_at is null and s.attempt < s.max_attempts
        and j.status = 'running' and (p_types is null or j.type = any (p_types))
      order by s.run_at
      limit 1),
    -- Jobs that are their own step: queued, or waiting for a retry (one index each). The queued
    -- ones in their types' queues from the claim floor on, as claim_steps reads them: from the
    -- head of the claim queue, an idle worker's every poll read the entry of each job claimed
    -- since the last vacuum (see claim_floor).
    (select min(j.run_at)
       from public.jobs j
      where j.type = any (public._claim_queue_types(p_types))
        and j.status = 'running' and j.locked_by is null and j.queue_at is not null
        and (j.queue_rank, j.queue_at) >= (select f.queue_rank, f.queue_at from public.claim_floor f)),
    (select min(j.run_at)
       from public.jobs j
      where j.status = 'running' and j.locked_by is null and j.queue_at is null and j.step_name is not null
        and (p_types is null or j.type = any (p_types))),
    (select min(j.run_at)
       from public.jobs j
      where j.status = 'pending' and j.group_key is null and (p_types is null or j.type = any (p_types))),
    -- Held steps, when their leases lapse: jobs that are their own step, then steps in job_steps,
    -- each from the 100 leases of its lease index that lapse first. Those are the ones whose
    -- holders stopped renewing (a renewed lease moves to the back), so a lapsing lease of p_types
    -- is among them unless 100 others lapse before it (it is then found at a later poll); a scan
    -- up to the first of p_types would pass every lease held for other types at each idle poll.
    (select min(h.lease_expires_at)
       from (select j.lease_expires_at, j.type
               from public.jobs j
              where j.lease_expires_at is not null
              order by j.lease_expires_at
              limit 100) h
      where p_types is null or h.type = any (p_types)),
    (select min(h.lease_expires_at)
       from (select s.lease_expires_at, s.job_id
               from public.job_steps s
              where s.lease_expires_at is not null
              order by s.lease_expires_at
              limit 100) h
      where p_types is null or (select j.type from public.jobs j where j.id = h.job_id) = any (p_types)));
end;
$$;

comment on function public.next_claimable_at(text[]) is
  'The earliest run_at of a pending step (retry backoff) or delayed job of p_types (all when null), or lease expiry of a held step of them; null when none is waiting or held. Group keys waiting for a rate window are not counted.';

revoke all on function
  public._serve_claim_turn(timestamptz),
  public._fail_job(uuid, jsonb),
  public._cancel_unfinished_steps(uuid, jsonb),
  public._lease_expired_error(text, timestamptz, int, int),
  public._expire_leases()
  from public, anon, authenticated, service_role;
revoke all on function
  public.claim_steps(text, interval, int, text[]),
  public.claim_next_step(text, interval),
  public.next_claimable_at(text[])
  from public, anon, authenticated;
grant execute on function
  public.claim_steps(text, interval, int, text[]),
  public.claim_next_step(text, interval),
  public.next_claimable_at(text[])
  to service_role;
