-- extend_leases(p_worker_id, p_step_ids, p_lease_duration): one heartbeat for many steps; only
-- the holder's are renewed and returned.
begin;
create extension if not exists pgtap with schema extensions;
select plan(6);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('mail', '["send"]');
select count(*) from public.enqueue_jobs('mail', '[{}, {}, {}]');
create temp table mine on commit drop as select step_id from public.claim_steps('w1', '10 seconds', 2);
create temp table theirs on commit drop as select step_id from public.claim_steps('w2', '10 seconds', 1);

select set_eq($$ select * from public.extend_leases('w1', array(select step_id from mine union all select step_id from theirs), '2 minutes') $$,
  $$ select step_id from mine $$, 'it renews and returns the steps the worker holds');
select is((select count(*) from public.all_steps where lease_expires_at = now() + interval '2 minutes'), 2::bigint,
  'their leases move to now() + p_lease_duration');
select is((select lease_expires_at from public.all_steps where id = (select step_id from theirs)), now() + interval '10 seconds',
  'another worker''s lease is untouched');
select throws_ok($$ select * from public.extend_leases('w1', '{}', '1 minute') $$, '22023',
  'extend_leases: p_step_ids must be an array of 1 to 10000 step ids without nulls, got {}', 'an empty list');
select throws_ok($$ select * from public.extend_leases('w1', array[(select step_id from mine limit 1)], '0 seconds') $$, '22023',
  'extend_leases: p_lease_duration must be positive, got ''00:00:00''', 'a zero lease');
set local role authenticated;
select throws_ok($$ select * from public.extend_leases('w1', array['00000000-0000-4000-8000-000000000001'::uuid], '1 minute') $$, '42501',
  'permission denied for function extend_leases', 'authenticated cannot extend leases');
reset role;

select * from finish();
rollback;
