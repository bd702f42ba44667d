-- _create_next_steps: a job's later steps take its first step's place in the claim order, so
-- started jobs finish before the jobs behind them start (depth first).
begin;
create extension if not exists pgtap with schema extensions;
select plan(3);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('two', '["first", ["second_a", "second_b"]]');
create temp table batch on commit drop as
  select id, row_number() over () as n from public.enqueue_jobs('two', '[{"n": 1}, {"n": 2}, {"n": 3}]') as id;

select public.complete_step((select step_id from public.claim_steps('w', '1 minute', 1)), 'w', '{}');
select is((select array_agg(s.name order by s.name) from public.claim_steps('w', '1 minute', 2) c join public.job_steps s on s.id = c.step_id
            where c.job_id = (select id from batch where n = 1)),
  array['second_a', 'second_b'], 'after job 1''s first step, job 1''s next group comes before job 2''s first step');
select is((select j.payload ->> 'n' from public.claim_steps('w', '1 minute', 1) c join public.jobs j on j.id = c.job_id), '2',
  'then job 2');
select is((select count(distinct (created_at, step_order)) from public.job_steps where job_id = (select id from batch where n = 1)), 1::bigint,
  'all of a job''s steps share its first step''s claim position');

select * from finish();
rollback;
