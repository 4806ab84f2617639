from urllib.parse import urlencode

from django import template
from django.urls import reverse

from miaohua_site.accounts.services import account_for_user
from miaohua_site.text import human_duration

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """ "8 s", "2 min 5 s", "1 h 4 min" (in the page's language); empty for None."""
    return human_duration(seconds)


@register.filter
def generate_url(job) -> str:
    """The Generate page pre-filled with the job's LoRA, the base model it was trained on, and its trigger word
    as the prompt."""
    query = {"lora": job.lora_versionid, "base": job.base_model, "prompt": job.trigger_word}
    return f"{reverse('generate')}?{urlencode({key: value for key, value in query.items() if value})}"


@register.filter
def usable_by(job, user) -> bool:
    """The LoRA is in this user's picker: the job was trained on the Miaohua account the user is connected to."""
    account = account_for_user(user)  # their own, or the team's
    return bool(job.lora_versionid and account and account.email.lower() == (job.account_email or "").lower())


@register.filter
def megabytes(size) -> str:
    if not size:
        return ""
    return f"{size / (1024 * 1024):.1f} MB" if size >= 100 * 1024 else f"{size / 1024:.0f} KB"
