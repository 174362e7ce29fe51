#!/usr/bin/env python3
"""Place a character over an environment on a 1920x1080 frame (local, no network).

    create_composite.py --character PNG --environment PNG --output PNG [--scale 1.0]
                        [--position center|left|right]

The environment is cover-cropped to 16:9 (scaled to fill, centre kept). The character is scaled
so that at --scale 1.0 it is 75% of the frame height, and stands on the bottom edge, centred (or
at a quarter from the left/right). Its alpha channel is respected; a character without alpha
whose four corners share one colour (a studio backdrop, as image models tend to give) has that
backdrop keyed out. --provider is accepted and ignored, for a uniform orchestrator call.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _common import (
    FRAME_HEIGHT,
    FRAME_WIDTH,
    atomic_output,
    emit_result,
    open_image,
    require_range,
)

CHARACTER_HEIGHT_AT_SCALE_1 = 0.75
BACKDROP_TOLERANCE = 28


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--character", required=True, type=Path)
    parser.add_argument("--environment", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--scale", type=float, default=1.0, help="0.1-2.0; 1.0 = 75%% of height")
    parser.add_argument("--position", choices=["center", "left", "right"], default="center")
    parser.add_argument("--provider", default=None, help="ignored: this script is always local")
    return parser.parse_args(argv)


def cover(image, size: tuple[int, int]):
    """Scale to fill ``size`` and crop the overflow evenly (no letterbox bars)."""
    from PIL import Image

    width, height = size
    factor = max(width / image.width, height / image.height)
    scaled = image.resize(
        (max(width, round(image.width * factor)), max(height, round(image.height * factor))),
        Image.Resampling.LANCZOS,
    )
    left = (scaled.width - width) // 2
    top = (scaled.height - height) // 2
    return scaled.crop((left, top, left + width, top + height))


def with_alpha(image):
    """RGBA with the image's own alpha, or with a uniform corner backdrop keyed out."""
    from PIL import Image, ImageChops, ImageFilter

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    rgb = image.convert("RGB")
    corners = [
        rgb.getpixel((0, 0)),
        rgb.getpixel((rgb.width - 1, 0)),
        rgb.getpixel((0, rgb.height - 1)),
        rgb.getpixel((rgb.width - 1, rgb.height - 1)),
    ]
    reference = corners[0]
    if any(max(abs(a - b) for a, b in zip(corner, reference, strict=True)) > BACKDROP_TOLERANCE
           for corner in corners):  # fmt: skip
        return rgb.convert("RGBA")  # no uniform backdrop: keep the rectangle as it is
    difference = ImageChops.difference(rgb, Image.new("RGB", rgb.size, reference)).convert("L")
    mask = difference.point(lambda value: 255 if value > BACKDROP_TOLERANCE else 0)
    mask = mask.filter(ImageFilter.GaussianBlur(1))
    keyed = rgb.convert("RGBA")
    keyed.putalpha(mask)
    return keyed


def composite(character, environment, scale: float, position: str):
    from PIL import Image

    frame = cover(environment.convert("RGB"), (FRAME_WIDTH, FRAME_HEIGHT)).convert("RGBA")
    figure = with_alpha(character)
    target_height = max(1, round(FRAME_HEIGHT * CHARACTER_HEIGHT_AT_SCALE_1 * scale))
    target_width = max(1, round(figure.width * target_height / figure.height))
    figure = figure.resize((target_width, target_height), Image.Resampling.LANCZOS)
    centre_x = {"center": FRAME_WIDTH // 2, "left": FRAME_WIDTH // 4,
                "right": FRAME_WIDTH * 3 // 4}[position]  # fmt: skip
    # A figure wider or taller than the frame is clipped by the paste, not squeezed.
    layer = Image.new("RGBA", frame.size, (0, 0, 0, 0))
    layer.paste(figure, (centre_x - target_width // 2, FRAME_HEIGHT - target_height))
    frame = Image.alpha_composite(frame, layer)
    return frame.convert("RGB")


def main() -> None:
    args = parse_arguments()
    require_range(args.scale, "--scale", 0.1, 2.0)
    character = open_image(args.character, "--character")
    environment = open_image(args.environment, "--environment")
    image = composite(character, environment, args.scale, args.position)
    with atomic_output(args.output) as temporary:
        image.save(temporary, "PNG")
    emit_result([args.output], "local", {})


if __name__ == "__main__":
    from _common import run

    run(main)
