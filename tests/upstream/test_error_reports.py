"""A real error report of a call that fails inside ``requests`` carries neither the password nor the token, in
any frame: not in ``requests``' own (its ``json=`` body, its headers), not in ours."""

import sys

import pytest
import requests
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from miaohua_site.simulator.services.accounts import account_create

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "reported@example.com"
PASSWORD = "Tr0ub4dor-and-3-more"


class AnswerNotHandled(Exception):
    pass


def failing_session() -> requests.Session:
    """A session whose answers fail inside requests itself (a response hook), after the vendor answered."""

    def explode(response, *args, **kwargs):
        raise AnswerNotHandled("the answer could not be handled")

    session = requests.Session()
    session.hooks["response"].append(explode)
    return session


def report_of(call) -> tuple[str, str]:
    try:
        call()
    except AnswerNotHandled:
        exc_info = sys.exc_info()
    else:
        pytest.fail("the call should have failed inside requests")
    reporter = ExceptionReporter(RequestFactory().get("/"), *exc_info)
    return reporter.get_traceback_text(), reporter.get_traceback_html()


@pytest.fixture
def token(make_client):
    account_create(email=EMAIL, password=PASSWORD)
    return make_client(email=EMAIL, password=PASSWORD).get_token()


def test_the_password_of_get_token_is_in_no_frame(make_client, token):
    client = make_client(email=EMAIL, password=PASSWORD, session=failing_session())
    text, html = report_of(client.get_token)
    assert "requests/sessions.py" in text and "<td>json</td>" in html  # requests' frames and their variables
    assert EMAIL in html  # what is no secret is still shown
    for report in (text, html):
        assert PASSWORD not in report


def test_the_token_of_a_call_is_in_no_frame(make_client, token):
    client = make_client(email=None, password=None, token=token, session=failing_session())
    text, html = report_of(lambda: client.task_results(["one-task"]))
    assert "requests/sessions.py" in text and "task_results" in html
    for report in (text, html):
        assert token not in report


def test_the_bearer_header_of_an_upload_is_in_no_frame(make_client, token, png_path):
    client = make_client(email=None, password=None, token=token, session=failing_session())
    text, html = report_of(lambda: client.upload_img(png_path))
    assert "requests/sessions.py" in text and "<td>headers</td>" in html
    for report in (text, html):
        assert token not in report
