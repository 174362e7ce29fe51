"""Stand-in for an operator's own generate_audio.py: exactly its command line (voice from
ELEVENLABS_VOICE_ID), free text out."""

import argparse
import os
from pathlib import Path

from _standin import ffmpeg, log_call, main

parser = argparse.ArgumentParser()
parser.add_argument("--text", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--model", default="eleven_multilingual_v2")
parser.add_argument("--stability", type=float, default=0.40)
parser.add_argument("--similarity", type=float, default=0.75)
parser.add_argument("--style", type=float, default=0.12)
args = parser.parse_args()


def work():
    log_call("generate_audio", args.output)
    voice = os.environ.get("ELEVENLABS_VOICE_ID") or "default voice"
    print(f"Speaking {len(args.text)} characters with {voice} ({args.model})")
    seconds = min(max(len(args.text) / 15, 1.0), 4.0)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=220:duration={seconds:.2f}",
           "-c:a", "libmp3lame", "-b:a", "64k", args.output)  # fmt: skip
    print(f"Audio saved to {args.output}")


main("generate_audio", work)
