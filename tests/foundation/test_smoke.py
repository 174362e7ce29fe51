import pytest


@pytest.mark.django_db
def test_it_connects_to_postgresql(django_db_blocker):
    from django.db import connection

    assert connection.vendor == "postgresql"
