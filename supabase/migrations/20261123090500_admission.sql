-- leaseflow: admission, the pending → running transition of a job.
--
-- A job is pending while it waits for its run_at or for its turn in its group key; running
-- means its steps may be claimed. A job's step rows are created group by group, when the group
-- may run (_create_next_steps): a backlog of scheduled or queued-behind-a-key jobs has no step
-- rows, so it costs the claim nothing.
--
-- Lanes. Jobs sharing (tenant, group_key) form a lane: at most `group_concurrency` of them run
-- at once, they start in enqueue order (a head that is not yet due holds the lane), and at most
-- `group_rate_limit` start per `group_rate_interval`. A lane advances when something happens to
-- it: a job is enqueued into it, or one of its jobs finishes (completed, failed, cancelled).
-- Time-based progress (a delayed head, a rate window that reopens) is picked up by sweep().
--
-- Lock order, used by every transition that touches several rows: lane (transaction-scoped
-- advisory lock) → job rows (by id) → step rows. The claim only locks steps with SKIP LOCKED
-- and never waits, so it cannot take part in a deadlock.
--
-- Jobs made by hand (type is null) are never admitted automatically.

-- Takes the lock of the lane (p_tenant_id, p_group_key) for the rest of the transaction; with
-- p_wait = false, only if it is free.
create or replace function public._lock_lane(p_tenant_id uuid, p_group_key text, p_wait boolean)
returns boolean
language plpgsql volatile
set search_path = ''
as $$
declare
  v_key bigint := hashtextextended('leaseflow.lane/' || public._lane_tenant(p_tenant_id)::text || '/' || p_group_key, 0);
begin
  if p_wait then
    perform pg_advisory_xact_lock(v_key);
    return true;
  end if;
  return pg_try_advisory_xact_lock(v_key);
end;
$$;

-- Locks a job for a transition in the one order every transition uses: its lane (when it has
-- a group key), then its row.
create or replace function public._lock_job(p_job_id uuid, p_tenant_id uuid, p_group_key text)
returns void
language plpgsql volatile
set search_path = ''
as $$
begin
  if p_group_key is not null then
    perform public._lock_lane(p_tenant_id, p_group_key, true);
  end if;
  perform 1 from public.jobs j where j.id = p_job_id for update;
end;
$$;

-- Where a job's steps join the claim queue: (queue_rank, queue_at, priority desc, step_order).
--
-- Fair claiming (leaseflow_settings.fair_claiming, on by default) is start-time fair queuing
-- over tenants (service_role's jobs are one tenant): queue_at is virtual time, one turn a
-- microsecond. A tenant's next job takes the turn after its tenant's last queued job of the same
-- or higher priority, and none before the turn being served (the latest claimed, kept to the
-- millisecond in claim_turn_seq). So a tenant with 50 000 queued jobs holds 50 000 consecutive
-- turns, and a job of another tenant enqueued now takes the turn being served: it waits for
-- about one job per tenant with work, not for the 50 000. A job of higher priority than its tenant's queued ones starts a run of turns of its
-- own, and jobs on the same turn go by priority: priority orders a tenant's jobs, it does not let
-- one tenant overtake the others (at most one turn per priority level). A retry leaves the
-- order while it backs off and takes its tenant's next turn when due (_queue_due_steps): a
-- run_at is real time, which virtual time may trail by hours under a standing backlog. Turns are
-- read, not locked: two calls of one tenant at the same moment may take the same turns, which
-- shares them, and never blocks an enqueue.
--
-- Off, queue_rank is 5 - priority and queue_at the job's run_at: priority first, then run_at,
-- then creation order, for everyone. Either way the claim reads one index in one order, so its
-- cost does not depend on how many tenants wait.
--
-- Returns the rank and the first turn for p_tenant_id's jobs of p_priority (later jobs of the
-- same call take the turns after it); first_turn_at is null when fair claiming is off (then
-- queue_at is the job's run_at).
create or replace function public._queue_turn(p_tenant_id uuid, p_priority smallint,
                                              out queue_rank smallint, out first_turn_at timestamptz)
language plpgsql stable
set search_path = ''
as $$
begin
  if not (select s.fair_claiming from public.leaseflow_settings s) then
    queue_rank := 5 - p_priority;
    return;
  end if;
  queue_rank := 0;
  -- The turn last claimed is read from a sequence, not from the head of the claim index: claimed
  -- steps leave dead index entries there until a vacuum, and a probe from the head read every
  -- one of them (0.8 ms after 25 000 claims). The tenant's last turn per priority is the tail
  -- of its own index range, where new turns are added.
  first_turn_at := coalesce(greatest(
    (select timestamptz 'epoch' + c.last_value * interval '1 microsecond'
       from public.claim_turn_seq c
      where c.is_called),
    -- Among steps and jobs that are their own step (each kind's tail of its own index).
    (select max(last.queue_at) + interval '1 microsecond'
       from unnest('{1, 2, 3, 4, 5}'::smallint[]) p
      cross join lateral ((select s.queue_at
                             from public.job_steps s
                            where coalesce(s.tenant_id, '00000000-0000-0000-0000-000000000000'::uuid)
                                  = public._lane_tenant(p_tenant_id)
                              and s.priority = p.p
                              and s.status = 'pending' and s.attempt < s.max_attempts and s.queue_at is not null
                            order by s.queue_at desc
                            limit 1)
                          union all
                          (select j.queue_at
                             from public.jobs j
                            where coalesce(j.tenant_id, '00000000-0000-0000-0000-000000000000'::uuid)
                                  = public._lane_tenant(p_tenant_id)
                              and j.priority = p.p
                              and j.status = 'running' and j.locked_by is null and j.queue_at is not null
                            order by j.queue_at desc
                            limit 1)) last
      where p.p >= p_priority)), now());
end;
$$;

-- The types whose claim queues a read covers: p_types (each once), or every defined type.
-- jobs_claimable_idx keeps one queue per type; only a job with a type is queued
-- (jobs_queued_has_type_check). plpgsql (see _lane_tenant): as SQL functions, this one and
-- _serve_claim_turn were planned again in every claim, a quarter of a claim of 10 (0.54 ms in
-- the database, now 0.39).
create or replace function public._claim_queue_types(p_types text[])
returns text[]
language plpgsql stable
set search_path = ''
as $$
begin
  return case when p_types is null then array(select t.type from public.job_types t)
              else array(select distinct unnest(p_types)) end;
end;
$$;

-- The claim floor: a place in the claim order (queue_rank, queue_at) before which no job waits
-- in jobs_claimable_idx, so that a claim's ordered scan of each type's queue there starts at it.
-- Claims take jobs from the head of those queues, and each leaves its entry there until a
-- vacuum: a btree drops entries only when vacuumed or when an insert needs their page, and new
-- entries go to the other end. A claim from the head read every one of them: at 16 700 jobs/s,
-- ~6 700 buffers a minute after a vacuum, and the worker fell behind (README, Performance). The
-- floor stays true because every transaction that makes a job wait lowers it to the job's place
-- first or after (_lower_claim_floor), holding a lock shared until it ends: a new place
-- (enqueue_jobs, and _queue_places for due retries, started lanes and redriven jobs) and a held
-- job waiting again at its place (_expire_leases, release_steps, _complete_own_steps for a next step). Only
-- _raise_claim_floor raises it, with that lock held exclusively, so no such transaction is in
-- flight: every waiting job is committed and visible to it.
-- Steps in job_steps (parallel groups, steps made by hand) are claimed from the head, as before.
create table public.claim_floor (
  id boolean primary key default true,
  queue_rank smallint not null,
  queue_at timestamptz not null,
  -- When _raise_claim_floor last raised it: claim_steps calls it at most once a second.
  raised_at timestamptz not null,
  constraint claim_floor_single_row check (id)
);
insert into public.claim_floor (queue_rank, queue_at, raised_at) values (-32768, '-infinity', '-infinity');

comment on table public.claim_floor is
  'The place in the claim order (queue_rank, queue_at) before which no job waits to be claimed: where claim_steps starts its scan of the waiting jobs. Lowered by every transaction that makes a job wait, raised by claim_steps once a second.';

alter table public.claim_floor enable row level security;
revoke all on table public.claim_floor from public, anon, authenticated;

-- Lowers the claim floor to the first of the places (p_queue_ranks[i], p_queue_ats[i]) if that is
-- before it: called by a transaction that makes jobs wait at those places (a null place, or none,
-- lowers nothing). The shared lock, held until the transaction ends, keeps _raise_claim_floor
-- from raising the floor past a job it cannot see waiting yet.
create or replace function public._lower_claim_floor(p_queue_ranks smallint[], p_queue_ats timestamptz[])
returns void
language plpgsql volatile
set search_path = ''
as $$
declare
  v_queue_rank smallint;
  v_queue_at timestamptz;
begin
  select u.queue_rank, u.queue_at into v_queue_rank, v_queue_at
    from unnest(p_queue_ranks, p_queue_ats) u(queue_rank, queue_at)
   where u.queue_at is not null
   order by u.queue_rank, u.queue_at
   limit 1;
  if v_queue_at is null then
    return;
  end if;
  perform pg_advisory_xact_lock_shared(hashtextextended('public.claim_floor', 0));
  update public.claim_floor f
     set queue_rank = v_queue_rank, queue_at = v_queue_at
   where (f.queue_rank, f.queue_at) > (v_queue_rank, v_queue_at);
end;
$$;

-- Raises the claim floor to the first waiting job's place at or after it (past every place when
-- none waits), if the floor's lock is free: taken exclusively, it waits for no transaction that
-- made a job wait (each holds it shared), so every such job is committed and visible here, and
-- none is until this transaction ends. While the lock is taken the floor stays where it is (a
-- claim never waits for it).
create or replace function public._raise_claim_floor()
returns void
language plpgsql volatile
set search_path = ''
as $$
declare
  v_floor public.claim_floor;
  v_first record;
begin
  if not pg_try_advisory_xact_lock(hashtextextended('public.claim_floor', 0)) then
    return;
  end if;
  select * into v_floor from public.claim_floor;
  -- The first of each type's queue (jobs_claimable_idx keeps one per type).
  select f.queue_rank, f.queue_at into v_first
    from unnest(public._claim_queue_types(null)) as t(type)
   cross join lateral (select j.queue_rank, j.queue_at
                         from public.jobs j
                        where j.type = t.type and j.status = 'running' and j.locked_by is null and j.queue_at is not null
                          and (j.queue_rank, j.queue_at) >= (v_floor.queue_rank, v_floor.queue_at)
                        order by j.queue_rank, j.queue_at, j.priority desc, j.enqueue_order
                        limit 1) f
   order by f.queue_rank, f.queue_at
   limit 1;
  update public.claim_floor
     set queue_rank = coalesce(v_first.queue_rank, 32767),
         queue_at = coalesce(v_first.queue_at, 'infinity'),
         raised_at = now();
end;
$$;

-- The queue places of items joining the claim queue, one per element of the arrays (returned
-- with its 1-based ordinality): each (tenant, priority) takes consecutive turns from its next
-- one, in array order; with fair claiming off, rank 5 - priority at its run_at. The claim floor
-- is lowered to the first of them (_lower_claim_floor).
create or replace function public._queue_places(p_tenant_ids uuid[], p_priorities smallint[], p_run_ats timestamptz[])
returns table (ord bigint, queue_rank smallint, queue_at timestamptz)
language plpgsql volatile
set search_path = ''
as $$
declare
  v_ords bigint[];
  v_ranks smallint[];
  v_ats timestamptz[];
begin
  with item as (
    select i.ord, i.tenant_id, i.priority, i.run_at,
           row_number() over (partition by i.tenant_id, i.priority order by i.ord) - 1 as turn
      from unnest(p_tenant_ids, p_priorities, p_run_ats) with ordinality as i(tenant_id, priority, run_at, ord)
  ), first_turn as (
    select k.tenant_id, k.priority, q.queue_rank, q.first_turn_at
      from (select distinct tenant_id, priority from item) k
     cross join lateral public._queue_turn(k.tenant_id, k.priority) q
  ), place as (
    select i.ord, f.queue_rank, coalesce(f.first_turn_at + i.turn * interval '1 microsecond', i.run_at) as queue_at
      from item i
      join first_turn f on f.tenant_id is not distinct from i.tenant_id and f.priority = i.priority
  )
  -- Aggregated from the same rows in the same order, the arrays pair up; the callers find a place
  -- by its ord, so no aggregate sorts.
  select array_agg(p.ord), array_agg(p.queue_rank), array_agg(p.queue_at)
    into v_ords, v_ranks, v_ats
    from place p;
  perform public._lower_claim_floor(v_ranks, v_ats);
  return query select * from unnest(v_ords, v_ranks, v_ats);
end;
$$;

-- Retries whose backoff is over join the claim queue at their tenant's next turn (at most
-- p_limit, the longest waiting first; a row another transaction holds is left for next time).
-- The claim path calls it, as it starts due jobs. Returns how many it queued.
create or replace function public._queue_due_steps(p_limit int)
returns int
language plpgsql volatile
set search_path = ''
-- Planned on every call, as _start_due_jobs (the claim path calls both only when due).
set plan_cache_mode = force_custom_plan
as $$
declare
  v_queued int;
begin
  -- Due steps and due jobs that are their own step, together: they take turns in run_at order.
  with due_steps as (
    select s.id, false as is_job, s.tenant_id, s.priority, s.run_at, s.step_order as claim_order
      from public.job_steps s
     where s.status = 'pending' and s.queue_at is null and s.run_at <= now()
     order by s.run_at
     limit p_limit
       for update skip locked
  ), due_jobs as (
    select j.id, true as is_job, j.tenant_id, j.priority, j.run_at, j.enqueue_order as claim_order
      from public.jobs j
     where j.status = 'running' and j.locked_by is null and j.queue_at is null
       and j.step_name is not null and j.run_at <= now()
     order by j.run_at
     limit p_limit
       for no key update skip locked
  ), due as (
    select d.* from (select * from due_steps union all select * from due_jobs) d
     order by d.run_at, d.claim_order
     limit p_limit
  ), listed as (
    select array_agg(d.id order by d.run_at, d.claim_order) as ids,
           array_agg(d.is_job order by d.run_at, d.claim_order) as is_jobs,
           array_agg(d.tenant_id order by d.run_at, d.claim_order) as tenant_ids,
           array_agg(d.priority order by d.run_at, d.claim_order) as priorities,
           array_agg(d.run_at order by d.run_at, d.claim_order) as run_ats
      from due d
  ), places as (
    select l.ids[p.ord] as id, l.is_jobs[p.ord] as is_job, p.queue_rank, p.queue_at
      from listed l
     cross join lateral public._queue_places(l.tenant_ids, l.priorities, l.run_ats) p
     -- Nothing due (every claim asks): no call at all.
     where l.ids is not null
  ), queued_steps as (
    update public.job_steps s
       set queue_rank = p.queue_rank, queue_at = p.queue_at, updated_at = now()
      from places p
     where not p.is_job and s.id = p.id
    returning 1
  ), queued_jobs as (
    update public.jobs j
       set queue_rank = p.queue_rank, queue_at = p.queue_at, updated_at = now()
      from places p
     where p.is_job and j.id = p.id
    returning 1
  )
  select (select count(*) from queued_steps) + (select count(*) from queued_jobs) into v_queued;
  return v_queued;
end;
$$;

-- Creates the step rows of each job's next group, for running jobs of a known type whose
-- steps so far are all completed (a job's first group when it starts, the next one when a
-- group completes). Steps exist only once they may run: a backlog of pending jobs costs the
-- claim index nothing. Returns how many jobs got new steps.
--
-- A first group joins the claim queue at its tenant's next turns (_queue_turn). A later group
-- takes the queue place and step_order of the job's first step, so it keeps the job's place in
-- the claim order: a started job finishes before jobs enqueued after it start, and latency
-- follows enqueue order. A job that is its own step (_runs_on_job_row) gets no rows: its step
-- joins the claim queue on the job row, and its later steps follow there (_complete_own_steps).
create or replace function public._create_next_steps(p_job_ids uuid[])
returns int
language plpgsql volatile
set search_path = ''
as $$
declare
  v_jobs int;
  -- Looked up once: per row, the catalog lookup would cost a 50 000-job enqueue dearly.
  v_step_order_seq regclass := 'public.jobs_enqueue_order_seq'::regclass;
begin
  -- plpgsql, not SQL: a SQL function with its own settings is planned again on every call.
  with next_group as (
    select j.id as job_id, j.enqueue_order, j.priority, j.run_at, j.tenant_id,
           coalesce(j.max_attempts, t.max_attempts) as max_attempts,
           coalesce(so_far.last_seq + 1, 0) as seq,
           so_far.first_queue_rank, so_far.first_queue_at, so_far.first_created_at, so_far.first_step_order,
           t.steps,
           public._runs_on_job_row(t.steps) as is_own_step
      from public.jobs j
      join public.job_types t on t.type = j.type
     -- The job's steps so far, read once (one probe of its steps by job id): the group they
     -- reached, whether all completed, and the first step's place in the claim order.
     cross join lateral (
       select max(s.seq) as last_seq,
              bool_and(s.status = 'completed') as all_completed,
              (array_agg(s.queue_rank order by s.seq, s.step_order))[1] as first_queue_rank,
              (array_agg(s.queue_at order by s.seq, s.step_order))[1] as first_queue_at,
              (array_agg(s.created_at order by s.seq, s.step_order))[1] as first_created_at,
              (array_agg(s.step_order order by s.seq, s.step_order))[1] as first_step_order
         from public.job_steps s
        where s.job_id = j.id) so_far
     where j.id = any (p_job_ids)
       and j.status = 'running'
       -- No step yet (null), or every one completed.
       and so_far.all_completed is not false
  ), starting as (
    -- Jobs whose first group this is, and jobs that are their own step joining the claim queue
    -- (starting, or started again by retry_job), in enqueue order.
    select array_agg(g.job_id order by g.enqueue_order) as job_ids,
           array_agg(g.tenant_id order by g.enqueue_order) as tenant_ids,
           array_agg(g.priority order by g.enqueue_order) as priorities,
           array_agg(g.run_at order by g.enqueue_order) as run_ats
      from next_group g
     where g.first_step_order is null or g.is_own_step
  ), places as materialized (
    -- Each starting job's place, found by its id in one JSON object (a lookup, not a join: joined
    -- to the batch, every job was compared with every place, and the aggregate above recomputed
    -- for each job; O(n^2) for a batch of n). Computed once (materialized).
    select jsonb_object_agg(st.job_ids[p.ord]::text, jsonb_build_array(p.queue_rank, p.queue_at)) as by_job
      from starting st
     cross join lateral public._queue_places(st.tenant_ids, st.priorities, st.run_ats) p
     -- Only later groups (a completed group's next): no call at all.
     where st.job_ids is not null
  ), created as (
    insert into public.job_steps (job_id, seq, name, max_attempts, priority, run_at, tenant_id,
                                  queue_rank, queue_at, created_at, step_order)
    select g.job_id, g.seq, n.name, g.max_attempts, g.priority, g.run_at, g.tenant_id,
           coalesce(g.first_queue_rank, (p.by_job -> g.job_id::text ->> 0)::smallint),
           coalesce(g.first_queue_at, (p.by_job -> g.job_id::text ->> 1)::timestamptz),
           coalesce(g.first_created_at, now()),
           coalesce(g.first_step_order, nextval(v_step_order_seq))
      from next_group g
     cross join places p
     cross join jsonb_array_elements_text(g.steps -> g.seq) with ordinality as n(name, name_order)
     where g.seq < jsonb_array_length(g.steps)
       and not g.is_own_step
     order by g.enqueue_order, n.name_order
    returning job_id
  ), queued as (
    -- A job that is its own step: its step is the one after its completed records (the first,
    -- or where retry_job sent it back), on the job row.
    update public.jobs j
       set step_name = g.steps -> g.seq ->> 0,
           step_seq = g.seq,
           step_count = nullif(jsonb_array_length(g.steps), 1),
           own_step_id = case when g.seq = j.step_seq then j.own_step_id when g.seq > 0 then gen_random_uuid() end,
           queue_rank = (p.by_job -> g.job_id::text ->> 0)::smallint,
           queue_at = (p.by_job -> g.job_id::text ->> 1)::timestamptz,
           updated_at = now()
      from next_group g
     cross join places p
     where g.is_own_step and g.seq < jsonb_array_length(g.steps)
       and j.id = g.job_id and j.locked_by is null and j.queue_at is null
    returning j.id
  )
  select (select count(distinct created.job_id) from created) + (select count(*) from queued) into v_jobs;
  return v_jobs;
end;
$$;

-- Starts pending jobs: running, started_at, and their next step group created. The caller
-- has checked they may start (due, and their lane has room).
create or replace function public._start_jobs(p_job_ids uuid[])
returns int
language plpgsql volatile
set search_path = ''
as $$
declare
  v_started uuid[];
begin
  with started as (
    update public.jobs j
       set status = 'running', started_at = now(), updated_at = now()
     where j.id = any (p_job_ids)
       and j.status = 'pending'
    returning j.id
  )
  select array_agg(started.id) into v_started from started;
  if v_started is null then
    return 0;
  end if;
  perform public._create_next_steps(v_started);
  return cardinality(v_started);
end;
$$;

-- Starts as many of the lane's (p_tenant_id, p_group_key) pending jobs as its rules allow; a
-- job without a group key has no lane (0). The caller holds the lane lock.
create or replace function public._advance_lane(p_tenant_id uuid, p_group_key text)
returns int
language plpgsql volatile
set search_path = ''
as $$
declare
  v_lane_tenant uuid := public._lane_tenant(p_tenant_id);
  v_running int;
  v_started int := 0;
  v_recent int;
  v_next record;
begin
  if p_group_key is null then
    return 0;
  end if;
  select count(*) into v_running
    from public.jobs j
   where public._lane_tenant(j.tenant_id) = v_lane_tenant
     and j.group_key = p_group_key
     and j.status = 'running';

  for v_next in
    select j.id, j.run_at, t.group_concurrency, t.group_rate_limit, t.group_rate_interval
      from public.jobs j
      join public.job_types t on t.type = j.type
     where public._lane_tenant(j.tenant_id) = v_lane_tenant
       and j.group_key = p_group_key
       and j.status = 'pending'
     order by j.enqueue_order
  loop
    -- Strict FIFO: the head blocks the lane until it is due and has room.
    exit when v_next.run_at > now();
    exit when v_running >= v_next.group_concurrency;
    if v_next.group_rate_limit is not null then
      select count(*) into v_recent
        from public.jobs j
       where public._lane_tenant(j.tenant_id) = v_lane_tenant
         and j.group_key = p_group_key
         and j.started_at > now() - v_next.group_rate_interval;
      exit when v_recent >= v_next.group_rate_limit;
    end if;
    perform public._start_jobs(array[v_next.id]);
    v_running := v_running + 1;
    v_started := v_started + 1;
  end loop;
  return v_started;
end;
$$;

-- Starts delayed jobs without a group key whose run_at has come (called on the claim path).
create or replace function public._start_due_jobs(p_limit int)
returns int
language plpgsql volatile
set search_path = ''
-- claim_steps, which calls it, prices sorts out of its own statement; this lookup keeps
-- normal costing (without sorts it took ~6 ms instead of a fraction of one). And it is planned
-- on every call, for the rows at hand (claim_steps caches its own plans, and calls this only
-- when a probe found a due job).
set enable_sort = on
set plan_cache_mode = force_custom_plan
as $$
declare
  v_due uuid[];
begin
  select array_agg(d.id) into v_due
    from (select j.id
            from public.jobs j
           where j.status = 'pending' and j.group_key is null and j.type is not null and j.run_at <= now()
           order by j.run_at
           limit p_limit
             for update skip locked) d;
  if v_due is null then
    return 0;
  end if;
  return public._start_jobs(v_due);
end;
$$;

-- Advances every lane whose head is due (sweep): delayed heads and reopened rate windows.
-- Lanes another transaction holds are skipped; that transaction advances them itself.
create or replace function public._advance_due_lanes()
returns int
language plpgsql volatile
set search_path = ''
as $$
declare
  v_lane record;
  v_started int := 0;
begin
  for v_lane in
    select distinct j.tenant_id, j.group_key
      from public.jobs j
     where j.group_key is not null
       and j.status = 'pending'
       and j.type is not null
       and j.run_at <= now()
  loop
    if public._lock_lane(v_lane.tenant_id, v_lane.group_key, false) then
      v_started := v_started + public._advance_lane(v_lane.tenant_id, v_lane.group_key);
    end if;
  end loop;
  return v_started;
end;
$$;

revoke all on function
  public._claim_queue_types(text[]),
  public._lower_claim_floor(smallint[], timestamptz[]),
  public._raise_claim_floor(),
  public._lock_lane(uuid, text, boolean),
  public._lock_job(uuid, uuid, text),
  public._queue_turn(uuid, smallint),
  public._queue_places(uuid[], smallint[], timestamptz[]),
  public._queue_due_steps(int),
  public._create_next_steps(uuid[]),
  public._start_jobs(uuid[]),
  public._advance_lane(uuid, text),
  public._start_due_jobs(int),
  public._advance_due_lanes()
  from public, anon, authenticated, service_role;
