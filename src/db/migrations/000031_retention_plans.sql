-- Plans of retention's deletes and of the archive's copy.
--
-- 1. _delete_tasks made a custom plan for each statement it ran (migration 28), and that setting holds for
--    everything run inside the function, including the foreign keys' own queries: deleting a batch of 500
--    tasks fires three cascades per task (steps, task_annotations, signals: 1,500 small DELETEs), and each
--    was planned anew at every execution, where PostgreSQL otherwise plans them once per connection. That
--    planning was most of a batch: 46 ms a batch of 500 against 15 ms with plans made once (a two-process
--    drain of 20,000 single-step tasks, in SQL, same sitting). Every statement of _delete_tasks enters its
--    table by key (step ids, task ids; sequential scans and hash and merge joins stay off), so a plan made
--    once is right for any batch. Pruning 9,249 -> 21,299 tasks/s, archiving 5,626 -> 8,471 (batches of
--    500 after a two-process drain, interleaved).
-- 2. archive_tasks builds each task's archive row with four correlated subqueries (its steps, both
--    transition lists, its annotations), 2,000 small lookups a batch. The planner made each a bitmap scan,
--    which builds a bitmap for the one or two rows of each lookup; plain index scans return them directly.
--    The batch's INSERT went from about 45 to 37 ms, and archiving from 8,363 / 8,586 / 8,700 to 9,213 /
--    10,777 / 10,715 tasks/s (three interleaved pairs of the same measurement).
ALTER FUNCTION :TASKER_SCHEMA._delete_tasks(bigint[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION :TASKER_SCHEMA.archive_tasks(text[], bigint, integer, text, text, text[], boolean)
  SET enable_bitmapscan = off;
