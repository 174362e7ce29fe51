"""Each step is declared once (pipeline/step_list.py); every table about steps is derived from
that list (pipeline/step_tables.py), so a ninth step needs only its declaration (with its script
and a migration for its statuses: tests/pipeline/test_ninth_step_worker.py runs one)."""

import dataclasses

import pytest
from django.conf import settings

from pipeline import doctor, paths, services, status
from pipeline.step_list import STEPS, Column
from pipeline.step_tables import TABLES, redo_units, tables_from
from pipeline.steps import STEP_BY_NAME
from reviews import decisions
from tests.pipeline.ninth_step import POLISH, with_polish

NINTH = tables_from(with_polish(STEPS))

STORYBOARD = {
    "assets": [
        {"id": "forest", "kind": "environment"},
        {"id": "bulbasaur", "kind": "character"},
        {"id": "ivysaur", "kind": "character", "reference": "bulbasaur"},
    ],
    "scenes": [
        {"id": "s01", "composite": {"environment": "forest", "character": "bulbasaur"}},
        {"id": "s02", "composite": {"environment": "forest", "character": "ivysaur"}},
        {"id": "s03", "split": ["forest", "forest"]},
    ],
}


def every_unit(step):
    if step in ("assembly", "upload"):
        return ["video"]
    return [scene["id"] for scene in STORYBOARD["scenes"]]


def test_it_derives_every_step_table_the_pipeline_reads_from_the_one_list():
    assert [status.value for status in status.Status] == [c.value for c in TABLES.columns]
    assert dict(services.NEXT_STEP) == TABLES.next_step
    assert paths.STEP_OUTPUTS == TABLES.step_outputs
    assert decisions.GATE_STEP == TABLES.gate_step
    assert status.TRANSITIONS == TABLES.transitions
    assert set(settings.SCRIPT_TIMEOUTS) == set(TABLES.pipeline_scripts)
    assert doctor.PIPELINE_SCRIPTS == tuple(TABLES.pipeline_scripts)
    assert [step.name for step in STEPS] == status.STEP_ORDER == list(TABLES.step_order)
    assert [name for name in STEP_BY_NAME if name != "draft"] == status.STEP_ORDER


def test_it_declares_the_writer_s_script_with_the_others():
    assert list(TABLES.pipeline_scripts)[0] == "generate_storyboard"
    assert "generate_storyboard" in doctor.PIPELINE_SCRIPTS


def test_a_ninth_step_gets_its_columns_in_board_order():
    values = [column.value for column in NINTH.columns]
    assert values[values.index("video_approved") + 1 : values.index("generating_audio")] == [
        "polishing",
        "polished",
    ]
    assert len(values) == len(TABLES.columns) + 2


def test_a_ninth_step_is_in_the_status_machine():
    transitions = NINTH.transitions
    # The video gate passes to the ninth step, which passes to audio.
    assert "polishing" in transitions["video_ready"]
    assert transitions["video_approved"] == {"polishing"}
    assert transitions["polishing"] == {"polished", "video_error"}
    assert transitions["polished"] == {"generating_audio"}
    # A redo may go back to it, from a later gate or from an error column.
    assert "polishing" in transitions["audio_ready"]
    assert "polishing" in transitions["final_review"]
    assert "polishing" in transitions["audio_error"]
    assert {"polishing", "polished"} <= NINTH.running_statuses
    assert NINTH.next_step["video_ready"] == NINTH.next_step["video_approved"] == "polish"
    assert NINTH.next_step["polished"] == "audio"


def test_a_ninth_step_gets_its_output_its_script_and_its_place_among_the_work_steps():
    assert NINTH.step_outputs["polish"] == ("polished", ".mp4")
    scripts = list(NINTH.pipeline_scripts)
    assert scripts[scripts.index("generate_video") + 1] == "polish_clip"
    assert NINTH.pipeline_scripts["polish_clip"] == 120
    assert "polish" in NINTH.production_steps
    assert NINTH.work_steps[NINTH.work_steps.index("videos") + 1] == "polish"
    assert NINTH.unit_running_status["polish"] == "polishing"


def test_a_redo_makes_a_ninth_step_again_when_what_it_is_made_from_is_made_again():
    steps = with_polish(STEPS)
    plan = redo_units(STORYBOARD, "videos", ["s02"], units_of=every_unit, steps=steps)
    assert plan == {"videos": ["s02"], "polish": ["s02"], "assembly": ["video"]}
    # An asset: the assets made with it as reference, the scenes using either, on to the end.
    plan = redo_units(STORYBOARD, "assets", ["bulbasaur"], units_of=every_unit, steps=steps)
    assert plan == {
        "assets": ["bulbasaur", "ivysaur"],
        "composites": ["s01", "s02"],
        "videos": ["s01", "s02"],
        "polish": ["s01", "s02"],
        "assembly": ["video"],
    }
    # Narration is made from nothing before it: only the assembly follows.
    plan = redo_units(STORYBOARD, "audio", ["s01"], units_of=every_unit, steps=steps)
    assert plan == {"audio": ["s01"], "assembly": ["video"]}


def test_the_redo_graph_of_today_s_steps_is_unchanged():
    plan = redo_units(STORYBOARD, "composites", ["s03"], units_of=every_unit)
    assert plan == {"composites": ["s03"], "videos": ["s03"], "assembly": ["video"]}


def test_a_status_declared_twice_is_refused_with_its_name():
    clash = dataclasses.replace(POLISH, working=Column("generating_video", "Generating Video"))
    with pytest.raises(ValueError, match="generating_video"):
        tables_from([*STEPS[:3], clash, *STEPS[3:]])
