"""Dynamic prompts (issue #13): ``{red|blue|green}`` alternatives, nested (``{a {big|small} car|a bus}``), and the
team's word lists as ``__name__`` (generation.models.WordList), expanded at submission so each task records the
prompt it was really made with.

A small recursive-descent parser, no eval: a template is a sequence of parts (literal text, a choice between
sequences, a word list reference). ``\\{`` ``\\}`` ``\\|`` ``\\_`` ``\\\\`` are escapes: the character without its
backslash. A word list's words are templates themselves (they may hold ``{…}`` and ``__other__``), parsed when
used, to a depth of MAX_DEPTH lists (a cycle is an error that names the chain).

Two modes: ``random`` (one choice per task, from a seeded random.Random, so a batch is reproducible) and
``combinations`` (every expansion, in order: the cartesian product, capped)."""

import itertools
import random as random_module
from dataclasses import dataclass

from django.utils.translation import gettext, ngettext

MAX_DEPTH = 5  # word lists within word lists
ESCAPABLE = "{}|_\\"
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


class DynamicPromptError(ValueError):
    """A template that cannot be expanded; ``message`` is for the member, beside the prompt."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Text:
    text: str


@dataclass
class Choice:
    options: list  # of sequences (lists of parts)


@dataclass
class ListRef:
    name: str


def _where(source: str, pos: int) -> str:
    start = max(0, pos - 12)
    return ("…" if start else "") + source[start : pos + 1]


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.pos = 0

    def parse(self) -> list:
        parts = self.sequence(top=True)
        if self.pos < len(self.source):  # only a stray "}" stops the top level early
            raise DynamicPromptError(
                gettext("A “}” at character %(pos)s closes nothing (near “%(near)s”); write \\} for the character.")
                % {"pos": self.pos + 1, "near": _where(self.source, self.pos)}
            )
        return parts

    def sequence(self, *, top: bool) -> list:
        parts: list = []
        text: list[str] = []

        def flush():
            if text:
                parts.append(Text("".join(text)))
                text.clear()

        src = self.source
        while self.pos < len(src):
            ch = src[self.pos]
            if ch == "\\" and self.pos + 1 < len(src) and src[self.pos + 1] in ESCAPABLE:
                text.append(src[self.pos + 1])
                self.pos += 2
            elif ch == "{":
                flush()
                parts.append(self.choice())
            elif ch == "}" or (ch == "|" and not top):
                break
            elif ch == "_" and src.startswith("__", self.pos):
                ref = self.list_ref()
                if ref is None:
                    text.append("__")
                    self.pos += 2
                else:
                    flush()
                    parts.append(ref)
            else:
                text.append(ch)
                self.pos += 1
        flush()
        return parts

    def choice(self) -> Choice:
        opened = self.pos
        self.pos += 1  # the "{"
        options = [self.sequence(top=False)]
        while self.pos < len(self.source) and self.source[self.pos] == "|":
            self.pos += 1
            options.append(self.sequence(top=False))
        if self.pos >= len(self.source):
            raise DynamicPromptError(
                gettext(
                    "The “{” at character %(pos)s is never closed (near “%(near)s”); add a “}”, "
                    "or write \\{ for the character."
                )
                % {"pos": opened + 1, "near": _where(self.source, opened)}
            )
        self.pos += 1  # the "}"
        return Choice(options)

    def list_ref(self) -> ListRef | None:
        """``__name__`` at pos, or None (two underscores that are just text)."""
        start = self.pos + 2
        end = start
        while end < len(self.source) and self.source[end] in NAME_CHARS:
            end += 1
        if end == start or not self.source.startswith("__", end):
            return None
        self.pos = end + 2
        return ListRef(self.source[start:end].lower())


def parse(source: str) -> list:
    return _Parser(source or "").parse()


def plain(parts: list) -> str:
    """The text of a template without dynamic parts (its escapes resolved; otherwise unchanged)."""
    return "".join(part.text for part in parts)


def has_syntax(parts: list) -> bool:
    return any(not isinstance(part, Text) for part in parts)


class Expander:
    """Expands templates against the team's word lists (``lists``: name → words; loaded once, on first need)."""

    def __init__(self, lists: dict[str, list[str]] | None = None):
        self._lists = lists
        self._parsed: dict[str, list] = {}

    @property
    def lists(self) -> dict[str, list[str]]:
        if self._lists is None:
            from generation.models import WordList

            self._lists = {wl.name: wl.word_list for wl in WordList.objects.all()}
        return self._lists

    def _words(self, name: str, chain: tuple) -> list[list]:
        if name in chain:
            raise DynamicPromptError(
                gettext("The word lists refer to each other in a circle: %(chain)s.")
                % {"chain": " → ".join(f"__{n}__" for n in (*chain, name))}
            )
        if len(chain) >= MAX_DEPTH:
            raise DynamicPromptError(
                gettext("Word lists are nested more than %(depth)s deep: %(chain)s.")
                % {"depth": MAX_DEPTH, "chain": " → ".join(f"__{n}__" for n in (*chain, name))}
            )
        if name not in self.lists:
            names = ", ".join(f"__{n}__" for n in sorted(self.lists)) or gettext("none yet")
            raise DynamicPromptError(
                gettext("There is no word list called “%(name)s”; the team's lists: %(names)s.")
                % {"name": name, "names": names}
            )
        words = self.lists[name]
        if not words:
            raise DynamicPromptError(gettext("The word list “%(name)s” has no words.") % {"name": name})
        key = name
        if key not in self._parsed:
            try:
                self._parsed[key] = [parse(word) for word in words]
            except DynamicPromptError as error:
                raise DynamicPromptError(
                    gettext("In the word list “%(name)s”: %(error)s") % {"name": name, "error": error.message}
                ) from None
        return self._parsed[key]

    # --- every combination -----------------------------------------------------------------------------------

    def count(self, parts: list, chain: tuple = ()) -> int:
        """How many expansions a sequence has (without making them)."""
        total = 1
        for part in parts:
            if isinstance(part, Choice):
                total *= sum(self.count(option, chain) for option in part.options)
            elif isinstance(part, ListRef):
                total *= sum(self.count(word, (*chain, part.name)) for word in self._words(part.name, chain))
        return total

    def every(self, parts: list, chain: tuple = ()):
        """Every expansion of a sequence, in order (the first option of everything first; the last part varies
        fastest)."""
        pools = []
        for part in parts:
            if isinstance(part, Text):
                pools.append((part.text,))
            elif isinstance(part, Choice):
                pools.append(lambda p=part, c=chain: itertools.chain.from_iterable(self.every(o, c) for o in p.options))
            else:
                words = self._words(part.name, chain)
                pools.append(
                    lambda w=words, c=(*chain, part.name): itertools.chain.from_iterable(self.every(x, c) for x in w)
                )
        yield from _product(pools)

    # --- random ----------------------------------------------------------------------------------------------

    def pick(self, parts: list, rng: random_module.Random, chain: tuple = ()) -> str:
        out = []
        for part in parts:
            if isinstance(part, Text):
                out.append(part.text)
            elif isinstance(part, Choice):
                out.append(self.pick(rng.choice(part.options), rng, chain))
            else:
                out.append(self.pick(rng.choice(self._words(part.name, chain)), rng, (*chain, part.name)))
        return "".join(out)

    def check(self, parts: list, chain: tuple = ()) -> None:
        """Raise for an unknown or circular list anywhere in the template (random mode may not reach it)."""
        for part in parts:
            if isinstance(part, Choice):
                for option in part.options:
                    self.check(option, chain)
            elif isinstance(part, ListRef):
                for word in self._words(part.name, chain):
                    self.check(word, (*chain, part.name))


def _product(pools):
    """The cartesian product of pools, each a tuple or a callable giving a fresh iterator, as joined strings."""
    if not pools:
        yield ""
        return
    first, rest = pools[0], pools[1:]
    heads = first if isinstance(first, tuple) else first()
    for head in heads:
        for tail in _product(rest):
            yield head + tail


def too_many(count: int, cap: int) -> str:
    return ngettext(
        "This prompt has %(count)s combination; at most %(cap)s tasks can be made at once.",
        "This prompt has %(count)s combinations; at most %(cap)s tasks can be made at once.",
        count,
    ) % {"count": count, "cap": cap}


def combinations(template: str, *, cap: int, expander: Expander | None = None) -> list[str]:
    """Every expansion of ``template`` in order; DynamicPromptError when there are more than ``cap``."""
    expander = expander or Expander()
    parts = parse(template)
    if not has_syntax(parts):
        return [plain(parts)]
    count = expander.count(parts)
    if count > cap:
        raise DynamicPromptError(too_many(count, cap))
    return list(expander.every(parts))


def randoms(template: str, n: int, *, seed: int | None = None, expander: Expander | None = None) -> list[str]:
    """``n`` random expansions of ``template`` (the same ``seed``, the same list)."""
    expander = expander or Expander()
    parts = parse(template)
    if not has_syntax(parts):
        return [plain(parts)] * n
    expander.check(parts)
    rng = random_module.Random(seed)
    return [expander.pick(parts, rng) for _ in range(n)]
