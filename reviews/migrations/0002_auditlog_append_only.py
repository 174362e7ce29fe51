"""The audit log is append-only in the database itself: UPDATE and DELETE fail row by row, and on
PostgreSQL a statement trigger refuses TRUNCATE as well (row triggers do not fire on TRUNCATE)."""

from django.db import migrations

MESSAGE = "reviews_auditlog is append-only: UPDATE, DELETE and TRUNCATE are refused"

POSTGRESQL_FORWARD = f"""
CREATE OR REPLACE FUNCTION videogen_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE} (% attempted)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON reviews_auditlog
    FOR EACH ROW EXECUTE FUNCTION videogen_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON reviews_auditlog
    FOR EACH STATEMENT EXECUTE FUNCTION videogen_audit_append_only();
"""
POSTGRESQL_REVERSE = """
DROP TRIGGER IF EXISTS audit_no_truncate ON reviews_auditlog;
DROP TRIGGER IF EXISTS audit_no_update_delete ON reviews_auditlog;
DROP FUNCTION IF EXISTS videogen_audit_append_only();
"""
SQLITE_FORWARD = [
    f"""CREATE TRIGGER audit_no_update BEFORE UPDATE ON reviews_auditlog
        BEGIN SELECT RAISE(ABORT, '{MESSAGE} (UPDATE attempted)'); END;""",
    f"""CREATE TRIGGER audit_no_delete BEFORE DELETE ON reviews_auditlog
        BEGIN SELECT RAISE(ABORT, '{MESSAGE} (DELETE attempted)'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_no_update;",
    "DROP TRIGGER IF EXISTS audit_no_delete;",
]


def _run(schema_editor, postgresql, sqlite):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(postgresql, params=None)
    elif vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement)
    else:
        raise RuntimeError(f"append-only audit triggers are not written for {vendor}")


def forward(apps, schema_editor):
    _run(schema_editor, POSTGRESQL_FORWARD, SQLITE_FORWARD)


def reverse(apps, schema_editor):
    _run(schema_editor, POSTGRESQL_REVERSE, SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
