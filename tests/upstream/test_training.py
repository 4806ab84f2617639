"""Datasets and LoRA training: create a dataset from uploads, edit it, train on it, follow the progress."""

import uuid

import pytest

from miaohua_site.simulator import stats
from miaohua_site.simulator.models import SimTrainingJob
from miaohua_site.upstream import InvalidParameter, NotFound

from .conftest import picture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def urls(client):
    return client.upload_imgs([picture("red"), picture("blue"), picture("green")])


def test_it_creates_and_lists_a_dataset(client, urls, answer_shape):
    dataset_id = client.dataset_create("Foxes", "red foxes in snow", urls[:2])

    page = client.dataset_all()

    assert isinstance(dataset_id, int)
    assert page.page == 1 and page.has_next is False and page.has_prev is False and page.total_pages == 1
    [dataset] = page.items
    assert (dataset.id, dataset.name, dataset.description) == (dataset_id, "Foxes", "red foxes in snow")
    assert dataset.images_num == 2 and len(dataset.images) == 2
    assert dataset.create_time and dataset.update_time


def test_it_pages_the_datasets(client, urls):
    for number in range(21):
        client.dataset_create(f"Set {number}", "", urls[:1])

    second = client.dataset_all(page=2)

    assert [d.name for d in second.items] == ["Set 20"]
    assert second.page == 2 and second.has_prev and not second.has_next and second.total_pages == 2


def test_it_adds_and_deletes_dataset_images(client, urls, answer_shape):
    dataset_id = client.dataset_create("Colours", "", urls[:1])

    client.dataset_add_images(dataset_id, urls[1:])
    assert client.dataset_all().items[0].images_num == 3

    client.dataset_delete_images(dataset_id, urls[:2])
    assert client.dataset_all().items[0].images_num == 1


def test_it_reports_an_invalid_dataset_image(client, urls):
    dataset_id = client.dataset_create("Colours", "", urls)

    with pytest.raises(InvalidParameter) as caught:
        client.dataset_add_images(dataset_id, ["https://example.com/elsewhere.png"])
    assert caught.value.code == 400 and "invalid image" in caught.value.message

    with pytest.raises(InvalidParameter):
        client.dataset_create("Broken", "", ["https://example.com/elsewhere.png"])
    assert stats.calls("dataset") == 2


def test_it_trains_a_lora_and_finds_it_among_the_private_models(client, urls, simulator_clock, answer_shape):
    form = client.get_train_form()
    assert form.main_bodies == ["Style", "Human", "Architecture", "Plants", "Animals"]
    assert form.base_models
    dataset_id = client.dataset_create("Foxes", "", urls)

    task_id = client.train_submit("fox-style", "foxes", form.base_models[0], "foxy", "Animals", [dataset_id])

    progress = client.train_progress(task_id)
    assert progress.task_id == task_id and progress.state == "pending" and not progress.is_finished
    assert (progress.model_name, progress.trigger_word, progress.main_body) == (
        "fox-style",
        "foxy",
        "Animals",
    )
    simulator_clock.advance(1.2)
    assert 0 < client.train_progress(task_id).training_progress < 1
    simulator_clock.advance(60)
    done = client.train_progress(task_id)
    assert done.is_done and done.training_progress == 1.0
    assert "fox-style" in [model.model_name for model in client.models_private().models]


def test_it_reads_a_failed_training(client, urls, simulator_clock):
    dataset_id = client.dataset_create("Foxes", "", urls)
    task_id = client.train_submit("simfail-style", "", "", "", "Style", [dataset_id])

    simulator_clock.advance(60)
    progress = client.train_progress(task_id)

    assert progress.is_failed and progress.is_finished and not progress.is_done


def test_it_reports_a_training_parameter_error(client, urls):
    dataset_id = client.dataset_create("Foxes", "", urls)

    with pytest.raises(InvalidParameter) as caught:
        client.train_submit("x", "", "", "", "Spaceships", [dataset_id])

    assert caught.value.code == 403 and "main_body" in caught.value.message


def test_it_reports_an_unknown_training(client):
    with pytest.raises(NotFound) as caught:
        client.train_progress(str(uuid.uuid4()))

    assert caught.value.code == 107


def test_it_leaves_an_empty_base_model_out_so_the_vendor_chooses(client, urls, simulator_clock):
    dataset_id = client.dataset_create("Foxes", "", urls)

    task_id = client.train_submit("auto-style", "", "", "", "Style", [dataset_id])

    assert SimTrainingJob.objects.get(id=task_id).base_model == "Artist v0.3.5"  # the simulator's own choice
