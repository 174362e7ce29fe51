"""What the final review page shows of a cut besides the video: the automatic check's report
(pipeline/cut_check.py) with its findings as marks on the player's timeline, the captions track,
and the music bed the cut carries."""

from pipeline import paths
from pipeline.cut_check import cut_report_load
from pipeline.selectors import media_url


def _mark(finding, scene, duration):
    start = finding.get("start")
    if start is None:
        start = scene["start"] if scene else 0.0
    end = finding.get("end") if finding.get("end") is not None else start
    return {
        **finding,
        "scene": scene["scene"] if scene else "",
        "left": round(100 * start / duration, 3),
        "width": round(max(100 * (end - start) / duration, 0.6), 3),
        "seek": round(start, 2),
    }


def cut_review_context(task):
    """The page's view of the cut: {"report", "marks", "flagged", "captions_url"}."""
    report = cut_report_load(task)
    marks = []
    if report and report.get("duration"):
        duration = float(report["duration"])
        for scene in report.get("scenes", []):
            marks.extend(_mark(finding, scene, duration) for finding in scene["findings"])
    return {
        "cut_report": report,
        "cut_marks": marks,
        "cut_flagged": (report or {}).get("flagged_scenes", []),
        "captions_url": media_url(paths.captions(task.channel_id, str(task.pk), "vtt")),
        "music_track": getattr(getattr(task, "video", None), "music_track", "") or "",
    }
