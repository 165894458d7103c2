-- The audit trail is append-only, enforced here rather than by convention: task_transitions and
-- step_transitions refuse UPDATE always, and DELETE and TRUNCATE unless the transaction says it means
-- it. The one legitimate removal is retention (pruning the history of old finished tasks), which runs
--   BEGIN; SET LOCAL tasker.allow_audit_delete = 'on'; DELETE FROM ... ; COMMIT;
-- so that a stray DELETE, a mistaken script or an ORM cannot rewrite what happened. SQLSTATE TKAU1
-- (in the SQLSTATE table of src/db/sql-errors.ts).

CREATE FUNCTION :TASKER_SCHEMA._refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' AND coalesce(current_setting('tasker.allow_audit_delete', true), '') = 'on' THEN
    RETURN CASE WHEN TG_LEVEL = 'ROW' THEN OLD ELSE NULL END;
  END IF;
  RAISE EXCEPTION '% of %.% refused: the audit trail is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'TKAU1',
      HINT = CASE WHEN TG_OP = 'UPDATE' THEN 'audit rows are never changed'
        ELSE 'to prune history on purpose, SET LOCAL tasker.allow_audit_delete = ''on'' in that transaction' END;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._refuse_audit_change() IS
  'Internal: trigger of the audit tables; refuses UPDATE, and DELETE/TRUNCATE unless the transaction set '
  'tasker.allow_audit_delete to on (retention). SQLSTATE TKAU1.';

CREATE TRIGGER task_transitions_append_only BEFORE UPDATE OR DELETE ON :TASKER_SCHEMA.task_transitions
  FOR EACH ROW EXECUTE FUNCTION :TASKER_SCHEMA._refuse_audit_change();
CREATE TRIGGER task_transitions_no_truncate BEFORE TRUNCATE ON :TASKER_SCHEMA.task_transitions
  FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._refuse_audit_change();
CREATE TRIGGER step_transitions_append_only BEFORE UPDATE OR DELETE ON :TASKER_SCHEMA.step_transitions
  FOR EACH ROW EXECUTE FUNCTION :TASKER_SCHEMA._refuse_audit_change();
CREATE TRIGGER step_transitions_no_truncate BEFORE TRUNCATE ON :TASKER_SCHEMA.step_transitions
  FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._refuse_audit_change();
