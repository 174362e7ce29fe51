#!/usr/bin/env python3
"""Generate one image (a character or an environment) from a prompt, saved as PNG.

    generate_asset.py --prompt TEXT --output PNG [--reference-image PNG]... [--aspect-ratio 16:9]
                      [--model gemini-2.5-flash-image] [--provider gemini|local]

gemini: one generateContent call (GEMINI_API_KEY; GEMINI_API_BASE, GEMINI_IMAGE_MODEL).
local:  a deterministic Pillow image that reflects the prompt, at Gemini's size for the ratio.
Usage reported: {"images": 1, "model": ...}. Exit codes: see _common.py.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
from pathlib import Path

from _common import (
    EX_DATAERR,
    EX_NOPERM,
    EX_TEMPFAIL,
    GEMINI_IMAGE_SIZES,
    ScriptError,
    add_provider_argument,
    atomic_output,
    emit_result,
    env_url,
    http_request,
    local_image,
    open_image,
    raise_for_status,
    require_text,
    resolve_provider,
    secret,
)

DEFAULT_MODEL = "gemini-2.5-flash-image"
DEFAULT_BASE = "https://generativelanguage.googleapis.com"
BLOCKED_FINISH_REASONS = {
    "SAFETY", "PROHIBITED_CONTENT", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_OTHER",
    "NO_IMAGE", "BLOCKLIST", "SPII", "RECITATION", "OTHER",
}  # fmt: skip
REFERENCE_MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument(
        "--reference-image", action="append", default=[], type=Path, dest="reference_images"
    )
    parser.add_argument("--aspect-ratio", default="16:9", choices=sorted(GEMINI_IMAGE_SIZES))
    parser.add_argument("--model", default=None, help="default: $GEMINI_IMAGE_MODEL, else "
                        f"{DEFAULT_MODEL}")  # fmt: skip
    add_provider_argument(parser, real="gemini")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_arguments()
    provider = resolve_provider(args, real="gemini")
    prompt = require_text(args.prompt, "--prompt")
    references = [
        (path, open_image(path, f"--reference-image {index + 1}"))
        for index, path in enumerate(args.reference_images)
    ]
    if provider == "local":
        image = local_image(
            prompt, GEMINI_IMAGE_SIZES[args.aspect_ratio], [r for _, r in references]
        )
        save_png(image, args.output)
        emit_result([args.output], "local", {"images": 1, "model": "local"})
        return

    model = args.model or os.environ.get("GEMINI_IMAGE_MODEL", "").strip() or DEFAULT_MODEL
    api_key = secret("GEMINI_API_KEY", purpose="Gemini image generation")
    image = generate_with_gemini(prompt, references, args.aspect_ratio, model, api_key)
    save_png(image, args.output)
    emit_result([args.output], "gemini", {"images": 1, "model": model})


def generate_with_gemini(prompt, references, aspect_ratio, model, api_key):
    parts: list[dict] = [{"text": prompt}]
    for path, image in references:
        mime_type = REFERENCE_MIME_TYPES.get(image.format or "")
        data = path.read_bytes()
        if mime_type is None:  # e.g. a BMP or TIFF reference: send it as PNG
            buffer = io.BytesIO()
            image.save(buffer, "PNG")
            data, mime_type = buffer.getvalue(), "image/png"
        parts.append(
            {"inlineData": {"mimeType": mime_type, "data": base64.b64encode(data).decode()}}
        )
    body = {
        "contents": [{"role": "user", "parts": parts}],
        "generationConfig": {
            "responseModalities": ["IMAGE"],
            "imageConfig": {"aspectRatio": aspect_ratio},
        },
    }
    url = f"{env_url('GEMINI_API_BASE', DEFAULT_BASE)}/v1beta/models/{model}:generateContent"
    response = http_request(
        "POST", url, service="Gemini", headers={"x-goog-api-key": api_key}, json_body=body
    )
    raise_for_status(response, "Gemini", explain_gemini_error)
    answer = response.json()
    if not isinstance(answer, dict):
        raise ScriptError(
            f"Gemini answered HTTP {response.status} with a body that is not JSON: "
            f"{response.text(120)!r}",
            EX_TEMPFAIL,
            response.status,
        )
    return image_from_answer(answer)


def explain_gemini_error(response) -> tuple[str, int | None]:
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return response.text() or "(empty body)", None
    message = f"{error.get('status', '')}: {error.get('message', '')}".strip(": ")
    reasons = {
        detail.get("reason") for detail in error.get("details") or [] if isinstance(detail, dict)
    }
    # Google answers an invalid key with 400 INVALID_ARGUMENT; it is an auth problem all the same.
    if "API_KEY_INVALID" in reasons or "API key not valid" in str(error.get("message")):
        return message, EX_NOPERM
    return message, None


def image_from_answer(answer: dict):
    from PIL import Image, UnidentifiedImageError

    feedback = answer.get("promptFeedback") or {}
    candidates = answer.get("candidates") or []
    if feedback.get("blockReason") and not candidates:
        detail = feedback.get("blockReasonMessage") or ""
        raise ScriptError(
            f"Gemini blocked the prompt: blockReason {feedback['blockReason']}"
            + (f" ({detail})" if detail else ""),
            EX_DATAERR,
        )
    texts = []
    finish_reasons = []
    for candidate in candidates:
        finish_reasons.append(candidate.get("finishReason") or "")
        for part in (candidate.get("content") or {}).get("parts") or []:
            inline = part.get("inlineData") or part.get("inline_data")
            if inline and inline.get("data"):
                try:
                    image = Image.open(io.BytesIO(base64.b64decode(inline["data"])))
                    image.load()
                except (UnidentifiedImageError, OSError, ValueError) as error:
                    raise ScriptError(
                        f"Gemini returned image data that is not a readable image ({error})",
                        EX_TEMPFAIL,
                    ) from error
                return image
            if part.get("text"):
                texts.append(part["text"].strip())
    reason = next((reason for reason in finish_reasons if reason), "")
    said = f"; the model said: {' '.join(texts)[:300]!r}" if texts else ""
    if not candidates:
        raise ScriptError("Gemini returned no candidates and no image", EX_TEMPFAIL)
    if reason in BLOCKED_FINISH_REASONS or reason == "STOP":
        raise ScriptError(
            f"Gemini returned no image: finishReason {reason or 'unknown'}{said}", EX_DATAERR
        )
    raise ScriptError(f"Gemini returned no image (finishReason {reason or 'none'}){said}",
                      EX_TEMPFAIL)  # fmt: skip


def save_png(image, output: Path) -> None:
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    with atomic_output(output) as temporary:
        image.save(temporary, "PNG")


if __name__ == "__main__":
    from _common import run

    run(main)
