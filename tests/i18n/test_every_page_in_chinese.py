"""Every page and fragment of the product, served in Chinese, shows no English of ours (issue #11 §1).

The crawl's routes and world (tests/test_crawl.py): each route's first path, fetched by GET as an admin and as a
member (and as a visitor for the pages before sign-in), with and without ``HX-Request``. Words that come from the
data (prompts, names, the simulator's catalog) are the data's; everything else must be translated.
``I18N_ROUTES=team/`` walks only the routes that start so (for finding what is left while translating)."""

import os

import pytest
from django.contrib.auth import get_user_model

from generation.models import GenerationTask
from library.models import Collection, SavedSearch, Tag
from miaohua_site.simulator import catalog as simulator_catalog
from miaohua_site.simulator.models import SimModel
from tests.i18n.english import english_left, loose_spaces, words_of
from tests.test_crawl import SKIP_PREFIXES, World, _fills, _routes
from training.models import Dataset, TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)


def data_words() -> set[str]:
    words = set()
    for task in GenerationTask.objects.all():
        words |= words_of(task.prompt, task.neg_prompt, task.model_name, task.params, task.error_message)
    for user in get_user_model().objects.all():
        words |= words_of(user.username, user.email, user.first_name, user.last_name)
    for name in Collection.objects.values_list("name", flat=True):
        words |= words_of(name)
    for name in Tag.objects.values_list("name", flat=True):
        words |= words_of(name)
    for name, query in SavedSearch.objects.values_list("name", "query"):
        words |= words_of(name, query)
    for dataset in Dataset.objects.all():
        words |= words_of(dataset.name, dataset.description, dataset.account_email)
    for job in TrainingJob.objects.all():
        words |= words_of(job.name, job.base_model, job.main_body, job.trigger_word)
    for model in SimModel.objects.all():
        words |= words_of(*[getattr(model, f.attname) for f in model._meta.fields if f.get_internal_type() in
                            ("CharField", "TextField", "JSONField")])
    # the simulator's own catalog texts (ControlNet names, processors, training options): the vendor's words
    words |= words_of(*[repr(value) for name, value in vars(simulator_catalog).items() if name.isupper()])
    return words


def pages_in_chinese(client, world, user):
    only = os.environ.get("I18N_ROUTES", "")
    leaks = {}
    for route, _ in _routes():
        if route.startswith(SKIP_PREFIXES) or route.startswith("admin/") or not route.startswith(only):
            continue
        world.ensure()
        if user is None:
            client.logout()
        else:
            client.force_login(user)
        kept = data_words()
        for path in ["/" + p for p in _fills(route, world.ids)]:  # the first path of the route that answers a page
            answered = False
            for htmx in (False, True):
                headers = {"HX-Request": "true"} if htmx else {}
                response = client.get(path, headers={**headers, "Accept-Language": "zh-Hans"})
                if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                    continue
                answered = True
                left = english_left(response.content.decode(), kept)
                left += [f"(a space between Chinese sentences) {t}" for t in loose_spaces(response.content.decode())]
                if left:
                    leaks[f"GET {path}{' (htmx)' if htmx else ''}"] = left
            if answered:
                break
    return leaks


@pytest.fixture
def world(client, owner, admin_user, viewer, simulator_url, settings, tmp_path, engine_held):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.raise_request_exception = False
    return World(owner, admin_user, viewer)


@pytest.mark.parametrize("who", ["visitor", "member", "admin"])
def test_no_english_is_left_on_any_page(client, world, owner, admin_user, who):
    user = {"visitor": None, "member": owner, "admin": admin_user}[who]
    leaks = pages_in_chinese(client, world, user)
    report = "\n".join(f"{where}:\n    " + "\n    ".join(texts) for where, texts in leaks.items())
    assert not leaks, f"English left on {len(leaks)} page(s) served in Chinese:\n{report}"
