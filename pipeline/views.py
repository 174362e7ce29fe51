"""Workspace media (images, clips, audio, final videos) for the review pages, streamed from the
media store (the local folder, or the bucket: the web never reads a worker's disk).

Mounted with admin_view (videogen/urls.py): anonymous users get the admin login, never the file.
Paths are resolved by pipeline.paths.ensure_inside_workspace (following links), so `..`, absolute
paths, encoded dots and symlinks pointing out of WORKSPACE_ROOT are all refused. HTTP Range
requests get 206 partial content, which a <video> element needs to seek; only the bytes asked for
are read from the store. Streamed rather than redirected to a presigned URL: the bucket stays
private and reachable from the web process alone, and the staff check covers every byte."""

import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_safe

from core.media_store import MediaKeyError, media_key, media_store
from pipeline.paths import UnsafePath, ensure_inside_workspace

CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".m4a": "audio/mp4",
    ".vtt": "text/vtt; charset=utf-8",  # the review player's captions track
}
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _can_view(user):
    return user.has_perm("pipeline.view_videotask") or user.has_perm("reviews.can_review")


def byte_range(header, size):
    """(start, end) inclusive for a single-range `Range` header; None when there is no usable
    range (absent, malformed or several ranges: the whole file is sent, as RFC 9110 allows);
    raises ValueError when the range cannot be satisfied."""
    match = RANGE.match(header.strip()) if header else None
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise ValueError("empty suffix range")
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ValueError("range starts past the end")
    return start, end


@require_safe
def media(request, relative):
    if not _can_view(request.user):
        raise PermissionDenied("media needs the pipeline.view_videotask permission")
    try:
        key = media_key(ensure_inside_workspace(relative))
    except (UnsafePath, MediaKeyError) as error:
        raise Http404("no such media file") from error
    content_type = CONTENT_TYPES.get(Path(key).suffix.lower())
    store = media_store()
    stored = store.stat(key) if content_type else None
    if stored is None:
        raise Http404("no such media file")
    size = stored.size
    try:
        requested = byte_range(request.headers.get("Range", ""), size)
    except ValueError:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    chunk = settings.MEDIA_STREAM_CHUNK_BYTES
    if requested is None:
        response = StreamingHttpResponse(
            store.chunks(key, chunk_bytes=chunk), content_type=content_type
        )
        response["Content-Length"] = str(size)
    else:
        start, end = requested
        response = StreamingHttpResponse(
            store.chunks(key, start, end - start + 1, chunk_bytes=chunk),
            status=206,
            content_type=content_type,
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{stored.etag}"'
    return response
