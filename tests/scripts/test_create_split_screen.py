import pytest
from PIL import Image

RED, BLUE = (200, 30, 30), (30, 30, 200)


def split(run_script, left, right, output, *extra):
    return run_script("create_split_screen.py", "--left", left, "--right", right, "--output",
                      output, *extra)  # fmt: skip


def test_it_puts_the_two_images_side_by_side_on_1080p(run_script, write_png, tmp_path):
    left = write_png("left.png", size=(800, 800), colour=RED)
    right = write_png("right.png", size=(1920, 1080), colour=BLUE)
    output = tmp_path / "composites" / "s02.png"
    run = split(run_script, left, right, output, "--gap", "10")
    assert run.returncode == 0, run
    assert run.result == {"ok": True, "outputs": [str(output)], "provider": "local", "usage": {}}
    image = Image.open(output).convert("RGB")
    assert image.size == (1920, 1080)
    assert image.getpixel((5, 5)) == RED
    assert image.getpixel((954, 540)) == RED
    assert image.getpixel((960, 540)) == (0, 0, 0)  # the gap
    assert image.getpixel((966, 5)) == BLUE
    assert image.getpixel((1915, 1075)) == BLUE


def test_the_vertical_layout_stacks_them(run_script, write_png, tmp_path):
    top = write_png("top.png", colour=RED)
    bottom = write_png("bottom.png", colour=BLUE)
    output = tmp_path / "a.png"
    run = split(run_script, top, bottom, output, "--layout", "vertical", "--gap", "0")
    assert run.returncode == 0, run
    image = Image.open(output).convert("RGB")
    assert image.getpixel((5, 5)) == RED
    assert image.getpixel((5, 1075)) == BLUE


def test_it_exits_65_naming_the_missing_side(run_script, write_png, tmp_path):
    left = write_png("left.png")
    run = split(run_script, left, tmp_path / "gone.png", tmp_path / "a.png")
    assert run.returncode == 65, run
    assert "--right" in run.error and "gone.png" in run.error


@pytest.mark.parametrize("gap", ["-1", "500"])
def test_it_exits_65_for_a_gap_out_of_range(run_script, write_png, tmp_path, gap):
    image = write_png("a.png")
    run = split(run_script, image, image, tmp_path / "out.png", "--gap", gap)
    assert run.returncode == 65, run
    assert "--gap" in run.error


def test_it_exits_2_for_an_unknown_layout(run_script, write_png, tmp_path):
    image = write_png("a.png")
    run = split(run_script, image, image, tmp_path / "out.png", "--layout", "diagonal")
    assert run.returncode == 2
