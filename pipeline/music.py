"""The channel's music bed: a folder of the operator's licensed tracks (the channel file's
`music: {folder, volume_db}`), one track per video. The storyboard may name one (`music:` a file
name in that folder); else the track is chosen from the video's id, so the same video always
gets the same track (a redo, a resumed assembly) and a channel's videos spread over the folder.
assemble_video.py lays it under the narration and ducks it while the narration speaks; its name
is kept on the Video row and shown at review."""

import hashlib
from pathlib import Path

from django.conf import settings

MUSIC_SUFFIXES = {".mp3", ".wav", ".m4a", ".aac", ".ogg", ".flac"}


class MusicUnavailable(ValueError):
    """The channel's music cannot be used for this video: the message says why."""


def music_folder(channel):
    folder = (channel.music or {}).get("folder")
    if not folder:
        return None
    path = Path(folder)
    return path if path.is_absolute() else Path(settings.CHANNEL_CONFIG_DIR) / path


def music_tracks(folder):
    if not folder.is_dir():
        raise MusicUnavailable(f"music folder {folder} does not exist")
    tracks = sorted(
        path.name
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in MUSIC_SUFFIXES and path.name[0] != "."
    )
    if not tracks:
        raise MusicUnavailable(
            f"music folder {folder} holds no tracks ({', '.join(sorted(MUSIC_SUFFIXES))})"
        )
    return tracks


def music_choice(task):
    """{"path", "volume_db", "track"} for the task's video, or None when the channel has no
    music. Raises MusicUnavailable naming the folder or the storyboard's track."""
    folder = music_folder(task.channel)
    if folder is None:
        return None
    tracks = music_tracks(folder)
    named = task.storyboard.get("music")
    if named:
        if named not in tracks:
            raise MusicUnavailable(
                f"storyboard: music: {named!r} is not a track in {folder} "
                f"(tracks: {', '.join(tracks[:10])}{' ...' if len(tracks) > 10 else ''})"
            )
        track = named
    else:
        digest = hashlib.sha256(str(task.pk).encode()).digest()
        track = tracks[int.from_bytes(digest[:8], "big") % len(tracks)]
    volume = (task.channel.music or {}).get("volume_db")
    return {
        "path": str(folder / track),
        "volume_db": float(volume if volume is not None else -20.0),
        "track": track,
    }


def music_for_manifest(task):
    """The manifest's "music" entry, or None. Music that cannot be used still names the path it
    should be at, with the reason: assemble_video.py then fails with exit 65 naming that path, so
    the task stops in Video Error through the usual machinery (never a silent cut without the
    music the channel asked for)."""
    try:
        music = music_choice(task)
    except MusicUnavailable as unavailable:
        folder = music_folder(task.channel)
        named = task.storyboard.get("music") or ""
        return {"path": str(folder / named), "volume_db": -20.0, "unusable": str(unavailable)}
    if music is None:
        return None
    return {"path": music["path"], "volume_db": music["volume_db"]}
