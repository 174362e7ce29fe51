"""Workspace paths: the layout of design.md, and no id or path can lead outside WORKSPACE_ROOT."""

import pytest

from pipeline import paths
from pipeline.paths import UnsafePath, ensure_inside_workspace

UNSAFE_IDS = [
    pytest.param("../x", id="parent"),
    pytest.param("/abs", id="absolute"),
    pytest.param("a/b", id="slash"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("x\x00", id="nul"),
    pytest.param("", id="empty"),
    pytest.param(".", id="dot"),
    pytest.param("..", id="dotdot"),
    pytest.param(".hidden", id="leading-dot"),
    pytest.param("-rf", id="leading-dash"),
    pytest.param("a b", id="space"),
    pytest.param("x" * 65, id="65-chars"),
    pytest.param("x" * 10_000, id="10000-chars"),
    pytest.param("caf\u00e9", id="non-ascii"),
]


def _build(kind, value):
    """Build a path with `value` in the position of `kind`; the others are plain."""
    if kind == "channel id":
        return paths.project_dir(value, "task1")
    if kind == "task id":
        return paths.project_dir("chan", value)
    return paths.unit_output("chan", "task1", "assets", value)


@pytest.mark.parametrize("kind", ["channel id", "task id", "unit id"])
@pytest.mark.parametrize("value", UNSAFE_IDS)
def test_it_refuses_an_unsafe(kind, value, workspace):
    with pytest.raises(UnsafePath) as caught:
        _build(kind, value)

    assert repr(value)[:40] in str(caught.value) or "NUL" in str(caught.value)


@pytest.mark.parametrize("kind", ["channel id", "task id", "unit id"])
def test_it_refuses_an_id_with_a_trailing_newline(kind, workspace):
    with pytest.raises(UnsafePath):
        _build(kind, "abc\n")


@pytest.mark.parametrize(
    "value",
    # A fixed uuid: parameters are the test ids, and both xdist processes must collect the same.
    ["pokechannel1", "s01", "A_b-9", "x" * 64, "46969a6c-6662-49cc-9f01-4a835221cd93", "0"],
    ids=str,
)
def test_it_accepts_plain_ids(value, workspace):
    assert paths.safe_id(value) == value
    assert paths.project_dir(value, value) == (
        workspace.resolve() / "channels" / value / "projects" / value
    )


def test_it_names_the_kind_of_id_it_refuses(workspace):
    with pytest.raises(UnsafePath, match=r"^channel id '\.\./x'"):
        paths.channel_dir("../x")
    with pytest.raises(UnsafePath, match=r"^task id '\.\.'"):
        paths.project_dir("chan", "..")
    with pytest.raises(UnsafePath, match=r"^videos id 'a/b'"):
        paths.unit_output("chan", "task1", "videos", "a/b")


def test_it_lays_out_a_project_as_the_design_says(workspace):
    root = workspace.resolve()
    project = root / "channels" / "pokechannel1" / "projects" / "task1"

    assert paths.workspace_root() == root
    assert paths.channel_dir("pokechannel1") == root / "channels" / "pokechannel1"
    assert paths.project_dir("pokechannel1", "task1") == project
    assert paths.final_video("pokechannel1", "task1") == project / "final.mp4"
    assert paths.manifest("pokechannel1", "task1") == project / "manifest.json"
    assert {
        step: paths.step_dir("pokechannel1", "task1", step).relative_to(project).as_posix()
        for step in paths.STEP_OUTPUTS
    } == {
        "assets": "assets",
        "composites": "composites",
        "videos": "videos",
        "audio": "audio",
        "sfx": "sfx",
    }


@pytest.mark.parametrize(
    "step, expected",
    [
        ("assets", "assets/forest.png"),
        ("composites", "composites/forest.png"),
        ("videos", "videos/forest.mp4"),
        ("audio", "audio/forest.mp3"),
        ("sfx", "sfx/forest.mp3"),
    ],
)
def test_it_names_unit_outputs_by_step(step, expected, workspace):
    project = paths.project_dir("chan", "task1")
    assert paths.unit_output("chan", "task1", step, "forest") == project / expected


def test_it_follows_workspace_root_from_settings(settings, tmp_path):
    settings.WORKSPACE_ROOT = tmp_path / "elsewhere"
    assert paths.channel_dir("c") == (tmp_path / "elsewhere").resolve() / "channels" / "c"


# --- ensure_inside_workspace ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["../../etc/passwd", "/etc/passwd", "channels/../../outside", "..", "channels/x/\x00/y"],
    ids=["dotdot-passwd", "absolute", "climbs-out", "parent", "nul"],
)
def test_it_refuses_a_path_outside_the_workspace(path, workspace):
    with pytest.raises(UnsafePath):
        ensure_inside_workspace(path)


def test_it_refuses_a_symlink_that_points_outside(workspace, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not yours")
    (workspace / "channels").mkdir()
    (workspace / "channels" / "sneaky").symlink_to(outside, target_is_directory=True)

    with pytest.raises(UnsafePath, match="outside the workspace"):
        ensure_inside_workspace("channels/sneaky/secret.txt")
    with pytest.raises(UnsafePath):
        ensure_inside_workspace(workspace / "channels" / "sneaky")


def test_it_accepts_a_symlink_that_stays_inside(workspace):
    target = workspace / "channels" / "real"
    target.mkdir(parents=True)
    (workspace / "channels" / "alias").symlink_to(target, target_is_directory=True)

    assert ensure_inside_workspace("channels/alias") == target.resolve()


def test_it_accepts_paths_inside_the_workspace(workspace):
    root = workspace.resolve()
    project = paths.project_dir("chan", "task1")

    assert ensure_inside_workspace("channels/chan/projects/task1/final.mp4") == (
        project / "final.mp4"
    )
    assert ensure_inside_workspace(project / "assets" / "a.png") == project / "assets" / "a.png"
    assert ensure_inside_workspace(".") == root
    assert ensure_inside_workspace(root) == root
