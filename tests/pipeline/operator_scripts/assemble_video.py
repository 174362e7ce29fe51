"""Stand-in for an operator's own assemble_video.py: exactly its command line (manifest
{"clips": [{"clip_number", "video", "audio"}]}), free text out."""

import argparse
import json
import tempfile
from pathlib import Path

from _standin import ffmpeg, log_call, main

parser = argparse.ArgumentParser()
parser.add_argument("--manifest", required=True)
parser.add_argument("--output", required=True)
args = parser.parse_args()


def work():
    log_call("assemble_video", args.output)
    clips = sorted(json.loads(Path(args.manifest).read_text())["clips"],
                   key=lambda clip: clip["clip_number"])  # fmt: skip
    print(f"Assembling {len(clips)} clips")
    with tempfile.TemporaryDirectory() as folder:
        segments = []
        for clip in clips:
            segment = Path(folder) / f"{clip['clip_number']}.mp4"
            audio = (
                ["-i", clip["audio"]]
                if clip.get("audio")
                else ["-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono"]
            )
            ffmpeg("-i", clip["video"], *audio, "-map", "0:v", "-map", "1:a", "-shortest",
                   "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "44100",
                   "-ac", "1", str(segment))  # fmt: skip
            segments.append(segment)
            print(f"  clip {clip['clip_number']} ok")
        listing = Path(folder) / "list.txt"
        listing.write_text("".join(f"file '{segment}'\n" for segment in segments))
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", args.output)
    print(f"Final video: {args.output}")


main("assemble_video", work)
