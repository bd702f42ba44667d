-- cancel_job(p_job_id, p_reason): pending or running jobs only; their steps are cancelled (a
-- worker still running one can no longer settle it); PT404 / PT409 errors; grants.
begin;
create extension if not exists pgtap with schema extensions;
select plan(10);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('mail', '["send", "log"]');
create temp table job on commit drop as select * from public.enqueue_job('mail', '{}');
create temp table c on commit drop as select * from public.claim_steps('w1', '1 minute', 1);

select row_eq($$ select status, error, finished_at from public.cancel_job((select id from job), 'user changed their mind') $$,
  row('cancelled'::text, '{"code": "cancelled", "message": "user changed their mind"}'::jsonb, now()),
  'a running job is cancelled with the reason');
select is((select status from public.all_steps where id = (select step_id from c)), 'cancelled', 'its running step is cancelled');
select is((select outcome from public.step_attempts where step_id = (select step_id from c)), 'cancelled',
  'the interrupted attempt is recorded');
select is_empty($$ select * from public.complete_step((select step_id from c), 'w1', '{}') $$,
  'the worker''s late completion changes nothing');

create temp table waiting on commit drop as
  select * from public.enqueue_job('mail', '{}', jsonb_build_object('run_at', now() + interval '1 day'));
select is((select status from public.cancel_job((select id from waiting))), 'cancelled', 'a pending job is cancelled');
select is((select error ->> 'message' from public.jobs where id = (select id from waiting)), 'cancelled', 'the reason defaults to "cancelled"');

select throws_ok($$ select public.cancel_job((select id from job)) $$, 'PT409',
  format('cancel_job: job %s is already cancelled; only pending or running jobs can be cancelled', (select id from job)),
  'cancelling a finished job is a conflict');
select throws_ok($$ select public.cancel_job('00000000-0000-4000-8000-00000000beef') $$, 'PT404',
  'cancel_job: job 00000000-0000-4000-8000-00000000beef not found', 'an unknown job');
select throws_ok($$ select public.cancel_job(null) $$, '22004', 'cancel_job: p_job_id must not be null', 'a null id');
set local role anon;
select throws_ok($$ select public.cancel_job('00000000-0000-4000-8000-00000000beef') $$, '42501',
  'permission denied for function cancel_job', 'anon cannot cancel');
reset role;

select * from finish();
rollback;
