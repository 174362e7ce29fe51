#!/usr/bin/env python3
"""Draft one video's storyboard from a topic (and a story direction), saved as YAML.

    generate_storyboard.py --topic TEXT --output storyboard.yaml [--direction TEXT]
                           [--channel-brief FILE] [--scenes N] [--channel ID]
                           [--model gemini-3.8-flash] [--provider gemini|local]

gemini: one generateContent call with a JSON response schema (GEMINI_API_KEY; GEMINI_API_BASE,
        GEMINI_TEXT_MODEL). The answer is checked by the same parser as a hand-written storyboard
        (core.text.storyboard); an invalid answer is sent back once with the parser's errors (the
        one case of a second call), and if it is still invalid the run fails with those errors
        (exit 65): never a half-valid storyboard.
local:  offline and deterministic: a storyboard built from the words of the topic, the direction
        and the brief, valid by construction, different for different topics (_local_writer.py).

--channel-brief is the channel's style bible as YAML or JSON (core.text.channel_brief: premise,
tone, visual_style, scene_count, clip_seconds, title_style, description_template, language,
default_tags). Usage reported: {"model", "calls", "input_tokens", "output_tokens"}; tokens from
Gemini's usageMetadata (thinking tokens are billed as output); "usage_unknown": true when an
answer's body could not be read (its tokens are not in the counts). An answer wrapped in one
Markdown code fence (```json ... ```) is read without it. Exit codes: see _common.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

import yaml
from _common import (
    EX_DATAERR,
    EX_SOFTWARE,
    EX_TEMPFAIL,
    ScriptError,
    add_provider_argument,
    atomic_output,
    emit_result,
    env_url,
    http_request,
    input_error,
    paid_fields,
    raise_for_status,
    require_file,
    require_text,
    resolve_provider,
    secret,
)
from _local_writer import draft_locally
from generate_asset import DEFAULT_BASE, explain_gemini_error

from core.text import youtube_text_limits
from core.text.channel_brief import (
    SCENE_COUNT_MAX,
    SCENE_COUNT_MIN,
    brief_description,
    brief_validate,
)
from core.text.config_text import CHANNEL_ID_PATTERN, yaml_error_message, yaml_load
from core.text.narration import (
    NARRATION_MAX_RATIO,
    WORDS_PER_SECOND,
    narration_word_budget,
)
from core.text.storyboard import (
    ASSET_KINDS,
    DURATION_MAX,
    DURATION_MIN,
    StoryboardInvalid,
    storyboard_validate,
)

DEFAULT_MODEL = "gemini-3.8-flash"
TEMPERATURE = 0.9
# finishReason values that mean "no usable answer for this input" (exit 65); MAX_TOKENS is a
# truncated answer (exit 75: fewer scenes or another try may fit).
BLOCKED_FINISH_REASONS = {
    "SAFETY", "PROHIBITED_CONTENT", "RECITATION", "BLOCKLIST", "SPII", "LANGUAGE", "OTHER",
}  # fmt: skip
MAX_BRIEF_BYTES = 64 * 1024


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topic", required=True, help="what the video is about")
    parser.add_argument("--direction", default="", help="the story direction (optional)")
    parser.add_argument("--channel-brief", type=Path, default=None, dest="channel_brief",
                        help="the channel's style bible, YAML or JSON")  # fmt: skip
    parser.add_argument("--scenes", type=int, default=None,
                        help=f"{SCENE_COUNT_MIN}-{SCENE_COUNT_MAX} (default: the brief's "
                        "scene_count, else 8)")  # fmt: skip
    parser.add_argument("--output", required=True, type=Path, help="storyboard .yaml (or .json)")
    parser.add_argument("--channel", default=None, help="the channel id written into the draft")
    parser.add_argument("--model", default=None,
                        help=f"default: $GEMINI_TEXT_MODEL, else {DEFAULT_MODEL}")  # fmt: skip
    add_provider_argument(parser, real="gemini")
    return parser.parse_args(argv)


class Request:
    """What the writer was asked for, checked."""

    def __init__(self, args):
        self.topic = " ".join(require_text(args.topic, "--topic").split())
        self.direction = " ".join((args.direction or "").split())
        self.brief = read_brief(args.channel_brief)
        scenes = args.scenes if args.scenes is not None else self.brief["scene_count"]
        if not SCENE_COUNT_MIN <= scenes <= SCENE_COUNT_MAX:
            raise input_error(f"--scenes must be {SCENE_COUNT_MIN}-{SCENE_COUNT_MAX}, got {scenes}")
        self.scenes = scenes
        if args.channel is not None and not re.fullmatch(CHANNEL_ID_PATTERN, args.channel):
            raise input_error(
                f"--channel {args.channel!r} is not a channel id: 1-63 lowercase letters, digits, "
                "'-' or '_'"
            )
        self.channel = args.channel
        # What is left of YouTube's 5,000 bytes for the drafted part of the description, once
        # the channel's template is around it (measured with a one-byte description).
        template = self.brief["description_template"]
        used = youtube_text_limits.description_bytes(brief_description(template, "x")) - 1
        self.description_bytes = youtube_text_limits.DESCRIPTION_MAX_BYTES - used


def read_brief(path):
    if path is None:
        brief, _ = brief_validate({}, for_writer=True)
        return brief
    path = require_file(path, "--channel-brief")
    if path.stat().st_size > MAX_BRIEF_BYTES:
        raise input_error(f"--channel-brief {path}: larger than {MAX_BRIEF_BYTES} bytes")
    try:
        data = yaml_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise input_error(f"--channel-brief {path}: not UTF-8 text") from None
    except yaml.YAMLError as error:
        raise input_error(f"--channel-brief {path}: {yaml_error_message(error)}") from None
    brief, problems = brief_validate(data, for_writer=True)
    if problems:
        lines = [f"--channel-brief {path}: {subpath.lstrip('.') or '(top)'}: {message}"
                 for subpath, message in problems]  # fmt: skip
        raise input_error("\n".join(lines))
    return brief


def main() -> None:
    args = parse_arguments()
    provider = resolve_provider(args, real="gemini")
    request = Request(args)
    if provider == "local":
        storyboard = checked(draft_locally(request), request)
        write_storyboard(storyboard, args.output, request, "local")
        usage = {"model": "local", "calls": 0, "input_tokens": 0, "output_tokens": 0}
        emit_result([args.output], "local", usage)
        return
    model = args.model or os.environ.get("GEMINI_TEXT_MODEL", "").strip() or DEFAULT_MODEL
    api_key = secret("GEMINI_API_KEY", purpose="Gemini text generation")
    storyboard, usage = draft_with_gemini(request, model, api_key)
    write_storyboard(storyboard, args.output, request, model)
    emit_result([args.output], "gemini", usage)


# --------------------------------------------------------------------------- checking a draft


def checked(document, request):
    """The storyboard a draft stands for, validated; raises StoryboardInvalid with every problem.

    The draft passes the storyboard parser (as a hand-written file would) and the writer's own
    promise: the number of scenes asked for."""
    errors = []
    try:
        storyboard = storyboard_validate(document, source="draft")
    except StoryboardInvalid as invalid:
        errors.extend(invalid.errors)
        storyboard = None
    scenes = document.get("scenes") if isinstance(document, dict) else None
    if isinstance(scenes, list) and len(scenes) != request.scenes:
        errors.append(f"draft: scenes: {len(scenes)} scenes, asked for {request.scenes}")
    if errors:
        raise StoryboardInvalid(errors)
    return storyboard


def finish_draft(answer, request):
    """The model's JSON answer as a storyboard: nulls dropped, the channel and the channel's
    description template applied (the model writes only the variable part)."""
    if not isinstance(answer, dict):
        return answer
    document = _without_nulls(answer)
    if request.channel:
        document["channel"] = request.channel
    if isinstance(document.get("description"), str):
        document["description"] = brief_description(
            request.brief["description_template"], document["description"].strip()
        )
    if not document.get("atmosphere") and request.brief["visual_style"]:
        document["atmosphere"] = request.brief["visual_style"]
    return document


def _without_nulls(value):
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


# --------------------------------------------------------------------------- writing the file


def clean_storyboard(storyboard):
    """A validated storyboard as a person would write it: defaults and empty fields left out."""
    top_keys = ("title", "channel", "atmosphere", "description", "tags", "thumbnail")
    document = {key: storyboard[key] for key in top_keys if storyboard[key]}
    document["assets"] = [
        {key: asset[key] for key in ("id", "kind", "prompt", "reference") if asset[key]}
        for asset in storyboard["assets"]
    ]
    document["scenes"] = []
    for scene in storyboard["scenes"]:
        cleaned = {"id": scene["id"]}
        if scene["composite"]:
            composite = dict(scene["composite"])
            if composite.get("scale") == 1.0:
                del composite["scale"]
            cleaned["composite"] = composite
        else:
            cleaned["split"] = scene["split"]
        for key in ("motion", "narration", "sfx", "duration"):
            if scene[key]:
                cleaned[key] = scene[key]
        document["scenes"].append(cleaned)
    return document


def write_storyboard(storyboard, output: Path, request, made_by):
    document = clean_storyboard(storyboard)
    if output.suffix.lower() == ".json":
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        header = (
            f"# Drafted by generate_storyboard.py ({made_by}) from the topic {request.topic!r}."
            "\n# Edit freely: it is checked again (core.text.storyboard) before production.\n"
        )
        text = header + yaml.safe_dump(
            document, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
        )
    # What is written must read back as the same storyboard: the pipeline will parse this file.
    try:
        storyboard_validate(yaml_load(text), source=str(output))
    except (StoryboardInvalid, yaml.YAMLError) as error:
        raise ScriptError(
            f"the written storyboard does not read back: {error}", EX_SOFTWARE
        ) from error
    with atomic_output(output) as temporary:
        temporary.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- gemini


def response_schema(request):
    """The storyboard as a Gemini response schema (an OpenAPI 3.0 subset: a key Google does not
    know is a 400, so only its keys are used; the schema shapes the answer, and the parser still
    checks everything)."""

    def text(description):
        return {"type": "STRING", "description": description}

    asset_id = "an id: lowercase letters, digits, '-' or '_'"
    return {
        "type": "OBJECT",
        "properties": {
            "title": text(
                f"the video's title, at most {youtube_text_limits.TITLE_MAX_CHARACTERS} "
                "characters, no < or >"
            ),  # fmt: skip
            "atmosphere": text("the look shared by every image and clip"),
            "description": text("the video's description (the part above the channel's links)"),
            "tags": {"type": "ARRAY", "items": {"type": "STRING"}},
            "thumbnail": text("the id of the scene whose image makes the best thumbnail"),
            "assets": {
                "type": "ARRAY",
                "items": {
                    "type": "OBJECT",
                    "properties": {
                        "id": text(asset_id),
                        "kind": {"type": "STRING", "enum": list(ASSET_KINDS)},
                        "prompt": text("what the image shows, for an image model"),
                    },
                    "required": ["id", "kind", "prompt"],
                },
            },
            "scenes": {
                "type": "ARRAY",
                "maxItems": request.scenes,
                "items": {
                    "type": "OBJECT",
                    "properties": {
                        "id": text("s01, s02, ..."),
                        "composite": {
                            "type": "OBJECT",
                            "nullable": True,
                            "properties": {
                                "environment": text("the id of an environment asset"),
                                "character": text("the id of a character or prop asset"),
                            },
                            "required": ["environment", "character"],
                        },
                        "split": {
                            "type": "ARRAY",
                            "nullable": True,
                            "maxItems": 2,
                            "items": text("an asset id"),
                        },
                        "motion": text("camera and subject movement for the video model"),
                        "narration": text("the words spoken over the scene"),
                        "sfx": text("background sound effects (may be empty)"),
                        "duration": {"type": "NUMBER", "description": "seconds"},
                    },
                    "required": ["id", "motion", "narration", "duration"],
                },
            },
        },
        "required": ["title", "atmosphere", "description", "tags", "assets", "scenes"],
    }


def system_instruction(request):
    brief = request.brief
    lines = [
        "You are the writer of a faceless YouTube channel. You turn a topic into a storyboard: "
        "image assets (characters, props and environments, each generated separately by an "
        "image model), and scenes, each shown as a character composited onto an environment "
        "(composite) or two assets side by side (split), animated by a video model, with "
        "narration read by a text-to-speech voice.",
        f"Write exactly {request.scenes} scenes, ids s01, s02, ..., each {brief['clip_seconds']} "
        f"seconds long (duration {DURATION_MIN}-{DURATION_MAX}); every scene has narration, "
        f"written to the scene's length: about {narration_word_budget(brief['clip_seconds'])} "
        f"words for a {brief['clip_seconds']}-second scene ({WORDS_PER_SECOND:g} words per "
        f"second of duration), never more than {NARRATION_MAX_RATIO} times that: a storyboard "
        "whose narration runs longer is refused.",
        "Asset ids are 1-64 lowercase letters, digits, '-' or '_'. A character or prop prompt "
        "shows one subject, full body, isolated on a plain background; an environment prompt "
        "shows the place with no characters in it. Every asset a scene names must be listed.",
        f"Title: 1-{youtube_text_limits.TITLE_MAX_CHARACTERS} characters. Description: at most "
        f"{request.description_bytes:,} bytes of UTF-8. Tags: at most "
        f"{youtube_text_limits.TAGS_MAX_CHOSEN_CHARACTERS} characters together, counting a comma "
        "between tags and 2 more for a tag with a space. Never use < or > anywhere.",
    ]
    for key, label in (("premise", "The channel's premise"), ("tone", "Narrator tone"),
                       ("visual_style", "Visual style (use it as the atmosphere)"),
                       ("title_style", "Title style")):  # fmt: skip
        if brief[key]:
            lines.append(f"{label}: {brief[key]}")
    lines.append(
        f"Write the title, description, tags and narration in language {brief['language']!r}."
    )
    if brief["default_tags"]:
        lines.append(f"Include the channel's tags: {', '.join(brief['default_tags'])}.")
    return "\n".join(lines)


def user_prompt(request):
    prompt = f"Topic: {request.topic}"
    if request.direction:
        prompt += f"\nStory direction: {request.direction}"
    return prompt + "\nWrite the storyboard as JSON."


def draft_with_gemini(request, model, api_key):
    contents = [{"role": "user", "parts": [{"text": user_prompt(request)}]}]
    usage = {"model": model, "calls": 0, "input_tokens": 0, "output_tokens": 0}
    answer_text = call_gemini(request, contents, model, api_key, usage)
    try:
        return checked(finish_draft(parse_answer(answer_text), request), request), usage
    except StoryboardInvalid as invalid:
        first_errors = invalid.errors
    # One more call, with the parser's errors, in the same conversation.
    contents += [
        {"role": "model", "parts": [{"text": answer_text}]},
        {"role": "user", "parts": [{"text": correction_prompt(first_errors)}]},
    ]
    answer_text = call_gemini(request, contents, model, api_key, usage)
    try:
        return checked(finish_draft(parse_answer(answer_text), request), request), usage
    except StoryboardInvalid as invalid:
        raise ScriptError(
            "Gemini's storyboard is invalid, also after a second try with the errors:\n"
            + "\n".join(invalid.errors),
            EX_DATAERR,
            usage=usage,
        ) from None


def correction_prompt(errors):
    listed = "\n".join(f"- {error.removeprefix('draft: ')}" for error in errors)
    return (
        "That storyboard cannot be used; our storyboard parser found these problems:\n"
        f"{listed}\nAnswer with the whole corrected storyboard as JSON."
    )


# Models often wrap JSON in a Markdown code fence, a response schema notwithstanding.
_FENCED = re.compile(r"\A\s*```[A-Za-z]*[ \t]*\n(?P<body>.*?)\n?[ \t]*```\s*\Z", re.DOTALL)


def parse_answer(text):
    fenced = _FENCED.match(text)
    try:
        return json.loads(fenced["body"] if fenced else text)
    except ValueError as error:
        raise StoryboardInvalid([f"draft: the answer is not JSON ({error})"]) from None


def call_gemini(request, contents, model, api_key, usage):
    """One generateContent call; returns the answer's text, adds its tokens to usage."""
    body = {
        "systemInstruction": {"parts": [{"text": system_instruction(request)}]},
        "contents": contents,
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": response_schema(request),
            "temperature": TEMPERATURE,
        },
    }
    url = f"{env_url('GEMINI_API_BASE', DEFAULT_BASE)}/v1beta/models/{model}:generateContent"
    spent = dict(usage) if usage["calls"] else None
    try:
        response = http_request(
            "POST", url, service="Gemini", headers={"x-goog-api-key": api_key}, json_body=body
        )
        raise_for_status(response, "Gemini", explain_gemini_error)
    except ScriptError as error:
        if spent:
            error.extra.update(paid_fields(spent))
        raise
    answer = response.json()
    usage["calls"] += 1
    if not isinstance(answer, dict):
        # Google answered, so it may bill the call, but how many tokens is unknowable: the
        # usage says so rather than pretending this call cost nothing.
        usage["usage_unknown"] = True
        raise ScriptError(
            f"Gemini answered HTTP {response.status} with a body that is not JSON: "
            f"{response.text(120)!r}; this call's token usage is unknown",
            EX_TEMPFAIL,
            response.status,
            usage=dict(usage),
        )
    metadata = answer.get("usageMetadata") or {}
    usage["input_tokens"] += int(metadata.get("promptTokenCount") or 0)
    usage["output_tokens"] += int(metadata.get("candidatesTokenCount") or 0) + int(
        metadata.get("thoughtsTokenCount") or 0
    )
    return text_from_answer(answer, dict(usage))


def text_from_answer(answer, usage):
    feedback = answer.get("promptFeedback") or {}
    candidates = answer.get("candidates") or []
    if feedback.get("blockReason") and not candidates:
        detail = feedback.get("blockReasonMessage") or ""
        raise ScriptError(
            f"Gemini blocked the prompt: blockReason {feedback['blockReason']}"
            + (f" ({detail})" if detail else "")
            + "; change the topic or direction",
            EX_DATAERR,
            usage=usage,
        )
    if not candidates:
        raise ScriptError("Gemini returned no candidates", EX_TEMPFAIL, usage=usage)
    candidate = candidates[0]
    reason = candidate.get("finishReason") or ""
    if reason in BLOCKED_FINISH_REASONS:
        raise ScriptError(
            f"Gemini gave no usable storyboard: finishReason {reason}; change the topic or "
            "direction",
            EX_DATAERR,
            usage=usage,
        )
    if reason == "MAX_TOKENS":
        raise ScriptError(
            "Gemini's answer was cut off (finishReason MAX_TOKENS); try again or ask for fewer "
            "scenes",
            EX_TEMPFAIL,
            usage=usage,
        )
    parts = (candidate.get("content") or {}).get("parts") or []
    # Thinking models may put a thought summary first; the JSON is the part that is not one.
    texts = [part["text"] for part in parts if part.get("text") and not part.get("thought")]
    if not texts:
        raise ScriptError(
            f"Gemini returned no text (finishReason {reason or 'none'})", EX_TEMPFAIL, usage=usage
        )
    return "".join(texts)


if __name__ == "__main__":
    from _common import run

    def entry():
        try:
            main()
        except StoryboardInvalid as invalid:  # a local draft that fails its own check: a bug
            raise ScriptError("the local draft is invalid:\n" + str(invalid), EX_SOFTWARE) from None

    run(entry)
