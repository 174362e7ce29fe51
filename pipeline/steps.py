"""The pipeline's steps, in order. Each step turns a task's storyboard into units of work (one
script call each) with one small contract; a step never knows which step comes next (that is
pipeline.status / pipeline.services). Everything a unit needs is derived again from the
storyboard and the channel, so a redelivered or resumed unit computes the same call."""

import json

import yaml
from django.conf import settings

from core.providers import REAL_PROVIDERS, provider_for
from core.text.channel_brief import brief_for_writer
from core.text.storyboard import (
    storyboard_asset_prompt,
    storyboard_clip_seconds,
    storyboard_scene_prompt,
)
from costs.models import Component
from pipeline import paths, step_list
from pipeline.publish_local import local_upload_unit, write_atomically
from pipeline.status import DRAFT_STEP
from pipeline.unit_spec import UnitSpec
from pipeline.upload_guard import upload_unit_guarded


def channel_provider(channel, family):
    """The provider of a family (core/providers.py) for a channel: its own setting, else
    VIDEOGEN_PROVIDER, else the real service."""
    configured = provider_for(channel.providers, family)
    return configured or settings.VIDEOGEN_PROVIDER or REAL_PROVIDERS[family]


class Step:
    name = ""
    component = ""
    ordered = False  # whether a unit may wait for others of the step (UnitSpec.after)

    def units(self, task):
        raise NotImplementedError

    def unit_ids(self, task):
        return [spec.unit for spec in self.units(task)]

    def unit(self, task, unit_id):
        for spec in self.units(task):
            if spec.unit == unit_id:
                return spec
        raise KeyError(f"{self.name}: no unit {unit_id!r} in task {task.pk}'s storyboard")

    def output(self, task, unit_id):
        return paths.unit_output(task.channel_id, str(task.pk), self.name, unit_id)


class AssetsStep(Step):
    name = "assets"
    component = Component.IMAGE
    ordered = True  # an asset waits for the asset it names as its reference

    def units(self, task):
        storyboard = task.storyboard
        provider = channel_provider(task.channel, "image")
        specs = []
        for asset in storyboard["assets"]:
            ratio = "16:9" if asset["kind"] == "environment" else "1:1"
            output = self.output(task, asset["id"])
            prompt = storyboard_asset_prompt(storyboard, asset)
            args = ["--prompt", prompt, "--output", output]
            reference = asset.get("reference")
            if reference:  # another asset, validated to exist and not to form a cycle
                args += ["--reference-image", self.output(task, reference)]
            specs.append(
                UnitSpec(
                    unit=asset["id"],
                    output=output,
                    provider=provider,
                    script="generate_asset",
                    args=args,
                    extensions={"--aspect-ratio": ratio},
                    estimate={"images": 1},
                    after=(reference,) if reference else (),
                )
            )
        return specs


class CompositesStep(Step):
    name = "composites"
    component = Component.COMPOSITE

    def units(self, task):
        asset = AssetsStep().output
        specs = []
        for scene in task.storyboard["scenes"]:
            output = self.output(task, scene["id"])
            if scene.get("split"):
                left, right = scene["split"]
                script = "create_split_screen"
                args = ["--left", asset(task, left), "--right", asset(task, right)]
            else:
                composite = scene["composite"]
                script = "create_composite"
                args = [
                    "--character",
                    asset(task, composite["character"]),
                    "--environment",
                    asset(task, composite["environment"]),
                    "--scale",
                    composite.get("scale", 1.0),
                ]
            specs.append(
                UnitSpec(
                    unit=scene["id"],
                    output=output,
                    provider="ffmpeg",
                    script=script,
                    args=[*args, "--output", output],
                )
            )
        return specs


class VideosStep(Step):
    name = "videos"
    component = Component.VIDEO

    def units(self, task):
        provider = channel_provider(task.channel, "video")
        composite = CompositesStep().output
        clips = task.channel.clips or {}
        settings_flags = {
            "--negative-prompt": clips.get("negative_prompt"),
            "--cfg-scale": clips.get("cfg_scale"),
        }
        specs = []
        for scene in task.storyboard["scenes"]:
            output = self.output(task, scene["id"])
            # The channel's clip length, when set, is what every clip is asked for (assembly
            # fits each clip to its narration); else the scene's duration decides.
            seconds = clips.get("duration") or storyboard_clip_seconds(scene)
            model = task.channel.video_model
            specs.append(
                UnitSpec(
                    unit=scene["id"],
                    output=output,
                    provider=provider,
                    script="generate_video",
                    args=[
                        "--image",
                        composite(task, scene["id"]),
                        "--prompt",
                        storyboard_scene_prompt(task.storyboard, scene),
                        "--output",
                        output,
                    ],
                    extensions={"--duration": seconds, "--model": model, **settings_flags},
                    estimate={"clip_seconds": seconds, "model": model},
                )
            )
        return specs


# A channel's narration settings (the channel file's `narration:`) and generate_audio.py's flags.
NARRATION_ARGS = (
    ("--model", "model"),
    ("--stability", "stability"),
    ("--similarity", "similarity"),
    ("--style", "style"),
)


class AudioStep(Step):
    name = "audio"
    component = Component.NARRATION

    def units(self, task):
        provider = channel_provider(task.channel, "narration")
        narration = task.channel.narration or {}
        # --model/--stability/--similarity/--style are on generate_audio.py's original command
        # line, so they go to an operator's copy too; --speed is one of our extensions.
        voice_args = []
        for flag, key in NARRATION_ARGS:
            if narration.get(key) is not None:
                voice_args += [flag, narration[key]]
        specs = []
        for scene in task.storyboard["scenes"]:
            if not scene.get("narration"):
                continue
            output = self.output(task, scene["id"])
            specs.append(
                UnitSpec(
                    unit=scene["id"],
                    output=output,
                    provider=provider,
                    script="generate_audio",
                    args=["--text", scene["narration"], "--output", output, *voice_args],
                    extensions={"--speed": narration.get("speed")},
                    env={"ELEVENLABS_VOICE_ID": task.channel.voice_id},
                    estimate={"characters": len(scene["narration"])},
                )
            )
        return specs


class SfxStep(Step):
    name = "sfx"
    component = Component.SFX

    def units(self, task):
        provider = channel_provider(task.channel, "sfx")
        specs = []
        for scene in task.storyboard["scenes"]:
            if not scene.get("sfx"):
                continue
            output = self.output(task, scene["id"])
            duration = min(max(float(scene["duration"]), 0.5), 30)
            specs.append(
                UnitSpec(
                    unit=scene["id"],
                    output=output,
                    provider=provider,
                    script="generate_sound_effects",
                    args=["--text", scene["sfx"], "--output", output, "--duration", duration],
                    estimate={"sfx": 1, "sfx_seconds": duration},
                )
            )
        return specs


class AssemblyStep(Step):
    name = "assembly"
    component = Component.ASSEMBLY

    def manifest(self, task):
        """The assemble_video.py manifest. Paths are absolute: an operator's own script may
        open them relative to its working folder, not to the manifest's."""

        def absolute(step, scene_id):
            return str(paths.unit_output(task.channel_id, str(task.pk), step, scene_id))

        clips = []
        for number, scene in enumerate(task.storyboard["scenes"], start=1):
            clip = {
                "clip_number": number,
                "scene": scene["id"],
                "video": absolute("videos", scene["id"]),
            }
            if scene.get("narration"):
                clip["audio"] = absolute("audio", scene["id"])
            if scene.get("sfx"):
                clip["sfx"] = absolute("sfx", scene["id"])
            clips.append(clip)
        return {"title": task.storyboard["title"], "clips": clips}

    def units(self, task):
        manifest_path = paths.manifest(task.channel_id, str(task.pk))
        output = paths.final_video(task.channel_id, str(task.pk))

        def write_manifest():
            write_atomically(manifest_path, json.dumps(self.manifest(task), indent=2))

        return [
            UnitSpec(
                unit="video",
                output=output,
                provider="ffmpeg",
                script="assemble_video",
                args=["--manifest", manifest_path, "--output", output],
                prepare=write_manifest,
                # The clips it joins, not the title (a title edit is no reason to assemble again).
                inputs=self.manifest(task)["clips"],
            )
        ]

    def output(self, task, unit_id):
        return paths.final_video(task.channel_id, str(task.pk))


# Upload providers by name: provider -> function(task) -> UnitSpec. The core knows only the local
# one; an integration (pipeline/integrations/youtube.py) registers itself when the app is ready,
# so the step table never imports a provider.
UPLOAD_PROVIDERS = {"local": local_upload_unit}


def upload_provider_register(name, unit_function):
    UPLOAD_PROVIDERS[name] = unit_function


class UploadStep(Step):
    name = "upload"
    component = Component.UPLOAD

    def units(self, task):
        provider = channel_provider(task.channel, "upload")
        try:
            unit_function = UPLOAD_PROVIDERS[provider]
        except KeyError:
            raise LookupError(
                f"channel {task.channel_id}: no upload provider {provider!r} is registered "
                f"(known: {', '.join(sorted(UPLOAD_PROVIDERS))})"
            ) from None
        # Whatever the provider, it sends only the cut approved at the final gate.
        return [upload_unit_guarded(unit_function(task))]


class ScriptStep(Step):
    """A step declared with no code of its own (pipeline/step_list.py): one local unit per scene,
    or one for the whole video, running its script with what it is made from (--input, the
    same unit of each step in its made_from) and --output."""

    def __init__(self, declaration):
        self.name = declaration.name
        self.component = declaration.component
        self.declaration = declaration

    def units(self, task):
        declared = self.declaration
        if declared.unit == "scene":
            unit_ids = [scene["id"] for scene in task.storyboard["scenes"]]
        else:
            unit_ids = ["video"]
        script = next(iter(declared.scripts))
        sources = [name for name in declared.made_from if STEP_UNIT[name] == declared.unit]
        specs = []
        for unit_id in unit_ids:
            output = self.output(task, unit_id)
            inputs = []
            for source in sources:
                inputs += ["--input", STEP_BY_NAME[source].output(task, unit_id)]
            specs.append(
                UnitSpec(
                    unit=unit_id,
                    output=output,
                    provider="ffmpeg",
                    script=script,
                    args=[*inputs, "--output", output],
                )
            )
        return specs


# The code of each step that has its own; the list of steps and their order are
# pipeline/step_list.py's.
CODED = (AssetsStep, CompositesStep, VideosStep, AudioStep, SfxStep, AssemblyStep, UploadStep)
STEP_CODE = {step.name: step for step in CODED}
STEPS = [
    STEP_CODE[declared.name]() if declared.name in STEP_CODE else ScriptStep(declared)
    for declared in step_list.STEPS
]
STEP_UNIT = {declared.name: declared.unit for declared in step_list.STEPS}


class DraftStep(Step):
    """Step 0, the writers' room: one unit, the storyboard drafted by
    scripts/generate_storyboard.py from the task's topic and story direction with the channel's
    brief. Not one of the production steps (STEPS): it runs while the task is in Draft, and what
    happens when it is done or stopped is pipeline/drafting.py's."""

    name = DRAFT_STEP
    component = Component.STORYBOARD
    unit_id = "storyboard"
    # What a draft is expected to use, for old scripts that report no usage.
    ESTIMATE = {"calls": 1, "input_tokens": 4000, "output_tokens": 8000}

    def units(self, task):
        channel = task.channel
        output = self.output(task, self.unit_id)
        brief_path = paths.draft_brief(task.channel_id, str(task.pk))
        args = ["--topic", task.topic, "--output", output, "--channel", channel.id]
        args += ["--channel-brief", brief_path]
        if task.story_direction:
            args += ["--direction", task.story_direction]
        if task.draft_scenes:
            args += ["--scenes", task.draft_scenes]

        def write_brief():
            document = brief_for_writer(
                channel.brief, language=channel.default_language, default_tags=channel.tags
            )
            text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
            write_atomically(brief_path, text)

        return [
            UnitSpec(
                unit=self.unit_id,
                output=output,
                provider=channel_provider(channel, "text"),
                script="generate_storyboard",
                args=args,
                estimate=dict(self.ESTIMATE),
                prepare=write_brief,
            )
        ]

    def output(self, task, unit_id):
        return paths.draft_storyboard(task.channel_id, str(task.pk))


DRAFT = DraftStep()
STEP_BY_NAME = {step.name: step for step in [DRAFT, *STEPS]}
