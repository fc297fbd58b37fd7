import contextvars

import pytest

from pulse.core.concurrency import bounded_map


def test_every_item_is_mapped_once() -> None:
    assert sorted(bounded_map(lambda x: x * 2, range(100), workers=4)) == [x * 2 for x in range(100)]


def test_one_worker_keeps_the_order() -> None:
    assert list(bounded_map(str, range(5), workers=1)) == ["0", "1", "2", "3", "4"]


def test_the_first_error_is_raised() -> None:
    def boom(x: int) -> int:
        if x == 7:
            raise ValueError("seven")
        return x

    with pytest.raises(ValueError, match="seven"):
        list(bounded_map(boom, range(20), workers=3))


_SETTING: contextvars.ContextVar[str] = contextvars.ContextVar("setting", default="default")


def test_the_threads_see_what_the_caller_set() -> None:
    """As the API's retry budget (`clients.use_budget`) must hold in its parallel reads."""
    token = _SETTING.set("api")
    try:
        assert set(bounded_map(lambda _: _SETTING.get(), range(20), workers=4)) == {"api"}
    finally:
        _SETTING.reset(token)
    assert set(bounded_map(lambda _: _SETTING.get(), range(20), workers=4)) == {"default"}
