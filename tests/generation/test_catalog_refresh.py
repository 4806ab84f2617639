"""No web request waits on the vendor for a catalog: pages read the cache, and the worker refreshes it. Played
step by step: the page only enqueues (``queued_jobs``), the test then runs the worker's job, and the simulator
over HTTP counts what reached the vendor. A cold page answers at once with placeholders that poll; the pickers
fill in when the job has run; a stale catalog is served while one refresh runs, however many pages ask; a failed
refresh is a readable message with a retry; a form posted while the catalogs are cold keeps everything typed."""

import re
import threading
import time
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from generation import catalog
from generation.models import GenerationTask, InputImage
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.simulator import catalog as sim_catalog
from miaohua_site.simulator import stats
from miaohua_site.simulator.models import SimAccount, SimModel
from tests.generation.test_views import form_data, png
from tests.library.library_helpers import is_login_page

pytestmark = pytest.mark.django_db(transaction=True)

CATALOG_CALLS = "models/base+models/lora+models/private+cn/artist+cn/opensource+get_generation_form+get_train_form"
SLOW = f"slow_seconds=3,endpoints={CATALOG_CALLS}"
PICKERS = ["models", "loras", "sizes", "controlnets"]


@pytest.fixture
def account(owner, simulator_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MIAOHUA_SIMULATOR_FAULTS = ""
    account = upstream_account_store(user=owner, email="demo@example.com", password="demo")
    catalog.forget(account, [*catalog.GENERATE_SPECS, ("train_form",)])  # a cold cache
    return account


@pytest.fixture
def member(client, owner, account):
    client.force_login(owner)
    return client


def refresh_jobs(queue) -> list[dict]:
    return queue.jobs("generation.tasks.catalog_refresh_job")


def asked_specs(queue) -> list[tuple]:
    return [tuple(spec) for job in refresh_jobs(queue) for spec in job["args"][1]]


def picker(client, name, **params):
    return client.get(reverse("generate_picker", args=[name]), params)


def test_a_cold_page_answers_at_once_with_placeholders_and_no_vendor_call(member, queued_jobs, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = SLOW  # every catalog call would take 3 s

    started = time.monotonic()
    response = member.get(reverse("generate"))
    took = time.monotonic() - started

    content = response.content.decode()
    assert response.status_code == 200 and took < 1.5
    assert stats.calls() == 0  # nothing reached the vendor
    assert 'name="prompt"' in content and 'name="n_images"' in content and 'name="lora_weight"' in content
    for label in ["the model list", "the LoRA list", "the output sizes", "the ControlNet types"]:
        assert f"Loading {label} from Miaohua…" in content
    for name in PICKERS:
        assert f'hx-get="{reverse("generate_picker", args=[name])}' in content
    assert content.count('hx-trigger="every 1s') == 4  # the four placeholders, nothing else
    assert sorted(asked_specs(queued_jobs)) == sorted(catalog.GENERATE_SPECS)  # one refresh of each, in one job
    assert len(refresh_jobs(queued_jobs)) == 1

    member.get(reverse("generate"))  # asked again while the refresh is on its way: nothing more is asked
    for name in PICKERS:
        assert picker(member, name).status_code == 200  # still loading: the placeholder again, polling
    assert len(refresh_jobs(queued_jobs)) == 1 and stats.calls() == 0


def test_the_pickers_fill_in_once_the_worker_has_fetched_the_catalogs(member, queued_jobs):
    member.get(reverse("generate"))

    queued_jobs.run()

    assert stats.calls("models/base") == stats.calls("get_generation_form") == stats.calls("cn/artist") == 1
    models = picker(member, "models")
    assert models.status_code == 286 and "hx-trigger" not in models.content.decode()
    assert 'value="sgl_artist_v0.3.5_0925" checked' in models.content.decode()  # the vendor's default model
    loras = picker(member, "loras").content.decode()
    assert '<optgroup label="Public LoRAs">' in loras and "Watercolor Wash" in loras
    sizes = picker(member, "sizes").content.decode()
    assert 'value="640x640" selected' in sizes and "Custom…" in sizes
    controlnets = picker(member, "controlnets").content.decode()
    assert "+ Add ControlNet" in controlnets and '"name":"canny"' in controlnets

    page = member.get(reverse("generate")).content.decode()
    assert "from Miaohua…" not in page and 'name="versionid"' in page and "Models as of" in page
    assert refresh_jobs(queued_jobs) == []  # fresh now: nothing asked


def test_a_placeholder_keeps_the_value_and_the_picker_arrives_with_it(member, queued_jobs):
    page = member.get(reverse("generate"), {"versionid": "sdxl_base_v1.0", "lora": "lora_paper_cut_v1"})

    content = page.content.decode()
    assert '<input type="hidden" name="versionid" value="sdxl_base_v1.0">' in content
    assert '<input type="hidden" name="lora_versionid" value="lora_paper_cut_v1">' in content
    poll = re.search(r'hx-get="(/generate/pickers/models/[^"]*)"', content).group(1)
    assert poll.endswith("?versionid=sdxl_base_v1.0")

    queued_jobs.run()

    assert 'value="sdxl_base_v1.0" checked' in member.get(poll).content.decode()
    loras = picker(member, "loras", lora_versionid="lora_paper_cut_v1").content.decode()
    assert '<option value="lora_paper_cut_v1" selected>' in loras


def test_a_stale_catalog_is_served_and_refreshed_once_however_many_pages_ask(
    owner, account, queued_jobs, settings, django_user_model
):
    settings.CATALOG_CACHE_SECONDS = 0  # stale as soon as fetched
    catalog.catalog_refresh(account_id=account.pk, specs=catalog.GENERATE_SPECS)
    calls = stats.calls()
    clients = []
    for _ in range(8):
        browser = Client()
        browser.force_login(owner)
        clients.append(browser)
    answers, start = [], threading.Barrier(len(clients))

    def load(browser):
        start.wait()
        answers.append(browser.get(reverse("generate")))

    threads = [threading.Thread(target=load, args=(browser,)) for browser in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [answer.status_code for answer in answers] == [200] * 8
    for answer in answers:  # the stale lists, served (and the line saying they are being refreshed)
        assert "Loading the" not in answer.content.decode() and 'name="versionid"' in answer.content.decode()
    assert sorted(asked_specs(queued_jobs)) == sorted(catalog.GENERATE_SPECS)  # each asked once, not 8 times
    assert stats.calls() == calls  # and no page called the vendor

    queued_jobs.run()
    assert stats.calls("models/base") == 2
    assert catalog.read(account, [("base",)])[("base",)].refreshing is False  # the lock is released


def test_a_failed_refresh_is_a_readable_message_with_a_retry(member, queued_jobs, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=503,endpoints=models/base"
    member.get(reverse("generate"))
    queued_jobs.run()

    models = picker(member, "models")

    content = models.content.decode()
    assert models.status_code == 286 and "hx-trigger" not in content  # no endless spinner
    assert "Miaohua did not send the model list: The image service cannot be reached right now." in content
    assert "Retry" in content and "/generate/pickers/models/?retry=1" in content
    assert picker(member, "loras").status_code == 286  # the other lists came

    page = member.get(reverse("generate"))
    assert page.status_code == 200 and "Miaohua did not send the model list" in page.content.decode()
    assert refresh_jobs(queued_jobs) == []  # a refresh that failed a moment ago is not asked by every page

    settings.MIAOHUA_SIMULATOR_FAULTS = ""
    retried = picker(member, "models", retry="1")
    assert retried.status_code == 200 and "Loading the model list" in retried.content.decode()
    assert asked_specs(queued_jobs) == [("base",)]
    queued_jobs.run()
    assert picker(member, "models").status_code == 286
    assert 'name="versionid"' in picker(member, "models").content.decode()


def test_a_placeholder_that_waited_too_long_says_so_and_offers_a_retry(member, queued_jobs, settings):
    settings.CATALOG_WAIT_SECONDS = 0
    member.get(reverse("generate"))

    late = picker(member, "models")

    assert late.status_code == 286
    assert "Still waiting for the model list: Miaohua is slow to answer" in late.content.decode()
    assert "retry=1" in late.content.decode()


def test_a_form_posted_while_the_catalogs_are_cold_keeps_everything_typed(member, owner, queued_jobs):
    data = form_data(prompt="keep me, please", lora_versionid="lora_paper_cut_v1", mode="img2img", output_size="")
    data["init_image"] = png(name="mine.png")

    response = member.post(reverse("generate"), data)

    content = response.content.decode()
    assert response.status_code == 400 and not GenerationTask.objects.exists()
    assert "Miaohua&#x27;s model list and LoRA list are still loading: everything you entered is kept" in content
    assert "keep me, please" in content
    assert '<input type="hidden" name="versionid" value="sgl_artist_v0.3.5_0925">' in content
    assert '<input type="hidden" name="lora_versionid" value="lora_paper_cut_v1">' in content
    kept = InputImage.objects.get(owner=owner)  # the upload is stored: not to be chosen again
    assert f'name="init_image_input" value="{kept.pk}"' in content
    assert stats.calls() == 0

    queued_jobs.run()
    data = form_data(
        prompt="keep me, please", lora_versionid="lora_paper_cut_v1", mode="img2img", output_size="",
        init_image_input=str(kept.pk), idempotency_key=str(uuid.uuid4()),
    )  # fmt: skip
    assert member.post(reverse("generate"), data).status_code == 302
    task = GenerationTask.objects.get(owner=owner)
    assert task.prompt == "keep me, please" and task.params["lora_configs"][0]["versionid"] == "lora_paper_cut_v1"


def test_a_controlnet_unit_waits_for_the_controlnet_types(member, queued_jobs):
    early = member.get(reverse("controlnet_unit"), {"versionid": "sgl_artist_v0.3.5_0925"})

    assert early.status_code == 200 and "The ControlNet types are still loading" in early.content.decode()
    assert stats.calls() == 0 and refresh_jobs(queued_jobs)
    queued_jobs.run()
    unit = member.get(reverse("controlnet_unit"), {"versionid": "sgl_artist_v0.3.5_0925"}).content.decode()
    assert 'name="cn-0-cn"' in unit and '<option value="canny"' in unit


def test_refresh_asks_the_worker_and_the_status_line_follows_it(member, queued_jobs, account):
    catalog.catalog_refresh(account_id=account.pk, specs=catalog.GENERATE_SPECS)
    calls = stats.calls()

    page = member.get(reverse("generate"), {"refresh": "1"})

    content = page.content.decode()
    assert "Loading the" not in content and "refreshing from Miaohua…" in content  # the lists shown meanwhile
    assert f'hx-get="{reverse("generate_picker", args=["status"])}"' in content
    assert sorted(asked_specs(queued_jobs)) == sorted(catalog.GENERATE_SPECS) and stats.calls() == calls
    assert picker(member, "status").status_code == 200

    queued_jobs.run()
    status = picker(member, "status")
    assert status.status_code == 286 and "reload to use them" in status.content.decode()


def test_the_lora_picker_offers_the_accounts_own_models_only(member, client, queued_jobs, teammate, settings):
    settings.MIAOHUA_SIMULATOR_ACCOUNTS = "second@example.com:second"
    sim_catalog.ensure_seeded()
    SimModel.objects.create(
        kind=SimModel.Kind.PRIVATE, model_id=901, versionid="private_owl_v1", model_name="Our owl",
        owner=SimAccount.objects.get(email="demo@example.com"),
    )  # fmt: skip
    member.get(reverse("generate"))
    queued_jobs.run()
    assert "Our owl" in picker(member, "loras").content.decode()

    upstream_account_store(user=teammate, email="second@example.com", password="second")
    other = Client()
    other.force_login(teammate)
    waiting = picker(other, "loras")
    assert waiting.status_code == 200 and asked_specs(queued_jobs) == [("private",)]  # theirs, not ours
    queued_jobs.run()
    theirs = picker(other, "loras")
    assert theirs.status_code == 286 and "Our owl" not in theirs.content.decode()


def test_the_catalog_page_renders_at_once_and_its_results_fill_in(member, queued_jobs, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = SLOW
    started = time.monotonic()
    page = member.get(reverse("catalog"), {"kind": "lora", "q": "paper"})

    content = page.content.decode()
    assert page.status_code == 200 and time.monotonic() - started < 1.5 and stats.calls() == 0
    assert "Loading the list from Miaohua…" in content and 'value="paper"' in content
    assert 'hx-get="?kind=lora&amp;q=paper"' in content
    waiting = member.get(reverse("catalog"), {"kind": "lora", "q": "paper"}, HTTP_HX_REQUEST="true")
    assert waiting.status_code == 200 and "<html" not in waiting.content.decode()  # the fragment, polling

    settings.MIAOHUA_SIMULATOR_FAULTS = ""
    queued_jobs.run()
    results = member.get(reverse("catalog"), {"kind": "lora", "q": "paper"}, HTTP_HX_REQUEST="true")
    assert results.status_code == 286 and "Paper Cut" in results.content.decode()
    assert "hx-trigger" not in results.content.decode() and stats.calls("models/lora") == 1

    refreshed = member.get(reverse("catalog"), {"kind": "lora", "q": "paper", "refresh": "1"})
    assert "Paper Cut" in refreshed.content.decode() and "refreshing…" in refreshed.content.decode()
    assert refreshed.context["polling"] and stats.calls("models/lora") == 1
    queued_jobs.run()
    again = member.get(reverse("catalog"), {"kind": "lora", "q": "paper"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 286 and stats.calls("models/lora") == 2


def test_a_refresh_for_a_disconnected_account_releases_its_locks(member, owner, account, queued_jobs):
    member.get(reverse("generate"))
    account_id = account.pk
    account.delete()

    queued_jobs.run()

    restored = upstream_account_store(user=owner, email="demo@example.com", password="demo")
    assert restored.pk != account_id
    entries = catalog.read(restored, catalog.GENERATE_SPECS)
    assert not any(entry.refreshing for entry in entries.values())


def test_picker_urls_are_for_connected_members_and_take_any_input(member, outsider, admin_user, queued_jobs):
    url = reverse("generate_picker", args=["models"])
    visitor = Client()
    assert is_login_page(visitor.get(url))
    visitor.force_login(outsider)  # signed in, no Miaohua account
    assert visitor.get(url)["Location"].startswith(reverse("upstream_settings"))
    upstream_account_store(user=admin_user, email="demo@example.com", password="demo")
    admin = Client()
    admin.force_login(admin_user)
    assert admin.get(url).status_code == 200  # an admin with an account: the same placeholder, nothing more

    assert picker(member, "nonsense").status_code == 404
    assert picker(member, "status").status_code in (200, 286)
    for params in [{"versionid": "<script>x</script>" * 40}, {"output_size": "99999x-1"}, {"lora_versionid": "é" * 300},
                   {"retry": "yes"}]:  # fmt: skip
        for name in PICKERS:
            assert picker(member, name, **params).status_code in (200, 286), (name, params)
    assert "<script>x" not in picker(member, "models", versionid="<script>x</script>").content.decode()
