"""The datasets and training pages in Simplified Chinese (issue #11): labels, a bad form's errors beside its fields,
messages a worker stored in English shown in the reader's language, and the plurals of image counts."""

import html as htmllib
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.i18n import english
from miaohua_site.simulator import catalog
from tests.i18n.english import english_left, words_of
from tests.training.conftest import picture
from training.models import Dataset, DatasetImage, DatasetImport, TrainingEvent, TrainingJob
from training.services.datasets import TOO_LARGE
from training.services.poller import LORA_MISSING, TIMED_OUT, TWO_NAMES, VENDOR_STATES, _wait_words
from training.services.recovery import IMPORT_INTERRUPTED
from training.templatetags.training_tags import duration

pytestmark = pytest.mark.django_db(transaction=True)
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
LAYOUT = ("My queue", "Your tasks in progress", "Queue")  # the shared layout's, not this area's


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MIAOHUA_SIMULATOR_FAULTS = ""


@pytest.fixture
def account(admin_user, simulator_url):
    catalog.ensure_seeded()
    return upstream_account_store(user=admin_user, email="demo@example.com", password="demo")


@pytest.fixture
def admin(client, admin_user, account):
    client.force_login(admin_user)
    return client


@pytest.fixture
def dataset(admin, account) -> Dataset:
    """A dataset at Miaohua with three images (sent by the inline worker)."""
    admin.post(reverse("dataset_create"), {"name": "Round cats", "description": ""})
    dataset = Dataset.objects.get(name="Round cats")
    images = [picture("one.png"), picture("two.png", colour="gold"), picture("three.png", colour="navy")]
    admin.post(reverse("dataset_upload", args=[dataset.pk]), {"images": images}, HTTP_ACCEPT="application/json")
    dataset.refresh_from_db()
    assert dataset.vendor_dataset_id is not None
    return dataset


def text(response) -> str:
    """The page's words, tags removed and white space folded."""
    return htmllib.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split()))


def test_the_datasets_list_speaks_chinese_with_plural_image_counts(admin, dataset, account):
    Dataset.objects.create(name="Lonely", upstream_account=account, account_email=account.email)
    single = Dataset.objects.create(name="Single", upstream_account=account, account_email=account.email)
    DatasetImage.objects.create(dataset=single, state=DatasetImage.State.ADDED, original_name="a.png")

    page = admin.get(reverse("dataset_list"), **ZH)
    words = text(page)
    assert page.status_code == 200
    for label in ("数据集", "新建数据集", "从妙画导入", "已在妙画", "尚未上传到妙画", "还没有图片"):
        assert label in words, label
    assert "3 张图片" in words and "1 张图片" in words
    assert 'title="导入你的妙画账号上已有的数据集"' in page.content.decode()

    english_page = text(admin.get(reverse("dataset_list"), **EN))
    assert "3 images" in english_page and "1 image " in english_page and "New dataset" in english_page


def test_the_dataset_form_shows_its_errors_in_chinese_beside_the_fields(admin, account):
    form = text(admin.get(reverse("dataset_create"), **ZH))
    for label in ("新建数据集", "名称", "描述", "创建数据集", "取消"):
        assert label in form, label

    response = admin.post(reverse("dataset_create"), {"name": "", "description": ""}, **ZH)
    html = response.content.decode()
    assert response.status_code == 400
    beside = re.search(r'id="id_name_error">([^<]*)<', html)
    assert beside and "必填" in beside.group(1)  # Django's own "This field is required." in Chinese
    assert not Dataset.objects.exists()

    created = admin.post(reverse("dataset_create"), {"name": "Round cats", "description": ""}, follow=True, **ZH)
    assert "数据集「Round cats」已创建，请在下方添加图片。" in text(created)


def test_the_dataset_page_shows_states_counts_and_stored_reasons_in_both_languages(admin, dataset):
    reason = english(TOO_LARGE, mb=5)
    assert reason == "This image is over 5 MB; Miaohua accepts at most 5 MB."  # stored in English
    refused = DatasetImage.State.REFUSED
    DatasetImage.objects.create(dataset=dataset, state=refused, original_name="big.png", error=reason)

    page = admin.get(reverse("dataset_detail", args=[dataset.pk]), **ZH)
    words, html = text(page), page.content.decode()
    labels = ("添加图片", "把图片拖到这里", "选择文件", "3 / 3 张已在妙画", "1 张被拒绝", "被拒绝的文件", "移除所选")
    for label in labels:
        assert label in words, label
    assert "这张图片超过 5 MB；妙画最多接受 5 MB。" in words
    assert 'aria-label="one.png: 已添加"' in html and 'aria-label="被拒绝：big.png"' in html
    assert 'data-confirm="要从此数据集中移除所选图片吗（妙画上的也会移除）？"' in html

    english_page = text(admin.get(reverse("dataset_detail", args=[dataset.pk]), **EN))
    assert reason in english_page and "3 of 3 at Miaohua" in english_page and "Refused files" in english_page


def test_uploads_answer_in_chinese(admin, dataset):
    answer = admin.post(
        reverse("dataset_upload", args=[dataset.pk]), {"images": [picture("four.png")]}, follow=True, **ZH
    )
    assert "已收到 1 张图片，正在发送到妙画。" in text(answer)
    two = admin.post(
        reverse("dataset_upload", args=[dataset.pk]),
        {"images": [picture("five.png"), picture("six.png", colour="red")]},
        follow=True,
        **EN,
    )
    assert "2 images received, on the way to Miaohua." in text(two)


def test_the_training_page_and_its_bad_form_speak_chinese(admin, dataset):
    page = admin.get(reverse("training_list"), **ZH)
    words = text(page)
    for label in ("训练", "新建训练", "名称", "触发词", "基础模型", "训练主体", "开始训练", "还没有训练。", "通知"):
        assert label in words, label
    assert "Round cats（3 张图片）" in words  # the dataset's image count, in Chinese

    data = {
        "idempotency_key": str(uuid.uuid4()),
        "name": "Round cats LoRA",
        "trigger_word": "round, cat",
        "base_model": "SDXL 1.0",
        "main_body": "Animals",
        "datasets": [dataset.pk],
    }
    response = admin.post(reverse("training_create"), data, **ZH)
    html = response.content.decode()
    assert response.status_code == 400 and not TrainingJob.objects.exists()
    assert re.search(r'id="id_trigger_word_error">触发词不能包含逗号、分号或换行。<', html)
    assert "有些字段需要检查，请看旁边的提示。你输入的内容都还在。" in text(response)

    english_response = admin.post(reverse("training_create"), data, **EN)
    assert "A trigger word cannot contain commas, semicolons or line breaks." in english_response.content.decode()


def _failed_job(admin_user, account, dataset, message) -> TrainingJob:
    job = TrainingJob.objects.create(
        owner=admin_user, upstream_account=account, account_email=account.email, name="Round cats LoRA",
        base_model="SDXL 1.0", main_body="Animals", trigger_word="roundcat", state=TrainingJob.State.FAILED,
        error_message=message, finished_at=timezone.now(),
    )  # fmt: skip
    job.datasets.add(dataset)
    TrainingEvent.objects.create(job=job, state=TrainingJob.State.RUNNING, message=VENDOR_STATES["running"])
    TrainingEvent.objects.create(job=job, state=TrainingJob.State.FAILED, message=message)
    return job


def test_a_failed_jobs_stored_english_reason_is_shown_in_chinese_and_in_english(admin, admin_user, account, dataset):
    reason = english(TIMED_OUT, hours="2")
    assert reason == "Miaohua did not finish the training within 2 hours."
    job = _failed_job(admin_user, account, dataset, reason)

    card = admin.get(reverse("training_card", args=[job.pk]), HTTP_HX_REQUEST="true", **ZH)
    words = text(card)
    assert card.status_code == 286
    assert "妙画未在 2 小时内完成训练。" in words and reason not in words
    assert "失败" in words and "正在妙画上训练。" in words  # the state label and the log
    page = text(admin.get(reverse("training_list"), **ZH))
    assert "训练失败：Round cats LoRA" in admin.get(reverse("training_list"), **ZH).content.decode()
    assert "妙画未在 2 小时内完成训练。" in page

    english_card = text(admin.get(reverse("training_card", args=[job.pk]), HTTP_HX_REQUEST="true", **EN))
    assert reason in english_card and "Training at Miaohua." in english_card and "Failed" in english_card
    job.refresh_from_db()
    assert job.error_message == reason  # reading it in Chinese changed nothing stored


def test_a_stored_message_with_nested_values_is_translated_whole(admin, admin_user, account, dataset):
    names = english(TWO_NAMES, first="train_round", second="Round cats LoRA")
    reason = english(LORA_MISSING, names=names, wait=_wait_words(7200))
    assert "no model named 'train_round' or 'Round cats LoRA'" in reason and "within 2 hours." in reason
    job = _failed_job(admin_user, account, dataset, reason)
    TrainingJob.objects.filter(pk=job.pk).update(state=TrainingJob.State.DONE)

    card = text(admin.get(reverse("training_card", args=[job.pk]), HTTP_HX_REQUEST="true", **ZH))
    assert (
        "妙画已完成训练，但 2 小时内该账号的私有模型中没有出现名为 'train_round' 或 'Round cats LoRA' 的模型。"
    ) in card


def test_durations_read_in_the_pages_language():
    with translation.override("zh-hans"):
        assert [duration(8), duration(125), duration(3840)] == ["8 秒", "2 分 5 秒", "1 小时 4 分"]
    with translation.override("en"):
        assert [duration(8), duration(125), duration(3840), duration(None)] == ["8 s", "2 min 5 s", "1 h 4 min", ""]


def test_no_english_is_left_on_the_training_pages_in_every_state(admin, admin_user, account, dataset):
    failed = DatasetImage.State.FAILED
    DatasetImage.objects.create(dataset=dataset, state=failed, original_name="f.png", error=english(TOO_LARGE, mb=5))
    DatasetImport.objects.create(
        account_email=account.email, state=DatasetImport.State.FAILED, error=IMPORT_INTERRUPTED,
        finished_at=timezone.now(),
    )  # fmt: skip
    _failed_job(admin_user, account, dataset, english(TIMED_OUT, hours="2"))
    for number, state in enumerate((TrainingJob.State.QUEUED, TrainingJob.State.SUBMITTING, TrainingJob.State.DONE)):
        TrainingJob.objects.create(
            owner=admin_user, upstream_account=account, account_email=account.email, name=f"job {number}",
            base_model="SDXL 1.0", main_body="Animals", trigger_word="roundcat", state=state,
        )  # fmt: skip
    kept = words_of("Round cats", "roundcat", "SDXL", "Animals", "admin", "demo@example.com", "one.png", "two.png",
                    "three.png", "f.png", "job")  # fmt: skip
    admin.get(reverse("dataset_list"))  # the fixture's message (made in English) is read
    for url in (reverse("dataset_list"), reverse("dataset_detail", args=[dataset.pk]), reverse("training_list"),
                reverse("dataset_edit", args=[dataset.pk]), reverse("training_notices")):  # fmt: skip
        left = [t for t in english_left(admin.get(url, **ZH).content.decode(), kept) if not t.startswith(LAYOUT)]
        assert not left, (url, left)


def test_a_refusal_made_in_a_chinese_request_is_stored_in_english(admin, dataset):
    admin.post(reverse("dataset_upload", args=[dataset.pk]), {"images": [picture("tiny.png", size=(64, 64))]}, **ZH)

    refused = dataset.images.get(state=DatasetImage.State.REFUSED)
    assert refused.error.startswith("This image is 64×64"), refused.error
