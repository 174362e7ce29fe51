#!/usr/bin/env python3
"""Speak a narration text to an MP3 file.

    generate_audio.py --text TEXT --output MP3 [--model eleven_multilingual_v2]
                      [--stability 0.40] [--similarity 0.75] [--style 0.12] [--speed 1.0]
                      [--provider elevenlabs|local]

elevenlabs: text-to-speech (ELEVENLABS_API_KEY, ELEVENLABS_VOICE_ID; ELEVENLABS_API_BASE).
            Characters billed come from the character-cost / x-character-count response
            header, else the length of the text.
local:      espeak-ng when installed, else a speech-like stand-in lasting len(text)/14.5 s.
The paid answer is kept as <output stem>.raw.mp3 until it is checked and in place; a re-run for
the same request starts from it (usage 0, "reused_raw": true); a local failure after paying
exits 70 with {"usage": ..., "paid": true} in its error line.
Usage reported: {"characters": N, "model": ...}. Exit codes: see _common.py.
"""

from __future__ import annotations

import argparse
import os
import urllib.parse
from pathlib import Path

from _common import (
    EX_NOPERM,
    EX_TEMPFAIL,
    ScriptError,
    add_provider_argument,
    after_payment,
    atomic_output,
    discard_raw,
    emit_result,
    env_url,
    http_request,
    keep_raw,
    paid_fields,
    probe_media,
    raise_for_status,
    raw_path_for,
    render_local_speech,
    require_range,
    require_text,
    resolve_provider,
    reusable_raw,
    secret,
)

DEFAULT_BASE = "https://api.elevenlabs.io"
OUTPUT_FORMAT = "mp3_44100_128"
# ElevenLabs statuses that are about money or the account, not the request.
CREDIT_STATUSES = {"quota_exceeded", "insufficient_credits", "payment_required",
                   "invalid_api_key", "missing_permissions", "unusual_activity"}  # fmt: skip
BUSY_STATUSES = {"too_many_concurrent_requests", "system_busy", "rate_limit_exceeded"}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text", required=True)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--model", default="eleven_multilingual_v2")
    parser.add_argument("--stability", type=float, default=0.40)
    parser.add_argument("--similarity", type=float, default=0.75)
    parser.add_argument("--style", type=float, default=0.12)
    parser.add_argument("--speed", type=float, default=None, help="0.7-1.2")
    add_provider_argument(parser, real="elevenlabs")
    return parser.parse_args(argv)


def explain_elevenlabs(response) -> tuple[str, int | None]:
    """ElevenLabs puts a list (422 validation) or an object with a status in ``detail``."""
    body = response.json()
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        problems = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(part) for part in item.get("loc", []))
                problems.append(f"{where}: {item.get('msg', '')}".strip(": "))
        return "; ".join(problems) or "validation error", None
    if isinstance(detail, dict):
        status = str(detail.get("status") or "")
        message = f"{status}: {detail.get('message', '')}".strip(": ")
        if status in CREDIT_STATUSES:
            return message, EX_NOPERM
        if status in BUSY_STATUSES:
            return message, EX_TEMPFAIL
        return message, None
    if isinstance(detail, str):
        return detail, None
    return response.text() or "(empty body)", None


def post_audio(url: str, body: dict, destination: Path, service: str):
    """POST and stream the audio answer into ``destination``; return the response."""
    api_key = secret("ELEVENLABS_API_KEY", purpose="ElevenLabs")
    with open(destination, "wb") as sink:
        response = http_request(
            "POST",
            url,
            service=service,
            headers={"xi-api-key": api_key, "Accept": "audio/mpeg"},
            json_body=body,
            sink=sink,
        )
    raise_for_status(response, service, explain_elevenlabs)
    if response.streamed_bytes == 0:
        raise ScriptError(f"{service} answered HTTP {response.status} with no audio",
                          EX_TEMPFAIL, response.status)  # fmt: skip
    return response


def check_audio_answer(path: Path, service: str) -> None:
    """A 200 whose body is not audio is a provider glitch: worth one more try (75)."""
    try:
        probe_media(path, f"{service} answer")
    except ScriptError as error:
        raise ScriptError(error.message, EX_TEMPFAIL) from error


def billed_characters(response, text: str) -> int:
    for header in ("character-cost", "x-character-count"):
        value = response.headers.get(header)
        if value is not None:
            try:
                return int(float(value))
            except ValueError:
                continue
    return len(text)


def main() -> None:
    args = parse_arguments()
    provider = resolve_provider(args, real="elevenlabs")
    text = require_text(args.text, "--text")
    require_range(args.stability, "--stability", 0.0, 1.0)
    require_range(args.similarity, "--similarity", 0.0, 1.0)
    require_range(args.style, "--style", 0.0, 1.0)
    require_range(args.speed, "--speed", 0.7, 1.2)

    if provider == "local":
        with atomic_output(args.output) as temporary:
            engine = render_local_speech(text, temporary)
        emit_result([args.output], "local", {"characters": len(text), "model": f"local-{engine}"})
        return

    secret("ELEVENLABS_API_KEY", purpose="ElevenLabs text-to-speech")
    voice_id = os.environ.get("ELEVENLABS_VOICE_ID", "").strip()
    if not voice_id:
        raise ScriptError("environment variable ELEVENLABS_VOICE_ID is not set (the narrator "
                          "voice)", 78)  # fmt: skip
    settings = {
        "stability": args.stability,
        "similarity_boost": args.similarity,
        "style": args.style,
        "use_speaker_boost": True,
    }
    if args.speed is not None:
        settings["speed"] = args.speed
    body = {"text": text, "model_id": args.model, "voice_settings": settings}
    voice = urllib.parse.quote(voice_id, safe="")
    url = (
        f"{env_url('ELEVENLABS_API_BASE', DEFAULT_BASE)}/v1/text-to-speech/{voice}"
        f"?output_format={OUTPUT_FORMAT}"
    )
    service = "ElevenLabs text-to-speech"
    request = {"voice_id": voice_id, **body}

    def validate(path: Path) -> None:
        check_audio_answer(path, service)

    def download(destination: Path) -> dict:
        response = post_audio(url, body, destination, service)
        usage = {"characters": billed_characters(response, text), "model": args.model}
        try:
            validate(destination)
        except ScriptError as error:  # paid for, then refused: book it
            raise ScriptError(error.message, error.exit_code, extra=paid_fields(usage)) from error
        return usage

    reused = reusable_raw(args.output, request, validate) is not None
    if reused:
        raw, usage = raw_path_for(args.output), {"characters": 0, "model": args.model}
    else:
        raw, usage = keep_raw(args.output, request, download)
    with after_payment(usage, paid=not reused, raw=raw):
        os.replace(raw, args.output)
    discard_raw(args.output)
    emit_result([args.output], "elevenlabs", usage, **({"reused_raw": True} if reused else {}))


if __name__ == "__main__":
    from _common import run

    run(main)
