-- Plan choice for the dispatch functions, again (migrations 5 and 26). A custom plan per call always uses
-- the indexes, but planning every statement of a round trip at every call was most of its cost: on an
-- idle system finish_steps took about 4 ms for one outcome, 2 of them in _record_outcomes
-- (pg_stat_user_functions during bench section d). These functions now plan each statement once per
-- connection (force_generic_plan) with sequential scans off, so that the generic plan, made while a fresh
-- schema's tables are small, cannot pick a sequential scan where an index serves and keep it as the tables
-- grow (the reason for custom plans); where no index applies PostgreSQL still scans. Measured: one
-- hand-off 4.2 -> 1.7 ms, and round trips with 1,000,000 finished tasks of history within 1.2x of an empty
-- schema (bench section e). _start_tasks stays custom: its generic plan cost more (3.7 ms per call
-- against 2.2-2.5 ms) and _admit_steps too (migration 26).
ALTER FUNCTION :TASKER_SCHEMA.finish_steps(uuid, jsonb, integer, integer[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA.finish_steps(uuid, jsonb, integer, integer[]) SET enable_seqscan = off;
ALTER FUNCTION :TASKER_SCHEMA._record_outcomes(jsonb, uuid) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA._record_outcomes(jsonb, uuid) SET enable_seqscan = off;
ALTER FUNCTION :TASKER_SCHEMA._start_steps(uuid, bigint[], text[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA._start_steps(uuid, bigint[], text[]) SET enable_seqscan = off;
ALTER FUNCTION :TASKER_SCHEMA._finish_tasks(bigint[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA._finish_tasks(bigint[]) SET enable_seqscan = off;
ALTER FUNCTION :TASKER_SCHEMA.claim_steps(uuid, integer[], integer) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA.claim_steps(uuid, integer[], integer) SET enable_seqscan = off;
ALTER FUNCTION :TASKER_SCHEMA.create_tasks(integer, jsonb) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA.create_tasks(integer, jsonb) SET enable_seqscan = off;
