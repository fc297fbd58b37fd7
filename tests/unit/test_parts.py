import gzip
import io

import pytest

from pulse.ingest.manifest import BatchError
from pulse.ingest.parts import MAX_LINE_BYTES, iter_jsonl_blocks, iter_rows

KINDS = {"id": str, "n": int, "ok": bool}


def _rows(data: bytes, key: str) -> list:  # type: ignore[type-arg]
    return list(iter_rows(io.BytesIO(data), key, KINDS))


def test_jsonl_rows_keep_their_line_numbers_and_skip_blank_lines() -> None:
    rows = _rows(b'{"id":"a"}\n\n  \n{"id":"b"}\n', "p.jsonl")
    assert [(r.line, r.document) for r in rows] == [(1, b'{"id":"a"}'), (4, b'{"id":"b"}')]


def test_gzip_is_chosen_by_extension() -> None:
    rows = _rows(gzip.compress(b'{"id":"a"}\n{"id":"b"}'), "p.jsonl.gz")
    assert [r.document for r in rows] == [b'{"id":"a"}', b'{"id":"b"}']


def test_a_byte_order_mark_is_not_part_of_the_first_row() -> None:
    assert _rows(b'\xef\xbb\xbf{"id":"a"}\n', "p.jsonl")[0].document == b'{"id":"a"}'


def test_truncated_gzip_makes_the_file_unreadable() -> None:
    data = gzip.compress(b'{"id":"a"}\n' * 1000)[:-20]
    with pytest.raises(BatchError) as caught:
        _rows(data, "p.jsonl.gz")
    assert caught.value.code == "unreadable_file"
    assert caught.value.file == "p.jsonl.gz"


def test_invalid_utf8_makes_the_file_unreadable() -> None:
    with pytest.raises(BatchError, match="line 2 is not valid UTF-8"):
        _rows(b'{"id":"a"}\n{"id":"\xff"}\n', "p.jsonl")


def test_an_overlong_line_is_rejected_alone_and_never_held_whole() -> None:
    data = b'{"id":"a"}\n' + b"x" * (MAX_LINE_BYTES * 3) + b'\n{"id":"b"}\n'
    rows = _rows(data, "p.jsonl")
    assert [(r.line, r.error[0] if r.error else None) for r in rows] == [
        (1, None),
        (2, "line_too_long"),
        (3, None),
    ]


def test_csv_cells_become_the_json_the_record_would_have() -> None:
    rows = _rows(b"id,n,ok,extra\na,12,true,zzz\nb,-3,false,\n", "p.csv")
    assert [r.as_json for r in rows] == [
        b'{"id": "a", "n": 12, "ok": true}',
        b'{"id": "b", "n": -3, "ok": false}',
    ]
    assert rows[0].line == 2


def test_csv_cells_that_are_not_their_type_stay_text_for_validation_to_reject() -> None:
    (row,) = _rows(b"id,n,ok\na,1.5,yes\n", "p.csv")
    assert row.as_json == b'{"id": "a", "n": "1.5", "ok": "yes"}'


def test_csv_with_a_missing_column_is_unreadable() -> None:
    with pytest.raises(BatchError) as caught:
        _rows(b"id,n\na,1\n", "p.csv")
    assert caught.value.code == "bad_csv_header"
    assert "ok" in caught.value.message


def test_csv_rows_with_the_wrong_number_of_cells_are_rejected_alone() -> None:
    rows = _rows(b"id,n,ok\na,1,true\nb,2\nc,3,true,4\nd,4,false\n", "p.csv")
    assert [(r.line, r.error[0] if r.error else "ok") for r in rows] == [
        (2, "ok"),
        (3, "malformed_row"),
        (4, "malformed_row"),
        (5, "ok"),
    ]


def test_csv_quoted_newlines_keep_the_record_start_line() -> None:
    rows = _rows(b'id,n,ok\n"a\nb",1,true\nc,2,false\n', "p.csv.gz"[:-3])
    assert [r.line for r in rows] == [2, 4]


def test_an_empty_file_has_no_rows() -> None:
    assert _rows(b"", "p.csv") == []
    assert _rows(gzip.compress(b""), "p.jsonl.gz") == []


def _blocks(data: bytes, key: str) -> list[tuple[int, bytes]]:
    blocks = list(iter_jsonl_blocks(io.BytesIO(data), key))
    assert all(lines == block.count(b"\n") + 1 for _, lines, block in blocks)
    return [(first, block) for first, _, block in blocks]


def test_blocks_hold_whole_lines_and_number_them() -> None:
    lines = [b'{"n":%d}' % i for i in range(200_000)]
    blocks = _blocks(gzip.compress(b"\n".join(lines) + b"\n"), "p.jsonl.gz")
    assert len(blocks) > 1
    assert b"\n".join(b for _, b in blocks).split(b"\n") == lines
    first, block = blocks[1]
    assert first == blocks[0][1].count(b"\n") + 2
    assert block.split(b"\n")[0] == lines[first - 1]


def test_blocks_read_concatenated_gzip_members_and_a_last_line_without_newline() -> None:
    data = gzip.compress(b'{"n":1}\n{"n":2}\n') + gzip.compress(b'\xef\xbb\xbf{"n":3}')
    assert [b for _, b in _blocks(data, "p.jsonl.gz")][-1].endswith(b'{"n":3}')
    assert _blocks(b'\xef\xbb\xbf{"n":1}', "p.jsonl") == [(1, b'{"n":1}')]


def test_blocks_refuse_truncated_gzip_and_bad_utf8_with_the_line() -> None:
    with pytest.raises(BatchError, match="truncated"):
        _blocks(gzip.compress(b'{"n":1}\n' * 50_000)[:-30], "p.jsonl.gz")
    with pytest.raises(BatchError, match="line 3 is not valid UTF-8"):
        _blocks(b'{"n":1}\n{"n":2}\n{"n":"\xff"}\n', "p.jsonl")


@pytest.mark.parametrize("shift", range(4))
def test_an_overlong_line_of_non_ascii_text_is_passed_on_for_rejection_not_the_whole_file(shift: int) -> None:
    """The carried part of a line too long to keep may end inside a character: it is not text
    anybody reads (the line is rejected for its length), so it must not fail the file's UTF-8 check."""
    huge = '{"t":"' + "x" * shift + "€" * (MAX_LINE_BYTES // 2) + '"}'  # 1.5 MiB: carried, then cut
    data = b'{"n":1}\n' + huge.encode() + b'\n{"n":3}\n'
    lines = b"\n".join(b for _, b in _blocks(data, "p.jsonl")).split(b"\n")
    assert [len(line) > MAX_LINE_BYTES for line in lines] == [False, True, False]
    assert (lines[0], lines[2]) == (b'{"n":1}', b'{"n":3}')
    last = b"\n".join(b for _, b in _blocks(b'{"n":1}\n' + huge.encode(), "p.jsonl")).split(b"\n")
    assert [len(line) > MAX_LINE_BYTES for line in last] == [False, True]  # the file ends inside it
