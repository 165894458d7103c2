-- No foreign-key checks on the rows a new task writes (issue 13: W1, tasks created while workers run them,
-- is held by PostgreSQL's CPU on a small machine). Each new task checked its template's row
-- (tasks.named_task_id) and each new step its task's row (steps.task_id): a query per row, run as a trigger
-- after the statement, that also takes a KEY SHARE lock on the row it finds, so every transaction creating
-- tasks of one template locks that template's row (concurrent ones share it through a multixact). Timed in
-- SQL, create_tasks of 20 single-step tasks a call took 43.5-45.4 us a task with both keys and 35.6-37.5
-- without (each key about 4 us); docs/benchmarks.md, 2026-12-06, 20:40-22:15 UTC.
--
-- What the keys guarded holds by construction, as for the audit tables (migration 1):
-- - Steps are only written by the engine's functions: create_tasks, with the tasks it inserts in the same
--   call; batch workers and compensation steps, for a task whose row the transaction holds locked.
-- - A task's template exists: create_tasks refuses an id with no template steps (TKNF3), and the engine
--   never deletes a template; a DELETE of a template that tasks use is still refused (below, 23503, as the
--   key did).
-- - Deleting tasks deletes their steps: the engine's deletes (retention, archiving: _delete_tasks) delete
--   them first, and a DELETE or TRUNCATE of tasks by hand takes their steps with them (below), as the key's
--   ON DELETE CASCADE did; with one statement per DELETE instead of one per task.

ALTER TABLE :TASKER_SCHEMA.steps DROP CONSTRAINT steps_task_id_fkey;
ALTER TABLE :TASKER_SCHEMA.tasks DROP CONSTRAINT tasks_named_task_id_fkey;

CREATE FUNCTION :TASKER_SCHEMA._delete_task_steps() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_mergejoin = off
SET enable_hashjoin = off
AS $$
BEGIN
  -- (By the task ids, through the steps' (task_id, position) key: one probe per task whatever the table holds.)
  DELETE FROM :TASKER_SCHEMA.steps s WHERE s.task_id = ANY (ARRAY(SELECT o.id FROM old_rows o));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._delete_task_steps() IS
  'Internal: statement trigger of task deletes: deletes the deleted tasks'' steps (what the key from steps '
  'to tasks did, ON DELETE CASCADE, until migration 42).';
CREATE TRIGGER tasks_delete_steps AFTER DELETE ON :TASKER_SCHEMA.tasks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._delete_task_steps();

CREATE FUNCTION :TASKER_SCHEMA._truncate_task_steps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE :TASKER_SCHEMA.steps;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._truncate_task_steps() IS
  'Internal: TRUNCATE of tasks empties steps too (as TRUNCATE ... CASCADE did through the key until '
  'migration 42).';
CREATE TRIGGER tasks_truncate_steps AFTER TRUNCATE ON :TASKER_SCHEMA.tasks
  FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._truncate_task_steps();

CREATE FUNCTION :TASKER_SCHEMA._refuse_used_template_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_id integer;
BEGIN
  -- (A scan of tasks, as the key's check was: there is no index on named_task_id, and nothing deletes
  -- templates but a person.)
  SELECT t.named_task_id INTO v_id FROM :TASKER_SCHEMA.tasks t
  WHERE t.named_task_id IN (SELECT o.id FROM old_rows o) LIMIT 1;
  IF v_id IS NOT NULL THEN
    RAISE EXCEPTION 'task template % is still used by tasks', v_id USING ERRCODE = 'foreign_key_violation',
      HINT = 'Remove its tasks first (retention: tasker prune).';
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._refuse_used_template_delete() IS
  'Internal: statement trigger of template deletes: refuses to delete a template that tasks use (what the '
  'key from tasks to templates did until migration 42).';
CREATE TRIGGER named_tasks_in_use AFTER DELETE ON :TASKER_SCHEMA.named_tasks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._refuse_used_template_delete();
