"""The team's word lists for dynamic prompts (issue #13): ``__name__`` in a prompt is one of a list's words.
Admins create, change and delete them (audited); everyone may read them. The form and the services."""

from django import forms
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from generation import dynamic_prompts as dp
from generation.models import WordList
from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent
from miaohua_site.forms import StudioFormMixin

MAX_WORDS = 500
MAX_WORD_LENGTH = 200


class WordListForm(StudioFormMixin, forms.ModelForm):
    class Meta:
        model = WordList
        fields = ["name", "words"]
        widgets = {"words": forms.Textarea(attrs={"rows": 10, "spellcheck": "false"})}
        help_texts = {
            "name": _("Lower-case letters, digits and hyphens; used in prompts as __name__."),
            "words": _(
                "One word or phrase per line (at most 500, each at most 200 characters); they may use {a|b} and "
                "other lists."
            ),
        }
        error_messages = {
            "name": {"unique": _("There is already a word list called that.")},
            "words": {"required": _("Give at least one word.")},
        }

    def clean_name(self):
        name = self.cleaned_data["name"].strip().lower()
        if "_" in name:
            raise forms.ValidationError(gettext("Use hyphens, not underscores: __ marks the list in a prompt."))
        if WordList.objects.filter(name=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(gettext("There is already a word list called “%(name)s”.") % {"name": name})
        return name

    def clean_words(self):
        words = [line.strip() for line in self.cleaned_data["words"].splitlines() if line.strip()]
        if not words:
            raise forms.ValidationError(gettext("Give at least one word."))
        if len(words) > MAX_WORDS:
            raise forms.ValidationError(
                gettext("That is %(count)s words; a list holds at most %(max)s.")
                % {"count": len(words), "max": MAX_WORDS}
            )
        for number, word in enumerate(words, start=1):
            if len(word) > MAX_WORD_LENGTH:
                raise forms.ValidationError(
                    gettext("Word %(number)s is %(length)s characters long (at most %(max)s).")
                    % {"number": number, "length": len(word), "max": MAX_WORD_LENGTH}
                )
            try:
                dp.parse(word)
            except dp.DynamicPromptError as error:
                raise forms.ValidationError(
                    gettext("Word %(number)s: %(error)s") % {"number": number, "error": error.message}
                ) from None
        return "\n".join(words)


def wordlist_save(*, form: WordListForm, actor) -> WordList:
    created = form.instance.pk is None
    with transaction.atomic():
        wordlist = form.save(commit=False)
        wordlist.updated_by = actor
        wordlist.save()
        audit.record(
            AuditEvent.Action.WORD_LIST_CREATED if created else AuditEvent.Action.WORD_LIST_CHANGED,
            actor=actor,
            target=wordlist,
            name=wordlist.name,
            words=len(wordlist.word_list),
        )
    return wordlist


def wordlist_delete(*, wordlist: WordList, actor) -> None:
    with transaction.atomic():
        audit.record(AuditEvent.Action.WORD_LIST_DELETED, actor=actor, target=wordlist, name=wordlist.name)
        wordlist.delete()
