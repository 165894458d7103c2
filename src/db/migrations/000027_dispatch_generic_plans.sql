-- Plan choice for the dispatch functions, again (migrations 5 and 26). A custom plan per call always uses
-- the indexes, but planning every statement of a round trip at every call was most of its cost: on an
-- idle system finish_steps took about 4 ms for one outcome, 2 of them in _record_outcomes
-- (pg_stat_user_functions during bench section d). These functions now plan each statement once per
-- connection (force_generic_plan). A generic plan is made while a fresh schema's tables are small and
-- kept as they grow, so the plans allowed are the ones that stay good at every size: no sequential scans,
-- no merge or hash joins (seen: a merge join reading all of tasks through its primary key to update the
-- counters of a few, which made a drain on 100,000 tasks of history 8 times slower). What is left are
-- index lookups by key and nested loops over the round trip's own rows; where no index applies,
-- PostgreSQL still scans (these settings only make the other plans the last resort). _start_tasks keeps
-- custom plans (its generic plan cost more, 3.7 ms per call against 2.2-2.5), and _admit_steps too
-- (migration 26).
ALTER FUNCTION :TASKER_SCHEMA.finish_steps(uuid, jsonb, integer, integer[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA.finish_steps(uuid, jsonb, integer, integer[]) SET enable_seqscan = off;
ALTER FUNCTION :TASKER_SCHEMA.finish_steps(uuid, jsonb, integer, integer[]) SET enable_mergejoin = off;
ALTER FUNCTION :TASKER_SCHEMA.finish_steps(uuid, jsonb, integer, integer[]) SET enable_hashjoin = off;
ALTER FUNCTION :TASKER_SCHEMA._record_outcomes(jsonb, uuid) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA._record_outcomes(jsonb, uuid) SET enable_seqscan = off;
ALTER FUNCTION :TASKER_SCHEMA._record_outcomes(jsonb, uuid) SET enable_mergejoin = off;
ALTER FUNCTION :TASKER_SCHEMA._record_outcomes(jsonb, uuid) SET enable_hashjoin = off;
ALTER FUNCTION :TASKER_SCHEMA._start_steps(uuid, bigint[], text[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA._start_steps(uuid, bigint[], text[]) SET enable_seqscan = off;
ALTER FUNCTION :TASKER_SCHEMA._start_steps(uuid, bigint[], text[]) SET enable_mergejoin = off;
ALTER FUNCTION :TASKER_SCHEMA._start_steps(uuid, bigint[], text[]) SET enable_hashjoin = off;
ALTER FUNCTION :TASKER_SCHEMA._finish_tasks(bigint[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA._finish_tasks(bigint[]) SET enable_seqscan = off;
ALTER FUNCTION :TASKER_SCHEMA._finish_tasks(bigint[]) SET enable_mergejoin = off;
ALTER FUNCTION :TASKER_SCHEMA._finish_tasks(bigint[]) SET enable_hashjoin = off;
ALTER FUNCTION :TASKER_SCHEMA.claim_steps(uuid, integer[], integer) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA.claim_steps(uuid, integer[], integer) SET enable_seqscan = off;
ALTER FUNCTION :TASKER_SCHEMA.claim_steps(uuid, integer[], integer) SET enable_mergejoin = off;
ALTER FUNCTION :TASKER_SCHEMA.claim_steps(uuid, integer[], integer) SET enable_hashjoin = off;
ALTER FUNCTION :TASKER_SCHEMA.create_tasks(integer, jsonb) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA.create_tasks(integer, jsonb) SET enable_seqscan = off;
ALTER FUNCTION :TASKER_SCHEMA.create_tasks(integer, jsonb) SET enable_mergejoin = off;
ALTER FUNCTION :TASKER_SCHEMA.create_tasks(integer, jsonb) SET enable_hashjoin = off;
