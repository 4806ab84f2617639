"""Sending the product's own emails (password resets, invitations): the mail server is reached first and a
failure is raised as ``MailNotSent`` (Django's password reset logs it and lets the page report success)."""

import logging
from contextlib import contextmanager

from django.core.mail import EmailMultiAlternatives, get_connection
from django.template import loader
from django.utils import translation

logger = logging.getLogger(__name__)


class MailNotSent(Exception):
    """The mail server could not be reached, or did not take the email."""


@contextmanager
def mail_connection():
    """An open connection to the configured mail server, closed afterwards; ``MailNotSent`` when unreachable."""
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:
        logger.warning("The mail server could not be reached: %s", exc)
        raise MailNotSent(str(exc)) from exc
    try:
        yield connection
    finally:
        try:
            connection.close()
        except Exception:
            pass


def send_templated(
    *,
    connection,
    subject_template: str,
    body_template: str,
    context: dict,
    to_email: str,
    from_email: str | None = None,
    html_template: str | None = None,
    language: str | None = None,
) -> None:
    """One email from templates (the subject on one line) over ``connection``; ``MailNotSent`` on failure.
    ``language``: the recipient's (accounts.language.language_of(user)); None = the page's language."""
    with translation.override(language or translation.get_language()):
        subject = "".join(loader.render_to_string(subject_template, context).splitlines())
        body = loader.render_to_string(body_template, context)
        html = loader.render_to_string(html_template, context) if html_template is not None else None
    message = EmailMultiAlternatives(subject, body, from_email, [to_email], connection=connection)
    if html is not None:
        message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception as exc:
        logger.exception("An email (%s) could not be sent", subject_template)
        raise MailNotSent(str(exc)) from exc
