"""Fingerprints of units of work: what a unit is made from, as one sha256.

A unit's fingerprint covers everything its call is made from, as pipeline.steps builds it: the
script and provider, its arguments (the prompt after the atmosphere is applied, narration text,
duration, scale, ...), the extensions (model, aspect ratio, clip length), the settings it passes
in the environment (the voice) and its other inputs (the assembly's clip list). A file it is made
from that another unit makes (a reference image, a composite's assets, a clip's composite, the
assembly's clips) counts by that unit's fingerprint, so a change travels down to everything made
from it. Paths of the unit's own output are the same for every run and count as text.

A unit records the fingerprint it was made with (WorkItem.fingerprint, when it is done). After a
storyboard edit, the units whose fingerprint differs are the ones to make again
(reviews.decisions.redo_changed_plan).
"""

import hashlib
import json
import os
from pathlib import Path

from core.media_keys import media_key
from pipeline.models import WorkItem, WorkState
from pipeline.paths import workspace_root
from pipeline.status import PRODUCTION_STEPS
from pipeline.steps import STEP_BY_NAME


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _workspace_relative(text):
    """A path inside the workspace as its store key; any other text (a prompt) as it is."""
    root = str(workspace_root())
    return media_key(text) if text.startswith(root + os.sep) else text


def task_fingerprints(task):
    """{(step, unit): sha256 hex} for every unit of the production steps the storyboard makes."""
    fingerprint, specs = _fingerprinter(task)
    return {key: fingerprint(key) for key in specs}


def _fingerprinter(task):
    """fingerprint((step, unit)) for the task's units, each computed once and only when asked
    (with what it is made from), and the specs it knows."""
    specs = {
        (step, spec.unit): spec
        for step in PRODUCTION_STEPS
        for spec in STEP_BY_NAME[step].units(task)
    }
    made_by = {str(spec.output): key for key, spec in specs.items()}
    fingerprints = {}

    def fingerprint(key, seen=()):
        if key in fingerprints:
            return fingerprints[key]
        if key in seen:  # the storyboard parser refuses reference cycles; never loop regardless
            raise ValueError(f"fingerprint: {key} is made from itself")

        def resolve(value):
            if isinstance(value, (str, Path)):
                source = made_by.get(str(value))
                if source and source != key:
                    return {
                        "made_by": list(source),
                        "fingerprint": fingerprint(source, (*seen, key)),
                    }
                return _workspace_relative(str(value))
            if isinstance(value, dict):
                return {str(name): resolve(item) for name, item in value.items()}
            if isinstance(value, (list, tuple)):
                return [resolve(item) for item in value]
            return value

        spec = specs[key]
        inputs = {
            "step": key[0],
            "script": spec.script,
            "provider": spec.provider,
            "args": resolve(spec.args),
            "extensions": resolve(spec.extensions),
            "env": resolve(spec.env),
            "inputs": resolve(spec.inputs),
        }
        fingerprints[key] = hashlib.sha256(_canonical(inputs).encode()).hexdigest()
        return fingerprints[key]

    return fingerprint, specs


def unit_fingerprint(task, step, unit):
    """The fingerprint of one unit as the storyboard stands ("" for the upload). Only this unit
    and what it is made from are hashed: every unit records one when done."""
    if step not in PRODUCTION_STEPS:
        return ""
    fingerprint, specs = _fingerprinter(task)
    return fingerprint((step, unit)) if (step, unit) in specs else ""


def units_changed(task):
    """[(step, unit)] in pipeline order whose inputs differ from what was made: a done unit whose
    recorded fingerprint differs, and a unit an edit added to a step already made. Units made
    before fingerprints were recorded (none stored) are not counted as changed."""
    now = task_fingerprints(task)
    items = {
        (step, unit): (state, fingerprint)
        for step, unit, state, fingerprint in WorkItem.objects.filter(
            task=task, step__in=PRODUCTION_STEPS
        ).values_list("step", "unit", "state", "fingerprint")
    }
    steps_made = {step for step, _ in items}
    changed = []
    for key, fingerprint in now.items():
        if key not in items:
            if key[0] in steps_made:
                changed.append(key)
            continue
        state, recorded = items[key]
        if state == WorkState.DONE and recorded and recorded != fingerprint:
            changed.append(key)
    order = {step: index for index, step in enumerate(PRODUCTION_STEPS)}
    return sorted(changed, key=lambda key: order[key[0]])
