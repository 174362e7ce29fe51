"""The compliance report: for one channel and period, every video published or cancelled, with
the evidence that a person reviewed exactly what went out (YouTube's policy on mass-produced AI
content). Read from the append-only tables (reviews, the audit log, the cost ledger) and the
upload's record; `manage.py compliance_report` and the admin's page render it as CSV (one row per
video), JSON or printable HTML.
"""

import csv
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.db.models import Q
from django.template.loader import render_to_string

from core.models import AuditLog
from costs.models import VideoCost
from pipeline.models import Upload, VideoTask
from reviews.models import Decision, Review

FORMATS = ("csv", "json", "html")


@dataclass
class Decided:
    at: str
    gate: str
    decision: str
    reviewer: str
    via: str
    notes: str
    cut_sha256: str


@dataclass
class Redo:
    at: str
    by: str
    step: str
    units: str
    usd: str


@dataclass
class VideoRecord:
    task_id: str
    title: str
    topic: str
    outcome: str  # published or cancelled
    outcome_at: str
    drafted_by: str
    edited_by: list = field(default_factory=list)
    decisions: list = field(default_factory=list)
    redos: list = field(default_factory=list)
    approved_sha256: str = ""
    uploaded_sha256: str = ""
    same_file: bool | None = None
    contains_synthetic_media: bool | None = None
    made_for_kids: bool | None = None
    youtube_video_id: str = ""
    published_at: str = ""
    total_usd: str = "0"


def _iso(moment):
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds") if moment else ""


def compliance_records(*, channel, start, end):
    """VideoRecords of `channel`'s videos published or cancelled in [start, end) (aware
    datetimes), oldest first."""
    in_period = Q(video__published_at__gte=start, video__published_at__lt=end) | Q(
        cancelled_at__gte=start, cancelled_at__lt=end
    )
    tasks = list(
        VideoTask.objects.filter(in_period, channel=channel)
        .select_related("video")
        .order_by("created_at")
    )
    ids = [task.pk for task in tasks]
    audit = _by_task(AuditLog.objects.filter(task_id__in=ids).order_by("created_at", "id"))
    reviews = _by_task(Review.objects.filter(task_id__in=ids).order_by("created_at", "id"))
    costs = _by_task(VideoCost.objects.filter(task_id__in=ids).order_by("created_at", "id"))
    uploads = {upload.task_id: upload for upload in Upload.objects.filter(task_id__in=ids)}
    return [
        _record(task, audit.get(task.pk, []), reviews.get(task.pk, []), costs.get(task.pk, []),
                uploads.get(task.pk))
        for task in tasks
    ]  # fmt: skip


def _by_task(queryset):
    grouped = {}
    for row in queryset:
        grouped.setdefault(row.task_id, []).append(row)
    return grouped


def _record(task, audit, reviews, costs, upload):
    video = getattr(task, "video", None)
    published = bool(video and video.published_at and not task.cancelled_at)
    drafted = [entry.actor for entry in audit if entry.action == "task_draft_create"]
    approvals = [r for r in reviews if r.gate == "final" and r.decision == Decision.APPROVED]
    approved_sha = approvals[-1].cut_sha256 if approvals else ""
    uploaded_sha = upload.sha256 if upload else ""
    disclosure = (upload.disclosure if upload else None) or {}
    return VideoRecord(
        task_id=str(task.pk),
        title=task.title,
        topic=task.topic,
        outcome="published" if published else "cancelled",
        outcome_at=_iso(video.published_at if published else task.cancelled_at),
        drafted_by=drafted[0] if drafted else _first_actor(task),
        edited_by=sorted({entry.actor for entry in audit if entry.action == "storyboard_edit"}),
        decisions=[
            Decided(
                at=_iso(review.created_at),
                gate=review.gate,
                decision=review.decision,
                reviewer=review.reviewer_name,
                via=review.via or "",
                notes=review.notes,
                cut_sha256=review.cut_sha256,
            )
            for review in reviews
        ],  # fmt: skip
        redos=_redos(audit, costs),
        approved_sha256=approved_sha,
        uploaded_sha256=uploaded_sha,
        same_file=(approved_sha == uploaded_sha) if approved_sha and uploaded_sha else None,
        contains_synthetic_media=disclosure.get("containsSyntheticMedia"),
        made_for_kids=disclosure.get("selfDeclaredMadeForKids"),
        youtube_video_id=(video.youtube_video_id if video else "") or "",
        published_at=_iso(video.published_at) if published else "",
        total_usd=str(sum((cost.usd for cost in costs), start=Decimal(0))),
    )


def _first_actor(task):
    first = task.events.order_by("created_at", "id").first()
    return first.actor if first else ""


REDO_ACTIONS = ("task_redo", "review_rejected")


def _redos(audit, costs):
    """Each redo (a rejection with a redo step, or a redo after a stop) and what it cost: the
    cost rows booked after it and before the next redo."""
    redos = [
        entry
        for entry in audit
        if entry.action in REDO_ACTIONS
        and (entry.metadata.get("step") or entry.metadata.get("redo_step"))
    ]
    found = []
    for index, entry in enumerate(redos):
        until = redos[index + 1].created_at if index + 1 < len(redos) else None
        spent = sum(
            (c.usd for c in costs
             if c.created_at >= entry.created_at and (until is None or c.created_at < until)),
            start=Decimal(0),
        )  # fmt: skip
        units = entry.metadata.get("units") or entry.metadata.get("redo_units") or {}
        found.append(
            Redo(
                at=_iso(entry.created_at),
                by=entry.actor,
                step=entry.metadata.get("step") or entry.metadata.get("redo_step"),
                units="; ".join(f"{step}: {', '.join(names)}" for step, names in units.items()),
                usd=str(spent),
            )
        )
    return found


# --- Rendering -----------------------------------------------------------------------------------

CSV_COLUMNS = [
    "task_id", "title", "topic", "outcome", "outcome_at", "drafted_by", "edited_by", "decisions",
    "redos", "redo_usd", "approved_sha256", "uploaded_sha256", "same_file",
    "contains_synthetic_media", "made_for_kids", "youtube_video_id", "published_at", "total_usd",
]  # fmt: skip


def _csv_row(record):
    return {
        **{name: getattr(record, name) for name in CSV_COLUMNS if hasattr(record, name)},
        "edited_by": ", ".join(record.edited_by),
        "decisions": " | ".join(
            f"{d.at} {d.gate} {d.decision} by {d.reviewer} via {d.via or '?'}"
            f"{f' (cut {d.cut_sha256[:12]})' if d.cut_sha256 else ''}: {d.notes}"
            for d in record.decisions
        ),
        "redos": " | ".join(
            f"{r.at} {r.step} by {r.by} ({r.units}) ${r.usd}" for r in record.redos
        ),
        "redo_usd": str(sum((Decimal(r.usd) for r in record.redos), start=Decimal(0))),
    }


def compliance_render(records, *, fmt, channel, start, end):
    """The report as text in `fmt` (csv, json or html)."""
    if fmt == "json":
        return json.dumps(
            {
                "channel": channel.pk,
                "channel_name": channel.name,
                "from": _iso(start),
                "to": _iso(end),
                "videos": [asdict(record) for record in records],
            },
            indent=2,
        )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for record in records:
            writer.writerow(_csv_row(record))
        return out.getvalue()
    if fmt == "html":
        return render_to_string(
            "reviews/compliance_report.html",
            {"records": records, "channel": channel, "start": start, "end": end},
        )
    raise ValueError(f"format: choose one of {', '.join(FORMATS)}, got {fmt!r}")
