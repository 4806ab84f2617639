"""Dynamic prompts (issue #13): alternatives, nesting, escapes, word lists, the two modes and their limits."""

import pytest

from generation import dynamic_prompts as dp
from generation.models import WordList


def every(template, lists=None, cap=100):
    return dp.combinations(template, cap=cap, expander=dp.Expander(lists or {}))


def test_a_plain_prompt_is_returned_unchanged():
    assert every("a red car, 35mm, f/1.8 (dusk)") == ["a red car, 35mm, f/1.8 (dusk)"]
    assert dp.randoms("snake_case_name", 3, expander=dp.Expander({})) == ["snake_case_name"] * 3


def test_alternatives_in_order():
    assert every("a {red|blue|green} car") == ["a red car", "a blue car", "a green car"]
    assert every("{a|b} {1|2}") == ["a 1", "a 2", "b 1", "b 2"]
    assert every("a {|shiny }car") == ["a car", "a shiny car"]


def test_nested_alternatives():
    assert every("{a {big|small} car|a bus}") == ["a big car", "a small car", "a bus"]
    assert dp.Expander({}).count(dp.parse("{a {big|small|{x|y}} car|a bus} {1|2}")) == 10  # (4 + 1) × 2


def test_escaped_braces_and_bars_keep_their_character_without_the_backslash():
    assert every(r"a \{literal\} brace \| bar") == ["a {literal} brace | bar"]
    assert every(r"{a \| b|c}") == ["a | b", "c"]
    assert every(r"keep \_\_this\_\_ as text") == ["keep __this__ as text"]
    assert every(r"a backslash \\ and \n stays") == ["a backslash \\ and \\n stays"]


def test_unbalanced_braces_say_where():
    with pytest.raises(dp.DynamicPromptError) as unclosed:
        every("a {red|blue car")
    assert "character 3" in unclosed.value.message and "never closed" in unclosed.value.message
    with pytest.raises(dp.DynamicPromptError) as stray:
        every("a red} car")
    assert "character 6" in stray.value.message and "closes nothing" in stray.value.message


def test_word_lists_and_words_that_are_templates():
    lists = {"colour": ["red", "{dark|light} blue"], "vehicle": ["car", "__colour__ bus"]}
    assert every("a __colour__ __vehicle__", lists) == [
        "a red car",
        "a red red bus",
        "a red dark blue bus",
        "a red light blue bus",
        "a dark blue car",
        "a dark blue red bus",
        "a dark blue dark blue bus",
        "a dark blue light blue bus",
        "a light blue car",
        "a light blue red bus",
        "a light blue dark blue bus",
        "a light blue light blue bus",
    ]


def test_an_unknown_list_is_named_with_the_team_lists():
    with pytest.raises(dp.DynamicPromptError) as error:
        every("a __colour__ car", {"animal": ["cat"], "mood": ["calm"]})
    assert error.value.message == "There is no word list called “colour”; the team's lists: __animal__, __mood__."
    with pytest.raises(dp.DynamicPromptError):  # random mode checks too, even a branch it might not pick
        dp.randoms("{a|__nope__}", 1, seed=1, expander=dp.Expander({}))


def test_lists_that_refer_to_each_other_are_a_cycle_error():
    lists = {"a": ["x __b__"], "b": ["y __a__"]}
    with pytest.raises(dp.DynamicPromptError) as error:
        every("__a__", lists)
    assert "__a__ → __b__ → __a__" in error.value.message
    deep = {f"l{i}": [f"__l{i + 1}__"] for i in range(8)} | {"l8": ["end"]}
    with pytest.raises(dp.DynamicPromptError) as too_deep:
        every("__l0__", deep)
    assert "nested more than 5 deep" in too_deep.value.message


def test_every_combination_over_the_cap_names_the_count():
    with pytest.raises(dp.DynamicPromptError) as error:
        every("{a|b|c} {1|2|3} {x|y}", cap=17)
    assert error.value.message == "This prompt has 18 combinations; at most 17 tasks can be made at once."
    assert len(every("{a|b|c} {1|2|3} {x|y}", cap=18)) == 18


def test_random_is_reproducible_with_a_seed():
    lists = {"colour": ["red", "blue", "green", "amber", "teal"]}
    first = dp.randoms("a __colour__ {car|bus|boat}", 20, seed=42, expander=dp.Expander(lists))
    again = dp.randoms("a __colour__ {car|bus|boat}", 20, seed=42, expander=dp.Expander(lists))
    other = dp.randoms("a __colour__ {car|bus|boat}", 20, seed=7, expander=dp.Expander(lists))
    assert first == again and first != other
    assert all(p.split()[1] in lists["colour"] and p.split()[2] in {"car", "bus", "boat"} for p in first)
    assert len(set(first)) > 3


@pytest.mark.django_db
def test_the_team_word_lists_are_read_from_the_database():
    WordList.objects.create(name="colour", words="red\n\n  blue  \n")
    assert dp.combinations("a __colour__ car", cap=10) == ["a red car", "a blue car"]
    assert dp.combinations("a __COLOUR__ car", cap=10) == ["a red car", "a blue car"]
