"""Every rule of the Generate form, at its bounds: a good value passes, a bad one gets a message beside its field."""

import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generation.forms import ControlNetForm, GenerateForm
from miaohua_site.upstream.types import ControlNet, Model

BASE = [
    Model(versionid="sgl_artist_v0.3.5_0925", model_name="Artist"),
    Model(versionid="sdxl_1.0", model_name="SDXL", is_opensource=True),
]
LORAS = [Model(versionid="lora_ink", model_name="Ink", tag="LORA")]
RESOLUTIONS = {"1:1": ["512x512", "960x960", "1024x1024"], "2:3": ["640x960"], "3:2": ["960x640"]}
CONTROLNETS = [ControlNet(name=n) for n in ("canny", "lineart", "openpose", "tile", "brightness")]


def make_form(**overrides):
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "a red fox",
        "n_images": "2",
        "scale": "7",
        "ddim_steps": "50",
        "select_seed": "-1",
        "output_size": "960x960",
        "mode": "txt2img",
        "strength": "0.6",
        "lora_weight": "0.8",
        "sensitive_limit_value": "0",
    }
    files = overrides.pop("files", {})
    data.update({k: v for k, v in overrides.items() if v is not None})
    for key in [k for k, v in overrides.items() if v is None]:
        data.pop(key, None)
    return GenerateForm(data, files, base_models=BASE, loras=LORAS, private_models=[], resolutions=RESOLUTIONS)


def make_unit(**overrides):
    data = {
        "cn-0-cn": "canny",
        "cn-0-control_processor": "canny",
        "cn-0-low_threshold": "100",
        "cn-0-high_threshold": "200",
        "cn-0-weight": "1",
        "cn-0-guidance_start": "0",
        "cn-0-guidance_end": "1",
        "cn-0-image_from": "7",
    }
    data.update({f"cn-0-{k}": v for k, v in overrides.items()})
    return ControlNetForm(data, {}, prefix="cn-0", controlnets=CONTROLNETS)


def png(width, height, fmt="PNG", name="x.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def test_it_accepts_a_plain_text_to_image_request():
    form = make_form()
    assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    ("field", "good", "bad", "message"),
    [
        ("n_images", ["1", "8"], ["0", "9"], "Ensure this value is"),
        ("scale", ["1", "20"], ["0", "21"], "Ensure this value is"),
        ("select_seed", ["-1", "0", "9999999"], ["-2", "10000000"], "Ensure this value is"),
        ("strength", ["0", "1"], ["-0.01", "1.01"], "Ensure this value is"),
        ("lora_weight", ["0", "2"], ["-0.1", "2.1"], "Ensure this value is"),
        ("sensitive_limit_value", ["0", "1"], ["1.5"], "Ensure this value is"),
        ("ddim_steps", ["1", "150"], ["0", "151"], "Ensure this value is"),
    ],
)
def test_it_checks_each_number_at_its_bounds(field, good, bad, message):
    for value in good:
        form = make_form(**{field: value})
        assert form.is_valid(), (field, value, form.errors)
    for value in bad:
        form = make_form(**{field: value})
        assert not form.is_valid()
        assert message in form.errors[field][0], (field, value)


def test_it_limits_the_prompt_to_1000_characters():
    assert make_form(prompt="x" * 1000).is_valid()
    form = make_form(prompt="x" * 1001)
    assert "at most 1000 characters" in form.errors["prompt"][0]
    assert "at most 1000 characters" in make_form(neg_prompt="y" * 1001).errors["neg_prompt"][0]


def test_it_needs_a_prompt():
    assert "This field is required." in make_form(prompt="").errors["prompt"]


def test_it_refuses_a_model_the_catalog_does_not_have():
    assert "Select a valid choice" in make_form(versionid="nope").errors["versionid"][0]


@pytest.mark.parametrize(
    ("width", "height", "ok"),
    [
        ("512", "512", True),
        ("640", "640", True),
        ("6144", "6144", True),
        ("511", "960", False),
        ("960", "6145", False),
    ],
)
def test_it_checks_a_custom_size_against_what_miaohua_accepts(width, height, ok):
    form = make_form(output_size="custom", width=width, height=height)
    assert form.is_valid() is ok, form.errors
    if ok:
        assert form.cleaned_data["output_size"] == f"{width}x{height}"
    else:
        assert "Ensure this value is" in " ".join(form.errors.get("width", []) + form.errors.get("height", []))


def test_a_custom_size_needs_both_sides():
    form = make_form(output_size="custom", width="800", height=None)
    assert "Enter a height of 512–6144 pixels." in form.errors["height"]


def test_it_offers_the_presets_from_512():
    form = make_form()
    offered = [size for _, group in form.fields["output_size"].choices if isinstance(group, list) for size, _ in group]
    assert "512x512" in offered and "960x960" in offered
    assert make_form(output_size="512x512").is_valid()


@pytest.mark.parametrize(
    ("fields", "warned"),
    [
        ({"output_size": "512x512"}, True),
        ({"output_size": "custom", "width": "992", "height": "560"}, True),
        ({"output_size": "640x960"}, False),
        ({"output_size": "custom", "width": "640", "height": "640"}, False),
    ],
)
def test_a_side_below_the_documented_640_is_a_warning_not_an_error(fields, warned):
    form = make_form(**fields)

    assert form.is_valid(), form.errors
    assert ("outside Miaohua's documented range" in form.output_size_warning) is warned


def test_text_to_image_needs_an_output_size():
    form = make_form(output_size="")
    assert "only image to image can keep the init image's size" in form.errors["output_size"][0]


def test_image_to_image_needs_an_init_image_and_may_keep_its_size():
    form = make_form(mode="img2img", output_size="")
    assert "needs an init image" in form.errors["init_image"][0]
    assert make_form(mode="img2img", output_size="", init_image_from="3").is_valid()


def test_it_checks_an_uploaded_init_image_like_the_vendor():
    assert make_form(mode="img2img", files={"init_image": png(256, 256)}).is_valid()
    assert "255×300" in make_form(mode="img2img", files={"init_image": png(255, 300)}).errors["init_image"][0]
    bogus = SimpleUploadedFile("fake.png", b"not an image at all", content_type="image/png")
    assert "not a readable image" in make_form(mode="img2img", files={"init_image": bogus}).errors["init_image"][0]
    gif = png(300, 300, "GIF", "x.gif")
    assert "PNG, JPEG and WebP" in make_form(mode="img2img", files={"init_image": gif}).errors["init_image"][0]
    huge = SimpleUploadedFile("big.png", b"\0" * (5 * 1024 * 1024 + 1), content_type="image/png")
    assert "at most 5 MB" in make_form(mode="img2img", files={"init_image": huge}).errors["init_image"][0]


def test_it_refuses_a_decompression_bomb_with_a_message(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # a 256×256 image now counts as a bomb (> 2× the limit)
    form = make_form(mode="img2img", files={"init_image": png(256, 256)})
    assert "far too many pixels" in form.errors["init_image"][0]


def test_a_lora_needs_a_weight():
    assert make_form(lora_versionid="lora_ink").is_valid()
    assert "Enter a LoRA weight" in make_form(lora_versionid="lora_ink", lora_weight="").errors["lora_weight"][0]
    assert "Select a valid choice" in make_form(lora_versionid="other").errors["lora_versionid"][0]


def test_a_controlnet_unit_is_checked_at_its_bounds():
    assert make_unit().is_valid()
    for field, bad in [
        ("weight", "2.01"),
        ("weight", "-0.1"),
        ("guidance_start", "1.1"),
        ("low_threshold", "0"),
        ("high_threshold", "256"),
    ]:
        unit = make_unit(**{field: bad})
        assert not unit.is_valid() and "Ensure this value is" in unit.errors[field][0], field
    unit = make_unit(guidance_start="0.8", guidance_end="0.2")
    assert "The end must not come before the start." in unit.errors["guidance_end"]


def test_a_controlnet_unit_takes_only_its_types_processors():
    assert "Select a valid choice" in make_unit(control_processor="lineart_coarse").errors["control_processor"][0]
    tile = make_unit(cn="tile", control_processor="tile_resample", down_sample_rate="8")
    assert tile.is_valid(), tile.errors
    assert tile.vendor_config("input:1")["config"] == {"control_processor": "tile_resample", "down_sample_rate": 8.0}
    assert (
        "Ensure this value is"
        in make_unit(cn="tile", control_processor="tile_resample", down_sample_rate="8.5").errors["down_sample_rate"][0]
    )
    brightness = make_unit(cn="brightness", control_processor="")
    assert brightness.is_valid(), brightness.errors
    assert "config" not in brightness.vendor_config("input:1")


def test_a_controlnet_unit_needs_an_image():
    assert "Give this ControlNet an image" in make_unit(image_from="").errors["image"][0]


def test_canny_sends_its_thresholds():
    unit = make_unit(low_threshold="20", high_threshold="240")
    assert unit.is_valid()
    assert unit.vendor_config("input:5") == {
        "cn": "canny",
        "weight": 1.0,
        "guidance_start": 0.0,
        "guidance_end": 1.0,
        "img": "input:5",
        "config": {"control_processor": "canny", "low_threshold": 20, "high_threshold": 240},
    }
