"""task_submit checks every documented range: a good value at each bound passes, a bad one is code 129
(HTTP 200 in the live shape) with a message naming the field. Required fields are required."""

import pytest

from miaohua_site.simulator.models import SimAccount, SimModel, SimTask
from tests.simulator.conftest import info, t2i


def refused(api, body: dict, field: str, code: int = 129) -> dict:
    response = api.post("task_submit", body)
    answer = response.json()
    assert response.status_code == 200, answer
    assert answer["code"] == code, answer
    assert answer["info"] == ""
    assert field in answer["msg"], answer
    return answer


def accepted(api, body: dict) -> SimTask:
    return SimTask.objects.get(id=info(api.post("task_submit", body))["task_id"])


@pytest.mark.parametrize(
    "field, value",
    [
        ("n_images", 1),
        ("n_images", 8),
        ("scale", 1),
        ("scale", 20),
        ("strength", 0),
        ("strength", 1),
        ("strength", 0.35),
        ("select_seed", -1),
        ("select_seed", 0),
        ("select_seed", 9999999),
        ("output_size", "640x640"),
        ("output_size", "512x512"),
        ("output_size", "6144x512"),
        ("output_size", "512x6144"),
        ("output_size", "992x560"),
        ("prompt", "x" * 1000),
        ("prompt", ""),
        ("ddim_steps", 1),
        ("add_prompt", True),
        ("neg_prompt", "blurry"),
    ],
)
def test_it_accepts_each_bound(api, token, field, value):
    task = accepted(api, t2i(token, **{field: value}))

    assert task.owner.email == "demo@example.com"


@pytest.mark.parametrize(
    "field, value",
    [
        ("n_images", 0),
        ("n_images", 9),
        ("n_images", "2"),
        ("n_images", 2.5),
        ("n_images", True),
        ("scale", 0),
        ("scale", 21),
        ("scale", 7.5),
        ("strength", -0.01),
        ("strength", 1.01),
        ("strength", "0.5"),
        ("select_seed", -2),
        ("select_seed", 10000000),
        ("select_seed", 1.5),
        ("output_size", "511x512"),
        ("output_size", "512x511"),
        ("output_size", "640x6145"),
        ("output_size", ""),
        ("output_size", "6145x6145"),
        ("output_size", "640*640"),
        ("output_size", "960"),
        ("output_size", 960),
        ("prompt", "x" * 1001),
        ("prompt", 12),
        ("neg_prompt", "x" * 1001),
        ("ddim_steps", 0),
        ("add_prompt", "yes"),
        ("versionid", "no_such_model"),
        ("versionid", "lora_ink_sketch_v1"),
    ],
)
def test_it_refuses_each_value_out_of_range(api, token, field, value):
    refused(api, t2i(token, **{field: value}), field)


def test_it_accepts_the_generation_forms_512_presets_and_a_live_clients_size(api, token):
    for size in ("512x512", "512x768", "768x512", "992x560"):
        task = accepted(api, t2i(token, output_size=size))
        assert f"{task.width}x{task.height}" == size


def test_it_says_the_sides_it_accepts(api, token):
    answer = refused(api, t2i(token, output_size="500x500"), "output_size")

    assert answer["msg"] == "output_size: each side must be from 512 to 6144, got '500x500'"


def test_it_requires_output_size_for_text_to_image(api, token):
    body = t2i(token)
    del body["output_size"]

    refused(api, body, "output_size")


def test_it_requires_a_model(api, token):
    body = t2i(token)
    del body["versionid"]

    assert refused(api, body, "versionid")["msg"] == "versionid is required (see models/base)"


def test_it_takes_an_empty_versionid_without_a_model_name_as_a_value(api, token):
    refused(api, t2i(token, versionid=""), "versionid ''")


@pytest.mark.parametrize("field", ["prompt", "n_images", "scale"])
def test_it_refuses_a_missing_required_field(api, token, field):
    body = t2i(token)
    del body[field]

    assert refused(api, body, field)["msg"].startswith(f"{field} is required")


def test_it_takes_an_empty_prompt_as_a_value(api, token):
    assert accepted(api, t2i(token, prompt="")).params["prompt"] == ""


def test_it_answers_430_for_sensitive_content(api, token):
    refused(api, t2i(token, prompt="a simsensitive scene"), "sensitive", code=430)


def test_it_takes_the_sensitive_marker_from_settings(api, token, settings):
    settings.MIAOHUA_SIMULATOR_SENSITIVE_MARKER = "forbidden"

    accepted(api, t2i(token, prompt="a simsensitive scene"))
    refused(api, t2i(token, prompt="FORBIDDEN fruit"), "sensitive", code=430)


# --- ControlNet units


def unit(url: str, **fields) -> dict:
    return {"cn": "canny", "weight": 1, "img": url, **fields}


@pytest.mark.parametrize(
    "fields",
    [
        {"weight": 0},
        {"weight": 2},
        {"guidance_start": 0, "guidance_end": 1},
        {"guidance_start": 0.5, "guidance_end": 0.5},
        {"config": {"control_processor": "invert", "low_threshold": 1, "high_threshold": 255}},
        {"cn": "tile", "config": {"control_processor": "tile_resample", "down_sample_rate": 1}},
        {"cn": "tile", "config": {"control_processor": "tile_colorfix", "down_sample_rate": 8}},
        {"cn": "tile", "config": {"down_sample_rate": 2.25}},
        {"cn": "lineart", "config": {"control_processor": "lineart_coarse"}},
        {"cn": "lineart_anime", "config": {"control_processor": "lineart_anime_denoise"}},
        {"cn": "openpose", "config": {"control_processor": "openpose_hand"}},
        {"cn": "brightness"},
        {"cn": "brightness", "config": {}},
    ],
)
def test_it_accepts_controlnet_units_within_bounds(api, token, upload_url, fields):
    task = accepted(api, t2i(token, cn_configs=[unit(upload_url, **fields)]))

    assert task.params["controls"][0]["cn"] == fields.get("cn", "canny")


def test_it_fills_controlnet_defaults(api, token, upload_url):
    task = accepted(api, t2i(token, cn_configs=[{"cn": "canny", "img": upload_url}]))

    control = task.params["controls"][0]
    assert (control["weight"], control["guidance_start"], control["guidance_end"]) == (1, 0, 1)


def test_it_accepts_three_controlnet_units(api, token, upload_url):
    task = accepted(api, t2i(token, cn_configs=[unit(upload_url)] * 3))

    assert len(task.params["controls"]) == 3


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"weight": -0.1}, "cn_configs[0].weight"),
        ({"weight": 2.1}, "cn_configs[0].weight"),
        ({"guidance_start": -0.1}, "cn_configs[0].guidance_start"),
        ({"guidance_start": 1.1}, "cn_configs[0].guidance_start"),
        ({"guidance_end": 1.1}, "cn_configs[0].guidance_end"),
        ({"guidance_start": 0.6, "guidance_end": 0.5}, "cn_configs[0].guidance_start"),
        ({"cn": "depth"}, "cn_configs[0].cn"),
        ({"cn": "nonsense"}, "cn_configs[0].cn"),
        ({"config": {"control_processor": "tile_resample"}}, "cn_configs[0].config.control_processor"),
        ({"config": {"low_threshold": 0}}, "cn_configs[0].config.low_threshold"),
        ({"config": {"high_threshold": 256}}, "cn_configs[0].config.high_threshold"),
        ({"config": {"down_sample_rate": 2}}, "cn_configs[0].config.down_sample_rate"),
        ({"cn": "tile", "config": {"down_sample_rate": 0.99}}, "cn_configs[0].config.down_sample_rate"),
        ({"cn": "tile", "config": {"down_sample_rate": 8.01}}, "cn_configs[0].config.down_sample_rate"),
        ({"cn": "brightness", "config": {"control_processor": "canny"}}, "cn_configs[0].config"),
        ({"config": "canny"}, "cn_configs[0].config"),
        ({"img": ""}, "cn_configs[0].img"),
        ({"img": "https://elsewhere.example.com/cat.png"}, "cn_configs[0].img"),
    ],
)
def test_it_refuses_controlnet_units_out_of_bounds(api, token, upload_url, fields, field):
    refused(api, t2i(token, cn_configs=[unit(upload_url, **fields)]), field)


def test_it_refuses_a_fourth_controlnet_unit(api, token, upload_url):
    refused(api, t2i(token, cn_configs=[unit(upload_url)] * 4), "cn_configs")


def test_it_refuses_the_curl_samples_object_form_of_cn_configs(api, token, upload_url):
    refused(api, t2i(token, cn_configs=unit(upload_url)), "cn_configs")


def test_it_picks_the_controlnet_list_by_the_base_models_licence(api, token, upload_url):
    open_source = t2i(token, versionid="sdxl_base_v1.0")

    accepted(api, {**open_source, "cn_configs": [unit(upload_url, cn="depth")]})
    refused(api, {**open_source, "cn_configs": [unit(upload_url, cn="lineart_anime")]}, "cn/opensource")
    refused(api, t2i(token, cn_configs=[unit(upload_url, cn="depth")]), "cn/artist")


def test_it_refuses_another_accounts_upload_as_control_or_init_image(api, token, outsider_token):
    theirs = api.uploaded_url(outsider_token)

    refused(api, t2i(token, cn_configs=[unit(theirs)]), "cn_configs[0].img")
    refused(api, t2i(token, init_img=theirs), "init_img")


def test_it_refuses_an_init_image_it_did_not_issue(api, token):
    refused(api, t2i(token, init_img="https://bkmk.oss-accelerate.aliyuncs.com/x.png"), "init_img")


# --- LoRA layers


def test_it_accepts_a_public_lora_within_weight_bounds(api, token):
    for weight in (0, 2, 0.7):
        task = accepted(api, t2i(token, lora_configs=[{"versionid": "lora_ink_sketch_v1", "merge_weight": weight}]))
        assert task.params["loras"] == [
            {"versionid": "lora_ink_sketch_v1", "model_name": "Ink Sketch", "merge_weight": weight}
        ]


def test_it_applies_only_the_first_of_several_loras(api, token):
    layers = [{"versionid": "lora_ink_sketch_v1", "merge_weight": 1}, {"versionid": "lora_pixel_art_v2"}]

    task = accepted(api, t2i(token, lora_configs=layers))

    assert [lora["versionid"] for lora in task.params["loras"]] == ["lora_ink_sketch_v1"]


@pytest.mark.parametrize(
    "layer, field",
    [
        ({"versionid": "lora_ink_sketch_v1", "merge_weight": 2.1}, "lora_configs[0].merge_weight"),
        ({"versionid": "lora_ink_sketch_v1", "merge_weight": -0.1}, "lora_configs[0].merge_weight"),
        ({"versionid": "no_such_lora", "merge_weight": 1}, "lora_configs[0].versionid"),
        ({"versionid": "sgl_artist_v0.3.5_0925", "merge_weight": 1}, "lora_configs[0].versionid"),
        ("lora_ink_sketch_v1", "lora_configs[0]"),
    ],
)
def test_it_refuses_bad_lora_layers(api, token, layer, field):
    refused(api, t2i(token, lora_configs=[layer]), field)


def test_it_refuses_another_accounts_private_lora(api, token, outsider_token):
    SimModel.objects.create(
        kind=SimModel.Kind.PRIVATE,
        model_id=100001,
        versionid="lora_theirs",
        model_name="Theirs",
        tag="LORA",
        owner=SimAccount.objects.get(email="outsider@example.com"),
    )

    refused(api, t2i(token, lora_configs=[{"versionid": "lora_theirs", "merge_weight": 1}]), "versionid")
    accepted(api, t2i(outsider_token, lora_configs=[{"versionid": "lora_theirs", "merge_weight": 1}]))


# --- Shapes seen in the wild (digest: "Legacy request shapes in the wild")


def test_it_maps_a_legacy_model_name_to_its_versionid(api, token):
    body = t2i(token, model_name="Artist v0.3.0 Beta")
    del body["versionid"]

    assert accepted(api, body).versionid == "sgl_artist_v0.3.5_0925"


def test_it_maps_a_catalog_model_name_ignoring_case(api, token):
    body = t2i(token, model_name="sdxl 1.0")
    del body["versionid"]

    assert accepted(api, body).versionid == "sdxl_base_v1.0"


def test_it_maps_the_catalog_name_a_live_load_test_client_sends(api, token):
    body = {
        "token": token,
        "model_name": "Artist v0.3.5 Beta",
        "prompt": "a lighthouse at dusk",
        "n_images": 1,
        "scale": 7,
        "ddim_steps": 20,
        "add_prompt": False,
        "output_size": "992x560",
    }

    task = accepted(api, body)

    assert (task.versionid, task.width, task.height) == ("sgl_artist_v0.3.5_0925", 992, 560)
    assert task.params["ddim_steps"] == 20


def test_it_maps_a_model_name_beside_an_empty_versionid(api, token):
    assert accepted(api, t2i(token, versionid="", model_name="SDXL 1.0 beta")).versionid == "sdxl_base_v1.0"


def test_it_refuses_an_unknown_model_name(api, token):
    body = t2i(token, model_name="Imaginary")
    del body["versionid"]

    refused(api, body, "model_name")


def test_it_defaults_what_the_vendors_sample_client_leaves_out(api, token):
    body = {
        "token": token,
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "one girl, beautiful",
        "n_images": 2,
        "scale": 7,
        "output_size": "960x960",
        "controlnet_model": "",
    }  # no strength (digest, "Legacy request shapes in the wild"), no ddim_steps, neg_prompt (optional)

    task = accepted(api, body)

    assert (task.n_images, task.params["scale"], task.params["strength"]) == (2, 7, 0.6)
    assert (task.params["ddim_steps"], task.params["neg_prompt"], task.params["controls"]) == (50, "", [])


def test_it_accepts_the_vendors_python_sample(api, token, upload_url):
    body = {
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "one girl, beautiful",
        "neg_prompt": "",
        "n_images": 2,
        "ddim_steps": 50,
        "scale": 7,
        "strength": 0.6,
        "output_size": "960x960",
        "select_seed": -1,
        "init_img": "",
        "add_prompt": False,
        "token": token,
        "lora_configs": [{"versionid": "lora_babyroy_v1", "merge_weight": 1}],
        "cn_configs": [{"cn": "openpose", "img": upload_url, "weight": 1}],
    }

    assert accepted(api, body).task_type == "txt2img"


def test_it_accepts_the_vendors_multi_controlnet_sample_on_a_legacy_model_name(api, token, upload_url):
    body = {
        "token": token,
        "lora_configs": [],
        "model_name": "Anything V3_fp16_train",
        "prompt": "t1#girl, room, red hair, red clothes",
        "neg_prompt": "",
        "n_images": 2,
        "scale": 7,
        "select_seed": -1,
        "init_img": upload_url,
        "add_prompt": False,
        "ddim_steps": 50,
        "output_size": "2748x4096",
        "cn_configs": [
            {
                "cn": "tile",
                "weight": 0.3,
                "guidance_start": 0.1,
                "guidance_end": 0.9,
                "img": upload_url,
                "config": {"control_processor": "tile_resample", "down_sample_rate": 1},
            },
            {
                "cn": "brightness",
                "weight": 0.4,
                "guidance_start": 0.2,
                "guidance_end": 0.8,
                "img": upload_url,
            },
        ],
    }

    task = accepted(api, body)

    assert (task.task_type, task.width, task.height) == ("img2img", 2748, 4096)


def test_it_skips_the_curl_samples_empty_lora_versionid(api, token):
    task = accepted(api, t2i(token, lora_configs=[{"versionid": "", "merge_weight": 1}]))

    assert task.params["loras"] == []


def test_it_uses_the_init_image_as_the_legacy_controlnet_models_reference(api, token, upload_url):
    task = accepted(api, t2i(token, init_img=upload_url, controlnet_model="canny"))

    assert task.params["controls"][0]["cn"] == "canny"
    refused(api, t2i(token, controlnet_model="canny"), "controlnet_model")


def test_it_ignores_fields_from_later_revisions(api, token):
    accepted(api, t2i(token, callback_url="https://example.com/hook", enable_lcm=True))


def test_it_refuses_a_body_that_is_not_json(api, token):
    response = api.client.post("/simulator/api/v1b/task_submit", "{nope", content_type="application/json")

    assert response.status_code == 200
    assert response.json()["code"] == 403
