"""Parameters inside image files: A1111's text written by us and read back, other tools' files read, garbage
refused quietly, and the pixels never re-encoded."""

import io
import json
import struct
import zlib
from types import SimpleNamespace

import pytest
from PIL import Image, PngImagePlugin

from generation.models import GeneratedImage, GenerationTask
from generation.submission import initial_from_task
from library import parameters as p

BASE_MODELS = [
    SimpleNamespace(versionid="sgl_artist_v0.3.5_0925", model_name="Artist v0.3.5"),
    SimpleNamespace(versionid="sdxl_base_1_0", model_name="SDXL 1.0"),
]
LORAS = [SimpleNamespace(versionid="lora_ink_sketch_v1", model_name="Ink Sketch")]


def picture(fmt="PNG", size=(64, 48), mode="RGB", **save) -> bytes:
    image = Image.new(mode, size, "teal")
    for x in range(size[0]):  # not one flat colour, so a re-encoding would show
        image.putpixel((x, x % size[1]), (200, 30, 90) if mode == "RGB" else (200, 30, 90, 128))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def full_task(**params) -> GenerationTask:
    base = {
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "a lighthouse on a cliff, at dusk: volumetric light\nsecond line",
        "neg_prompt": "blurry, text",
        "n_images": 4,
        "scale": 9,
        "ddim_steps": 35,
        "select_seed": 123,
        "add_prompt": True,
        "strength": 0.45,
        "output_size": "640x960",
        "init_img": "input:7",
        "cn_configs": [
            {
                "cn": "canny",
                "weight": 1.2,
                "guidance_start": 0.1,
                "guidance_end": 0.9,
                "img": "input:8",
                "config": {"control_processor": "canny", "low_threshold": 90, "high_threshold": 180},
            },
            {
                "cn": "tile",
                "weight": 0.5,
                "guidance_start": 0,
                "guidance_end": 1,
                "img": "input:9",
                "config": {"control_processor": "tile_resample", "down_sample_rate": 2.5},
            },
        ],
        "lora_configs": [{"versionid": "lora_ink_sketch_v1", "merge_weight": 0.7}],
    }
    base.update(params)
    return GenerationTask(
        params=base,
        prompt=base["prompt"],
        neg_prompt=base["neg_prompt"],
        versionid=base["versionid"],
        model_name="Artist v0.3.5",
        select_seed=base["select_seed"],
    )


def image_of(seed=4242) -> GeneratedImage:
    return GeneratedImage(save_index=0, seed=seed, width=640, height=960)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    return [(kind, data[start : end - 4]) for _s, end, kind, start in p._png_chunks(data)]


def read_back(data: bytes):
    found = p.read_parameters(io.BytesIO(data))
    assert found is not None
    return found, *p.to_generate_initial(found, base_models=BASE_MODELS, loras=LORAS)


def expected_initial(task, seed):
    """What "reuse these settings" fills in for the task, less what a file cannot carry (the images)."""
    initial, units = initial_from_task(task)
    initial.pop("mode")
    initial.pop("init_image_input")
    initial["select_seed"] = seed
    initial["width"], initial["height"] = int(initial["width"]), int(initial["height"])
    for unit in units:
        unit.pop("image_input")
    return initial, units


# --- The text ------------------------------------------------------------------------------------------------


def test_it_writes_a1111s_convention():
    text = p.a1111_text(full_task(), image_of())
    prompt, second, negative, line = text.split("\n")
    assert prompt == "a lighthouse on a cliff, at dusk: volumetric light"
    assert second == "second line <lora:lora_ink_sketch_v1:0.7>"
    assert negative == "Negative prompt: blurry, text"
    assert line.startswith("Steps: 35, CFG scale: 9, Seed: 4242, Size: 640x960, Model: Artist v0.3.5, ")
    assert "Denoising strength: 0.45" in line
    assert (
        'ControlNet 0: "Module: canny, Model: canny, Weight: 1.2, Guidance Start: 0.1, Guidance End: 0.9, '
        'Threshold A: 90, Threshold B: 180"' in line
    )
    assert "Miaohua version: sgl_artist_v0.3.5_0925, Miaohua add prompt: True, Miaohua images: 4" in line


def test_it_quotes_values_with_commas_and_colons_as_a1111_does():
    task = full_task(cn_configs=[], lora_configs=[], init_img="")
    task.model_name = "Artist, v2: night"
    line = p.a1111_text(task, image_of()).split("\n")[-1]
    assert 'Model: "Artist, v2: night"' in line
    assert p.parse_a1111(p.a1111_text(task, image_of()))["Model"] == "Artist, v2: night"
    assert "Denoising strength" not in line  # text to image: no strength


def test_it_writes_no_negative_prompt_line_when_there_is_none():
    text = p.a1111_text(full_task(neg_prompt=""), image_of())
    assert "Negative prompt" not in text


# --- Round trips ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_it_round_trips_a_full_task_through_a_file(fmt):
    task = full_task()
    data = p.with_parameters(picture(fmt), p.a1111_text(task, image_of(4242)))
    found, initial, units, notes = read_back(data)
    assert found.tool == "Miaohua Studio"
    want, want_units = expected_initial(task, 4242)
    assert initial == want
    assert units == want_units
    assert any("init image" in note for note in notes)
    assert sum("needs its control image again" in note for note in notes) == 2
    assert not any("Miaohua model" in note or "sampler" in note or "Not used" in note for note in notes)


def test_it_round_trips_a_chinese_prompt_in_an_itxt_chunk():
    task = full_task(prompt="江南水乡，烟雨朦胧，白墙黛瓦", neg_prompt="模糊，水印", cn_configs=[], init_img="")
    data = p.with_parameters(picture(), p.a1111_text(task, image_of()))
    kinds = [kind for kind, _payload in png_chunks(data)]
    assert kinds[:2] == [b"IHDR", b"iTXt"]
    assert Image.open(io.BytesIO(data)).info["parameters"].startswith("江南水乡，烟雨朦胧，白墙黛瓦")
    _found, initial, _units, _notes = read_back(data)
    assert initial["prompt"] == "江南水乡，烟雨朦胧，白墙黛瓦"
    assert initial["neg_prompt"] == "模糊，水印"
    assert (initial["lora_versionid"], initial["lora_weight"]) == ("lora_ink_sketch_v1", 0.7)


def test_a_latin_prompt_is_a_text_chunk_right_after_ihdr_as_a1111_writes_it():
    data = p.with_parameters(picture(), "a cat\nSteps: 20, CFG scale: 7, Seed: 1")
    chunks = png_chunks(data)
    assert chunks[1] == (b"tEXt", b"parameters\0a cat\nSteps: 20, CFG scale: 7, Seed: 1")
    assert Image.open(io.BytesIO(data)).info["parameters"] == "a cat\nSteps: 20, CFG scale: 7, Seed: 1"


def test_writing_again_replaces_the_text():
    once = p.with_parameters(picture(), "first\nSteps: 1, CFG scale: 2, Seed: 3")
    twice = p.with_parameters(once, "second\nSteps: 1, CFG scale: 2, Seed: 3")
    texts = [payload for kind, payload in png_chunks(twice) if kind in (b"tEXt", b"iTXt")]
    assert texts == [b"parameters\0second\nSteps: 1, CFG scale: 2, Seed: 3"]
    jpeg = p.with_parameters(p.with_parameters(picture("JPEG"), "first"), "second")
    assert jpeg.count(b"Exif\0\0") == 1
    assert p._jpeg_texts(jpeg)["UserComment"] == "second"


def test_the_pixels_are_not_re_encoded():
    text = p.a1111_text(full_task(), image_of())
    png = picture()
    marked = p.with_parameters(png, text)
    data_chunks = [payload for kind, payload in png_chunks(png) if kind == b"IDAT"]
    assert [payload for kind, payload in png_chunks(marked) if kind == b"IDAT"] == data_chunks
    assert Image.open(io.BytesIO(marked)).tobytes() == Image.open(io.BytesIO(png)).tobytes()

    jpeg = picture("JPEG", quality=80)
    marked = p.with_parameters(jpeg, text)
    scan = jpeg.index(b"\xff\xda")
    assert marked.endswith(jpeg[scan:])  # the scan data, byte for byte
    assert marked[:20] == jpeg[:20]  # JFIF's APP0 stays first
    assert Image.open(io.BytesIO(marked)).tobytes() == Image.open(io.BytesIO(jpeg)).tobytes()


def test_a_jpeg_keeps_its_other_segments():
    jpeg = picture("JPEG", icc_profile=b"\0" * 300, comment=b"hello")
    marked = p.with_parameters(jpeg, "a cat")
    markers = [m for _s, _e, m, _b in p._jpeg_segments(marked)]
    assert markers.count(0xE2) == 1 and markers.count(0xFE) == 1 and markers.count(0xE1) == 1
    assert markers[0] == 0xE0 and markers[1] == 0xE1
    with Image.open(io.BytesIO(marked)) as image:
        assert image.info["icc_profile"] == b"\0" * 300


def test_a1111_reads_our_jpeg_with_piexif():
    import piexif.helper  # a test dependency (pyproject [test])

    text = p.a1111_text(full_task(prompt="江南 lighthouse"), image_of())
    marked = p.with_parameters(picture("JPEG"), text)
    # modules/images.py read_info_from_image: piexif.load(image.info["exif"]) → UserComment.load
    with Image.open(io.BytesIO(marked)) as image:
        exif = piexif.load(image.info["exif"])
    assert piexif.helper.UserComment.load(exif["Exif"][piexif.ExifIFD.UserComment]) == text


def test_we_read_a_jpeg_written_as_a1111_writes_it():
    import piexif.helper  # a test dependency (pyproject [test])

    text = "a fox\nNegative prompt: rain\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 640x640"
    exif = piexif.dump({"Exif": {piexif.ExifIFD.UserComment: piexif.helper.UserComment.dump(text, "unicode")}})
    out = io.BytesIO()
    piexif.insert(exif, picture("JPEG"), out)
    found = p.read_parameters(io.BytesIO(out.getvalue()))
    assert found.values["prompt"] == "a fox" and found.values["neg_prompt"] == "rain"


def test_a_little_endian_user_comment_is_read_too():
    assert p._decode_user_comment(b"UNICODE\0" + "Steps: 20".encode("utf-16-le")) == "Steps: 20"
    assert p._decode_user_comment(b"UNICODE\0" + "提示词".encode("utf-16-be")) == "提示词"
    assert p._decode_user_comment(b"ASCII\0\0\0a cat") == "a cat"


@pytest.mark.parametrize(
    "save", [{"lossless": True}, {"quality": 80}, {"quality": 80, "mode": "RGBA"}, {"lossless": True, "mode": "RGBA"}]
)
def test_a_webp_gets_an_exif_chunk(save):
    save = dict(save)
    webp = picture("WEBP", mode=save.pop("mode", "RGB"), **save)
    marked = p.with_parameters(webp, "a cat\nSteps: 20, CFG scale: 7, Seed: 1")
    assert marked != webp
    with Image.open(io.BytesIO(marked)) as image, Image.open(io.BytesIO(webp)) as before:
        assert image.size == before.size and image.mode == before.mode
        assert image.tobytes() == before.tobytes()
    assert p.read_parameters(io.BytesIO(marked)).values["prompt"] == "a cat"


def test_a_file_we_do_not_know_is_left_as_it_is():
    gif = picture("GIF")
    assert p.with_parameters(gif, "a cat") is gif
    assert p.with_parameters(b"not an image", "a cat") == b"not an image"
    truncated = picture()[:30]
    assert p.with_parameters(truncated, "a cat") == truncated


# --- Streaming -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_the_streamed_file_is_the_marked_file(fmt):
    data = picture(fmt, size=(300, 200))
    text = p.a1111_text(full_task(), image_of())
    streamed = p.streamed_with_parameters(io.BytesIO(data), text)
    pieces = []
    while piece := streamed.read(97):
        pieces.append(piece)
    assert b"".join(pieces) == p.with_parameters(data, text)
    streamed.seek(0, io.SEEK_END)
    assert streamed.tell() == len(p.with_parameters(data, text))


def test_a_long_png_head_is_read_until_the_image_data():
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "x" * 200_000)  # a big chunk before IDAT: more than one read
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "gold").save(buffer, "PNG", pnginfo=info)
    data = buffer.getvalue()
    streamed = p.streamed_with_parameters(io.BytesIO(data), "a cat")
    assert streamed.read() == p.with_parameters(data, "a cat") != data


# --- Other tools' files --------------------------------------------------------------------------------------


def a1111_png(text: str, key="parameters", **more) -> bytes:
    """A PNG as A1111 saves it: Pillow's PngInfo.add_text (tEXt, or iTXt when not Latin-1)."""
    info = PngImagePlugin.PngInfo()
    info.add_text(key, text)
    for name, value in more.items():
        info.add_text(name, value)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "navy").save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


A1111_TEXT = (
    "masterpiece, best quality, 1girl, (red scarf:1.2),\n"
    "snowy street at night <lora:ink_style_v2:0.6> <lora:Ink Sketch:0.9>\n"
    "Negative prompt: lowres, bad anatomy,\n"
    "watermark\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 3094567123, Size: 1023x1536, "
    "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.4, Clip skip: 2, "
    'Hires upscale: 2, Hires upscaler: Latent, Lora hashes: "ink_style_v2: 1a2b3c, Ink Sketch: 4d5e6f", '
    'ControlNet 0: "Module: canny, Model: control_v11p_sd15_canny [d14c016b], Weight: 0.8, '
    "Resize Mode: Crop and Resize, Threshold A: 100.0, Threshold B: 200.0, Guidance Start: 0.0, "
    'Guidance End: 1.0, Pixel Perfect: False", Version: v1.10.1'
)


def test_it_parses_a1111_text_as_a1111_does():
    parsed = p.parse_a1111(A1111_TEXT)
    assert parsed["Prompt"].startswith("masterpiece, best quality, 1girl, (red scarf:1.2),\nsnowy street")
    assert parsed["Negative prompt"] == "lowres, bad anatomy,\nwatermark"
    assert parsed["Lora hashes"] == "ink_style_v2: 1a2b3c, Ink Sketch: 4d5e6f"
    assert parsed["Size"] == "1023x1536" and parsed["Version"] == "v1.10.1"
    assert parsed["ControlNet 0"].startswith("Module: canny, Model: control_v11p_sd15_canny [d14c016b]")


def test_it_reads_a_real_world_a1111_png_with_notes():
    found, initial, units, notes = read_back(a1111_png(A1111_TEXT))
    assert found.tool == "AUTOMATIC1111"
    assert initial["prompt"] == "masterpiece, best quality, 1girl, (red scarf:1.2),\nsnowy street at night"
    assert initial["neg_prompt"] == "lowres, bad anatomy,\nwatermark"
    assert initial["ddim_steps"] == 28
    assert initial["scale"] == 8  # 7.5, rounded
    assert initial["select_seed"] == -1  # beyond Miaohua's seeds
    assert (initial["width"], initial["height"], initial["output_size"]) == (1024, 1536, "1024x1536")
    assert "versionid" not in initial and "lora_versionid" not in initial
    assert "strength" not in initial  # hires fix's denoising, not an img2img's
    assert units == [
        {
            "cn": "canny",
            "weight": 0.8,
            "guidance_start": 0.0,
            "guidance_end": 1.0,
            "control_processor": "canny",
            "low_threshold": 100,
            "high_threshold": 200,
        }
    ]
    text = "\n".join(notes)
    assert "CFG scale 7.5 becomes 8" in text
    assert "The seed 3094567123 is beyond Miaohua's largest (9,999,999)" in text
    assert "The size 1023×1536 becomes 1024×1536" in text
    assert "The model v1-5-pruned-emaonly is not a Miaohua model: pick one." in text
    assert "The LoRA ink_style_v2 is not a Miaohua LoRA" in text
    assert "Miaohua takes one LoRA: Ink Sketch was left out." in text
    assert "Miaohua chooses its own sampler: DPM++ 2M is not used." in text
    assert "Not used by Miaohua: Schedule type, Clip skip, Hires upscale, Hires upscaler, Denoising strength." in text
    assert "ControlNet 1 (canny) needs its control image again" in text


def test_a_prompt_alone_without_a_negative_prompt_or_settings():
    found, initial, units, notes = read_back(a1111_png("just a prompt, with a comma"))
    assert initial == {"prompt": "just a prompt, with a comma"}
    assert units == [] and notes == []


def test_a_miaohua_lora_named_in_an_a1111_prompt_is_used():
    text = "a cat <lora:Ink Sketch:1.5>\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 9, Model: SDXL 1.0"
    _found, initial, _units, notes = read_back(a1111_png(text))
    assert (initial["lora_versionid"], initial["lora_weight"]) == ("lora_ink_sketch_v1", 1.5)
    assert initial["versionid"] == "sdxl_base_1_0"
    assert notes == ["Miaohua chooses its own sampler: Euler a is not used."]


def test_steps_out_of_range_are_clamped_with_a_note():
    _found, initial, _units, notes = read_back(a1111_png("a\nSteps: 500, CFG scale: 30, Seed: 1, Size: 300x9000"))
    assert (initial["ddim_steps"], initial["scale"], initial["output_size"]) == (150, 20, "512x6144")
    assert any("Steps 500 is outside Miaohua's 1–150: 150 is used." == note for note in notes)


def test_it_reads_swarmui_parameters():
    swarm = {
        "sui_image_params": {
            "prompt": "a red fox in snow",
            "negativeprompt": "blurry",
            "model": "OfficialStableDiffusion/sd_xl_base_1.0",
            "seed": 77,
            "steps": 30,
            "cfgscale": 6,
            "width": 1024,
            "height": 768,
            "sampler": "euler",
            "scheduler": "karras",
            "loras": ["lora_ink_sketch_v1"],
            "loraweights": ["0.5"],
            "swarm_version": "0.9.5",
        },
        "sui_extra_data": {"date": "2026-01-01"},
    }
    found, initial, _units, notes = read_back(a1111_png(json.dumps(swarm)))
    assert found.tool == "SwarmUI"
    assert initial["prompt"] == "a red fox in snow" and initial["neg_prompt"] == "blurry"
    assert (initial["select_seed"], initial["ddim_steps"], initial["scale"]) == (77, 30, 6)
    assert initial["output_size"] == "1024x768"
    assert (initial["lora_versionid"], initial["lora_weight"]) == ("lora_ink_sketch_v1", 0.5)
    assert "Not used by Miaohua: scheduler." in notes
    # SwarmUI's JPEGs carry the same JSON in the Exif UserComment
    jpeg = p.with_parameters(picture("JPEG"), json.dumps(swarm))
    assert p.read_parameters(io.BytesIO(jpeg)).tool == "SwarmUI"


def test_it_reads_invokeai_metadata():
    meta = {
        "positive_prompt": "an astronaut riding a horse",
        "negative_prompt": "",
        "width": 768,
        "height": 768,
        "seed": 1234,
        "steps": 40,
        "cfg_scale": 5.0,
        "scheduler": "dpmpp_2m",
        "model": {"name": "stable-diffusion-v1-5", "hash": "abc"},
        "loras": [{"model": {"name": "Ink Sketch"}, "weight": 0.75}],
        "generation_mode": "txt2img",
        "app_version": "4.2.0",
        "rand_device": "cpu",
    }
    found, initial, _units, notes = read_back(a1111_png(json.dumps(meta), key="invokeai_metadata"))
    assert found.tool == "InvokeAI"
    assert initial["prompt"] == "an astronaut riding a horse"
    assert (initial["select_seed"], initial["ddim_steps"], initial["scale"], initial["output_size"]) == (
        1234,
        40,
        5,
        "768x768",
    )
    assert initial["lora_versionid"] == "lora_ink_sketch_v1"
    assert "The model stable-diffusion-v1-5 is not a Miaohua model: pick one." in notes
    assert "Not used by Miaohua: rand_device." in notes


COMFY_GRAPH = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 156680208700286,
            "steps": 20,
            "cfg": 8,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 2}},
    "6": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "beautiful scenery nature glass bottle", "clip": ["4", 1]},
    },
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["4", 1]}},
}


def test_it_reads_a_simple_comfyui_graph():
    data = a1111_png(json.dumps(COMFY_GRAPH), key="prompt", workflow=json.dumps({"nodes": []}))
    found, initial, _units, notes = read_back(data)
    assert found.tool == "ComfyUI"
    assert initial["prompt"] == "beautiful scenery nature glass bottle"
    assert initial["neg_prompt"] == "text, watermark"
    assert (initial["ddim_steps"], initial["scale"], initial["select_seed"]) == (20, 8, -1)
    assert (initial["output_size"], initial["n_images"]) == ("512x768", 2)
    assert "The model v1-5-pruned-emaonly.safetensors is not a Miaohua model: pick one." in notes


def test_a_comfyui_graph_it_cannot_follow_is_said_so():
    graph = {**COMFY_GRAPH, "9": {**COMFY_GRAPH["3"]}}  # two samplers
    found = p.read_parameters(io.BytesIO(a1111_png(json.dumps(graph), key="prompt")))
    assert found.tool == "ComfyUI" and found.values == {}
    assert p.to_generate_initial(found) == ({}, [], ["This image holds a ComfyUI workflow, which could not be read."])


def test_it_reads_novelai():
    comment = {"prompt": "1girl, cherry blossoms", "steps": 28, "scale": 5, "seed": 42, "uc": "lowres",
               "sampler": "k_euler", "width": 832, "height": 1216}  # fmt: skip
    data = a1111_png("1girl, cherry blossoms", key="Description", Software="NovelAI", Comment=json.dumps(comment))
    found, initial, _units, _notes = read_back(data)
    assert found.tool == "NovelAI"
    assert (initial["prompt"], initial["neg_prompt"], initial["output_size"]) == (
        "1girl, cherry blossoms",
        "lowres",
        "832x1216",
    )


def test_it_reads_fooocus_json_parameters():
    fooocus = {"prompt": "a koi pond", "negative_prompt": "blurry", "steps": 30, "guidance_scale": 4.0,
               "seed": "1234", "resolution": "(896, 1152)", "base_model": "juggernautXL_v8",
               "sampler": "dpmpp_2m_sde_gpu"}  # fmt: skip
    found, initial, _units, notes = read_back(a1111_png(json.dumps(fooocus)))
    assert found.tool == "Fooocus"
    assert (initial["prompt"], initial["neg_prompt"], initial["select_seed"]) == ("a koi pond", "blurry", 1234)
    assert (initial["ddim_steps"], initial["output_size"]) == (30, "896x1152")
    assert any("dpmpp_2m_sde_gpu" in note for note in notes)


# --- Garbage ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, I am a text file",
        p.PNG_SIGNATURE + b"\xff" * 40,
        p.PNG_SIGNATURE,
        b"\xff\xd8\xff\xe1\xff\xff" + b"\0" * 10,
        b"RIFF\x10\0\0\0WEBPVP8X",
        picture("GIF"),
    ],
)
def test_garbage_is_nothing_found(data):
    assert p.read_parameters(io.BytesIO(data)) is None


def test_a_png_with_no_text_is_nothing_found():
    assert p.read_parameters(io.BytesIO(picture())) is None
    assert p.read_parameters(io.BytesIO(picture("JPEG"))) is None


def test_a_text_chunk_too_large_is_skipped_with_a_note():
    found = p.read_parameters(io.BytesIO(a1111_png("a cat, " * 60_000)))
    assert found.values == {}
    assert found.notes == ["A text in this image is too large to be generation settings: it was skipped."]


def test_a_compressed_text_that_inflates_too_far_is_skipped():
    bomb = zlib.compress(b"a" * 50_000_000)
    chunk = p._png_chunk(b"zTXt", b"parameters\0\0" + bomb)
    png = picture()
    found = p.read_parameters(io.BytesIO(png[:33] + chunk + png[33:]))
    assert found.values == {} and "too large" in found.notes[0]


def test_a_decompression_bomb_is_read_without_decoding_it():
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    png = p.PNG_SIGNATURE + p._png_chunk(b"IHDR", header) + p._png_chunk(b"IDAT", zlib.compress(b"\0" * 1000))
    marked = p.with_parameters(png + p._png_chunk(b"IEND", b""), "a cat\nSteps: 20, CFG scale: 7, Seed: 1")
    assert p.read_parameters(io.BytesIO(marked)).values["prompt"] == "a cat"


def test_a_file_that_cannot_be_read_is_nothing_found():
    class Broken(io.BytesIO):
        def read(self, *args):
            raise OSError("disk gone")

    assert p.read_parameters(Broken()) is None
