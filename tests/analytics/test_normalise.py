"""Error messages that differ only in names, numbers, addresses or paths share one key."""

from __future__ import annotations

import pytest

from analytics import error_key, normalise_message


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("name 'x' is not defined", "name 'total' is not defined"),
        ("name 'pritn' is not defined. Did you mean: 'print'?", "name 'y' is not defined"),
        ("'Foo' object is not callable", "'Bar' object is not callable"),
        ("invalid literal for int() with base 10: 'abc'", 'invalid literal for int() with base 10: "it\'s"'),
        ("list index out of range", "list index out of range"),
        ("<Foo object at 0x7f3a2b1c> is not callable", "<Foo object at 0xdeadbeef> is not callable"),
        ("division by 3 at step 12", "division by -4.5 at step 1e3"),
        ("can't open /tmp/box/main.py", "can't open /home/a/b.py"),
    ],
)
def test_variants_cluster(a: str, b: str) -> None:
    assert normalise_message(a) == normalise_message(b)


def test_words_and_identifiers_with_digits_are_kept() -> None:
    assert normalise_message("name 'x' is not defined") == "name <name> is not defined"
    assert normalise_message("list index out of range") == "list index out of range"
    assert normalise_message("module has no attribute sqrt2") == "module has no attribute sqrt2"
    assert normalise_message("first line\nsecond line") == "first line"
    assert normalise_message(None) == "" and normalise_message("") == ""
    assert len(normalise_message("x" * 1000)) == 200


def test_what_matters_is_kept() -> None:
    assert normalise_message("expected ':'") == "expected ':'"
    assert normalise_message("'(' was never closed") == "'(' was never closed"
    assert normalise_message("'return' outside function") == "'return' outside function"
    plus = "unsupported operand type(s) for +: 'int' and 'str'"
    assert normalise_message(plus) == plus
    assert normalise_message(plus) != normalise_message(plus.replace("'str'", "'list'"))
    concat = 'can only concatenate str (not "int") to str'
    assert normalise_message(concat) == concat
    assert error_key("SyntaxError", "expected ':'", 1) == "SyntaxError: expected ':' @ 1"


def test_error_key() -> None:
    assert error_key("NameError", "name 'x' is not defined", 3) == "NameError: name <name> is not defined @ 3"
    assert error_key("NameError", "name 'y' is not defined", 3) == error_key("NameError", "name 'x' is not defined", 3)
    assert error_key("NameError", "name 'y' is not defined", 4) != error_key("NameError", "name 'x' is not defined", 3)
    assert error_key("KeyboardInterrupt", "", None) == "KeyboardInterrupt"
    assert error_key(None, "anything", 1) is None
    key = error_key("E" * 500, "m" * 500, 123456)
    assert key is not None and len(key) <= 300
