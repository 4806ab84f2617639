"""The simulator draws a Chinese prompt in Chinese when the machine has a CJK font, and falls back cleanly — no
row of empty boxes, no error — when it has none (issue #11 §4)."""

import os

import pytest
from PIL import Image, ImageChops

from miaohua_site.simulator import render

PROMPT = "prompt: 一只在月光下的橘猫，坐在古老的灯塔上，水彩画风格 with a lighthouse"


@pytest.fixture
def fonts(settings):
    """Choose the machine's fonts for one test: ``fonts(None)`` = none at all, ``fonts(path)`` = that file."""

    def choose(path):
        settings.MIAOHUA_SIMULATOR_CJK_FONT = path or "/nonexistent/font.ttc"
        render.cjk_font_file.cache_clear()
        render._font.cache_clear()

    yield choose
    render.cjk_font_file.cache_clear()
    render._font.cache_clear()


def _picture(lines) -> Image.Image:
    return render.compose(key="c" * 64, width=512, height=512, title="SIMULATED", lines=lines)


def _band(picture: Image.Image) -> Image.Image:
    return picture.crop((0, 400, 512, 512))


def test_without_a_cjk_font_the_chinese_runs_become_an_ellipsis(fonts):
    fonts(None)
    assert render.cjk_font_file() is None
    assert render.drawable(PROMPT) == ("prompt: … with a lighthouse", False)
    picture = _picture([PROMPT, "seed 7"])
    assert picture.size == (512, 512)
    # drawn exactly as that text would be: the Chinese left out, nothing else
    expected = _picture(["prompt: … with a lighthouse", "seed 7"])
    assert ImageChops.difference(_band(picture), _band(expected)).getbbox() is None


def test_latin_text_is_drawn_as_before_whatever_the_fonts(fonts):
    fonts(None)
    plain = _picture(["prompt: a lighthouse", "seed 7"])
    found = [path for path in render.CJK_FONT_FILES if os.path.isfile(path)]
    if found:
        fonts(found[0])
    assert render.drawable("prompt: a lighthouse") == ("prompt: a lighthouse", False)
    assert ImageChops.difference(plain, _picture(["prompt: a lighthouse", "seed 7"])).getbbox() is None


def test_with_a_cjk_font_the_chinese_is_drawn(fonts):
    found = [path for path in render.CJK_FONT_FILES if os.path.isfile(path)]
    if not found:
        pytest.skip("no CJK font on this machine (apt-get install fonts-noto-cjk or fonts-wqy-microhei)")
    fonts(found[0])
    assert render.drawable(PROMPT) == (PROMPT, True)
    with_chinese = _band(_picture([PROMPT, "seed 7"]))
    fonts(None)
    without = _band(_picture([PROMPT, "seed 7"]))
    assert ImageChops.difference(with_chinese, without).getbbox() is not None  # the characters are on the picture


def test_long_chinese_lines_wrap_within_the_picture(fonts):
    found = [path for path in render.CJK_FONT_FILES if os.path.isfile(path)]
    if not found:
        pytest.skip("no CJK font on this machine (apt-get install fonts-noto-cjk or fonts-wqy-microhei)")
    fonts(found[0])
    font = render._font(15, True)
    lines = render._wrap("猫" * 200, font, 480)
    assert len(lines) > 1 and all(font.getlength(line) <= 480 for line in lines)
    assert "".join(lines) == "猫" * 200
