"""The Generate page, Describe, the Catalog and the queue badge in Simplified Chinese (issue #11): labels, a bad
form's errors beside the fields with the input kept, the quota line, the vendor's refusals, stored messages."""

import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from PIL import Image

from generation.forms import GenerateForm
from generation.models import GenerationTask
from generation.services import submit
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.i18n import english, shown
from team.models import TeamSettings
from tests.generation.test_views import form_data

live = pytest.mark.django_db(transaction=True)


def png(size=(320, 320), name="in.png", fmt="PNG"):
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def chinese(client):
    client.cookies["django_language"] = "zh-hans"
    return client


@pytest.fixture
def connected(chinese, owner, simulator_url, settings, tmp_path, engine_held):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    chinese.force_login(owner)
    return chinese


def error_beside(page: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}_error">([^<]*)<', page)
    assert match, f"no message beside {field_id}"
    return match.group(1)


@live
def test_the_generate_page_speaks_chinese(connected):
    page = connected.get(reverse("generate")).content.decode()
    assert '<html lang="zh-Hans"' in page
    for label in ("基础模型", "提示词", "反向提示词", "图片数量", "提示词相关性", "迭代步数", "种子", "保留此种子",
                  "输出尺寸", "LoRA 权重", "更多选项", "让妙画优化我的提示词", "内容过滤严格度", "文生图", "图生图",
                  "初始图", "重绘幅度", "从历史记录中选择", "你最近的任务", "还没有生成任何内容。", "反推提示词",
                  "+ 添加 ControlNet", "掷骰", "随机"):
        assert label in page, label
    assert 'placeholder="黄昏时悬崖上的灯塔，体积光"' in page
    assert ">生成<kbd" in page  # the Generate button, with its shortcut hint
    for english_text in ("Base model", "Negative prompt", "More options", "Your recent tasks", "Pick from history"):
        assert english_text not in page


@live
def test_a_bad_form_says_what_is_wrong_beside_the_fields_in_chinese_and_keeps_the_input(connected):
    data = form_data(prompt="一只红狐狸 in the snow", output_size="custom", width="", height="100", mode="img2img",
                     strength="", n_images="9")
    response = connected.post(reverse("generate"), data)
    page = response.content.decode()

    assert response.status_code == 400
    assert "有些设置需要检查，请查看字段旁的提示。你输入的内容都没有丢失。" in page
    assert error_beside(page, "id_width") == "请输入 512–6144 像素的宽度。"
    assert error_beside(page, "id_init_image") == "图生图需要一张初始图：请上传一张，或从历史记录中选择。"
    assert error_beside(page, "id_strength") == "请输入 0 到 1 之间的重绘幅度。"
    assert "8" in error_beside(page, "id_n_images") and "Ensure" not in error_beside(page, "id_n_images")  # Django's
    assert "一只红狐狸 in the snow</textarea>" in page  # what was typed is kept
    assert 'value="100"' in page


@live
def test_an_upload_the_vendor_would_refuse_is_explained_in_chinese(connected):
    response = connected.post(reverse("generate"), {**form_data(mode="img2img"), "init_image": png((300, 100))})
    message = error_beside(response.content.decode(), "id_init_image")
    assert message == "这张图片为 300×100，妙画接受 256×256 到 6144×6144 像素。"

    connected.cookies["django_language"] = "en"
    response = connected.post(reverse("generate"), {**form_data(mode="img2img"), "init_image": png((300, 100))})
    message = error_beside(response.content.decode(), "id_init_image")
    assert message == "This image is 300×100; Miaohua accepts 256×256 to 6144×6144 pixels."


@live
def test_a_refusal_of_the_vendor_on_describe_is_shown_in_chinese(connected, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=500,endpoints=img2txt"
    response = connected.post(reverse("describe"), {"image": png()})
    page = response.content.decode()
    assert "妙画无法为这张图片反推提示词：" in page
    assert "Miaohua could not describe this image" not in page
    settings.MIAOHUA_SIMULATOR_FAULTS = ""


@live
def test_describe_speaks_chinese(connected):
    page = connected.get(reverse("describe")).content.decode()
    assert "<h1>反推提示词</h1>" in page
    assert "妙画为图片写一段描述（img2txt），可以用作提示词来生成变体。" in page
    assert "从历史记录中选择图片" in page  # the picker's title

    bad = connected.post(reverse("describe"), {"image": SimpleUploadedFile("x.png", b"nope")}).content.decode()
    assert "此文件不是可读取的图片。" in bad


@live
def test_the_quota_line_is_labelled_in_chinese(connected, owner):
    TeamSettings.objects.update_or_create(pk=1, defaults={"images_per_day": 50, "tasks_in_flight": 3})
    page = connected.get(reverse("generate")).content.decode()
    line = re.search(r'<div[^>]*id="quota-left".*?</div>', page, re.S).group(0)
    assert "你的配额：" in line and "50" in line and "hidden" not in line.split(">")[0]


@live
def test_the_queue_badge_in_chinese(connected, owner):
    for _ in range(2):
        GenerationTask.objects.create(owner=owner, state=GenerationTask.State.QUEUED, prompt="waiting")
    badge = connected.get(reverse("queue_badge")).content.decode()
    assert "队列" in badge and 'title="你进行中的任务"' in badge
    assert re.search(r'aria-label="我的队列：2 个进行中，你的下一个任务(即将轮到|排在第\d+位)"', badge)

    connected.cookies["django_language"] = "en"
    english_badge = connected.get(reverse("queue_badge")).content.decode()
    assert re.search(r'aria-label="My queue: 2 running, your next task is (next|\d+(st|nd|rd|th) in line)"',
                     english_badge)


@pytest.mark.django_db
def test_the_catalog_page_speaks_chinese(chinese, owner, simulator_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    chinese.force_login(owner)
    page = chinese.get(reverse("catalog")).content.decode()
    labels = ("<h1>模型目录</h1>", "基础模型", "我的模型", "开源 ControlNet", "按名称、风格、作者搜索…")
    for label in labels:
        assert label in page, label
    assert ">搜索</button>" in page


def test_the_stored_messages_are_english_and_shown_in_the_readers_language():
    retrying = english(submit.RETRYING, reason="Busy.", attempt=2, attempts=3)
    assert retrying == "Busy. Trying again shortly (attempt 2 of 3)."
    assert submit.NOT_CONNECTED == "Connect your Miaohua account (Settings) to generate images."
    with translation.override("zh-hans"):
        assert shown(submit.NOT_CONNECTED) == "请先连接你的妙画账号（设置）再生成图片。"
        assert shown(submit.INPUT_MISSING) == "一张输入图片已不可用，请重新选择。"
        assert "稍后重试（第 2 次，共 3 次）。" in shown(retrying)
        assert english(submit.RETRYING, reason="x", attempt=1, attempts=2).startswith("x Trying again")
    with translation.override("en"):
        assert shown(retrying) == retrying


def test_the_loading_message_and_the_lora_warning_in_chinese():
    form = GenerateForm({"versionid": "x", "lora_versionid": "l", "output_size": "960x960"},
                        loading=["models", "loras", "sizes"])
    with translation.override("zh-hans"):
        form.is_valid()
        assert form.errors["versionid"][-1] == (
            "模型列表、LoRA 列表、输出尺寸仍在从妙画加载：你输入的内容都已保留，请稍后再次点击「生成」。"
        )
        assert "是为 {made_for} 制作的" in json.loads(form.lora_made_for_json)["message"]
    with translation.override("en"):
        english_form = GenerateForm({"versionid": "x", "output_size": "960x960"}, loading=["sizes"])
        english_form.is_valid()
        assert english_form.errors["versionid"][-1].startswith("Miaohua's output sizes are still loading")
        one = GenerateForm({"versionid": "x"}, loading=["models"])
        one.is_valid()
        assert one.errors["versionid"][-1].startswith("Miaohua's model list is still loading")


@live
def test_plural_of_the_controlnet_limit(chinese, owner, simulator_url):
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    chinese.force_login(owner)
    full = chinese.get(reverse("controlnet_unit"), {"present": ["0", "1", "2"]}).content.decode()
    assert "每个任务最多 3 个 ControlNet。" in full
    chinese.cookies["django_language"] = "en"
    assert "At most 3 ControlNets per task." in chinese.get(reverse("controlnet_unit"),
                                                            {"present": ["0", "1", "2"]}).content.decode()


def test_a_picker_on_its_way_says_so_in_chinese_with_a_stored_english_error():
    from django.template.loader import render_to_string

    from generation import catalog
    from generation.catalog import Picker

    with translation.override("zh-hans"):
        loading = render_to_string("_picker_wait.html", {"picker": Picker("models", "loading")})
        slow = render_to_string("_picker_wait.html", {"picker": Picker("loras", "slow")})
        failed = render_to_string("_picker_wait.html", {"picker": Picker("sizes", "error", error=catalog.UNEXPECTED)})
    assert "模型列表正在从妙画加载…" in loading
    assert "LoRA 列表仍未送达：妙画响应较慢，或后台任务繁忙。" in slow
    assert "输出尺寸未能从妙画获取：无法读取列表（我们这边出现了意外错误），请重试。" in failed
    assert ">重试</button>" in failed
    with translation.override("en"):
        picker = Picker("sizes", "error", error=catalog.UNEXPECTED)
        english_failed = render_to_string("_picker_wait.html", {"picker": picker})
    assert "Miaohua did not send the output sizes: The list could not be read" in english_failed
