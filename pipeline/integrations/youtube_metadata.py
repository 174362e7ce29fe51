"""What YouTube is told about a video: the videos.insert body (snippet, privacy, AI disclosure, the
marker tag reconciliation looks for), the publish slot from the channel's schedule, and the
thumbnail image."""

import datetime as dt
import os
import subprocess
import uuid
from zoneinfo import ZoneInfo

from channels_app.config import WEEKDAYS
from channels_app.models import Schedule
from core.ffmpeg import choose_ffmpeg
from core.text import youtube_text_limits
from pipeline import paths
from pipeline.models import Upload, UploadState
from pipeline.runner import Outcome
from pipeline.unit_spec import UnitError
from pipeline.upload_guard import disclosure_flags

PUBLISH_LEAD = dt.timedelta(minutes=30)  # publishAt must lie in the future once processing ends
THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024


def marker_tag(marker):
    """The tag that identifies our video on the channel (reconciliation looks for it)."""
    return f"videogen-{marker.hex}"


def video_tags(task):
    """The tags chosen for the video (the storyboard's, else the channel's) and where they come
    from, for messages: "storyboard" or the channel file."""
    if task.storyboard.get("tags"):
        return list(task.storyboard["tags"]), "storyboard"
    return list(task.channel.tags or []), f"channel_configs/{task.channel_id}.yaml"


def metadata_problems(task):
    """Every reason YouTube would refuse the snippet, each naming its field, with the limits of
    core.text.youtube_text_limits (the same the storyboard and the review form apply). Empty:
    fine."""
    storyboard = task.storyboard
    tags, tags_source = video_tags(task)
    problems = [
        f"storyboard: title: {p}" for p in youtube_text_limits.title_problems(storyboard["title"])
    ]
    problems += [
        f"storyboard: description: {p}"
        for p in youtube_text_limits.description_problems(storyboard.get("description") or "")
    ]
    problems += [f"{tags_source}: tags: {p}" for p in youtube_text_limits.tags_problems(tags)]
    return problems


def video_metadata_check(task):
    """Raise a permanent UnitError naming each field YouTube would refuse. The upload calls it
    before it reserves any quota; nothing is ever cut or dropped to make it fit."""
    problems = metadata_problems(task)
    if problems:
        raise UnitError(
            f"upload of task {task.pk}: YouTube would refuse the metadata: {'; '.join(problems)}. "
            "Fix it at final review (or in the storyboard) and approve again.",
            outcome=Outcome.PERMANENT,
        )


def video_metadata(task, *, marker, publish_at=None):
    """The videos.insert body: snippet from the storyboard and channel, status with the channel's
    privacy (private with publishAt when scheduled), made-for-kids flag and the AI disclosure.
    Sent exactly as the final review page shows it (reviews builds its preview with this)."""
    video_metadata_check(task)
    return _body(task, marker=marker, publish_at=publish_at)


def _body(task, *, marker, publish_at):
    storyboard, channel = task.storyboard, task.channel
    status = {"privacyStatus": "private" if publish_at else channel.privacy}
    status.update(disclosure_flags(channel))
    if publish_at:
        status["publishAt"] = publish_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "snippet": {
            "title": storyboard["title"],
            "description": storyboard.get("description") or "",
            "tags": [*video_tags(task)[0], marker_tag(marker)],
            "categoryId": channel.category_id,
            "defaultLanguage": channel.default_language,
        },
        "status": status,
    }


def publish_slots_taken(channel, *, exclude_task_id=None):
    """The publish times the channel's other uploads already hold (failed ones free theirs)."""
    return set(
        Upload.objects.filter(task__channel=channel, publish_at__isnull=False)
        .exclude(task_id=exclude_task_id)
        .exclude(state=UploadState.FAILED)
        .values_list("publish_at", flat=True)
    )


def publication_preview(task, *, now):
    """Exactly what the upload would send if the video were approved `now`, for the final review:
    the videos.insert body from the same builder as the upload, the problems YouTube would refuse
    it for (each naming its field), the publish slot in the channel's zone and in UTC, the counted
    lengths and the thumbnail's source. The marker tag is the upload's own (shown, not chosen)."""
    upload = Upload.objects.filter(task=task).first()
    marker = upload.marker if upload else uuid.UUID(int=0)
    zone = ZoneInfo(task.channel.timezone or "UTC")
    problems, slot_problem, publish_at = metadata_problems(task), "", None
    try:
        scheduled = task.channel.schedule != Schedule.MANUAL
        taken = publish_slots_taken(task.channel, exclude_task_id=task.pk) if scheduled else set()
        publish_at = publish_slot(task.channel, now=now, taken=taken)
    except UnitError as error:
        slot_problem = str(error)
    body = _body(task, marker=marker, publish_at=publish_at)
    snippet = body["snippet"]
    return {
        "body": body,
        "problems": problems,
        "slot_problem": slot_problem,
        "publish_at_utc": publish_at,
        "publish_at_local": publish_at.astimezone(zone) if publish_at else None,
        "timezone": str(zone),
        "title_characters": len(snippet["title"]),
        "description_bytes": youtube_text_limits.description_bytes(snippet["description"]),
        "tags_chosen": snippet["tags"][:-1],
        # Before the upload row exists the marker is not chosen yet: its length is known.
        "marker_tag": snippet["tags"][-1] if upload else "videogen-<this video's marker>",
        "tags_counted": youtube_text_limits.tags_counted_length(snippet["tags"]),
        "tags_chosen_counted": youtube_text_limits.tags_counted_length(snippet["tags"][:-1]),
        "thumbnail": thumbnail_source(task),
        "limits": {
            "title": youtube_text_limits.TITLE_MAX_CHARACTERS,
            "description": youtube_text_limits.DESCRIPTION_MAX_BYTES,
            "tags": youtube_text_limits.TAGS_MAX_CHARACTERS,
            "tags_chosen": youtube_text_limits.TAGS_MAX_CHOSEN_CHARACTERS,
        },
    }


def thumbnail_source(task):
    """(what, path) of the image the thumbnail is made from: the storyboard's `thumbnail` (an asset
    id, or a scene id meaning that scene's composite), or (a frame of the final video, its path)."""
    channel_id, task_id = task.channel_id, str(task.pk)
    named = task.storyboard.get("thumbnail")
    if not named:
        return "a frame a third into the final video", paths.final_video(channel_id, task_id)
    asset_ids = {asset["id"] for asset in task.storyboard.get("assets", [])}
    step = "assets" if named in asset_ids else "composites"
    what = f"asset {named}" if step == "assets" else f"scene {named}'s composite"
    return what, paths.unit_output(channel_id, task_id, step, named)


def publish_slot(channel, *, now, taken=()):
    """When the channel's schedule publishes a video approved at `now`: None for manual (publish
    on upload), else the first daily/weekly slot at publish_time in the channel's timezone at
    least PUBLISH_LEAD ahead and not already taken by another of its videos."""
    if channel.schedule == Schedule.MANUAL:
        return None
    if channel.publish_time is None:
        raise UnitError(
            f"channel_configs/{channel.pk}.yaml: publish_time: is required when schedule is "
            f"{channel.schedule}; set it and run `manage.py sync_channels`",
            outcome=Outcome.CONFIG,
        )
    zone = ZoneInfo(channel.timezone or "UTC")
    earliest = now + PUBLISH_LEAD
    first_day = earliest.astimezone(zone).date()
    days = set(channel.publish_days or []) if channel.schedule == Schedule.WEEKLY else None
    for offset in range(0, 366 * 2):
        day = first_day + dt.timedelta(days=offset)
        if days is not None and WEEKDAYS[day.weekday()] not in days:
            continue
        slot = dt.datetime.combine(day, channel.publish_time, tzinfo=zone).astimezone(dt.UTC)
        if slot >= earliest and slot not in taken:
            return slot
    raise UnitError(
        f"channel_configs/{channel.pk}.yaml: no publish slot in two years (publish_days empty?)",
        outcome=Outcome.CONFIG,
    )


def _ffmpeg():
    """The scripts' FFmpeg (one rule: core/ffmpeg.py); a thumbnail needs no capability check."""
    return choose_ffmpeg().path


class ThumbnailUnusable(Exception):
    """No image YouTube would take (JPEG or PNG, at most 2 MB): the thumbnail is not sent, and
    the message says why."""


JPEG_QUALITIES = (90, 80, 70, 60, 50, 40, 30, 20, 10)


def _jpeg_within_limit(image, target, *, what):
    """Save `image` as a JPEG at the highest quality that fits THUMBNAIL_MAX_BYTES."""
    limit = THUMBNAIL_MAX_BYTES
    image = image.convert("RGB")
    image.thumbnail((1280, 720))
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    for quality in JPEG_QUALITIES:
        image.save(temporary, "JPEG", quality=quality)
        if temporary.stat().st_size <= limit:
            os.replace(temporary, target)
            return target
    size = temporary.stat().st_size
    temporary.unlink()
    raise ThumbnailUnusable(
        f"{what}: still over the {limit:,}-byte limit at JPEG quality {JPEG_QUALITIES[-1]} "
        f"({size:,} bytes)"
    )


def thumbnail_image(task):
    """A JPEG within YouTube's 2 MB for thumbnails.set: the storyboard's `thumbnail` (an asset
    id, or a scene id meaning that scene's composite), else a frame a third into the final video,
    each re-encoded at lower quality until it fits. Raises ThumbnailUnusable saying why when
    neither can be made."""
    from PIL import Image, UnidentifiedImageError

    from pipeline.media import media_duration

    channel_id, task_id = task.channel_id, str(task.pk)
    target = paths.project_dir(channel_id, task_id) / "thumbnail.jpg"
    named = task.storyboard.get("thumbnail")
    if named:
        source = thumbnail_source(task)[1]
        what = f"storyboard thumbnail '{named}'"
        if not source.is_file():
            raise ThumbnailUnusable(f"{what}: {source} is missing")
        try:
            with Image.open(source) as image:
                return _jpeg_within_limit(image, target, what=what)
        except (UnidentifiedImageError, OSError) as error:
            raise ThumbnailUnusable(f"{what}: {source} is not a readable image ({error})") from None
    video = paths.final_video(channel_id, task_id)
    seconds = (media_duration(video) or 0) / 3
    frame = target.with_name("thumbnail-frame.png")  # lossless: re-encoded below
    try:
        subprocess.run(  # noqa: S603 - fixed arguments, paths from pipeline.paths
            [_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{seconds:.2f}",
             "-i", str(video), "-frames:v", "1", str(frame)],
            check=True,
            capture_output=True,
            timeout=60,
        )  # fmt: skip
    except (subprocess.SubprocessError, OSError) as error:
        raise ThumbnailUnusable(f"a frame of {video} could not be extracted ({error})") from None
    try:
        with Image.open(frame) as image:
            return _jpeg_within_limit(image, target, what=f"a frame of {video.name}")
    finally:
        frame.unlink(missing_ok=True)
