"""Captions burned into the picture, for channels that publish that way (the channel file's
`captions: {burn: true, font, size, position, outline}`). The caption track is still written
and sent to YouTube; this only changes the picture.

Done once the cut is ready and its captions written (pipeline/final_cut.py), before the check,
so the reviewer and the check see the file that will be published: FFmpeg's subtitles filter
(libass; both the bundled and Debian's FFmpeg have it) draws captions.srt onto final.mp4, the
picture is encoded again with the assembly's settings and the sound copied, and the result
replaces final.mp4 in one rename. libass sizes an SRT's text on a 288-line canvas, so the size in
pixels of the 1080p picture is scaled to it."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

from core.ffmpeg import VIDEO_ENCODE_ARGS, usable_ffmpeg
from core.media_store import media_key, media_store, media_text, media_text_put
from pipeline import paths

FRAME_HEIGHT = 1080
LIBASS_SRT_HEIGHT = 288
# Centred; force_style on an SRT takes the legacy SSA numbers (top is 6, not the numpad's 8).
ALIGNMENT = {"bottom": 2, "middle": 10, "top": 6}
BURN_TIMEOUT_SECONDS = 3600


class BurnFailed(RuntimeError):
    pass


def force_style(style):
    size = float(style.get("size") or 42) * LIBASS_SRT_HEIGHT / FRAME_HEIGHT
    font = str(style.get("font") or "DejaVu Sans").replace(",", " ").replace("'", "")
    return ",".join([
        f"FontName={font}",
        f"FontSize={size:.1f}",
        f"Outline={float(style.get('outline', 2)) * LIBASS_SRT_HEIGHT / FRAME_HEIGHT:.2f}",
        "BorderStyle=1",
        f"Alignment={ALIGNMENT.get(style.get('position') or 'bottom', 2)}",
        "MarginV=12",
    ])  # fmt: skip


def burn_captions(video, srt, style, *, ffmpeg=None):
    """Draw `srt` onto `video` in place."""
    ffmpeg = ffmpeg or usable_ffmpeg().path
    with tempfile.TemporaryDirectory(prefix="videogen-burn-") as directory:
        # Run where the captions are, under a plain name: no path escaping in the filter graph.
        shutil.copyfile(srt, os.path.join(directory, "captions.srt"))
        temporary = video.with_name(f".{video.stem}.burn-{os.getpid()}{video.suffix}")
        graph = f"subtitles=captions.srt:force_style='{force_style(style)}'"
        completed = subprocess.run(
            [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(video),
             "-map", "0:v:0", "-map", "0:a?", "-vf", graph, *VIDEO_ENCODE_ARGS, "-c:a", "copy",
             "-movflags", "+faststart", str(temporary)],
            cwd=directory, capture_output=True, text=True, errors="replace",
            timeout=BURN_TIMEOUT_SECONDS,
        )  # fmt: skip
        if completed.returncode != 0:
            temporary.unlink(missing_ok=True)
            tail = " | ".join(completed.stderr.strip().splitlines()[-3:])
            raise BurnFailed(f"burning the captions into {video.name} failed: {tail}")
        os.replace(temporary, video)


def task_burn_captions(task):
    """Burn the task's captions into its final video when its channel asks for it; True when
    done. Never twice for one cut: a marker beside the video names the stored version (its ETag)
    it was done to. The final is read from and written back to the media store, so this runs on
    any worker."""
    style = task.channel.captions or {}
    if not style.get("burn"):
        return False
    video = paths.final_video(task.channel_id, str(task.pk))
    captions = media_text(paths.captions(task.channel_id, str(task.pk), "srt"))
    marker = video.with_name("final.burned")
    store, key = media_store(), media_key(video)
    stored = store.stat(key)
    if stored is None or not captions:
        return False
    if media_text(marker) == stored.etag:
        return False  # this very version already carries its captions
    settings.MEDIA_SCRATCH_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="burn-", dir=settings.MEDIA_SCRATCH_DIR) as folder:
        srt = Path(folder) / "captions.srt"
        srt.write_text(captions, encoding="utf-8")
        in_place = store.local_path(key)
        if in_place is not None:  # the local folder: drawn onto the file where it lies
            burn_captions(in_place, srt, style)
            burned = store.stat(key)
        else:  # a bucket: fetched, drawn on, stored again
            local = Path(folder) / video.name
            store.get_to_file(key, local)
            burn_captions(local, srt, style)
            burned = store.put_file(key, local)
    media_text_put(marker, burned.etag)
    return True
