import pytest

from pulse_cli.progress import tracked


def test_a_tracked_iteration_yields_everything_and_ends_its_bar(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(tracked(range(5), "counting", total=5)) == [0, 1, 2, 3, 4]
    err = capsys.readouterr().err
    assert err.endswith("\n")
    assert "counting [" in err
    assert "5/5 rows" in err
