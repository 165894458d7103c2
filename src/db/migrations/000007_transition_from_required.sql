-- The audit tables' state-machine CHECKs compare (from_state || '>' || to_state) with the allowed pairs.
-- With from_state NULL that expression is NULL, and a CHECK that evaluates to NULL passes: any row
-- "from nowhere" to any state could be written. The engine always writes a from state (a task or step
-- is created pending, and its first transition starts from there), so require one.
-- NOT VALID: new rows are checked at once without scanning (and locking) a large existing audit trail;
-- the engine never wrote such rows, so there is nothing to validate.
ALTER TABLE :TASKER_SCHEMA.task_transitions
  ADD CONSTRAINT task_transition_from_required CHECK (from_state IS NOT NULL) NOT VALID;
ALTER TABLE :TASKER_SCHEMA.step_transitions
  ADD CONSTRAINT step_transition_from_required CHECK (from_state IS NOT NULL) NOT VALID;
