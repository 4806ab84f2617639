"""Who may do what: every dataset and training URL tried by a member (signed in, not an admin) and by a
signed-out visitor, and the dataset URLs by an admin connected to another Miaohua account."""

import io

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from miaohua_site.accounts.services import upstream_account_store
from training.models import Dataset, DatasetImage, TrainingJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(admin_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    account = upstream_account_store(user=admin_user, email="demo@example.com", password="demo")
    dataset = Dataset.objects.create(
        name="Round cats", upstream_account=account, account_email=account.email, vendor_dataset_id=7
    )
    image = DatasetImage(dataset=dataset, original_name="cat.png", state=DatasetImage.State.ADDED)
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), "teal").save(buffer, "PNG")
    image.file.save("cat.png", ContentFile(buffer.getvalue()), save=False)
    image.thumbnail.save("thumb.webp", ContentFile(buffer.getvalue()), save=False)
    image.save()
    job = TrainingJob.objects.create(
        owner=admin_user, upstream_account=account, account_email=account.email, name="Cats LoRA",
        base_model="SDXL 1.0", main_body="Animals", trigger_word="roundcat", state=TrainingJob.State.DONE,
    )  # fmt: skip
    return {"dataset": dataset.pk, "image": image.pk, "job": job.pk}


# (name, method, kwargs) — every URL of the training app.
VIEWING = [
    ("dataset_list", "get", {}),
    ("dataset_detail", "get", {"pk": "dataset"}),
    ("dataset_images", "get", {"pk": "dataset"}),
    ("dataset_image_file", "get", {"pk": "dataset", "image_pk": "image", "variant": "thumb"}),
]
DATASET_CHANGES = [
    ("dataset_edit", "get", {"pk": "dataset"}),
    ("dataset_edit", "post", {"pk": "dataset"}),
    ("dataset_upload", "post", {"pk": "dataset"}),
    ("dataset_send", "post", {"pk": "dataset"}),
    ("dataset_from_history", "get", {"pk": "dataset"}),
    ("dataset_from_history", "post", {"pk": "dataset"}),
    ("dataset_images_remove", "post", {"pk": "dataset"}),
    ("dataset_images_retry", "post", {"pk": "dataset"}),
]
CHANGING = [
    ("dataset_create", "get", {}),
    ("dataset_create", "post", {}),
    ("dataset_import", "post", {}),
    ("dataset_import_status", "get", {}),
    *DATASET_CHANGES,
    ("training_list", "get", {}),
    ("training_create", "post", {}),
    ("training_card", "get", {"pk": "job"}),
    ("training_lora_link", "post", {"pk": "job"}),
    ("training_notices", "get", {}),
    ("training_notices_dismiss", "post", {}),
]
POST_DATA = {
    "dataset_edit": {"name": "Renamed", "description": ""},
    "dataset_create": {"name": "Sneaky", "description": ""},
    "dataset_images_remove": {"selected": ["image"]},
    "dataset_from_history": {"generated": ["1"]},
    "training_lora_link": {"lora-job-versionid": "lora_mine"},
    "training_create": {"name": "x", "trigger_word": "x", "base_model": "SDXL 1.0", "main_body": "Style"},
}


def url_for(name, kwargs, objects):
    return reverse(name, kwargs={key: objects.get(value, value) for key, value in kwargs.items()})


def call(client, method, name, kwargs, objects):
    data = {
        k: [str(objects.get(v, v)) for v in vs] if isinstance(vs, list) else vs
        for k, vs in POST_DATA.get(name, {}).items()
    }
    return getattr(client, method)(url_for(name, kwargs, objects), data if method == "post" else None)


def snapshot():
    return (
        list(Dataset.objects.values_list("name", "description")),
        list(DatasetImage.objects.values_list("pk", "state")),
        TrainingJob.objects.count(),
    )


@pytest.mark.parametrize(("name", "method", "kwargs"), VIEWING + CHANGING)
def test_a_signed_out_visitor_gets_the_login_page(client, objects, name, method, kwargs):
    before = snapshot()
    response = call(client, method, name, kwargs, objects)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    assert snapshot() == before


@pytest.mark.parametrize(("name", "method", "kwargs"), VIEWING)
def test_a_member_may_look_at_datasets(client, teammate, objects, name, method, kwargs):
    client.force_login(teammate)
    response = call(client, method, name, kwargs, objects)
    assert response.status_code in (200, 286)


@pytest.mark.parametrize(("name", "method", "kwargs"), CHANGING)
def test_a_member_may_change_nothing(client, teammate, objects, name, method, kwargs):
    upstream_account_store(user=teammate, email="demo@example.com", password="demo")  # even on the same account
    client.force_login(teammate)
    before = snapshot()
    response = call(client, method, name, kwargs, objects)
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(("name", "method", "kwargs"), DATASET_CHANGES)
def test_an_admin_of_another_miaohua_account_may_not_change_the_dataset(
    client, django_user_model, objects, name, method, kwargs
):
    other = django_user_model.objects.create_user("other-admin", password="x", is_staff=True)
    upstream_account_store(user=other, email="someone-else@example.com", password="pw")
    client.force_login(other)
    before = snapshot()
    response = call(client, method, name, kwargs, objects)
    assert response.status_code == 403
    assert snapshot() == before


def test_a_member_sees_no_button_that_changes_anything(client, teammate, objects):
    client.force_login(teammate)
    listing = client.get(reverse("dataset_list")).content.decode()
    detail = client.get(reverse("dataset_detail", args=[objects["dataset"]])).content.decode()
    for page in (listing, detail):
        for word in ("New dataset", "Import from Miaohua", "Add images", "Remove selected", ">Edit<", "Dismiss",
                     "Retry", "Train a LoRA", 'type="checkbox"', "training-notices"):  # fmt: skip
            assert word not in page
    assert "Round cats" in listing and "cat.png" in detail


def test_an_unknown_dataset_is_a_404(client, teammate, objects):
    client.force_login(teammate)
    assert client.get(reverse("dataset_detail", args=[999])).status_code == 404
    assert client.get(reverse("dataset_image_file", args=[objects["dataset"], 999, "thumb"])).status_code == 404


def test_the_navigation_offers_training_to_admins_only(client, owner, admin_user):
    training = f'href="{reverse("training_list")}"'
    client.force_login(owner)
    member_page = client.get(reverse("history")).content.decode()
    assert training not in member_page  # a member would meet a 403 there
    assert f'href="{reverse("dataset_list")}"' in member_page  # datasets a member may look at
    client.force_login(admin_user)
    assert training in client.get(reverse("history")).content.decode()
