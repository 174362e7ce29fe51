"""Review decisions are evidence, like the audit log: the database refuses UPDATE and DELETE on
reviews_review row by row, and on PostgreSQL TRUNCATE as well (a statement trigger). A decision
is changed by a new decision, never by editing the old one."""

import importlib

from django.db import migrations

POSTGRESQL_FORWARD = """
CREATE OR REPLACE FUNCTION videogen_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: UPDATE, DELETE and TRUNCATE are refused (% attempted)',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER review_no_update_delete BEFORE UPDATE OR DELETE ON reviews_review
    FOR EACH ROW EXECUTE FUNCTION videogen_append_only();
CREATE TRIGGER review_no_truncate BEFORE TRUNCATE ON reviews_review
    FOR EACH STATEMENT EXECUTE FUNCTION videogen_append_only();
"""
POSTGRESQL_REVERSE = """
DROP TRIGGER IF EXISTS review_no_truncate ON reviews_review;
DROP TRIGGER IF EXISTS review_no_update_delete ON reviews_review;
DROP FUNCTION IF EXISTS videogen_append_only();
"""
MESSAGE = "reviews_review is append-only: UPDATE, DELETE and TRUNCATE are refused"
SQLITE_FORWARD = [
    f"""CREATE TRIGGER review_no_update BEFORE UPDATE ON reviews_review
        BEGIN SELECT RAISE(ABORT, '{MESSAGE} (UPDATE attempted)'); END;""",
    f"""CREATE TRIGGER review_no_delete BEFORE DELETE ON reviews_review
        BEGIN SELECT RAISE(ABORT, '{MESSAGE} (DELETE attempted)'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS review_no_update;",
    "DROP TRIGGER IF EXISTS review_no_delete;",
]


# The same runner as the audit log's triggers (vendor dispatch), not a copy of it.
_run = importlib.import_module("reviews.migrations.0002_auditlog_append_only")._run


def forward(apps, schema_editor):
    _run(schema_editor, POSTGRESQL_FORWARD, SQLITE_FORWARD)


def reverse(apps, schema_editor):
    _run(schema_editor, POSTGRESQL_REVERSE, SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0006_review_cut_fingerprint")]
    operations = [migrations.RunPython(forward, reverse)]
