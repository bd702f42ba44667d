-- list_jobs: filters (status, type, group key, priorities, created range), search (id, type, payload), sorts, cursor pagination (no job twice, none missed), totals,
-- RLS, and every bad argument.
begin;
create extension if not exists pgtap with schema extensions;
select plan(29);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('a', '["s"]');
select public.define_job_type('b', '["s"]');
select public.enqueue_jobs('a', (select jsonb_agg(jsonb_build_object('n', g, 'note', case when g = 7 then '100%_done' else 'x' end)) from generate_series(1, 10) g),
  '{"group_key": "k1"}');
select public.enqueue_jobs('b', '[{"n": 11}, {"n": 12}]', '{"priority": 5, "tenant_id": "aaaaaaaa-0000-4000-8000-000000000000"}');
select public.cancel_job((select id from public.jobs where payload ->> 'n' = '12'));
-- The payloads' n, in list order (rows carry a preview of the payload, whole for these small ones).
create function pg_temp.ns(p_list jsonb) returns jsonb language sql as $$
  select coalesce(jsonb_agg(((x.e ->> 'payloadPreview')::jsonb -> 'n') order by x.o), '[]')
    from jsonb_array_elements(p_list -> 'items') with ordinality x(e, o)
$$;

select is((public.list_jobs() ->> 'total')::int, 12, 'total counts every job');
select is(pg_temp.ns(public.list_jobs(p_limit => 3)), '[12, 11, 10]'::jsonb,
  'newest first by default');
select is(pg_temp.ns(public.list_jobs(p_sort => 'created', p_direction => 'asc', p_limit => 2)), '[1, 2]'::jsonb,
  'oldest first with asc');
select is(pg_temp.ns(public.list_jobs(p_sort => 'priority', p_limit => 3)), '[12, 11, 10]'::jsonb,
  'priority desc, newest first within a priority');
select is(jsonb_path_query_array(public.list_jobs(p_sort => 'status', p_direction => 'asc', p_limit => 12), '$.items[*].status') -> 9, '"running"'::jsonb,
  'status sorts in lifecycle order: the key''s nine waiting jobs, then its running one, ...');
select is(public.list_jobs(p_sort => 'status', p_limit => 1) #>> '{items,0,status}', 'cancelled', '... and the cancelled one last');
select is(pg_temp.ns(public.list_jobs(p_statuses => '{cancelled}')), '[12]'::jsonb,
  'filter by status');
select is((public.list_jobs(p_type => 'b') ->> 'total')::int, 2, 'filter by type');
select is((public.list_jobs(p_group_key => 'k1') ->> 'total')::int, 10, 'filter by group key');
select is(pg_temp.ns(public.list_jobs(p_search => '%_d')), '[7]'::jsonb,
  'search matches payload text, with % and _ taken literally');
select is(pg_temp.ns(public.list_jobs(p_search => (select upper(id::text) from public.jobs where payload ->> 'n' = '4'))), '[4]'::jsonb,
  'search matches a job id, ignoring case');
select is((public.list_jobs(p_search => (select left(id::text, 7) from public.jobs where payload ->> 'n' = '4')) ->> 'total')::int, 0,
  'but not by fewer than its first 8 characters');
select is((public.list_jobs(p_search => 'B') ->> 'total')::int, 2, 'search matches the type, ignoring case');
select is(pg_temp.ns(public.list_jobs(p_priorities => '{5}')), '[12, 11]'::jsonb, 'filter by priorities');
update public.jobs set created_at = now() - interval '2 days' where payload ->> 'n' in ('1', '2');
update public.jobs set created_at = now() - interval '1 day' where payload ->> 'n' = '3';
select is(pg_temp.ns(public.list_jobs(p_created_after => now() - interval '36 hours', p_created_before => now() - interval '12 hours')), '[3]'::jsonb,
  'filter by a created range: from p_created_after, before p_created_before');
select is((public.list_jobs(p_created_before => now() - interval '1 day') ->> 'total')::int, 2,
  'p_created_before excludes its own instant');

-- Rows are summaries: no payload or result, a preview of their JSON text and the payload's size.
select public.enqueue_job('b', jsonb_build_object('n', 13, 'blob', repeat('x', 5000)));
select is(public.list_jobs(p_limit => 1) #> '{items,0}' ?| array['payload', 'result'], false, 'a list row holds no payload or result');
select is(public.list_jobs(p_limit => 1) #>> '{items,0,payloadPreview}', left(jsonb_build_object('n', 13, 'blob', repeat('x', 5000))::text, 200) || '…',
  'but the first 200 characters of the payload''s JSON, marked as cut');
select is((public.list_jobs(p_limit => 1) #>> '{items,0,payloadBytes}')::int, octet_length(jsonb_build_object('n', 13, 'blob', repeat('x', 5000))::text),
  'and its size in bytes');
delete from public.jobs where payload ->> 'n' = '13';

-- Walking every page: each job exactly once, in order.
create temp table pages (n int, position serial) on commit drop;
do $$
declare
  v_cursor text;
  v_page jsonb;
begin
  loop
    v_page := public.list_jobs(p_sort => 'priority', p_limit => 5, p_cursor => v_cursor);
    insert into pages (n) select ((x.e ->> 'payloadPreview')::jsonb ->> 'n')::int from jsonb_array_elements(v_page -> 'items') with ordinality x(e, o) order by x.o;
    v_cursor := v_page ->> 'nextCursor';
    exit when v_cursor is null;
  end loop;
end $$;
select is((select array_agg(n order by position) from pages), array[12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
  'cursor pages visit every job once, in sort order, and the last page has no cursor');

set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "aaaaaaaa-0000-4000-8000-000000000000", "role": "authenticated"}', true);
select is((public.list_jobs() ->> 'total')::int, 2, 'a tenant lists only its own jobs');
reset role;

select throws_ok($$ select public.list_jobs(p_limit => 0) $$, '22023', 'list_jobs: p_limit must be from 1 to 500, got 0', 'limit');
select throws_ok($$ select public.list_jobs(p_sort => 'name') $$, '22023', 'list_jobs: p_sort must be created, priority or status, got ''name''', 'sort');
select throws_ok($$ select public.list_jobs(p_direction => 'up') $$, '22023', 'list_jobs: p_direction must be asc or desc, got ''up''', 'direction');
select throws_ok($$ select public.list_jobs(p_statuses => '{done}') $$, '22023',
  'list_jobs: p_statuses may only hold pending, running, completed, failed, cancelled, got {done}', 'status');
select throws_ok($$ select public.list_jobs(p_priorities => '{0,3}') $$, '22023',
  'list_jobs: p_priorities must be null (all) or priorities from 1 to 5, got {0,3}', 'priorities');
select throws_ok($$ select public.list_jobs(p_created_after => '2026-01-02', p_created_before => '2026-01-01') $$, '22023',
  null, 'a created range that ends before it starts');
select throws_ok($$ select public.list_jobs(p_cursor => 'bm9wZQ==') $$, '22023', 'list_jobs: p_cursor ''bm9wZQ=='' is not a cursor list_jobs returned', 'cursor');
select throws_ok(format('select public.list_jobs(p_sort => %L, p_cursor => %L)', 'status', public.list_jobs(p_limit => 1) ->> 'nextCursor'), '22023',
  'list_jobs: p_cursor belongs to sort created, not status', 'a cursor of another sort');

select * from finish();
rollback;
