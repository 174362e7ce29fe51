"""The media view streams from the bucket when media lives there: the staff check first, whole
objects and byte ranges (206, only those bytes read), 416 past the end, 404 for what is not
there; nothing is read from the web process's own disk."""

import os

import pytest

from core.media_store import media_store

pytestmark = pytest.mark.django_db

KEY = "channels/pokechannel1/projects/task1/final.mp4"


@pytest.fixture
def stored(media_bucket, workspace):
    data = os.urandom(300_000)
    media_store().put_bytes(KEY, data)
    assert not (workspace / KEY).exists()  # only in the bucket
    return data


def _body(response):
    return b"".join(response.streaming_content)


def test_it_streams_a_whole_object_from_the_bucket(admin_client, stored):
    response = admin_client.get(f"/admin/media/{KEY}")

    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert int(response["Content-Length"]) == len(stored)
    assert _body(response) == stored


def test_it_answers_a_range_with_206_and_exactly_those_bytes(admin_client, stored):
    response = admin_client.get(f"/admin/media/{KEY}", HTTP_RANGE="bytes=1000-1999")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 1000-1999/{len(stored)}"
    assert _body(response) == stored[1000:2000]


def test_it_answers_416_to_a_range_past_the_end(admin_client, stored):
    response = admin_client.get(f"/admin/media/{KEY}", HTTP_RANGE=f"bytes={len(stored)}-")

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(stored)}"


def test_it_answers_404_for_an_object_the_bucket_lacks(admin_client, stored):
    response = admin_client.get("/admin/media/channels/pokechannel1/projects/task1/none.mp4")

    assert response.status_code == 404


def test_it_sends_an_anonymous_visitor_to_the_login_not_the_object(client, stored):
    response = client.get(f"/admin/media/{KEY}")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
