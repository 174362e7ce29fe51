"""Stand-in for an operator's own generate_asset.py: exactly its command line, free text out."""

import argparse
import hashlib
from pathlib import Path

from _standin import log_call, main
from PIL import Image, ImageDraw

parser = argparse.ArgumentParser()
parser.add_argument("--prompt", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--reference-image", action="append", default=[])
args = parser.parse_args()


def work():
    log_call("generate_asset", args.output)
    print(f"Generating image for: {args.prompt[:60]}")
    color = tuple(hashlib.sha256(args.prompt.encode()).digest()[:3])
    image = Image.new("RGB", (512, 512), color)
    for reference in args.reference_image:
        print(f"Using reference image {reference}")
        with Image.open(reference) as loaded:
            image = Image.blend(image, loaded.convert("RGB").resize(image.size), 0.3)
    ImageDraw.Draw(image).ellipse((128, 128, 384, 384), fill=(240, 240, 240))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    image.save(args.output, "PNG")
    print(f"Saved image to {args.output}")


main("generate_asset", work)
