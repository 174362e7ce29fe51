"""Stand-in for an operator's own generate_sound_effects.py: exactly its command line, free text
out."""

import argparse
from pathlib import Path

from _standin import ffmpeg, log_call, main

parser = argparse.ArgumentParser()
parser.add_argument("--text", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--duration", type=float, default=10.0)
parser.add_argument("--prompt-influence", type=float, default=0.3)
parser.add_argument("--format", default="mp3_44100_128")
parser.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=True)
parser.add_argument("--target-volume", type=float, default=-30.0)
args = parser.parse_args()


def work():
    log_call("generate_sound_effects", args.output)
    print(f"Sound effect '{args.text}' for {args.duration} s")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    ffmpeg("-f", "lavfi", "-i", f"anoisesrc=duration={args.duration}:amplitude=0.05",
           "-c:a", "libmp3lame", "-b:a", "64k", args.output)  # fmt: skip
    print("Saved.")


main("generate_sound_effects", work)
