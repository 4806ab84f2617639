"""The team's word lists for dynamic prompts (issue #13): admins create, edit and delete them (audited, every
field checked beside it); members and viewers read them; nobody else changes them."""

import pytest
from django.urls import reverse

from generation.models import WordList
from miaohua_site.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def colours(admin_user):
    return WordList.objects.create(name="colour", words="red\nblue", updated_by=admin_user)


def test_an_admin_creates_edits_and_deletes_a_list_and_each_is_audited(client, admin_user):
    client.force_login(admin_user)
    created = client.post(reverse("wordlist_create"), {"name": "Animal", "words": "cat\n\n  dog \n{red|blue} fox"})
    assert created.status_code == 302 and created["Location"] == reverse("wordlist_list")
    wordlist = WordList.objects.get()
    assert (wordlist.name, wordlist.word_list, wordlist.updated_by) == (
        "animal",
        ["cat", "dog", "{red|blue} fox"],
        admin_user,
    )

    edited = client.post(reverse("wordlist_edit", args=[wordlist.pk]), {"name": "animal", "words": "cat\nowl"})
    assert edited.status_code == 302
    wordlist.refresh_from_db()
    assert wordlist.word_list == ["cat", "owl"]

    assert client.post(reverse("wordlist_delete", args=[wordlist.pk])).status_code == 302
    assert not WordList.objects.exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="word_list")
        .order_by("pk")
        .values_list("action", "actor", "details")
    )
    assert actions == [
        ("word_list_created", admin_user.pk, {"name": "animal", "words": 3}),
        ("word_list_changed", admin_user.pk, {"name": "animal", "words": 2}),
        ("word_list_deleted", admin_user.pk, {"name": "animal"}),
    ]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "two words", "words": "x"}, "name", "Enter a valid “slug”"),
        ({"name": "my_list", "words": "x"}, "name", "Use hyphens, not underscores"),
        ({"name": "colour", "words": "x"}, "name", "There is already a word list called “colour”."),
        ({"name": "COLOUR", "words": "x"}, "name", "There is already a word list called “colour”."),
        ({"name": "", "words": "x"}, "name", "This field is required."),
        ({"name": "empty", "words": "\n  \n"}, "words", "Give at least one word."),
        ({"name": "many", "words": "w\n" * 501}, "words", "That is 501 words; a list holds at most 500."),
        ({"name": "long", "words": "ok\n" + "x" * 201}, "words", "Word 2 is 201 characters long (at most 200)."),
        ({"name": "broken", "words": "ok\n{red|blue"}, "words", "Word 2: The “{” at character 1 is never closed"),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_kept(client, admin_user, colours, data, field, message):
    client.force_login(admin_user)
    response = client.post(reverse("wordlist_create"), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert f'id="id_{field}_error"' in page
    if data["name"]:
        assert f'value="{data["name"]}"' in page
    assert WordList.objects.count() == 1
    assert not AuditEvent.objects.filter(action__startswith="word_list").exists()


def test_renaming_onto_another_list_is_refused(client, admin_user, colours):
    other = WordList.objects.create(name="animal", words="cat")
    client.force_login(admin_user)
    response = client.post(reverse("wordlist_edit", args=[other.pk]), {"name": "colour", "words": "cat"})
    assert response.status_code == 400 and "There is already a word list called “colour”." in response.content.decode()
    other.refresh_from_db()
    assert other.name == "animal"


@pytest.mark.parametrize("who", ["owner", "viewer"])
def test_members_and_viewers_read_the_lists_but_cannot_change_them(client, request, colours, who):
    client.force_login(request.getfixturevalue(who))
    page = client.get(reverse("wordlist_list")).content.decode()
    assert "__colour__" in page and "red · blue" in page
    assert reverse("wordlist_create") not in page and reverse("wordlist_edit", args=[colours.pk]) not in page
    assert client.get(reverse("wordlist_create")).status_code == 403
    assert client.post(reverse("wordlist_create"), {"name": "mine", "words": "x"}).status_code == 403
    assert client.get(reverse("wordlist_edit", args=[colours.pk])).status_code == 403
    assert client.post(reverse("wordlist_edit", args=[colours.pk]), {"name": "colour", "words": "x"}).status_code == 403
    assert client.post(reverse("wordlist_delete", args=[colours.pk])).status_code == 403
    colours.refresh_from_db()
    assert colours.word_list == ["red", "blue"] and WordList.objects.count() == 1


def test_signed_out_visitors_are_sent_to_sign_in(client, colours):
    for url in (reverse("wordlist_list"), reverse("wordlist_create"), reverse("wordlist_edit", args=[colours.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.post(reverse("wordlist_delete", args=[colours.pk])).status_code == 302
    assert WordList.objects.exists()


def test_a_missing_list_is_a_404_for_admins(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("wordlist_edit", args=[999])).status_code == 404
    assert client.post(reverse("wordlist_delete", args=[999])).status_code == 404
    assert client.get("/word-lists/abc/").status_code == 404


def test_the_admin_menu_links_the_lists(client, admin_user, owner):
    client.force_login(admin_user)
    assert reverse("wordlist_list") in client.get(reverse("history")).content.decode()
