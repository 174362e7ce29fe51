"""The media view: whole files and byte ranges with the right content type, nothing outside the
workspace (.., absolute paths, encoded dots, symlinks out), nothing but media files."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def video(final_task, workspace):
    relative = f"channels/pokechannel1/projects/{final_task.pk}/final.mp4"
    return relative, (workspace / relative).read_bytes()


def _url(relative):
    return "/admin/media/" + relative


def _body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_it_serves_the_whole_file_with_its_content_type_and_accept_ranges(admin_client, video):
    relative, data = video
    response = admin_client.get(_url(relative))

    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert response["Accept-Ranges"] == "bytes"
    assert int(response["Content-Length"]) == len(data)
    assert _body(response) == data


@pytest.mark.parametrize(
    "header, first, last",
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", -50, None)],
)
def test_it_answers_a_range_request_with_206_and_exactly_those_bytes(
    admin_client, video, header, first, last
):
    relative, data = video
    response = admin_client.get(_url(relative), HTTP_RANGE=header)

    expected = data[first : (last + 1 if last is not None else None)]
    start = first if first >= 0 else len(data) + first
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{start + len(expected) - 1}/{len(data)}"
    assert int(response["Content-Length"]) == len(expected)
    assert _body(response) == expected


def test_it_clamps_a_range_past_the_end_to_the_file(admin_client, video):
    relative, data = video
    response = admin_client.get(_url(relative), HTTP_RANGE=f"bytes=10-{len(data) * 2}")

    assert response.status_code == 206
    assert _body(response) == data[10:]


def test_it_answers_416_to_a_range_that_starts_past_the_end(admin_client, video):
    relative, data = video
    response = admin_client.get(_url(relative), HTTP_RANGE=f"bytes={len(data)}-")

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"


def test_it_sends_the_whole_file_for_a_malformed_range(admin_client, video):
    relative, data = video
    response = admin_client.get(_url(relative), HTTP_RANGE="pages=1-2")
    assert response.status_code == 200 and _body(response) == data


@pytest.mark.parametrize(
    "relative, content_type",
    [("assets/bulbasaur.png", "image/png"), ("audio/s01.mp3", "audio/mpeg")],
)
def test_it_serves_images_and_audio_with_their_content_types(
    admin_client, final_task, relative, content_type
):
    response = admin_client.get(_url(f"channels/pokechannel1/projects/{final_task.pk}/{relative}"))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type


@pytest.fixture
def secret_outside(tmp_path):
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"TOP SECRET")
    return secret


@pytest.mark.parametrize(
    "path",
    [
        "../secret.mp4",
        "channels/../../secret.mp4",
        "channels/pokechannel1/../../../secret.mp4",
        "%2e%2e/secret.mp4",
        "channels/%2e%2e/%2E%2E/secret.mp4",
        "..%2fsecret.mp4",
    ],
)
def test_it_refuses_paths_that_climb_out_of_the_workspace(admin_client, secret_outside, path):
    response = admin_client.get(_url(path))

    assert response.status_code == 404
    assert b"TOP SECRET" not in _body(response)


def test_it_refuses_an_absolute_path(admin_client, secret_outside):
    response = admin_client.get(_url(str(secret_outside)))  # /admin/media//tmp/.../secret.mp4

    assert response.status_code == 404
    assert b"TOP SECRET" not in _body(response)


def test_it_refuses_a_symlink_that_points_out_of_the_workspace(
    admin_client, workspace, secret_outside
):
    (workspace / "channels").mkdir(exist_ok=True)
    (workspace / "channels" / "link.mp4").symlink_to(secret_outside)

    response = admin_client.get(_url("channels/link.mp4"))

    assert response.status_code == 404
    assert b"TOP SECRET" not in _body(response)


def test_it_refuses_files_that_are_not_media(admin_client, workspace):
    (workspace / "channels").mkdir(exist_ok=True)
    (workspace / "channels" / "manifest.json").write_text("{}")

    assert admin_client.get(_url("channels/manifest.json")).status_code == 404
    assert admin_client.get(_url("channels/missing.mp4")).status_code == 404


def test_it_builds_media_urls_the_view_resolves(admin_client, final_task):
    url = reverse(
        "media", kwargs={"relative": f"channels/pokechannel1/projects/{final_task.pk}/final.mp4"}
    )
    assert admin_client.get(url).status_code == 200
