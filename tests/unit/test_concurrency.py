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
