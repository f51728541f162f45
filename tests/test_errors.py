"""Errors: the thread-safe collection every run hands back."""

from __future__ import annotations

import threading

import pytest

from bigopool import Errors


def test_errors_empty_collection() -> None:
    errors = Errors()

    assert errors.is_empty()
    assert not errors
    assert len(errors) == 0
    assert errors.all() == []
    assert errors.to_error() is None
    assert str(errors) == ""


def test_errors_format_like_the_go_original() -> None:
    errors = Errors()
    errors.add(ValueError("one"))
    errors.add(KeyError("two"))

    assert str(errors) == "one; 'two'"
    assert repr(errors) == "<Errors: 2 recorded>"


def test_errors_without_message_show_their_type() -> None:
    errors = Errors()
    errors.add(TimeoutError())

    assert str(errors) == "TimeoutError"


def test_errors_all_returns_a_new_list_in_order() -> None:
    errors = Errors()
    first, second = ValueError("a"), TypeError("b")
    errors.add(first)
    errors.add(second)
    snapshot = errors.all()
    snapshot.clear()

    assert errors.all() == [first, second]
    assert list(errors) == [first, second]


def test_errors_items_pair_each_error_with_its_job() -> None:
    errors = Errors()
    job = object()
    error = ValueError("x")
    errors.add(error, job)
    errors.add(KeyError("y"))

    assert errors.items()[0] == (job, error)
    assert errors.items()[1][0] is None


def test_errors_to_error_lets_except_star_match_every_type() -> None:
    errors = Errors()
    errors.add(ValueError("v"))
    errors.add(KeyError("k"))
    group = errors.to_error()
    assert group is not None
    caught: list[str] = []

    try:
        raise group
    except* ValueError as matched:
        caught.append(type(matched.exceptions[0]).__name__)
    except* KeyError as matched:
        caught.append(type(matched.exceptions[0]).__name__)

    assert sorted(caught) == ["KeyError", "ValueError"]
    assert isinstance(group, ExceptionGroup)
    assert str(group) == "2 errors: v; 'k' (2 sub-exceptions)"


def test_errors_to_error_holds_base_exceptions_too() -> None:
    errors = Errors()
    errors.add(KeyboardInterrupt())
    group = errors.to_error()

    assert isinstance(group, BaseExceptionGroup)
    assert not isinstance(group, ExceptionGroup)


def test_errors_add_refuses_non_exceptions() -> None:
    with pytest.raises(TypeError, match="takes an exception, not str"):
        Errors().add("boom")  # type: ignore[arg-type]


def test_errors_are_safe_to_fill_from_many_threads() -> None:
    errors = Errors()

    def fill(tag: int) -> None:
        for n in range(500):
            errors.add(ValueError(f"{tag}-{n}"))

    threads = [threading.Thread(target=fill, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(errors) == 4000
    assert len({str(e) for e in errors.all()}) == 4000
