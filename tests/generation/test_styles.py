"""Styles (issue #13): laid over the prompt in the order picked ({prompt} replaced, otherwise appended after a
comma, empty left alone), checked against Miaohua's prompt length, recorded on the task and filterable in
history; personal styles are their owner's alone, team styles everyone's to use and the admins' to change."""

import re

import pytest
from django.urls import reverse

from generation import styles
from generation.models import GeneratedImage, GenerationTask, Style
from generation.vendor_rules import PROMPT_MAX
from library.models import MemberSettings
from miaohua_site.accounts.services import upstream_account_store
from tests.generation.test_views import form_data

live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connected(client, owner, simulator_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.1
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    client.force_login(owner)
    return client


def style(owner, name, prompt="", neg="", scope=Style.Scope.PERSONAL, **settings):
    return Style.objects.create(owner=owner, name=name, prompt=prompt, neg_prompt=neg, scope=scope, **settings)


# --- laying templates over the prompt ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "text", "expected"),
    [
        ("{prompt}, moody light", "a lighthouse", "a lighthouse, moody light"),
        ("oil painting of {prompt}", "a lighthouse", "oil painting of a lighthouse"),
        ("film grain", "a lighthouse", "a lighthouse, film grain"),  # no placeholder: appended after ", "
        ("film grain", "", "film grain"),
        ("{prompt}, film grain", "", "film grain"),  # no dangling comma over an empty text
        ("", "a lighthouse", "a lighthouse"),  # an empty template leaves it
        ("   ", "a lighthouse", "a lighthouse"),
    ],
)
def test_it_lays_one_template_over_the_text(template, text, expected):
    assert styles.lay_over(template, text) == expected


def test_styles_stack_in_order_each_over_the_text_so_far():
    first = Style(name="A", prompt="oil painting of {prompt}", neg_prompt="blurry")
    second = Style(name="B", prompt="{prompt}, golden hour", neg_prompt="{prompt}, text")
    assert styles.compose([first, second], "a cat", "") == ("oil painting of a cat, golden hour", "blurry, text")
    assert styles.compose([second, first], "a cat", "") == ("oil painting of a cat, golden hour", "text, blurry")
    third = Style(name="C", prompt="{prompt} in a frame")
    assert styles.compose([first, third], "a cat", "")[0] == "oil painting of a cat in a frame"
    assert styles.compose([third, first], "a cat", "")[0] == "oil painting of a cat in a frame"
    wrap = Style(name="W", prompt="[{prompt}]")
    assert styles.compose([wrap, first], "x", "")[0] == "oil painting of [x]"
    assert styles.compose([first, wrap], "x", "")[0] == "[oil painting of x]"


@pytest.mark.django_db
def test_the_form_applies_them_in_the_order_picked_not_the_listed_one(owner):
    a, b = style(owner, "A", "[{prompt}]"), style(owner, "B", "({prompt})")
    data = {"style-ids": [str(a.pk), str(b.pk)], "style-order": f"{b.pk},{a.pk}"}
    from django.http import QueryDict

    post = QueryDict(mutable=True)
    post.setlist("style-ids", data["style-ids"])
    post["style-order"] = data["style-order"]
    form = styles.StylesForm(post, user=owner, prefix="style")
    assert form.is_valid(), form.errors
    params, ids, names = styles.apply(form, params={"prompt": "x", "neg_prompt": ""})
    assert params["prompt"] == "[(x)]" and ids == [b.pk, a.pk] and names == "B, A"
    post.pop("style-order")  # no script: the order they were posted in
    form = styles.StylesForm(post, user=owner, prefix="style")
    assert form.is_valid()
    assert styles.apply(form, params={"prompt": "x", "neg_prompt": ""})[0]["prompt"] == "([x])"


# --- through the Generate page -------------------------------------------------------------------------------


@live
def test_two_styles_are_laid_over_the_prompt_and_recorded_on_the_task(connected, owner):
    moody = style(owner, "Moody", "{prompt}, moody light", "blurry")
    film = style(owner, "Film", "analog photo of {prompt}", "{prompt}, text")
    response = connected.post(
        reverse("generate"),
        form_data(prompt="a lighthouse", **{"style-ids": [str(moody.pk), str(film.pk)]}),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    task = GenerationTask.objects.get(owner=owner)
    assert task.params["prompt"] == "analog photo of a lighthouse, moody light"
    assert task.params["neg_prompt"] == "blurry, text"
    assert task.prompt == "analog photo of a lighthouse, moody light"
    assert set(task.styles.all()) == {moody, film} and task.style_names == "Moody, Film"

    history = connected.get(reverse("history"), {"style": moody.pk}).content.decode()
    assert f"Task {task.pk}" in history and "Moody, Film" in history
    other = style(owner, "Unused", "{prompt}, x")
    assert f"Task {task.pk}" not in connected.get(reverse("history"), {"style": other.pk}).content.decode()
    page = connected.get(reverse("history"), {"style": "abc"})
    assert page.status_code == 200 and "Choose a style from the list." in page.content.decode()

    reused = connected.get(reverse("generate"), {"task": task.pk}).content.decode()  # "Reuse settings"
    assert re.search(rf'value="{moody.pk}"[^>]*checked', reused) and re.search(
        rf'value="{film.pk}"[^>]*checked', reused
    )
    assert f'value="{moody.pk},{film.pk}"' in reused  # their order kept


@live
def test_a_styled_prompt_over_the_limit_is_refused_beside_the_styles(connected, owner):
    long = style(owner, "Long", "{prompt}, " + "x" * (PROMPT_MAX - 10))
    response = connected.post(reverse("generate"), form_data(prompt="a lighthouse at dusk", **{"style-ids": [long.pk]}))
    page = response.content.decode()
    assert response.status_code == 400
    assert "With these styles the prompt is 1012 characters; Miaohua takes at most 1000" in page
    assert "a lighthouse at dusk" in page  # nothing entered is lost
    assert not GenerationTask.objects.exists()


@live
def test_someone_elses_personal_style_cannot_be_picked_by_a_tampered_post(connected, owner, teammate, admin_user):
    theirs = style(teammate, "Secret", "{prompt}, secret sauce")
    team = style(admin_user, "House", "{prompt}, house look", scope=Style.Scope.TEAM)
    page = connected.get(reverse("generate")).content.decode()
    assert "Secret" not in page and "House" in page

    response = connected.post(reverse("generate"), form_data(**{"style-ids": [str(theirs.pk)]}))
    assert response.status_code == 400
    assert "not yours to use, or no longer exists" in response.content.decode()
    response = connected.post(reverse("generate"), form_data(**{"style-ids": ["nonsense"]}))
    assert response.status_code == 400
    assert not GenerationTask.objects.exists()

    response = connected.post(reverse("generate"), form_data(**{"style-ids": [str(team.pk)]}))
    assert response.status_code == 302
    assert GenerationTask.objects.get().params["prompt"] == "a lighthouse at dusk, house look"


# --- the Styles pages ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_personal_styles_are_their_owners_alone(client, owner, teammate, outsider):
    mine = style(owner, "Mine", "{prompt}, mine")
    for someone in (teammate, outsider):
        client.force_login(someone)
        assert "Mine" not in client.get(reverse("style_list")).content.decode()
        assert client.get(reverse("style_edit", args=[mine.pk])).status_code == 404
        assert client.post(reverse("style_edit", args=[mine.pk]), {"name": "Taken"}).status_code == 404
        assert client.get(reverse("style_delete", args=[mine.pk])).status_code == 404
        assert client.post(reverse("style_delete", args=[mine.pk])).status_code == 404
    assert Style.objects.get(pk=mine.pk).name == "Mine"
    client.force_login(owner)
    assert "Mine" in client.get(reverse("style_list")).content.decode()
    assert client.post(reverse("style_delete", args=[mine.pk])).status_code == 302
    assert not Style.objects.filter(pk=mine.pk).exists()


@pytest.mark.django_db
def test_team_styles_are_seen_by_all_and_changed_by_admins_only(client, owner, admin_user):
    house = style(admin_user, "House", "{prompt}, house", scope=Style.Scope.TEAM)
    client.force_login(owner)
    page = client.get(reverse("style_list")).content.decode()
    assert "House" in page and reverse("style_edit", args=[house.pk]) not in page
    assert client.get(reverse("style_edit", args=[house.pk])).status_code == 403
    assert client.post(reverse("style_edit", args=[house.pk]), {"name": "Mine now"}).status_code == 403
    assert client.post(reverse("style_delete", args=[house.pk])).status_code == 403
    response = client.post(reverse("style_create"), {"name": "Sneaky", "scope": "team", "prompt": "{prompt}, x"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not Style.objects.filter(name="Sneaky").exists()

    client.force_login(admin_user)
    response = client.post(
        reverse("style_edit", args=[house.pk]), {"name": "House look", "scope": "team", "prompt": "{prompt}, house"}
    )
    assert response.status_code == 302
    assert Style.objects.get(pk=house.pk).name == "House look"
    response = client.post(reverse("style_create"), {"name": "Second", "scope": "team", "neg_prompt": "lowres"})
    assert response.status_code == 302 and Style.objects.get(name="Second").scope == "team"


@pytest.mark.django_db
def test_viewers_see_styles_but_cannot_make_them(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("style_list")).status_code == 200
    assert client.get(reverse("style_create")).status_code == 403
    assert client.post(reverse("style_create"), {"name": "V", "prompt": "{prompt}"}).status_code == 403
    assert client.post(reverse("style_from_generate"), {"prompt": "x"}).status_code == 403
    assert not Style.objects.exists()


@pytest.mark.django_db
def test_bad_input_on_the_style_form_is_said_beside_each_field(client, owner):
    style(owner, "Taken", "{prompt}, t")
    client.force_login(owner)
    response = client.post(
        reverse("style_create"),
        {
            "name": "taken",
            "scope": "personal",
            "prompt": "y" * (PROMPT_MAX + 1),
            "output_size": "huge",
            "ddim_steps": "0",
            "scale": "abc",
            "lora_weight": "9",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "There is already a style with this name" in page
    assert "Ensure this value has at most 1000 characters" in page
    assert "Write the size as width x height" in page
    assert "greater than or equal to 1" in page and "Enter a whole number" in page
    assert "less than or equal to 2" in page
    assert "y" * 50 in page  # what was typed is kept
    response = client.post(reverse("style_create"), {"name": "  ", "scope": "personal"})
    assert "This field is required" in response.content.decode() or "Give the style a name" in response.content.decode()
    response = client.post(reverse("style_create"), {"name": "Empty", "scope": "personal"})
    assert "A style needs a template or at least one setting" in response.content.decode()
    assert Style.objects.count() == 1


@live
def test_save_these_settings_as_a_style_keeps_the_generate_form(connected, owner):
    opened = connected.post(
        reverse("style_from_generate"), form_data(prompt="a lighthouse, moody light", neg_prompt="blurry")
    )
    page = opened.content.decode()
    assert opened.status_code == 200 and 'name="newstyle-name"' in page
    assert "{prompt}, a lighthouse, moody light" in page  # the prompt as template, {prompt} put first

    bad = connected.post(
        reverse("style_from_generate"),
        form_data(**{"newstyle-save": "1", "newstyle-name": "", "newstyle-prompt": "{prompt}, moody"}),
    )
    assert "Give the style a name" in bad.content.decode() or "This field is required" in bad.content.decode()
    assert 'value="{prompt}, moody"' in bad.content.decode() or "{prompt}, moody" in bad.content.decode()

    saved = connected.post(
        reverse("style_from_generate"),
        form_data(
            ddim_steps="33",
            **{
                "newstyle-save": "1",
                "newstyle-name": "Moody",
                "newstyle-scope": "personal",
                "newstyle-prompt": "{prompt}, moody light",
                "newstyle-neg_prompt": "blurry",
                "newstyle-keep": ["ddim_steps", "output_size"],
            },
        ),
    )
    answer = saved.content.decode()
    assert saved.status_code == 200 and "Style “Moody” saved" in answer
    assert 'id="style-picker"' in answer and 'hx-swap-oob="true"' in answer and "Moody" in answer
    moody = Style.objects.get(name="Moody")
    assert (moody.owner, moody.prompt, moody.neg_prompt) == (owner, "{prompt}, moody light", "blurry")
    assert (moody.ddim_steps, moody.output_size, moody.versionid, moody.scale) == (33, "640x640", "", None)
    assert '"ddim_steps": 33' in answer.replace("&quot;", '"')  # the settings the page puts into the form
    assert 'name="prompt"' not in answer  # the Generate form is not re-rendered: nothing typed there is lost


# --- the sample thumbnail ------------------------------------------------------------------------------------


def stored_image(task, index=0):
    return GeneratedImage.objects.create(
        task=task,
        save_index=index,
        file="a.png",
        thumbnail="a.webp",
        mirror_state=GeneratedImage.MirrorState.STORED,
        stored_at=task.created_at,
    )


def made_with(owner, look, prompt="p"):
    task = GenerationTask.objects.create(owner=owner, prompt=prompt, params={}, state=GenerationTask.State.DONE)
    task.styles.add(look)
    return task


@pytest.mark.django_db
def test_the_sample_is_the_newest_image_the_reader_may_see(owner, teammate, admin_user, django_assert_num_queries):
    MemberSettings.objects.create(user=teammate, share_with_team=False)
    house = style(admin_user, "House", "{prompt}, house", scope=Style.Scope.TEAM)
    other = style(admin_user, "Other", "{prompt}, other", scope=Style.Scope.TEAM)
    mine = stored_image(made_with(owner, house))
    private = stored_image(made_with(teammate, house))  # newer, but the teammate does not share

    def sample_for(reader, look=house):
        return next(s.sample_id for s in styles.with_samples(Style.objects.all(), reader) if s.pk == look.pk)

    assert sample_for(owner) == mine.pk  # the teammate's private image is not shown to the owner
    assert sample_for(teammate) == private.pk
    assert sample_for(admin_user) == private.pk
    assert sample_for(owner, other) is None

    house.sample_image = private  # chosen by an admin: shown only to those who may see it
    house.save()
    assert sample_for(admin_user) == private.pk
    assert sample_for(owner) == mine.pk
    house.sample_image = mine
    house.save()
    assert sample_for(teammate) == mine.pk  # the owner shares (the default)
    with django_assert_num_queries(1):
        list(styles.with_samples(Style.objects.all(), owner))


@pytest.mark.django_db
def test_the_edit_page_offers_only_images_made_with_the_style_that_the_editor_sees(client, owner, teammate):
    MemberSettings.objects.create(user=teammate, share_with_team=False)
    mine = style(owner, "Mine", "{prompt}, mine")
    shown = stored_image(made_with(owner, mine))
    hidden = stored_image(made_with(teammate, mine))
    client.force_login(owner)
    page = client.get(reverse("style_edit", args=[mine.pk])).content.decode()
    assert reverse("image_file", args=[shown.pk, "thumb"]) in page
    assert reverse("image_file", args=[hidden.pk, "thumb"]) not in page
    response = client.post(
        reverse("style_edit", args=[mine.pk]),
        {"name": "Mine", "scope": "personal", "prompt": "{prompt}, mine", "sample": str(hidden.pk)},
    )
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    response = client.post(
        reverse("style_edit", args=[mine.pk]),
        {"name": "Mine", "scope": "personal", "prompt": "{prompt}, mine", "sample": str(shown.pk)},
    )
    assert response.status_code == 302
    assert Style.objects.get(pk=mine.pk).sample_image_id == shown.pk


@pytest.mark.django_db
def test_a_team_style_name_is_the_teams_once(client, admin_user, owner):
    style(owner, "House", "{prompt}, personal house")  # a personal style of the same name is no clash
    style(admin_user, "House", "{prompt}, house", scope=Style.Scope.TEAM)
    client.force_login(admin_user)
    response = client.post(reverse("style_create"), {"name": "house", "scope": "team", "prompt": "{prompt}, again"})
    page = response.content.decode()
    assert response.status_code == 400
    assert page.count("There is already a style with this name") == 1 and "Constraint" not in page
    response = client.post(reverse("style_create"), {"name": "House", "scope": "personal", "prompt": "{prompt}, a"})
    assert response.status_code == 302
    assert Style.objects.filter(name="House").count() == 3
