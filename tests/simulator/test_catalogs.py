"""models/base, models/lora, models/private, cn/artist, cn/opensource and the two forms."""

import io

import pytest
from PIL import Image

from miaohua_site.simulator import clock
from miaohua_site.simulator.models import SimAccount, SimModel
from tests.simulator.conftest import fetch, refusal

MODEL_FIELDS = {
    "model_id",
    "model_name",
    "versionid",
    "tag",
    "author",
    "base_model",
    "description",
    "demo_picture",
    "is_opensource",
}


def models(api, token, endpoint="models/base", **body):
    response = api.post(endpoint, {"token": token, **body})
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert (answer["code"], answer["msg"]) == (0, "")
    return answer["info"]


def test_it_lists_the_base_models(api, token):
    info = models(api, token)

    assert (info["page"], info["per_page"], info["has_next"]) == (1, 20, False)
    assert all(set(m) == MODEL_FIELDS for m in info["models"])
    by_id = {m["versionid"]: m for m in info["models"]}
    assert by_id["sgl_artist_v0.3.5_0925"]["model_name"] == "Artist v0.3.5"
    assert by_id["sgl_artist_v0.3.5_0925"]["is_opensource"] is False
    assert sum(m["is_opensource"] for m in info["models"]) >= 2
    assert any("turbo" in m["versionid"] for m in info["models"])


def test_it_pages_through_a_catalog(api, token):
    clock.freeze()  # the demo pictures' signed links carry an expiry in seconds: the same in every call
    everything = models(api, token)["models"]

    pages = [models(api, token, page=page, per_page=2) for page in (1, 2, 3)]

    assert [p["has_next"] for p in pages] == [True, True, False]
    assert [m for p in pages for m in p["models"]] == everything
    assert models(api, token, page=9, per_page=2) == {
        "has_next": False,
        "page": 9,
        "per_page": 2,
        "models": [],
    }


@pytest.mark.parametrize(
    "body, field",
    [
        ({"per_page": 101}, "per_page"),
        ({"per_page": 0}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": "1"}, "page"),
        ({"query": 3}, "query"),
    ],
)
def test_it_refuses_bad_paging(api, token, body, field):
    response = api.post("models/base", {"token": token, **body})

    assert field in refusal(response, 129)


def test_it_allows_a_hundred_per_page(api, token):
    assert models(api, token, endpoint="models/lora", per_page=100)["per_page"] == 100


def test_it_filters_by_a_query_ignoring_case(api, token):
    by_name = models(api, token, query="sDxL")["models"]
    by_description = models(api, token, endpoint="models/lora", query="NEON")["models"]

    assert [m["versionid"] for m in by_name] == ["sdxl_base_v1.0"]
    assert [m["model_name"] for m in by_description] == ["Neon Cyberpunk"]


def test_it_lists_public_loras(api, token):
    loras = models(api, token, endpoint="models/lora")["models"]

    assert len(loras) >= 6
    assert {m["tag"] for m in loras} == {"LORA"}
    assert all(m["base_model"] for m in loras)


def test_it_lists_only_the_callers_private_models(api, token, outsider_token):
    assert models(api, token, endpoint="models/private")["models"] == []
    SimModel.objects.create(
        kind=SimModel.Kind.PRIVATE,
        model_id=100001,
        versionid="lora_mine",
        model_name="Mine",
        tag="LORA",
        owner=SimAccount.objects.get(email="demo@example.com"),
    )

    assert [m["model_name"] for m in models(api, token, endpoint="models/private")["models"]] == ["Mine"]
    assert models(api, outsider_token, endpoint="models/private")["models"] == []


@pytest.mark.parametrize(
    "endpoint, has, lacks",
    [("cn/artist", "lineart_anime", "depth"), ("cn/opensource", "depth", "lineart_anime")],
)
def test_it_lists_the_controlnet_units_of_each_model_family(api, token, endpoint, has, lacks):
    response = api.post(endpoint, {"token": token})

    units = response.json()["info"]
    names = [u["name"] for u in units]
    assert {"canny", "lineart", "openpose", "tile", "brightness", has} <= set(names)
    assert lacks not in names
    assert set(units[0]) == {"name", "local_name", "desc", "demo_picture", "demo_preview", "demo_result"}


def test_it_serves_the_demo_pictures(api, token):
    model = models(api, token)["models"][0]
    unit = api.post("cn/artist", {"token": token}).json()["info"][0]

    for url in (model["demo_picture"], unit["demo_preview"]):
        picture = Image.open(io.BytesIO(fetch(api, url)))
        assert picture.size == (512, 512)


def test_it_answers_the_generation_form_without_a_token(api):
    response = api.get("get_generation_form")

    answer = response.json()
    assert (response.status_code, answer["code"]) == (200, 0)
    specs = {spec["name"]: spec for spec in answer["info"]}
    assert {"prompt", "n_images", "scale", "select_seed", "resolution", "init_img"} <= set(specs)
    assert (specs["n_images"]["min"], specs["n_images"]["max"], specs["n_images"]["default"]) == (1, 8, 2)
    assert (specs["scale"]["min"], specs["scale"]["max"]) == (1, 20)
    resolutions = specs["resolution"]["choices"]
    assert set(resolutions) == {"1:1", "2:3", "3:2"}
    assert resolutions["1:1"][0] == "512x512"
    assert (specs["output_size"]["min"], specs["output_size"]["max"]) == (512, 6144)  # what task_submit takes
    assert all({"name", "type", "default", "description"} <= set(spec) for spec in answer["info"])


def test_it_answers_the_training_form_without_a_token(api):
    answer = api.get("get_train_form").json()

    assert answer["code"] == 0
    assert answer["info"]["main_body"] == ["Style", "Human", "Architecture", "Plants", "Animals"]
    assert "SDXL 1.0" in answer["info"]["base_model"]


def test_it_wants_get_on_the_forms_and_post_elsewhere(api, token):
    assert api.post("get_generation_form").status_code == 405
    assert api.get("models/base").status_code == 405


def test_it_answers_an_unknown_endpoint_with_an_envelope(api):
    response = api.post("no_such_thing", {})

    assert response.status_code == 404
    assert response.json()["code"] == 403 and "no_such_thing" in response.json()["msg"]


def test_it_seeds_the_catalog_once(api, token):
    models(api, token)
    count = SimModel.objects.count()

    models(api, token)

    assert SimModel.objects.count() == count
