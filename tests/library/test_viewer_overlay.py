"""The image viewer over a page: htmx aimed at the overlay gets the viewer alone, never for one who may not see it."""

import pytest
from django.urls import reverse

from library.models import MemberSettings
from tests.library.library_helpers import make_task

pytestmark = pytest.mark.django_db

OVERLAY = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "viewer-body"}


def test_it_answers_the_overlay_with_the_viewer_alone(client, owner):
    task = make_task(owner, prompt="a kite over the dunes", n_images=2)
    first, second = task.images.order_by("save_index")
    client.force_login(owner)

    response = client.get(reverse("image_detail", args=[first.pk]), **OVERLAY)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and "<nav" not in html  # no page around it
    assert f'data-self="{reverse("image_detail", args=[first.pk])}"' in html
    assert f'data-next="{reverse("image_detail", args=[second.pk])}"' in html
    for action in (
        "Reuse settings",
        "Use as init image",
        "Use as ControlNet image",
        "Describe",
        "Add to collection",
        "Download original",
        "Delete this task",
        "Add to favourites",
    ):
        assert action in html, action
    assert "HX-Target" in response["Vary"] and "HX-Request" in response["Vary"]


def test_it_still_answers_the_address_with_the_whole_page(client, owner):
    image = make_task(owner, n_images=1).images.get()
    client.force_login(owner)
    for headers in ({}, {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "main"}):
        html = client.get(reverse("image_detail", args=[image.pk]), **headers).content.decode()
        assert "<html" in html and 'id="viewer-overlay"' in html and "image-viewer" in html


def test_it_hides_an_unshared_image_in_the_overlay_too(client, owner, teammate):
    MemberSettings.objects.create(user=owner, share_with_team=False)
    image = make_task(owner, n_images=1).images.get()
    client.force_login(teammate)
    assert client.get(reverse("image_detail", args=[image.pk]), **OVERLAY).status_code == 404
    assert client.get(reverse("image_detail", args=[image.pk + 1000]), **OVERLAY).status_code == 404


def test_a_visitor_is_sent_to_sign_in_from_the_overlay(client, owner):
    image = make_task(owner, n_images=1).images.get()
    response = client.get(reverse("image_detail", args=[image.pk]), **OVERLAY)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
