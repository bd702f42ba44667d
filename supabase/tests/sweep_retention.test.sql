-- sweep(): prunes finished jobs past leaseflow_settings.retention (steps and attempts with
-- them), at most prune_batch_size per call; keeps unfinished and recent ones; starts due jobs.
begin;
create extension if not exists pgtap with schema extensions;
select plan(9);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('mail', '["send"]');
update public.leaseflow_settings set retention = interval '1 day', prune_batch_size = 2;

create temp table old on commit drop as select * from public.enqueue_jobs('mail', '[{}, {}, {}]') as e(id);
select public.complete_steps('w1', (select jsonb_agg(jsonb_build_object('step_id', step_id)) from public.claim_steps('w1', '1 minute', 10)));
update public.jobs set finished_at = now() - interval '2 days' where id in (select id from old);
-- History for the old jobs to take with them: a step row and a retried attempt each.
insert into public.job_steps (job_id, seq) select id, 1 from old;
insert into public.step_attempts (step_id, job_id, attempt, worker_id, outcome) select id, id, 1, 'w1', 'retried' from old;
select is((select count(*) from public.job_steps s where s.job_id in (select id from old))
          + (select count(*) from public.step_attempts a where a.job_id in (select id from old)),
  6::bigint, 'the old jobs have steps and attempts before the sweep');
create temp table recent on commit drop as select * from public.enqueue_job('mail', '{}');
select public.complete_step((select step_id from public.claim_steps('w1', '1 minute', 1)), 'w1', '{}');
create temp table unfinished on commit drop as select * from public.enqueue_job('mail', '{}');
create temp table later on commit drop as select * from public.enqueue_job('mail', '{}', jsonb_build_object('run_at', now() + interval '1 hour'));

select is((public.sweep() ->> 'jobs_pruned')::int, 2, 'prunes at most prune_batch_size finished jobs past the retention');
select is((public.sweep() ->> 'jobs_pruned')::int, 1, 'the next sweep prunes the rest');
select is((public.sweep() ->> 'jobs_pruned')::int, 0, 'then nothing is left to prune');
select is_empty($$ select 1 from public.job_steps s where s.job_id in (select id from old)
                   union all select 1 from public.step_attempts a where a.job_id in (select id from old) $$,
  'their steps and attempts go with them');
select is((select count(*) from public.jobs where id in ((select id from recent), (select id from unfinished), (select id from later))),
  3::bigint, 'recent and unfinished jobs stay');

update public.jobs set run_at = now() - interval '1 second' where id = (select id from later);
select is((public.sweep() ->> 'due_jobs_started')::int, 1, 'sweep starts a delayed job whose time has come');
select is((select status from public.jobs where id = (select id from later)), 'running', 'it is running');
select is((public.sweep() ->> 'cron_runs_pruned')::int, 0, 'without pg_cron, there is no run history to prune');

select * from finish();
rollback;
