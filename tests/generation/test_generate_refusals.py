"""A Generate form with tampered hidden values says what was wrong, and never answers 500 (issue #9 §2)."""

import pytest
from django.urls import reverse

from miaohua_site.accounts.services import upstream_account_store
from tests.generation.test_views import form_data

HUGE = "99999999999999999999999999"
live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connected(client, owner, simulator_url, settings, tmp_path, engine_held):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    client.raise_request_exception = False
    client.force_login(owner)
    return client


@live
@pytest.mark.parametrize("field", ["init_image_input", "init_image_from", "cn-0-image_input", "cn-0-image_from"])
@pytest.mark.parametrize("value", ["abc", "1.5", "NaN", HUGE, ["1", "abc", "1"]])
def test_generate_refuses_an_image_id_that_is_no_number(connected, field, value):
    data = form_data(mode="img2img", **{"cn-0-cn": "canny", "cn-0-weight": "1"})
    data[field] = value
    response = connected.post(reverse("generate"), data)
    assert response.status_code == 400
    if isinstance(value, list):  # the last of the three is the value: a whole number, no image of this member
        return
    assert "is not a valid choice (it must be a whole number, an id): choose it again" in response.content.decode()


@live
@pytest.mark.parametrize(
    "change, message",
    [
        ({"idempotency_key": ""}, "This form has lost its one-time key"),
        ({"idempotency_key": "not-a-uuid"}, "one-time key (a hidden field) is damaged"),
        ({"mode": "sideways"}, "Choose a mode: text to image or image to image (“sideways” is neither)."),
        ({"mode": ""}, "Choose a mode: text to image or image to image."),
    ],
)
def test_a_tampered_generate_form_says_what_was_wrong(connected, change, message):
    response = connected.post(reverse("generate"), form_data(**change))
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    assert "see the messages beside the fields" not in page  # no field shows a message: none is promised
