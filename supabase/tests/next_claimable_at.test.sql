-- next_claimable_at: the earliest retry or delayed job a worker could wait for, by type.
begin;
create extension if not exists pgtap with schema extensions;
select plan(5);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('a', '["s"]');
select public.define_job_type('b', '["s"]');

select is(public.next_claimable_at(), null, 'an empty queue: nothing to wait for');
select public.enqueue_job('a', '{}', jsonb_build_object('run_at', now() + interval '1 hour'));
select is(public.next_claimable_at(), now() + interval '1 hour', 'a delayed job');
select public.enqueue_job('b', '{}');
select public.fail_step((select step_id from public.claim_steps('w', '1 minute')), 'w', '{"message": "busy"}', interval '3 seconds');
select is(public.next_claimable_at(), now() + interval '3 seconds', 'a step in retry backoff comes first');
select is(public.next_claimable_at('{a}'), now() + interval '1 hour', 'only the given types count');
select is(public.next_claimable_at('{c}'), null, 'a type without jobs: null');

select * from finish();
rollback;
