"""miaohua_site.params: the one reader of ids, numbers and ``next`` from a request (issue #9 §2)."""

import pytest
from django.test import RequestFactory

from miaohua_site.params import DB_ID_MAX, BadParameter, IdConverter, int_list, int_param, parse_id, safe_next

HUGE = "99999999999999999999999999"


def test_it_parses_ids_within_the_databases_range():
    assert parse_id("42") == 42
    assert parse_id(str(DB_ID_MAX)) == DB_ID_MAX
    for bad in ["", "0", "-1", "1.5", "NaN", "abc", "²", "١٢", " 1", HUGE, str(DB_ID_MAX + 1), None]:
        assert parse_id(bad) is None, bad


def test_it_reads_a_parameter_as_none_a_number_or_a_400():
    data = RequestFactory().get("/", {"image": "7", "empty": "", "task": ["1", "2", "1"]}).GET
    assert int_param(data, "image") == 7
    assert int_param(data, "empty") is None and int_param(data, "absent") is None
    assert int_list(data, "task") == [1, 2]
    with pytest.raises(BadParameter, match="“image” must be a whole number"):
        int_param(RequestFactory().get("/", {"image": HUGE}).GET, "image")
    with pytest.raises(BadParameter):
        int_list(RequestFactory().get("/", {"task": ["1", "abc"]}).GET, "task")


def test_its_id_converter_refuses_ids_beyond_64_bits():
    assert IdConverter().to_python(str(DB_ID_MAX)) == DB_ID_MAX
    with pytest.raises(ValueError):
        IdConverter().to_python(str(DB_ID_MAX + 1))


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/history/?q=a", "/history/?q=a"),
        ("abc", None),
        ("history", None),
        ("//evil.example/x", None),
        ("https://evil.example/", None),
        ("http://testserver/history/", None),  # only paths: every caller redirects to it as it is
        ("", None),
    ],
)
def test_safe_next_is_a_path_on_this_site(target, expected):
    assert safe_next(RequestFactory().get("/", {"next": target})) == expected
