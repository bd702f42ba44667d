-- job_throughput: completions and failures per minute, zero-filled, oldest first; the type
-- filter; RLS; a bad window refused.
begin;
create extension if not exists pgtap with schema extensions;
select plan(7);

delete from public.jobs;
-- now() stands still inside the transaction: minutes are counted back from it.
insert into public.jobs (type, status, finished_at, tenant_id)
values ('mail', 'completed', date_trunc('minute', now()) + interval '1 second', null),
       ('mail', 'completed', date_trunc('minute', now()) - interval '2 minutes', null),
       ('mail', 'failed', date_trunc('minute', now()) - interval '2 minutes' + interval '30 seconds', null),
       ('sms', 'completed', date_trunc('minute', now()) - interval '59 seconds', 'aaaaaaaa-0000-4000-8000-000000000000'),
       ('mail', 'completed', date_trunc('minute', now()) - interval '10 minutes', null),
       ('mail', 'cancelled', date_trunc('minute', now()), null);

select is(jsonb_array_length(public.job_throughput()), 60, 'sixty minutes by default');
select is(public.job_throughput(3),
  jsonb_build_array(
    jsonb_build_object('minute', date_trunc('minute', now()) - interval '2 minutes', 'completed', 1, 'failed', 1),
    jsonb_build_object('minute', date_trunc('minute', now()) - interval '1 minute', 'completed', 1, 'failed', 0),
    jsonb_build_object('minute', date_trunc('minute', now()), 'completed', 1, 'failed', 0)),
  'per minute, oldest first, the current minute last; cancelled jobs and older minutes not counted');
select is((select sum((m ->> 'completed')::int) from jsonb_array_elements(public.job_throughput(60)) m), 4::bigint,
  'every completion of the hour is in one minute');
select is((select sum((m ->> 'completed')::int) from jsonb_array_elements(public.job_throughput(60, 'sms')) m), 1::bigint,
  'p_type counts one type');
select throws_ok($$ select public.job_throughput(0) $$, '22023', 'job_throughput: p_minutes must be from 1 to 1440, got 0',
  'a window outside 1..1440 is refused');

set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "aaaaaaaa-0000-4000-8000-000000000000", "role": "authenticated"}', true);
select is((select sum((m ->> 'completed')::int) from jsonb_array_elements(public.job_throughput(60)) m), 1::bigint,
  'a tenant counts only its own jobs');
reset role;
set local role anon;
select throws_ok($$ select public.job_throughput() $$, '42501', null, 'anon cannot call it');
reset role;

select * from finish();
rollback;
