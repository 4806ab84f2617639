"""Compare: two visible tasks side by side with every parameter, the differing ones highlighted."""

import re

import pytest
from django.urls import reverse

from tests.library.library_helpers import is_login_page, make_task, set_sharing

pytestmark = pytest.mark.django_db


def highlighted(content: str) -> set[str]:
    """The parameter names of the highlighted (differing) rows."""
    return set(re.findall(r'<tr class="differs[^"]*" data-differs>\s*<th scope="row">([^<]+)<', content))


def compare(client, a, b):
    return client.get(reverse("compare"), {"a": a.pk, "b": b.pk})


def test_it_shows_both_tasks_and_highlights_what_differs(client, owner):
    a = make_task(owner, prompt="a lighthouse at dusk", select_seed=1, scale=7)
    b = make_task(owner, prompt="a lighthouse at dawn", select_seed=2, scale=7, n_images=1)
    client.force_login(owner)

    response = compare(client, a, b)

    content = response.content.decode()
    assert response.status_code == 200
    assert highlighted(content) == {"prompt", "select_seed", "seed used", "n_images"}
    rows = {row["name"]: row for row in response.context["rows"]}
    assert not rows["scale"]["differs"] and not rows["versionid"]["differs"]
    assert rows["prompt"]["a"] == "a lighthouse at dusk" and rows["prompt"]["b"] == "a lighthouse at dawn"
    assert response.context["n_differ"] == 4 and "4 parameters differ" in content
    for image in [*a.images.all(), *b.images.all()]:
        assert reverse("image_file", args=[image.pk, "thumb"]) in content


def test_a_parameter_only_one_task_has_is_a_difference(client, owner):
    a = make_task(owner, select_seed=5)
    b = make_task(owner, select_seed=5)
    b.params["lora_configs"] = [{"versionid": "lora_ink_sketch_v1", "merge_weight": 0.8}]
    b.save()
    client.force_login(owner)

    rows = {row["name"]: row for row in compare(client, a, b).context["rows"]}

    assert rows["lora_configs"]["differs"] and rows["lora_configs"]["a"] == ""
    assert rows["lora_configs"]["b"] == '[{"merge_weight": 0.8, "versionid": "lora_ink_sketch_v1"}]'


def test_identical_settings_say_so(client, owner):
    a = make_task(owner, select_seed=9)
    client.force_login(owner)
    content = compare(client, a, a).content.decode()
    assert "Every parameter is the same." in content and not highlighted(content)


def test_missing_or_malformed_ids_get_a_readable_message(client, owner):
    task = make_task(owner)
    client.force_login(owner)

    empty = client.get(reverse("compare"))
    assert empty.status_code == 200 and "Pick two tasks" in empty.content.decode()
    for query in ({"a": task.pk}, {"a": task.pk, "b": "x"}):
        response = client.get(reverse("compare"), query)
        assert response.status_code == 400 and "Give two task numbers to compare" in response.content.decode()
    missing = client.get(reverse("compare"), {"a": task.pk, "b": 999999})
    assert (
        missing.status_code == 404 and "Task 999999 does not exist, or is not yours to see." in missing.content.decode()
    )


def test_who_may_compare_what(client, owner, teammate, outsider, admin_user):
    mine, theirs = make_task(owner), make_task(teammate, prompt="a private harbour")
    client.force_login(owner)
    assert compare(client, mine, theirs).status_code == 200  # the teammate shares (the default)

    set_sharing(teammate, False)

    response = compare(client, mine, theirs)
    assert response.status_code == 404
    assert "not yours to see" in response.content.decode() and theirs.prompt not in response.content.decode()
    client.force_login(outsider)
    assert compare(client, theirs, mine).status_code == 404
    client.force_login(admin_user)
    assert compare(client, mine, theirs).status_code == 200
    client.logout()
    assert is_login_page(compare(client, mine, theirs))
