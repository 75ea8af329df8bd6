"""A closed (or paid) settlement is immutable in the database too, whatever code runs:

* its lines cannot be inserted, changed or deleted (three statement-level triggers with
  transition tables: one check per statement, so writing a million lines of an open month costs
  one join, not a million lookups);
* the settlement row cannot be deleted, and once closed it may only move to paid (its month,
  totals, counts and closing stamp stay); once paid it does not change at all.

Violations raise SQLSTATE 23514 (check_violation), which Django turns into an IntegrityError.
"""

from django.db import migrations

FUNCTIONS = r"""
CREATE FUNCTION commissions_lines_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE frozen_month date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT s.month INTO frozen_month FROM new_rows n
          JOIN commissions_settlement s ON s.id = n.settlement_id
         WHERE s.status IN ('closed', 'paid') LIMIT 1;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT s.month INTO frozen_month FROM old_rows o
          JOIN commissions_settlement s ON s.id = o.settlement_id
         WHERE s.status IN ('closed', 'paid') LIMIT 1;
    ELSE
        SELECT s.month INTO frozen_month FROM (
                 SELECT settlement_id FROM new_rows UNION ALL SELECT settlement_id FROM old_rows
               ) r
          JOIN commissions_settlement s ON s.id = r.settlement_id
         WHERE s.status IN ('closed', 'paid') LIMIT 1;
    END IF;
    IF frozen_month IS NOT NULL THEN
        RAISE EXCEPTION 'the settlement of % is closed: its lines cannot change', frozen_month
              USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION commissions_settlement_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status IN ('closed', 'paid') THEN
            RAISE EXCEPTION 'the settlement of % is closed: it cannot be deleted', OLD.month
                  USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'paid' THEN
        RAISE EXCEPTION 'the settlement of % is paid: it cannot change', OLD.month
              USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.status = 'closed' AND (
           NEW.status <> 'paid' OR NEW.month <> OLD.month OR NEW.tenant_id <> OLD.tenant_id
           OR NEW.total <> OLD.total OR NEW.line_count <> OLD.line_count
           OR NEW.people <> OLD.people OR NEW.runs <> OLD.runs
           OR NEW.closed_at IS DISTINCT FROM OLD.closed_at
           OR NEW.closed_by_id IS DISTINCT FROM OLD.closed_by_id) THEN
        RAISE EXCEPTION 'the settlement of % is closed: it may only be marked paid', OLD.month
              USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER commissions_lines_frozen_insert AFTER INSERT ON commissions_commissionline
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION commissions_lines_frozen();
CREATE TRIGGER commissions_lines_frozen_update AFTER UPDATE ON commissions_commissionline
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION commissions_lines_frozen();
CREATE TRIGGER commissions_lines_frozen_delete AFTER DELETE ON commissions_commissionline
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION commissions_lines_frozen();
CREATE TRIGGER commissions_settlement_frozen BEFORE UPDATE OR DELETE ON commissions_settlement
    FOR EACH ROW EXECUTE FUNCTION commissions_settlement_frozen();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS commissions_settlement_frozen ON commissions_settlement;
DROP TRIGGER IF EXISTS commissions_lines_frozen_delete ON commissions_commissionline;
DROP TRIGGER IF EXISTS commissions_lines_frozen_update ON commissions_commissionline;
DROP TRIGGER IF EXISTS commissions_lines_frozen_insert ON commissions_commissionline;
DROP FUNCTION IF EXISTS commissions_settlement_frozen();
DROP FUNCTION IF EXISTS commissions_lines_frozen();
"""


class Migration(migrations.Migration):
    dependencies = [("commissions", "0001_initial")]

    operations = [migrations.RunSQL(FUNCTIONS, REVERSE)]
