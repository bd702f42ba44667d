-- leaseflow: the claim reads claimable steps in index order even before the tables have
-- statistics. _claim_steps caches one generic plan per connection; planned before ANALYZE had
-- run on a freshly filled queue (a bulk enqueue, the first minute of a new project), it chose a
-- bitmap scan plus a sort of every claimable step (158 ms per claim with 20 000 queued, against
-- 0.4 ms), and a long-lived worker connection kept that plan. The ordered scan of
-- job_steps_claimable_idx is the right plan at any size, so sorts are priced out inside the
-- claim (a sort is still used where nothing else can produce the order).
alter function public._claim_steps(text, interval, int, text[]) set enable_sort = off;
-- Only the claim statement itself: the maintenance _claim_steps runs first keeps normal costing
-- (priced out of sorts, _expire_leases' lookup took 6 ms instead of a fraction of one).
alter function public._expire_leases() set enable_sort = on;
alter function public._start_due_jobs(int) set enable_sort = on;
