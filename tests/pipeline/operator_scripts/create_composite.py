"""Stand-in for an operator's own create_composite.py: exactly its command line, free text out."""

import argparse
from pathlib import Path

from _standin import log_call, main
from PIL import Image

parser = argparse.ArgumentParser()
parser.add_argument("--character", required=True)
parser.add_argument("--environment", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--scale", type=float, default=1.0)
args = parser.parse_args()


def work():
    log_call("create_composite", args.output)
    with Image.open(args.environment) as environment, Image.open(args.character) as character:
        canvas = environment.convert("RGB").resize((1920, 1080))
        height = int(1080 * 0.75 * args.scale)
        figure = character.convert("RGB").resize((height, height))
        canvas.paste(figure, ((1920 - height) // 2, 1080 - height))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.output, "PNG")
    print(f"Composite saved: {args.output}")


main("create_composite", work)
