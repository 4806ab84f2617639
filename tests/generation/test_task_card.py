"""The polled task card never freezes: it keeps polling while the task moves or one of its images is still being
stored, and stops (286) once every image is stored or its download failed, showing them without a reload. It is
the most frequent request (every 2 s for each visible card), so it costs at most three queries; the Generate page
costs the same number of queries whatever the number of recent cards."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generation import catalog
from generation.models import GeneratedImage, GenerationTask
from miaohua_site.accounts.services import upstream_account_store
from tests.library.library_helpers import make_task

State = GenerationTask.State
Mirror = GeneratedImage.MirrorState
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def member(client, owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(owner)
    return client


def card(client, task):
    return client.get(reverse("task_card", args=[task.pk]))


def polls(response) -> bool:
    return 'hx-trigger="every 2s' in response.content.decode()


def test_the_card_keeps_polling_while_its_images_are_being_stored(member, owner):
    task = make_task(owner, n_images=2)
    GeneratedImage.objects.filter(task=task).update(mirror_state=Mirror.WAITING, thumbnail="", file="")

    waiting = card(member, task)

    assert waiting.status_code == 200 and polls(waiting)  # done at Miaohua, but nothing to show yet
    assert waiting.content.decode().count("thumb-waiting") == 2 and "Storing the images…" in waiting.content.decode()

    first = task.images.order_by("save_index").first()
    make_task(owner, n_images=1)  # stored files to point the first image at
    stored = GeneratedImage.objects.exclude(task=task).first()
    GeneratedImage.objects.filter(pk=first.pk).update(
        mirror_state=Mirror.STORED, file=stored.file.name, thumbnail=stored.thumbnail.name
    )
    half = card(member, task)
    assert half.status_code == 200 and polls(half)
    assert reverse("image_file", args=[first.pk, "thumb"]) in half.content.decode()  # shown without a reload

    GeneratedImage.objects.filter(task=task).update(
        mirror_state=Mirror.STORED, file=stored.file.name, thumbnail=stored.thumbnail.name
    )
    done = card(member, task)
    assert done.status_code == 286 and not polls(done)
    assert done.content.decode().count('alt="Image ') == 2 and "thumb-waiting" not in done.content.decode()


def test_a_failed_download_shows_its_reason_and_ends_the_polling(member, owner, settings):
    settings.GENERATION_MIRROR_MAX_ATTEMPTS = 5
    task = make_task(owner, n_images=2)
    first, second = task.images.order_by("save_index")
    GeneratedImage.objects.filter(pk=first.pk).update(
        mirror_state=Mirror.FAILED, mirror_error="Miaohua's link answered 403.", mirror_attempts=1, thumbnail=""
    )

    response = card(member, task)

    content = response.content.decode()
    assert response.status_code == 286 and not polls(response)
    assert "Not stored: Miaohua&#x27;s link answered 403." in content
    assert "tried again in a few minutes: reload to see it" in content
    assert reverse("image_file", args=[second.pk, "thumb"]) in content

    GeneratedImage.objects.filter(pk=first.pk).update(mirror_attempts=5)  # no attempt left: no promise either
    assert "tried again" not in card(member, task).content.decode()


def test_a_task_still_running_polls_and_a_failed_one_stops(member, owner):
    task = make_task(owner, n_images=0, state=State.PENDING, finished_at=None)
    assert card(member, task).status_code == 200 and polls(card(member, task))
    GenerationTask.objects.filter(pk=task.pk).update(state=State.FAILED, error_message="Refused.")
    failed = card(member, task)
    assert failed.status_code == 286 and "Refused." in failed.content.decode()


def test_a_download_that_never_comes_stops_the_polling_after_a_while(member, owner, settings):
    settings.GENERATION_STORE_WAIT_SECONDS = 600
    task = make_task(owner, n_images=1, finished_at=timezone.now() - timezone.timedelta(minutes=11))
    GeneratedImage.objects.filter(task=task).update(mirror_state=Mirror.WAITING, thumbnail="")

    response = card(member, task)

    assert response.status_code == 286 and not polls(response)
    assert "taking longer than usual; reload the page later" in response.content.decode()


def test_a_card_poll_makes_at_most_three_queries(member, owner, django_assert_max_num_queries):
    task = make_task(owner, n_images=4)
    GeneratedImage.objects.filter(task=task, save_index__gte=2).update(mirror_state=Mirror.WAITING, thumbnail="")
    card(member, task)  # the session is in the cache from here on, as after any page

    # Everything counts: session, user, task, images (the queue badge is not on a card: its count is never made).
    with django_assert_max_num_queries(3) as captured:
        response = card(member, task)

    assert response.status_code == 200 and polls(response)
    tables = " ".join(query["sql"] for query in captured.captured_queries)
    assert "django_session" not in tables and "COUNT(" not in tables.upper()


def test_the_queue_badge_is_counted_only_where_it_is_shown(member, owner):
    make_task(owner, n_images=0, state=State.PENDING, finished_at=None)
    with CaptureQueriesContext(connection) as on_a_page:
        page = member.get(reverse("history"))
    assert "My queue: 1 running" in page.content.decode()
    assert sum("COUNT(" in q["sql"].upper() and "generation_generationtask" in q["sql"] for q in on_a_page) >= 1


@pytest.fixture
def connected(member, owner, simulator_url):
    account = upstream_account_store(user=owner, email="demo@example.com", password="demo")
    catalog.catalog_refresh(account_id=account.pk, specs=catalog.GENERATE_SPECS)  # warm: no refresh in the count
    return member


def generate_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("generate"))
    assert response.status_code == 200
    return len(captured)


def test_the_generate_page_costs_the_same_queries_with_1_or_12_recent_tasks(connected, owner):
    make_task(owner, n_images=2)
    with_one = generate_queries(connected)
    for _ in range(11):
        make_task(owner, n_images=2)
    with_twelve = generate_queries(connected)

    page = connected.get(reverse("generate")).content.decode()
    assert page.count('class="task-card') == 12
    # user, "is connected", the account, the tasks, their images, the queue badge, the team's default quotas (for
    # the line of what is left; a member without limits counts nothing), the styles the member may pick with their
    # samples (issue #13) (was 6 + 1 per card)
    assert with_one == with_twelve <= 8, (with_one, with_twelve)
