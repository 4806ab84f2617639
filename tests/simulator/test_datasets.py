"""dataset, dataset_all, dataset/add_images, dataset/delete_images."""

import re

from miaohua_site.simulator.models import SimDataset
from tests.simulator.conftest import info, refusal


def create(api, token, images, **fields):
    return api.post("dataset", {"token": token, "name": "cats", "description": "my cats", "images": images, **fields})


def all_datasets(api, token, page=None):
    suffix = f"?page={page}" if page is not None else ""
    response = api.post("dataset_all" + suffix, {"token": token})
    assert response.status_code == 200, response.json()
    return response.json()


def test_it_creates_a_dataset_from_uploaded_pictures(api, token):
    urls = [api.uploaded_url(token), api.uploaded_url(token)]

    response = create(api, token, urls)

    answer = response.json()
    assert (response.status_code, answer["code"], answer["msg"]) == (200, 0, "")
    dataset = SimDataset.objects.get(id=answer["info"]["dataset_id"])
    assert (dataset.name, dataset.description, len(dataset.image_ids)) == ("cats", "my cats", 2)


def test_it_lists_datasets_bare_as_the_document_shows(api, token):
    create(api, token, [api.uploaded_url(token)])

    answer = all_datasets(api, token)

    assert set(answer) == {"items", "page", "per_page", "has_next", "has_prev", "totalPages"}
    assert (
        answer["page"],
        answer["per_page"],
        answer["has_next"],
        answer["has_prev"],
        answer["totalPages"],
    ) == (
        1,
        20,
        False,
        False,
        1,
    )
    item = answer["items"][0]
    assert set(item) == {
        "id",
        "name",
        "description",
        "demo_picture",
        "create_time",
        "update_time",
        "images",
        "images_num",
    }
    assert item["images_num"] == 1 and item["demo_picture"] == item["images"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", item["create_time"])


def test_it_pages_datasets_twenty_at_a_time(api, token):
    url = api.uploaded_url(token)
    for number in range(21):
        create(api, token, [url], name=f"set {number}")

    first, second = all_datasets(api, token, 1), all_datasets(api, token, 2)

    assert (len(first["items"]), first["has_next"], first["totalPages"]) == (20, True, 2)
    assert (len(second["items"]), second["has_prev"], second["has_next"]) == (1, True, False)
    assert second["items"][0]["name"] == "set 20"


def test_it_answers_an_empty_first_page(api, token):
    assert all_datasets(api, token)["items"] == []


def test_it_refuses_a_picture_not_uploaded_by_the_caller_as_an_invalid_image(api, token, outsider_token):
    theirs = api.uploaded_url(outsider_token)

    for url in (theirs, "https://example.com/a.png"):
        response = create(api, token, [api.uploaded_url(token), url])
        assert response.status_code == 200
        assert response.json() == {"code": 400, "info": "", "msg": "invalid image"}  # the document's failure


def test_it_names_a_missing_name(api, token):
    body = {"token": token, "images": []}

    assert refusal(api.post("dataset", body), 403) == "name is required"


def test_it_names_missing_images(api, token):
    body = {"token": token, "name": "cats"}

    assert refusal(api.post("dataset", body), 403).startswith("images is required")


def test_it_takes_an_empty_name_as_a_value(api, token):
    dataset_id = info(create(api, token, [], name=""))["dataset_id"]

    assert SimDataset.objects.get(id=dataset_id).name == ""


def test_it_names_a_missing_dataset_or_images_when_editing(api, token):
    dataset_id = info(create(api, token, [api.uploaded_url(token)]))["dataset_id"]

    for endpoint in ("dataset/add_images", "dataset/delete_images"):
        assert refusal(api.post(endpoint, {"token": token, "images": []}), 403) == "dataset is required"
        assert refusal(api.post(endpoint, {"token": token, "dataset": dataset_id}), 403).startswith(
            "images is required"
        )


def test_it_adds_and_deletes_pictures(api, token):
    first, second = api.uploaded_url(token), api.uploaded_url(token)
    dataset_id = create(api, token, [first]).json()["info"]["dataset_id"]

    added = api.post("dataset/add_images", {"token": token, "dataset": dataset_id, "images": [second]})
    assert added.json() == {"code": 0, "info": "", "msg": "OK"}
    assert all_datasets(api, token)["items"][0]["images_num"] == 2

    deleted = api.post("dataset/delete_images", {"token": token, "dataset": dataset_id, "images": [first]})
    assert deleted.json() == {"code": 0, "info": "", "msg": "OK"}
    assert all_datasets(api, token)["items"][0]["images_num"] == 1


def test_it_refuses_to_add_a_foreign_picture_or_delete_one_not_in_the_dataset(api, token, outsider_token):
    mine = api.uploaded_url(token)
    dataset_id = create(api, token, [mine]).json()["info"]["dataset_id"]

    add = api.post(
        "dataset/add_images",
        {"token": token, "dataset": dataset_id, "images": [api.uploaded_url(outsider_token)]},
    )
    delete = api.post(
        "dataset/delete_images", {"token": token, "dataset": dataset_id, "images": [api.uploaded_url(token)]}
    )

    for response in (add, delete):
        assert refusal(response, 400) == "invalid image"


def test_it_keeps_datasets_to_their_account(api, token, outsider_token):
    dataset_id = create(api, token, [api.uploaded_url(token)]).json()["info"]["dataset_id"]
    theirs = api.uploaded_url(outsider_token)

    response = api.post("dataset/add_images", {"token": outsider_token, "dataset": dataset_id, "images": [theirs]})

    assert "dataset" in refusal(response, 403)
    assert all_datasets(api, outsider_token)["items"] == []


def test_it_answers_dataset_all_in_an_envelope_when_configured(api, token, settings):
    settings.MIAOHUA_SIMULATOR_SHAPE = "envelope"

    answer = all_datasets(api, token)

    assert answer["code"] == 0 and answer["info"]["items"] == []
