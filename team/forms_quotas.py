"""The quotas page's forms: the team's defaults and one member's own limits (three numbers, blank = …)."""

from django import forms

from miaohua_site.forms import StudioForm

MAX_IMAGES = 10_000_000
MAX_TASKS = 10_000


def _limit(label: str, maximum: int, blank: str) -> forms.IntegerField:
    message = f"Use a whole number from 0 to {maximum:,}, or leave it blank for {blank}."
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=maximum,
        error_messages={"invalid": message, "min_value": message, "max_value": message},
        widget=forms.NumberInput(attrs={"min": 0, "max": maximum, "step": 1, "inputmode": "numeric"}),
    )


class QuotaForm(StudioForm):
    blank_means = "no limit"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["images_per_day"] = _limit("Images per day", MAX_IMAGES, self.blank_means)
        self.fields["images_per_month"] = _limit("Images per month", MAX_IMAGES, self.blank_means)
        self.fields["tasks_in_flight"] = _limit("Tasks in flight", MAX_TASKS, self.blank_means)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-sm"
            field.widget.attrs["placeholder"] = self.blank_means
        self.order_fields(["images_per_day", "images_per_month", "tasks_in_flight"])


class TeamQuotaForm(QuotaForm):
    blank_means = "no limit"


class MemberQuotaForm(QuotaForm):
    blank_means = "the team default"
