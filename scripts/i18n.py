#!/usr/bin/env python3
"""The translation catalogs (issue #11): locale/zh_Hans/LC_MESSAGES/django.po (Python and templates) and
djangojs.po (static/*.js). Needs GNU gettext (xgettext, msgfmt, msgmerge) — a developer's and CI's tool, not a
user's: the compiled .mo files are committed, so `dev.py start` needs nothing more.

    .venv/bin/python scripts/i18n.py extract   # new strings into the .po files (untranslated), gone ones dropped
    .venv/bin/python scripts/i18n.py compile   # .po → .mo (commit both)
    .venv/bin/python scripts/i18n.py check     # CI: fails on a string without a zh-Hans translation, a fuzzy one,
                                               # a .po behind the code, or a .mo behind its .po
    .venv/bin/python scripts/i18n.py merge [--fresh] PART.po…  # translations of other .po files for the same msgids
                                               # (people translating in parallel, each in locale/parts/NAME.po)
    .venv/bin/python scripts/i18n.py todo templates/team team/  # what is left to translate from those files
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
LANGUAGES = ["zh_Hans"]
DOMAINS = ["django", "djangojs"]
IGNORE = [".venv", ".venv/*", "bench/*", "tests/*", "staticfiles/*", "media/*", ".local/*", "scripts/*",
          "node_modules/*", "docs/*", "*/migrations/*", "static/bootstrap/*"]
PY = Path(sys.executable)


def po_path(language: str, domain: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / f"{domain}.po"


def _catalogs() -> list[Path]:
    return [po_path(lang, domain) for lang in LANGUAGES for domain in DOMAINS if po_path(lang, domain).exists()]


HEADER = {
    "Project-Id-Version: PACKAGE VERSION": "Project-Id-Version: Miaohua Studio",
    "PO-Revision-Date: YEAR-MO-DA HO:MI+ZONE": "PO-Revision-Date: 2026-12-01 00:00+0000",
    "Last-Translator: FULL NAME <EMAIL@ADDRESS>": "Last-Translator: Miaohua Studio <studio@localhost>",
    "Language-Team: LANGUAGE <LL@li.org>": "Language-Team: Miaohua Studio <studio@localhost>",
    "Language: ": "Language: zh_Hans",
    "Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;": "Plural-Forms: nplurals=1; plural=0;",
}


def extract(locations: bool = False) -> None:
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "miaohua_site.settings"}
    for domain in DOMAINS:
        where = "--add-location=file" if locations else "--no-location"
        args = [str(PY), "manage.py", "makemessages", where, "--no-obsolete", "--no-wrap", "-d", domain]
        for language in LANGUAGES:
            args += ["-l", language]
        for pattern in IGNORE:
            args += ["--ignore", pattern]
        if domain == "djangojs":
            args += ["--extension", "js"]
        else:
            args += ["--extension", "html,txt,py"]
        subprocess.run(args, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    for po in _catalogs():  # makemessages leaves the header's placeholders; msgfmt wants the plural forms
        # msgmerge's guesses for new strings ("fuzzy", from a similar old one) are dropped: a person translates them
        po.write_text(po.read_text().replace('#, fuzzy\nmsgid ""', 'msgid ""', 1))  # the header is no guess
        subprocess.run(["msgattrib", "--clear-fuzzy", "--empty", "--no-wrap", "-o", str(po), str(po)], check=True)
        text = po.read_text()
        for placeholder, value in HEADER.items():
            text = text.replace(f'"{placeholder}\\n"', f'"{value}\\n"')
        text = re.sub(r'"POT-Creation-Date: [^"]*\\n"\n', "", text)  # a date in the diff of every extract
        text = re.sub(r'^msgstr\[[1-9]\] ""\n', "", text, flags=re.M)  # one plural form in Chinese (a new file has 2)
        po.write_text(text)


def compile_catalogs() -> None:
    for language in LANGUAGES:
        for domain in DOMAINS:
            po = po_path(language, domain)
            if po.exists():
                subprocess.run(["msgfmt", "--check-format", "-o", str(po.with_suffix(".mo")), str(po)], check=True)


def _entries(po: Path) -> list[dict]:
    """msgid / msgid_plural / msgstr[...] / flags of each entry, with a small parser (no polib needed)."""
    entries, entry, key = [], None, None
    for line in po.read_text().splitlines() + [""]:
        if not line.strip():
            if entry:
                entries.append(entry)
            entry, key = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"] |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#:"):
            entry.setdefault("where", []).extend(line[2:].split())
        elif line.startswith("#"):
            continue
        else:
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"$', line)
            if match:
                key = match.group(1)
                value = match.group(3)
                if key.startswith("msgstr"):
                    key = ("msgstr", match.group(2) or "0")
                entry.setdefault(key, "")
                entry[key] += value
            elif line.startswith('"') and key is not None:
                entry[key] += line[1:-1]
    for entry in entries:
        for key in [k for k in entry if isinstance(k, tuple)]:
            entry["msgstr"][key[1]] = entry.pop(key)
    return [e for e in entries if e.get("msgid", "") or "msgctxt" in e]


def _problems(po: Path) -> list[str]:
    problems = []
    for entry in _entries(po):
        shown = entry["msgid"][:70]
        if "fuzzy" in entry["flags"]:
            problems.append(f"{po.name}: fuzzy: {shown!r}")
        elif not entry["msgstr"] or any(not v for v in entry["msgstr"].values()):
            problems.append(f"{po.name}: not translated: {shown!r}")
    return problems


def check() -> int:
    problems = []
    backup = Path(tempfile.mkdtemp())
    shutil.copytree(LOCALE, backup / "locale")
    try:
        before = {p: p.read_text() for p in _catalogs()}
        for po in before:  # as committed: a translation marked fuzzy (extract would empty it)
            problems += [p for p in _problems(po) if ": fuzzy: " in p]
        extract()
        for po in _catalogs():
            problems += _problems(po)
            if po in before and _ids(before[po]) != _ids(po.read_text()):
                problems.append(f"{po.relative_to(ROOT)} is behind the code: run scripts/i18n.py extract")
        # the committed .mo must say what the committed .po says
        for po, text in before.items():
            mo = po.with_suffix(".mo")
            fresh = backup / (po.stem + ".fresh.mo")
            (backup / po.name).write_text(text)
            subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(backup / po.name)], check=True)
            if not mo.exists() or _catalog(mo) != _catalog(fresh):
                problems.append(f"{mo.relative_to(ROOT)} is behind its .po: run scripts/i18n.py compile")
    finally:
        shutil.rmtree(LOCALE)
        shutil.copytree(backup / "locale", LOCALE)
        shutil.rmtree(backup)
    for problem in problems:
        print(problem)
    total = sum(len(_entries(p)) for p in _catalogs())
    print(f"{total} strings, {len(problems)} problem(s)")
    return 1 if problems else 0


def _ids(text: str) -> set:
    with tempfile.NamedTemporaryFile("w", suffix=".po", delete=False) as handle:
        handle.write(text)
    try:
        return {(e.get("msgctxt"), e["msgid"], e.get("msgid_plural")) for e in _entries(Path(handle.name))}
    finally:
        os.unlink(handle.name)


def _catalog(mo: Path) -> dict:
    with mo.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)


def todo(prefixes: list[str]) -> None:
    """While translating: the catalogs extracted with file names and filled from locale/parts/*.po, then the entries
    still untranslated whose strings come from files under ``prefixes``, printed as .po entries to fill in and add
    to a parts file. (Leaves django.po with locations: `extract` puts it back.)"""
    extract(locations=True)
    parts = [str(p) for p in sorted((LOCALE / "parts").glob("*.po"))]  # several people's work, before it is merged
    if parts:
        merge(parts, locations=True)
    for po in _catalogs():
        for entry in _entries(po):
            where = entry.get("where", [])
            untranslated = not entry["msgstr"] or any(not v for v in entry["msgstr"].values())
            if not (untranslated or "fuzzy" in entry["flags"]):
                continue
            if prefixes and not any(w.startswith(tuple(prefixes)) for w in where):
                continue
            print(f"#: {' '.join(where)}  ({po.name})")
            if "msgctxt" in entry:
                print(f'msgctxt "{entry["msgctxt"]}"')
            print(f'msgid "{entry["msgid"]}"')
            if "msgid_plural" in entry:
                print(f'msgid_plural "{entry["msgid_plural"]}"')
                print('msgstr[0] ""')
            else:
                print('msgstr ""')
            print()


def merge(parts: list[str], locations: bool = False, fresh: bool = False) -> None:
    """Fill the untranslated entries of every catalog with the translations other .po files give the same msgid;
    ``fresh``: every translation of the catalogs comes from those files (the catalogs' own are emptied first)."""
    if fresh:
        for po in _catalogs():
            subprocess.run(["msgfilter", "--keep-header", "--no-wrap", "-i", str(po), "-o", str(po), "sed", "-e", "d"],
                           check=True)
    known = {}
    for part in parts:
        for entry in _entries(Path(part)):
            if "fuzzy" not in entry["flags"] and entry["msgstr"] and all(entry["msgstr"].values()):
                known.setdefault((entry.get("msgctxt"), entry["msgid"], entry.get("msgid_plural")), entry["msgstr"])
    with tempfile.TemporaryDirectory() as tmp:
        compendium = Path(tmp) / "compendium.po"
        subprocess.run(["msgcat", "--use-first", "-o", str(compendium), *parts], check=True)
        for language in LANGUAGES:
            for domain in DOMAINS:
                po = po_path(language, domain)
                if po.exists():
                    subprocess.run(
                        ["msgmerge", "--quiet", "--no-fuzzy-matching", "--no-wrap",
                         "--add-location=file" if locations else "--no-location",
                         "--compendium", str(compendium), "-U", "--backup=none", str(po), str(po)],
                        check=True,
                    )
    print(f"{len(known)} translations known from {len(parts)} file(s)")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "extract":
        extract()
    elif command == "compile":
        compile_catalogs()
    elif command == "check":
        sys.exit(check())
    elif command == "todo":
        todo(sys.argv[2:])
    elif command == "merge":
        fresh = "--fresh" in sys.argv
        merge([a for a in sys.argv[2:] if a != "--fresh"], fresh=fresh)
    else:
        sys.exit(__doc__)
