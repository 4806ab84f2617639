"""Batches and dynamic prompts through the Generate form (issue #13): the tasks a form makes, the prompts and
seeds they record, the errors beside the fields, and the live preview. The simulator answers over HTTP."""

import uuid

import pytest
from django.urls import reverse

from generation import batches, services
from generation import dynamic_prompts as dp
from generation.models import GenerationTask, TaskGroup, WordList
from generation.plans import Plan
from library import selectors
from miaohua_site.accounts.services import upstream_account_store

live = pytest.mark.django_db(transaction=True)


def form_data(**overrides):
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "a lighthouse at dusk",
        "neg_prompt": "",
        "n_images": "1",
        "scale": "7",
        "ddim_steps": "20",
        "select_seed": "1234",
        "output_size": "640x640",
        "mode": "txt2img",
        "strength": "0.6",
        "lora_weight": "0.8",
        "sensitive_limit_value": "0",
        "batch-count": "1",
        "batch-mode": "random",
    }
    data.update(overrides)
    return data


@pytest.fixture
def connected(client, owner, simulator_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.1
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    client.force_login(owner)
    return client


def tasks_of(owner):
    return list(GenerationTask.objects.filter(owner=owner).order_by("group_index", "pk"))


@live
def test_every_combination_makes_one_task_each_with_the_expanded_prompt_recorded_and_searchable(connected, owner):
    WordList.objects.create(name="colour", words="red\nblue")
    data = form_data(prompt="a __colour__ {car|bus}", neg_prompt="{blurry|noisy}", **{"batch-mode": "combinations"})
    response = connected.post(reverse("generate"), data)

    group = TaskGroup.objects.get(owner=owner)
    assert response.status_code == 302 and response["Location"] == f"/generate/?group={group.pk}#group-{group.pk}"
    assert (group.kind, group.n_tasks) == ("batch", 8)
    tasks = tasks_of(owner)
    assert [t.params["prompt"] for t in tasks[::2]] == ["a red car", "a red bus", "a blue car", "a blue bus"]
    assert [t.params["neg_prompt"] for t in tasks[:2]] == ["blurry", "noisy"]
    assert {t.params["select_seed"] for t in tasks} == {1234}  # the prompts vary: the fixed seed stays
    assert group.base_params["prompt"] == "a __colour__ {car|bus}"  # the template, for the record


class Errors:
    """Where expand() puts its messages (the Generate form's add_error)."""

    def __init__(self):
        self.errors = {}

    def add_error(self, field, message):
        self.errors.setdefault(field, []).append(message)


@pytest.mark.django_db
def test_the_expanded_prompt_is_what_history_searches(client, owner):
    WordList.objects.create(name="colour", words="red\nblue")
    batch_form = batches.BatchForm({"batch-count": "1", "batch-mode": "combinations"}, prefix="batch")
    assert batch_form.is_valid()
    params = {
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "a __colour__ {car|bus}",
        "neg_prompt": "",
        "n_images": 1,
        "select_seed": 5,
    }
    tasks = batches.expand(batch_form, form=Errors(), user=owner, params=params, model_name="Artist")
    services.generation_submit_group(user=owner, plan=Plan(tasks=tasks, kind="batch"), idempotency_key=uuid.uuid4())

    found = selectors.search(selectors.tasks_visible_to(owner), "blue bus")
    assert [t.prompt for t in found] == ["a blue bus"]
    assert not selectors.search(selectors.tasks_visible_to(owner), "colour").exists()
    client.force_login(owner)
    page = client.get(reverse("history"), {"q": "red car"}).content.decode()
    assert "a red car" in page and "a blue bus" not in page


@live
def test_a_batch_count_of_the_same_prompt_counts_the_seed_up(connected, owner):
    response = connected.post(reverse("generate"), form_data(select_seed="100", **{"batch-count": "3"}))

    assert response.status_code == 302
    tasks = tasks_of(owner)
    assert [t.params["select_seed"] for t in tasks] == [100, 101, 102]
    assert {t.params["prompt"] for t in tasks} == {"a lighthouse at dusk"}
    assert TaskGroup.objects.get(owner=owner).n_tasks == 3


@live
def test_random_mode_makes_the_count_with_one_choice_each_and_a_random_seed_stays_random(connected, owner):
    data = form_data(prompt="a {red|blue|green|amber} car", select_seed="-1", **{"batch-count": "5"})
    assert connected.post(reverse("generate"), data).status_code == 302
    tasks = tasks_of(owner)
    assert len(tasks) == 5 and all(t.params["select_seed"] == -1 for t in tasks)
    assert all(t.params["prompt"] in {"a red car", "a blue car", "a green car", "a amber car"} for t in tasks)


@live
def test_a_plain_prompt_and_count_one_is_one_ordinary_task(connected, owner):
    response = connected.post(reverse("generate"), form_data(prompt=r"a \{literal\} sign"))
    task = GenerationTask.objects.get(owner=owner)
    assert response["Location"].startswith(f"/generate/?task={task.pk}&")
    assert task.group is None and task.params["prompt"] == "a {literal} sign"


@live
def test_an_unknown_word_list_is_refused_beside_the_prompt_and_nothing_is_lost(connected, owner):
    WordList.objects.create(name="animal", words="cat\ndog")
    response = connected.post(reverse("generate"), form_data(prompt="a __colour__ car on a hill"))

    assert response.status_code == 400
    page = response.content.decode()
    assert "There is no word list called “colour”; the team&#x27;s lists: __animal__." in page
    assert 'id="id_prompt_error"' in page and "a __colour__ car on a hill" in page
    assert not GenerationTask.objects.exists() and not TaskGroup.objects.exists()


@live
def test_too_many_combinations_names_the_count(connected, owner, settings):
    settings.GENERATION_BATCH_MAX_TASKS = 5
    data = form_data(prompt="{a|b|c} {x|y}", **{"batch-mode": "combinations"})
    response = connected.post(reverse("generate"), data)
    assert response.status_code == 400
    assert "This prompt has 6 combinations; at most 5 tasks can be made at once." in response.content.decode()
    over = connected.post(reverse("generate"), form_data(**{"batch-count": "6"}))
    assert over.status_code == 400 and "Ensure this value is less than or equal to 5." in over.content.decode()
    assert 'id="id_batch-count_error"' in over.content.decode()
    assert not GenerationTask.objects.exists()


@live
def test_an_expanded_prompt_over_the_vendor_limit_is_refused(connected, owner):
    WordList.objects.create(name="long", words="x" * 200)
    response = connected.post(reverse("generate"), form_data(prompt="__long__ " * 6))  # 6 × 200 + 5 spaces
    assert response.status_code == 400
    assert "Expanded, this prompt is 1205 characters long (at most 1000)" in response.content.decode()
    assert not GenerationTask.objects.exists()


@live
def test_unbalanced_braces_in_the_negative_prompt_are_refused_beside_it(connected, owner):
    response = connected.post(reverse("generate"), form_data(neg_prompt="blurry, {ugly"))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_neg_prompt_error"' in page and "is never closed" in page


@pytest.mark.django_db
def test_random_expansion_follows_the_seed():
    expander = dp.Expander({"colour": ["red", "blue", "green", "teal", "amber", "pink"]})
    first, _ = batches.expand_prompts(
        prompt="a __colour__ car", neg_prompt="", mode="random", count=12, seed=9, expander=expander
    )
    again, _ = batches.expand_prompts(
        prompt="a __colour__ car", neg_prompt="", mode="random", count=12, seed=9, expander=expander
    )
    assert first == again and len({p for p, _ in first}) > 2


@pytest.mark.django_db
def test_the_preview_says_what_the_form_would_make(client, owner):
    client.force_login(owner)
    url = reverse("batch_preview")
    every = client.get(url, {"prompt": "a {red|blue|green|pink} car", "batch-mode": "combinations", "batch-count": "1"})
    assert every.status_code == 200
    assert "4 prompts: a red car · a blue car · a green car · …" in every.content.decode()
    random = client.get(url, {"prompt": "a {red|blue} {car|bus}", "batch-mode": "random", "batch-count": "3"})
    assert "Random: one of 4 combinations per task. 3 tasks." in random.content.decode()
    plain = client.get(url, {"prompt": "a car", "batch-mode": "random", "batch-count": "1"})
    assert "No dynamic parts: one task." in plain.content.decode()
    broken = client.get(url, {"prompt": "a __nope__", "batch-mode": "random", "batch-count": "1"})
    assert "There is no word list called “nope”" in broken.content.decode()


@pytest.mark.django_db
def test_the_preview_is_for_signed_in_people_only(client):
    response = client.get(reverse("batch_preview"), {"prompt": "{a|b}"})
    assert response.status_code == 302 and "/login/" in response["Location"]
