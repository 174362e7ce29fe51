"""What happens to a finished cut before a person sees it: its captions are written (WebVTT for
the review player, SRT for YouTube) and it is checked (pipeline/cut_check.py). A channel with
`require_clean_cut: true` sends a cut whose report is not clean to Video Error, with the report,
instead of the final gate; every other channel's reviewer sees the report on top of the page."""

import json
import subprocess
from pathlib import Path

import structlog

from core.media_store import MediaStoreError, media_text
from pipeline import paths
from pipeline.burn_in import BurnFailed, task_burn_captions
from pipeline.captions import captions_write
from pipeline.cut import cut_load
from pipeline.cut_check import cut_check, report_add_whole, report_summary

log = structlog.get_logger(__name__)


def cut_prepare(task):
    """Captions and check of the task's final cut. Returns (report, stop reason or "")."""
    cut = cut_load(task)
    burn_error = ""
    if cut is not None:
        try:
            captions_write(task, cut)
        # Captions are a help, never a reason to hold the video.
        except (OSError, MediaStoreError) as error:
            log.warning("captions_not_written", error=str(error))
        try:
            task_burn_captions(task)
        except (BurnFailed, OSError, MediaStoreError, subprocess.TimeoutExpired) as error:
            burn_error = str(error)
    report = cut_check(task, cut)
    if burn_error:  # the channel publishes with burned-in captions: the reviewer must know
        report = report_add_whole(task, report, "burn", burn_error)
    log.info("cut_checked", clean=report["clean"], flagged=report.get("flagged_scenes"),
             seconds=report.get("seconds_taken"))  # fmt: skip
    if report["clean"] or not task.channel.require_clean_cut:
        return report, ""
    return report, "The cut check found problems (the channel requires a clean cut): " + (
        report_summary(report)
    )


def cut_music_track(task):
    """The music track the cut was assembled with (its file name), from the cut record."""
    try:
        record = json.loads(media_text(paths.cut_record(task.channel_id, str(task.pk))) or "{}")
    except ValueError:
        return ""
    music = record.get("music") if isinstance(record, dict) else None
    return Path((music or {}).get("path") or "").name[:255]
