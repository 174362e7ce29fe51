import pytest
from PIL import Image, ImageDraw


@pytest.fixture
def character(tmp_path):
    """A red disc on a transparent background, 400x800."""
    image = Image.new("RGBA", (400, 800), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((0, 0, 399, 799), fill=(220, 30, 30, 255))
    path = tmp_path / "character.png"
    image.save(path)
    return path


@pytest.fixture
def environment(tmp_path):
    """4:3 and two-toned: left half blue, right half green."""
    image = Image.new("RGB", (1600, 1200), (20, 40, 200))
    ImageDraw.Draw(image).rectangle((800, 0, 1599, 1199), fill=(20, 160, 40))
    path = tmp_path / "environment.png"
    image.save(path)
    return path


def compose(run_script, character, environment, output, *extra):
    return run_script("create_composite.py", "--character", character, "--environment",
                      environment, "--output", output, *extra)  # fmt: skip


def test_it_places_the_character_bottom_centre_on_a_1080p_frame(
    run_script, character, environment, tmp_path
):
    output = tmp_path / "composites" / "s01.png"
    run = compose(run_script, character, environment, output)
    assert run.returncode == 0, run
    assert run.result == {"ok": True, "outputs": [str(output)], "provider": "local", "usage": {}}
    image = Image.open(output).convert("RGB")
    assert image.size == (1920, 1080)
    # 75% of the height at --scale 1.0: 810 px tall, feet on the bottom edge.
    assert image.getpixel((960, 1075))[0] > 180  # character (red) at the bottom centre
    assert image.getpixel((960, 1080 - 810 + 40))[0] > 180
    assert image.getpixel((900, 1080 - 810 - 20)) == (20, 40, 200)  # above its head
    # alpha respected: the corners of the character's box show the environment
    assert image.getpixel((960 - 200, 1075))[0] < 60
    # cover crop: both halves of the environment survive, no bars
    assert image.getpixel((10, 10)) == (20, 40, 200)
    assert image.getpixel((1910, 10)) == (20, 160, 40)


def test_scale_and_position_move_the_character(run_script, character, environment, tmp_path):
    output = tmp_path / "a.png"
    run = compose(run_script, character, environment, output, "--scale", "0.5", "--position",
                  "left")  # fmt: skip
    assert run.returncode == 0, run
    image = Image.open(output).convert("RGB")
    assert image.getpixel((480, 1070))[0] > 180  # a quarter from the left
    assert image.getpixel((480, 1080 - 405 - 20))[0] < 60  # only 405 px tall
    assert image.getpixel((960, 1070))[0] < 60


def test_a_character_without_alpha_has_its_plain_backdrop_keyed_out(
    run_script, environment, tmp_path
):
    opaque = Image.new("RGB", (400, 800), (255, 255, 255))
    ImageDraw.Draw(opaque).ellipse((50, 50, 350, 750), fill=(220, 30, 30))
    path = tmp_path / "opaque.png"
    opaque.save(path)
    output = tmp_path / "a.png"
    assert compose(run_script, path, environment, output).returncode == 0
    image = Image.open(output).convert("RGB")
    assert image.getpixel((960 - 195, 1075)) != (255, 255, 255)  # backdrop corner is gone
    assert image.getpixel((960, 1080 - 405))[0] > 180


def test_it_exits_65_naming_a_missing_character(run_script, environment, tmp_path):
    missing = tmp_path / "nobody.png"
    run = compose(run_script, missing, environment, tmp_path / "a.png")
    assert run.returncode == 65, run
    assert "--character" in run.error and str(missing) in run.error


def test_it_exits_65_for_an_unreadable_environment(run_script, character, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    output = tmp_path / "a.png"
    run = compose(run_script, character, broken, output)
    assert run.returncode == 65, run
    assert "--environment" in run.error and "not a readable image" in run.error
    assert not output.exists()


@pytest.mark.parametrize("scale", ["0", "-1", "5"])
def test_it_exits_65_for_a_scale_out_of_range(run_script, character, environment, tmp_path, scale):
    run = compose(run_script, character, environment, tmp_path / "a.png", "--scale", scale)
    assert run.returncode == 65, run
    assert "--scale" in run.error


def test_it_accepts_and_ignores_a_provider(run_script, character, environment, tmp_path):
    run = compose(run_script, character, environment, tmp_path / "a.png", "--provider", "gemini")
    assert run.returncode == 0, run
