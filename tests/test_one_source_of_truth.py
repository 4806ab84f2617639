"""Issue #9 §5: every setting of ours is defined once, in settings.py, and listed in .env.example; no dead code."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = [ROOT / "generation", ROOT / "library", ROOT / "training", ROOT / "team", ROOT / "miaohua_site"]
OURS = re.compile(r"^(GENERATION|TRAINING|WORKERS|CATALOG|MIAOHUA)_[A-Z0-9_]+$")
# Reads of a setting: settings.NAME, getattr(settings, "NAME" ...), a helper's _setting("NAME" ...).
READS = re.compile(
    r"settings\.([A-Z][A-Z0-9_]+)|getattr\(\s*settings,\s*\"([A-Z][A-Z0-9_]+)\"|_setting\(\s*\"([A-Z0-9_]+)\""
)
ENV_READS = re.compile(r"env_(?:str|int|bool|float|list)\(\s*\"([A-Z][A-Z0-9_]+)\"")


def _sources():
    for folder in CODE:
        for path in folder.rglob("*.py"):
            if path.name != "settings.py" and "migrations" not in path.parts:
                yield path


def _read_names() -> set[str]:
    names = set()
    for path in _sources():
        for match in READS.finditer(path.read_text()):
            names.add(next(group for group in match.groups() if group))
    return names


def _env_example() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.M))


def test_it_finds_the_settings_the_code_reads():
    names = _read_names()
    assert {"GENERATION_TIMEOUT_SECONDS", "TRAINING_UPLOAD_BATCH_FILES", "CATALOG_CACHE_SECONDS"} <= names


def test_it_defines_every_setting_of_ours_in_settings_py():
    settings_py = (ROOT / "miaohua_site" / "settings.py").read_text()
    defined = set(re.findall(r"^([A-Z][A-Z0-9_]+)\s*=", settings_py, flags=re.M))
    missing = sorted(name for name in _read_names() if OURS.match(name) and name not in defined)
    assert missing == [], f"read by the code but not defined in settings.py: {missing}"


def test_it_lists_every_setting_of_ours_in_env_example():
    listed = _env_example()
    missing = sorted(name for name in _read_names() if OURS.match(name) and name not in listed)
    assert missing == [], f"read by the code but not in .env.example: {missing}"


def test_it_lists_every_variable_settings_py_reads_in_env_example():
    settings_py = (ROOT / "miaohua_site" / "settings.py").read_text()
    missing = sorted(set(ENV_READS.findall(settings_py)) - _env_example())
    assert missing == [], f"read from the environment but not in .env.example: {missing}"


def test_it_reads_our_settings_without_inline_defaults():
    """A default beside a read is a second source of truth: the one in settings.py is the only one. (The
    simulator, a stand-in for the vendor that imports nothing of ours, keeps its own.)"""
    found = []
    for path in _sources():
        if "simulator" in path.parts:
            continue
        for match in re.finditer(r"(?:getattr\(\s*settings,\s*|_setting\(\s*)\"([A-Z0-9_]+)\"\s*,", path.read_text()):
            if OURS.match(match.group(1)):
                found.append(f"{path.relative_to(ROOT)}: {match.group(1)}")
    assert found == []


@pytest.mark.parametrize(
    "module, name",
    [
        ("miaohua_site.accounts.services", "client_for"),
        ("miaohua_site.accounts.services", "NotConnected"),
        ("generation.templatetags.studio", "is_final"),
        ("generation.templatetags.studio", "FINAL"),
        ("generation.submission", "INPUT_PREFIX"),
        ("generation.images", "DEFAULT_MAX_BYTES"),
    ],
)
def test_it_has_no_dead_code(module, name):
    import importlib

    assert not hasattr(importlib.import_module(module), name)


def test_a_task_has_no_elapsed_property():
    from generation.models import GenerationTask

    assert not hasattr(GenerationTask, "elapsed")
