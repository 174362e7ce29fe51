"""Is a step's output a real, readable file? Checked before a call is made (resume: an output that
exists and is valid is not paid for again) and after a script reports success."""

from pathlib import Path

import av
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


def output_valid(path):
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
    if suffix in {".mp4", ".mp3", ".wav", ".m4a", ".mov"}:
        duration = media_duration(path)
        return bool(duration and duration > 0)
    return True
