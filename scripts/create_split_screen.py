#!/usr/bin/env python3
"""Put two images side by side (or one above the other) on a 1920x1080 frame (local).

    create_split_screen.py --left PNG --right PNG --output PNG [--layout horizontal|vertical]
                           [--gap 8] [--gap-color #000000]

Each image is cover-cropped to fill its half (minus the gap); the gap shows --gap-color.
With --layout vertical, --left is the top half and --right the bottom half.
--provider is accepted and ignored, for a uniform orchestrator call.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _common import (
    FRAME_HEIGHT,
    FRAME_WIDTH,
    atomic_output,
    emit_result,
    input_error,
    open_image,
)
from create_composite import cover

MAX_GAP = 200


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--left", required=True, type=Path, help="left (or top) image")
    parser.add_argument("--right", required=True, type=Path, help="right (or bottom) image")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--layout", choices=["horizontal", "vertical"], default="horizontal")
    parser.add_argument("--gap", type=int, default=8, help=f"pixels between halves, 0-{MAX_GAP}")
    parser.add_argument("--gap-color", default="#000000")
    parser.add_argument("--provider", default=None, help="ignored: this script is always local")
    return parser.parse_args(argv)


def split_screen(first, second, layout: str, gap: int, gap_color: str):
    from PIL import Image

    frame = Image.new("RGB", (FRAME_WIDTH, FRAME_HEIGHT), gap_color)
    if layout == "horizontal":
        first_width = (FRAME_WIDTH - gap) // 2
        second_width = FRAME_WIDTH - gap - first_width
        frame.paste(cover(first.convert("RGB"), (first_width, FRAME_HEIGHT)), (0, 0))
        frame.paste(
            cover(second.convert("RGB"), (second_width, FRAME_HEIGHT)), (first_width + gap, 0)
        )
    else:
        first_height = (FRAME_HEIGHT - gap) // 2
        second_height = FRAME_HEIGHT - gap - first_height
        frame.paste(cover(first.convert("RGB"), (FRAME_WIDTH, first_height)), (0, 0))
        frame.paste(
            cover(second.convert("RGB"), (FRAME_WIDTH, second_height)), (0, first_height + gap)
        )
    return frame


def main() -> None:
    from PIL import ImageColor

    args = parse_arguments()
    if not 0 <= args.gap <= MAX_GAP:
        raise input_error(f"--gap must be between 0 and {MAX_GAP} pixels, got {args.gap}")
    try:
        ImageColor.getrgb(args.gap_color)
    except ValueError:
        raise input_error(f"--gap-color {args.gap_color!r} is not a colour") from None
    first = open_image(args.left, "--left")
    second = open_image(args.right, "--right")
    image = split_screen(first, second, args.layout, args.gap, args.gap_color)
    with atomic_output(args.output) as temporary:
        image.save(temporary, "PNG")
    emit_result([args.output], "local", {})


if __name__ == "__main__":
    from _common import run

    run(main)
