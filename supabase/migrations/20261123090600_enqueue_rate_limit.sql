-- leaseflow: the per-tenant enqueue rate limit. Each authenticated tenant has a token bucket
-- (leaseflow_settings.tenant_enqueue_burst tokens, refilled at tenant_enqueue_rate per second);
-- a call enqueueing n jobs takes n tokens or fails whole with PT429 (HTTP 429) and the wait in
-- its detail {"retry_after_ms": n}, before any enqueue work. service_role and direct
-- connections are not limited.

create table public.tenant_enqueue_buckets (
  tenant_id uuid primary key,
  tokens float8 not null,
  refilled_at timestamptz not null default now()
);

comment on table public.tenant_enqueue_buckets is
  'leaseflow: each tenant''s enqueue token bucket (see leaseflow_settings.tenant_enqueue_rate / _burst).';

alter table public.tenant_enqueue_buckets enable row level security;
revoke all on table public.tenant_enqueue_buckets from public, anon, authenticated;
grant select, insert, update, delete on table public.tenant_enqueue_buckets to service_role;

-- Takes p_count tokens from the calling tenant's bucket, or raises. The bucket row is locked
-- for the rest of the enqueue, so one tenant's concurrent enqueues are counted one after another.
create or replace function public._take_enqueue_tokens(p_function text, p_count int)
returns void
language plpgsql volatile
set search_path = ''
as $$
declare
  v_tenant uuid := public._caller_tenant(p_function);
  v_rate float8;
  v_burst int;
  v_tokens float8;
  v_wait_ms bigint;
begin
  select s.tenant_enqueue_rate, s.tenant_enqueue_burst into v_rate, v_burst from public.leaseflow_settings s;
  if v_tenant is null or v_rate is null or p_count <= 0 then
    return;
  end if;
  if p_count > v_burst then
    raise exception '%: % jobs in one call exceed the per-tenant enqueue burst of % (leaseflow_settings.tenant_enqueue_burst)',
      p_function, p_count, v_burst using errcode = 'PT413';
  end if;
  insert into public.tenant_enqueue_buckets as b (tenant_id, tokens, refilled_at)
  values (v_tenant, v_burst, now())
  on conflict (tenant_id) do update
     set tokens = least(v_burst, b.tokens + v_rate * greatest(0, extract(epoch from now() - b.refilled_at))),
         refilled_at = now()
  returning b.tokens into v_tokens;
  if v_tokens < p_count then
    v_wait_ms := ceil((p_count - v_tokens) / v_rate * 1000);
    raise exception '%: tenant % may enqueue % jobs per second (burst %); this call needs %, % are available; retry in % ms',
      p_function, v_tenant, v_rate, v_burst, p_count, floor(v_tokens), v_wait_ms
      using errcode = 'PT429', detail = jsonb_build_object('retry_after_ms', v_wait_ms)::text;
  end if;
  update public.tenant_enqueue_buckets b set tokens = b.tokens - p_count where b.tenant_id = v_tenant;
end;
$$;

revoke all on function public._take_enqueue_tokens(text, int) from public, anon, authenticated, service_role;
