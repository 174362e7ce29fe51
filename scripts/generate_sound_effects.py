#!/usr/bin/env python3
"""Make a sound effect from a description, loudness-normalized.

    generate_sound_effects.py --text TEXT --output MP3 [--duration 10] [--prompt-influence 0.3]
                              [--format mp3_44100_128] [--normalize/--no-normalize]
                              [--target-volume -30] [--provider elevenlabs|local]

elevenlabs: sound generation (ELEVENLABS_API_KEY; ELEVENLABS_API_BASE).
local:      FFmpeg noise and tone sources chosen from the description, seeded by it.
--normalize (the default) brings the result to --target-volume LUFS integrated: measured
(EBU R128), then a linear gain with a peak limiter. --duration outside 0.5-30 s is exit 65,
like every out-of-range value.
elevenlabs keeps the paid answer as <output stem>.raw.<ext> until normalization succeeds; a
re-run for the same request starts from it (no new purchase; usage 0, "reused_raw": true), and a
local failure after paying exits 70 with {"usage": ..., "paid": true} in its error line.
Usage reported: {"sfx": 1, "sfx_seconds": D}. Exit codes: see _common.py.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from _common import (
    EX_TEMPFAIL,
    ScriptError,
    add_provider_argument,
    after_payment,
    atomic_output,
    discard_raw,
    emit_result,
    env_url,
    find_ffmpeg,
    http_request,
    keep_raw,
    local_sfx_filter,
    loudness_filter,
    measure_loudness,
    paid_fields,
    parse_audio_format,
    raise_for_status,
    raw_path_for,
    require_range,
    require_text,
    resolve_provider,
    reusable_raw,
    run_ffmpeg,
    secret,
)
from generate_audio import DEFAULT_BASE, check_audio_answer, explain_elevenlabs

SERVICE = "ElevenLabs sound generation"


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text", required=True)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds, 0.5-30")
    parser.add_argument("--prompt-influence", type=float, default=0.3, help="0-1")
    parser.add_argument("--format", default="mp3_44100_128", dest="output_format")
    parser.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--target-volume", type=float, default=-30.0, help="LUFS, -70 to -5")
    add_provider_argument(parser, real="elevenlabs")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_arguments()
    provider = resolve_provider(args, real="elevenlabs")
    text = require_text(args.text, "--text")
    require_range(args.duration, "--duration", 0.5, 30.0)
    require_range(args.prompt_influence, "--prompt-influence", 0.0, 1.0)
    require_range(args.target_volume, "--target-volume", -70.0, -5.0)
    audio_format = parse_audio_format(args.output_format)

    if provider == "local" or args.normalize:
        find_ffmpeg()  # an FFmpeg that cannot normalize is refused (78) before paying
    if provider == "local":
        with atomic_output(args.output) as temporary:
            raw = temporary.with_name(temporary.name + ".raw")
            try:
                run_ffmpeg(
                    ["-filter_complex", local_sfx_filter(text, args.duration),
                     *audio_format.encode_arguments(), str(raw)],
                    what="local sound effect",
                )  # fmt: skip
                finish(raw, temporary, audio_format, args)
            finally:
                raw.unlink(missing_ok=True)
        emit_result([args.output], "local", {"sfx": 1, "sfx_seconds": args.duration,
                                             "model": "local"})  # fmt: skip
        return

    api_key = secret("ELEVENLABS_API_KEY", purpose="ElevenLabs sound generation")
    request = {"text": text, "duration_seconds": args.duration,
               "prompt_influence": args.prompt_influence, "output_format": args.output_format}
    usage = {"sfx": 1, "sfx_seconds": args.duration, "model": "elevenlabs"}

    def validate(path: Path) -> None:
        if audio_format.family in ("mp3", "opus"):
            check_audio_answer(path, SERVICE)

    def download(destination: Path) -> dict:
        download_effect(text, args, api_key, destination)
        try:
            validate(destination)
        except ScriptError as error:  # paid for, then refused: book it
            raise ScriptError(error.message, error.exit_code, extra=paid_fields(usage)) from error
        return usage

    reused = reusable_raw(args.output, request, validate) is not None
    if reused:
        raw = raw_path_for(args.output)
    else:
        raw, usage = keep_raw(args.output, request, download)
    with after_payment(usage, paid=not reused, raw=raw):
        with atomic_output(args.output) as temporary:
            finish(raw, temporary, audio_format, args)
    discard_raw(args.output)
    if reused:
        emit_result([args.output], "elevenlabs", {"sfx": 0, "sfx_seconds": 0,
                    "model": "elevenlabs"}, reused_raw=True)  # fmt: skip
    else:
        emit_result([args.output], "elevenlabs", usage)


def finish(raw: Path, destination: Path, audio_format, args) -> None:
    """The local step: normalize to --target-volume, or keep the bytes as they came."""
    if args.normalize:
        normalize(raw, destination, audio_format, args.target_volume)
    else:
        shutil.copyfile(raw, destination)


def download_effect(text: str, args, api_key: str, destination: Path) -> None:
    url = (
        f"{env_url('ELEVENLABS_API_BASE', DEFAULT_BASE)}/v1/sound-generation"
        f"?output_format={args.output_format}"
    )
    body = {
        "text": text,
        "duration_seconds": args.duration,
        "prompt_influence": args.prompt_influence,
    }
    with open(destination, "wb") as sink:
        response = http_request(
            "POST", url, service=SERVICE, headers={"xi-api-key": api_key}, json_body=body,
            sink=sink,
        )  # fmt: skip
    raise_for_status(response, SERVICE, explain_elevenlabs)
    if response.streamed_bytes == 0:
        raise ScriptError(f"{SERVICE} answered HTTP {response.status} with no audio",
                          EX_TEMPFAIL, response.status)  # fmt: skip


def normalize(source: Path, destination: Path, audio_format, target_lufs: float) -> None:
    decode = [*audio_format.decode_arguments(), "-i", str(source)]
    measured = measure_loudness(decode, what="sound effect loudness")
    run_ffmpeg(
        [*decode, "-af", loudness_filter(target_lufs, measured), "-vn",
         *audio_format.encode_arguments(), str(destination)],
        what="sound effect normalization",
    )  # fmt: skip


if __name__ == "__main__":
    from _common import run

    run(main)
