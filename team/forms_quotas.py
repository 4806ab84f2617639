"""The quotas page's forms: the team's defaults and one member's own limits (three numbers, blank = …)."""

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from miaohua_site.forms import StudioForm

MAX_IMAGES = 10_000_000
MAX_TASKS = 10_000


def _limit_message(maximum: int, blank) -> str:
    return gettext("Use a whole number from 0 to %(maximum)s, or leave it blank for %(blank)s.") % {
        "maximum": f"{maximum:,}",
        "blank": blank,
    }


_lazy_limit_message = lazy(_limit_message, str)


def _limit(label, maximum: int, blank) -> forms.IntegerField:
    message = _lazy_limit_message(maximum, blank)  # in the language of the page that shows it
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=maximum,
        error_messages={"invalid": message, "min_value": message, "max_value": message},
        widget=forms.NumberInput(attrs={"min": 0, "max": maximum, "step": 1, "inputmode": "numeric"}),
    )


class QuotaForm(StudioForm):
    blank_means = pgettext_lazy("quota left blank", "no limit")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["images_per_day"] = _limit(_("Images per day"), MAX_IMAGES, self.blank_means)
        self.fields["images_per_month"] = _limit(_("Images per month"), MAX_IMAGES, self.blank_means)
        self.fields["tasks_in_flight"] = _limit(_("Tasks in flight"), MAX_TASKS, self.blank_means)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-sm"
            field.widget.attrs["placeholder"] = self.blank_means
        self.order_fields(["images_per_day", "images_per_month", "tasks_in_flight"])


class TeamQuotaForm(QuotaForm):
    blank_means = pgettext_lazy("quota left blank", "no limit")


class MemberQuotaForm(QuotaForm):
    blank_means = pgettext_lazy("quota left blank", "the team default")
