-- leaseflow: a job's later steps keep its place in the claim order. A later group's steps used
-- to be created with a new created_at and step_order, so they queued behind every first step
-- enqueued before them: a 5 000-job batch of 3-step jobs ran all 5 000 first steps before any
-- job finished (demo: p50 enqueue-to-done 35 s of a 46 s run). Now they take the created_at
-- and step_order of the job's first step, so a started job finishes before jobs behind it
-- start, and latency follows enqueue order. Retries still go to the back (their run_at moves).

create or replace function public._create_next_steps(p_job_ids uuid[])
returns int
language plpgsql volatile
set search_path = ''
as $$
declare
  v_jobs int;
  -- Looked up once: per row, the catalog lookup would cost a 50 000-job enqueue dearly.
  v_step_order_seq regclass := pg_get_serial_sequence('public.job_steps', 'step_order')::regclass;
begin
  -- plpgsql, not SQL: a SQL function with its own settings is planned again on every call.
  with next_group as (
    select j.id as job_id, j.enqueue_order, j.priority, j.run_at,
           coalesce(j.max_attempts, t.max_attempts) as max_attempts,
           coalesce((select max(s.seq) + 1 from public.job_steps s where s.job_id = j.id), 0) as seq,
           first_step.created_at as first_created_at, first_step.step_order as first_step_order,
           t.steps
      from public.jobs j
      join public.job_types t on t.type = j.type
      left join lateral (select s.created_at, s.step_order from public.job_steps s
                          where s.job_id = j.id order by s.seq, s.step_order limit 1) first_step on true
     where j.id = any (p_job_ids)
       and j.status = 'running'
       and not exists (select 1 from public.job_steps s where s.job_id = j.id and s.status <> 'completed')
  ), created as (
    insert into public.job_steps (job_id, seq, name, max_attempts, priority, run_at, created_at, step_order)
    select g.job_id, g.seq, n.name, g.max_attempts, g.priority, g.run_at,
           coalesce(g.first_created_at, now()),
           coalesce(g.first_step_order, nextval(v_step_order_seq))
      from next_group g
     cross join jsonb_array_elements_text(g.steps -> g.seq) with ordinality as n(name, name_order)
     where g.seq < jsonb_array_length(g.steps)
     order by g.enqueue_order, n.name_order
    returning job_id
  )
  select count(distinct created.job_id) into v_jobs from created;
  return v_jobs;
end;
$$;
