-- The per-tenant enqueue rate limit: a token bucket per tenant; PT429 with the wait in its
-- detail; a batch larger than the burst is PT413; a refused call writes nothing; service_role
-- and other tenants are not affected.
begin;
create extension if not exists pgtap with schema extensions;
select plan(9);

delete from public.jobs;
delete from public.job_types;
delete from public.tenant_enqueue_buckets;
update public.leaseflow_settings set max_invocations = 0, tenant_enqueue_rate = 2, tenant_enqueue_burst = 5;
select public.define_job_type('n', '["s"]');

set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "aaaaaaaa-0000-4000-8000-000000000000", "role": "authenticated"}', true);
select lives_ok($$ select public.enqueue_jobs('n', '[{}, {}, {}, {}]') $$, 'a tenant may enqueue up to its burst');
select lives_ok($$ select public.enqueue_job('n') $$, 'the fifth job takes the last token');
select throws_ok($$ select public.enqueue_jobs('n', '[{}, {}]') $$, 'PT429',
  'enqueue_jobs: tenant aaaaaaaa-0000-4000-8000-000000000000 may enqueue 2 jobs per second (burst 5); this call needs 2, 0 are available; retry in 1000 ms',
  'an empty bucket refuses with the wait');
select throws_ok($$ select public.enqueue_jobs('n', '[{}, {}, {}, {}, {}, {}]') $$, 'PT413',
  'enqueue_jobs: 6 jobs in one call exceed the per-tenant enqueue burst of 5 (leaseflow_settings.tenant_enqueue_burst)',
  'a batch larger than the burst can never pass');
select is((select count(*) from public.jobs), 5::bigint, 'refused calls wrote nothing');

-- The error carries the wait for Retry-After.
create function pg_temp.retry_detail() returns jsonb language plpgsql as $$
begin
  perform public.enqueue_job('n');
  return null;
exception when sqlstate 'PT429' then
  declare v_detail text; begin get stacked diagnostics v_detail = pg_exception_detail; return v_detail::jsonb; end;
end $$;
select is(pg_temp.retry_detail(), '{"retry_after_ms": 500}'::jsonb, 'the detail is {"retry_after_ms": n}');

-- Time refills the bucket (rate × elapsed, capped at the burst).
reset role;
update public.tenant_enqueue_buckets set refilled_at = refilled_at - interval '1 second';
set local role authenticated;
select lives_ok($$ select public.enqueue_jobs('n', '[{}, {}]') $$, 'one second later two more fit');

select set_config('request.jwt.claims', '{"sub": "bbbbbbbb-0000-4000-8000-000000000000", "role": "authenticated"}', true);
select lives_ok($$ select public.enqueue_jobs('n', '[{}, {}, {}, {}, {}]') $$, 'another tenant has its own bucket');
reset role;
select set_config('request.jwt.claims', '', true);
select lives_ok($$ select public.enqueue_jobs('n', (select jsonb_agg('{}'::jsonb) from generate_series(1, 20))) $$,
  'service_role is not limited');

select * from finish();
rollback;
