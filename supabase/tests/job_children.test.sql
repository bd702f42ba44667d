-- A job's steps and attempts (job_steps, step_attempts) belong to it as a foreign key with
-- `on delete cascade` would keep them, by the triggers on jobs, job_steps and step_attempts:
-- rows of unknown jobs are refused, their job_id never changes, and deleting or truncating jobs
-- takes their rows with them, whoever deletes (a sweep, or a row deleted by hand in Studio).
begin;
create extension if not exists pgtap with schema extensions;
select plan(16);

delete from public.jobs;
insert into public.jobs (id, status) values
  ('c0000000-0000-4000-8000-000000000001', 'running'),
  ('c0000000-0000-4000-8000-000000000002', 'running'),
  ('c0000000-0000-4000-8000-000000000003', 'running');
insert into public.job_steps (id, job_id, seq)
select ('c1000000-0000-4000-8000-00000000000' || n)::uuid, ('c0000000-0000-4000-8000-00000000000' || n)::uuid, 0
  from generate_series(1, 3) n;
insert into public.step_attempts (step_id, job_id, attempt, worker_id, outcome)
select ('c1000000-0000-4000-8000-00000000000' || n)::uuid, ('c0000000-0000-4000-8000-00000000000' || n)::uuid, 1, 'w1', 'retried'
  from generate_series(1, 3) n, generate_series(1, 2) twice;

-- Inserts name existing jobs.
select throws_ok(
  $$ insert into public.step_attempts (step_id, job_id, attempt, worker_id, outcome)
     values ('c1000000-0000-4000-8000-000000000001', 'c9000000-0000-4000-8000-000000000009', 1, 'w1', 'failed') $$,
  '23503',
  'insert into step_attempts: job_id c9000000-0000-4000-8000-000000000009 names no job (every row of step_attempts belongs to an existing job)',
  'an attempt of an unknown job is refused, naming the job_id');
select throws_ok(
  $$ insert into public.job_steps (job_id, seq) values
       ('c0000000-0000-4000-8000-000000000001', 5), ('c9000000-0000-4000-8000-000000000008', 0) $$,
  '23503',
  'insert into job_steps: job_id c9000000-0000-4000-8000-000000000008 names no job (every row of job_steps belongs to an existing job)',
  'one unknown job among several refuses the whole insert');
select is((select count(*) from public.job_steps where seq = 5), 0::bigint, 'and writes none of its rows');
select lives_ok(
  $$ insert into public.job_steps (job_id, seq) values
       ('c0000000-0000-4000-8000-000000000001', 6), ('c0000000-0000-4000-8000-000000000001', 7) $$,
  'steps of an existing job are inserted');
delete from public.job_steps where seq in (6, 7);

-- A row stays with its job.
select throws_ok(
  $$ update public.job_steps set job_id = 'c0000000-0000-4000-8000-000000000002'
      where id = 'c1000000-0000-4000-8000-000000000001' $$,
  '23000',
  'update of job_steps: job_id cannot change (c0000000-0000-4000-8000-000000000001 to c0000000-0000-4000-8000-000000000002); a row of job_steps belongs to its job for good',
  'a step''s job_id cannot change');
select throws_ok(
  $$ update public.step_attempts set job_id = 'c0000000-0000-4000-8000-000000000002'
      where job_id = 'c0000000-0000-4000-8000-000000000001' $$,
  '23000', null, 'an attempt''s job_id cannot change');
select lives_ok(
  $$ update public.job_steps set job_id = job_id, name = 'renamed' where id = 'c1000000-0000-4000-8000-000000000001' $$,
  'a step''s other columns (and job_id set to itself) can be updated');

-- Deletes and truncates take the rows with them.
delete from public.jobs where id = 'c0000000-0000-4000-8000-000000000001';
select is((select count(*) from public.job_steps where job_id = 'c0000000-0000-4000-8000-000000000001')
          + (select count(*) from public.step_attempts where job_id = 'c0000000-0000-4000-8000-000000000001'),
  0::bigint, 'deleting a job by hand deletes its steps and attempts');
select is((select count(*) from public.job_steps), 2::bigint, 'the other jobs'' steps stay');
select is((select count(*) from public.step_attempts), 4::bigint, 'the other jobs'' attempts stay');

delete from public.jobs where id in ('c0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000003');
select is((select count(*) from public.job_steps) + (select count(*) from public.step_attempts), 0::bigint,
  'a delete of several jobs deletes all of their steps and attempts');

insert into public.jobs (id, status) values ('c0000000-0000-4000-8000-000000000004', 'running');
insert into public.job_steps (job_id, seq) values ('c0000000-0000-4000-8000-000000000004', 0);
insert into public.step_attempts (step_id, job_id, attempt, worker_id, outcome)
  values ('c1000000-0000-4000-8000-000000000004', 'c0000000-0000-4000-8000-000000000004', 1, 'w1', 'released');
truncate public.jobs;
select is((select count(*) from public.job_steps), 0::bigint, 'truncating jobs truncates job_steps');
select is((select count(*) from public.step_attempts), 0::bigint, 'and step_attempts');

-- Naming the children in the same truncate, as one would with the keys.
insert into public.jobs (id, status) values ('c0000000-0000-4000-8000-000000000005', 'running');
insert into public.job_steps (job_id, seq) values ('c0000000-0000-4000-8000-000000000005', 0);
insert into public.step_attempts (step_id, job_id, attempt, worker_id, outcome)
  values ('c1000000-0000-4000-8000-000000000005', 'c0000000-0000-4000-8000-000000000005', 1, 'w1', 'released');
select lives_ok($$ truncate public.jobs, public.job_steps $$, 'jobs can be truncated with job_steps named beside it');
select is((select count(*) from public.step_attempts), 0::bigint, 'and the attempts not named go too');
select lives_ok($$ truncate public.step_attempts, public.jobs, public.job_steps $$,
  'or with both named, in any order');

select * from finish();
rollback;
