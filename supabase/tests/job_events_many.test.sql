-- job_events_many: several jobs' events in one call, as {job id: events}, for the jobs API's
-- shared event poll; jobs that no longer exist are left out; service_role only.
begin;
create extension if not exists pgtap with schema extensions;
select plan(5);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('one', '["a"]');
create temp table two on commit drop as select id from public.enqueue_jobs('one', '[{}, {}]') id;

select is(
  public.job_events_many(array(select id from two) || '00000000-0000-4000-8000-000000000000'::uuid),
  (select jsonb_object_agg(id, public.job_events(id)) from two),
  'each job''s events under its id, as job_events has them; an unknown id is left out');
select is(public.job_events_many('{}'), '{}'::jsonb, 'no ids, no events');
select throws_ok($$ select public.job_events_many(null) $$, '22023',
  'job_events_many: p_job_ids must be an array of at most 10000 job ids, got null', 'null ids');
select throws_ok($$ select public.job_events_many(array_fill('00000000-0000-4000-8000-000000000000'::uuid, array[10001])) $$, '22023',
  'job_events_many: p_job_ids must be an array of at most 10000 job ids, got 10001 ids', 'too many ids');
select function_privs_are('public', 'job_events_many', array['uuid[]'], 'authenticated', array[]::text[],
  'authenticated may not call it (it reads any tenant''s jobs)');

select * from finish();
rollback;
