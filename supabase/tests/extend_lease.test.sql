-- extend_lease(p_step_id, p_worker_id, p_lease_duration): the holder's heartbeat; nobody else's.
begin;
create extension if not exists pgtap with schema extensions;
select plan(6);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('mail', '["send"]');
select public.enqueue_job('mail', '{}');
create temp table c on commit drop as select * from public.claim_steps('w1', '10 seconds', 1);

select is((select lease_expires_at from public.extend_lease((select step_id from c), 'w1', '2 minutes')),
  now() + interval '2 minutes', 'the holder moves its lease to now() + p_lease_duration');
select is_empty($$ select * from public.extend_lease((select step_id from c), 'w2', '2 minutes') $$,
  'another worker extends nothing');
select is((select lease_expires_at from public.all_steps where id = (select step_id from c)), now() + interval '2 minutes',
  'and changes nothing');
select throws_ok($$ select * from public.extend_lease((select step_id from c), 'w1', '0 seconds') $$, '22023',
  'extend_lease: p_lease_duration must be positive, got ''00:00:00''', 'a zero lease');
select throws_ok($$ select * from public.extend_lease(null, 'w1', '1 minute') $$, '22004',
  'extend_lease: p_step_id must not be null', 'a null step id');
set local role authenticated;
select throws_ok($$ select * from public.extend_lease('00000000-0000-4000-8000-000000000001', 'w1', '1 minute') $$, '42501',
  'permission denied for function extend_lease', 'authenticated cannot extend leases');
reset role;

select * from finish();
rollback;
