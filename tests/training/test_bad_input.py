"""Training and dataset ids beyond 64 bits, and damaged images, are refused plainly (issue #9 §2)."""

import pytest
from django.urls import reverse

from miaohua_site.accounts.services import upstream_account_store
from training.models import Dataset, DatasetImage

HUGE = "99999999999999999999999999"
live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_with_set(client, admin_user, simulator_url):
    client.raise_request_exception = False
    account = upstream_account_store(user=admin_user, email="demo@example.com", password="demo")
    client.force_login(admin_user)
    dataset = Dataset.objects.create(
        name="Set", created_by=admin_user, upstream_account=account, account_email=account.email
    )
    return client, dataset


@live
def test_training_and_dataset_ids_beyond_64_bits_are_refused_plainly(admin_with_set):
    client, dataset = admin_with_set
    DatasetImage.objects.create(dataset=dataset, original_name="a.png", state=DatasetImage.State.REFUSED)
    response = client.post(reverse("training_create"), {"name": "ok", "datasets": [HUGE], "trigger_word": "w"})
    assert response.status_code == 400
    assert "Choose datasets from the list." in response.content.decode()
    response = client.post(reverse("dataset_images_remove", args=[dataset.pk]), {"image": HUGE})
    assert response.status_code == 400
    assert "“image” must be a whole number" in response.content.decode()


@live
def test_a_truncated_jpeg_is_refused_in_a_dataset(admin_with_set, settings, tmp_path):
    from tests.generation.test_upload_check import truncated_jpeg

    settings.MEDIA_ROOT = tmp_path / "media"
    client, dataset = admin_with_set
    client.post(reverse("dataset_upload", args=[dataset.pk]), {"images": [truncated_jpeg()]})
    image = dataset.images.get()
    assert image.state == DatasetImage.State.REFUSED
    assert "damaged or incomplete" in image.error
