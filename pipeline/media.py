"""Is a step's output a real, readable file? Checked before a call is made (resume: an output that
exists and is valid is not paid for again) and after a script reports success."""

from pathlib import Path

import av
import yaml
from PIL import Image, UnidentifiedImageError


def media_duration(path):
    """Seconds of the longest stream in an audio/video file, or None when unreadable."""
    try:
        with av.open(str(path)) as container:
            if container.duration:
                return container.duration / 1_000_000
            durations = [
                float(stream.duration * stream.time_base)
                for stream in container.streams
                if stream.duration and stream.time_base
            ]
            return max(durations) if durations else None
    except (av.FFmpegError, OSError, ValueError):
        return None


VIDEO_SUFFIXES = {".mp4", ".mov"}
AUDIO_SUFFIXES = {".mp3", ".wav", ".m4a"}


def _has_stream(path, kind):
    """Whether the container holds a decodable stream of `kind` ("video" or "audio")."""
    try:
        with av.open(str(path)) as container:
            return any(stream.type == kind for stream in container.streams)
    except (av.FFmpegError, OSError, ValueError):
        return False


def output_valid(path):
    """Judged by what the file is, not by what a script said: an image opens, a video has a
    video stream, an audio file an audio stream, each with a length. So a script that prints free
    text (an operator's own) succeeds exactly when its output is real media."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return False
    except OSError:
        return False
    suffix = path.suffix.lower()
    if suffix in {".png", ".jpg", ".jpeg", ".webp"}:
        try:
            with Image.open(path) as image:
                image.verify()
            return True
        except (UnidentifiedImageError, OSError, SyntaxError):
            return False
    if suffix in {".yaml", ".yml"}:  # a drafted storyboard: whole (it is checked when used)
        try:
            return isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict)
        except (yaml.YAMLError, UnicodeDecodeError, OSError):
            return False
    if suffix in VIDEO_SUFFIXES | AUDIO_SUFFIXES:
        kind = "video" if suffix in VIDEO_SUFFIXES else "audio"
        duration = media_duration(path)
        return bool(duration and duration > 0) and _has_stream(path, kind)
    return True
