"""Stand-in for an operator's own generate_video.py: exactly its command line, free text out."""

import argparse
from pathlib import Path

from _standin import ffmpeg, log_call, main

parser = argparse.ArgumentParser()
parser.add_argument("--image", required=True)
parser.add_argument("--environment", default=None)
parser.add_argument("--prompt", required=True)
parser.add_argument("--output", required=True)
args = parser.parse_args()


def work():
    log_call("generate_video", args.output)
    print(f"Animating {args.image}: {args.prompt[:60]}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    ffmpeg("-loop", "1", "-i", args.image, "-t", "2", "-r", "10", "-vf", "scale=320:180",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", args.output)  # fmt: skip
    print(f"Done! Video written to {args.output}")


main("generate_video", work)
