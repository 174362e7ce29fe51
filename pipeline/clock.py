"""One clock for leases and due times: the database's.

Workers run on many machines and their clocks drift; a worker 16 minutes behind would write leases
that are already expired for everybody else, and its work would be taken over and paid for again.
So every lease, heartbeat and due time is written and compared with the database's own time
(PostgreSQL's statement_timestamp()), never a process's. The embedded SQLite default runs on one
machine, where the process clock is the only clock there is.

- db_now(): the database's time as a value, for code that must compare or print it.
- now_expression() / later_expression(seconds): the same inside a query (a filter or an UPDATE),
  so the comparison and the write happen on the database's clock in the same statement.
"""

import datetime as dt

from django.db import connection
from django.db.models import DateTimeField, ExpressionWrapper, Value
from django.db.models.functions import Now
from django.utils import timezone


def _database_keeps_time():
    return connection.vendor == "postgresql"


def db_now():
    """The database's current time (aware, UTC)."""
    if not _database_keeps_time():
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        (moment,) = cursor.fetchone()
    return moment.astimezone(dt.UTC)


def now_expression():
    """The database's time, evaluated by the statement that uses it."""
    if not _database_keeps_time():
        return Value(timezone.now(), output_field=DateTimeField())
    return Now()


def later_expression(seconds):
    """The database's time plus seconds, evaluated by the statement that uses it."""
    delta = dt.timedelta(seconds=seconds)
    if not _database_keeps_time():
        return Value(timezone.now() + delta, output_field=DateTimeField())
    return ExpressionWrapper(Now() + delta, output_field=DateTimeField())
