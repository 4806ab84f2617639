"""The simulator's file links are signed and expire, like the vendor's object-store links."""

from miaohua_site.simulator import clock
from tests.simulator.conftest import finished, submit


def test_it_refuses_a_tampered_link(api, token, upload_url):
    tampered = upload_url.replace("Signature=", "Signature=x")

    response = api.client.get(tampered)

    assert response.status_code == 403
    assert b"AccessDenied" in response.content


def test_it_refuses_a_link_past_its_expiry(api, token, upload_url):
    clock.advance(8 * 24 * 3600)

    assert api.client.get(upload_url).status_code == 403


def test_it_does_not_serve_the_pictures_of_a_pending_task(api, token):
    task_id = submit(api, token)
    url = finished(api, token, task_id)["images"][0]["large"]
    clock.reset()

    assert api.client.get(url).status_code == 404
