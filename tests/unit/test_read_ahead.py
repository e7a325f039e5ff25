"""The runner reads issues a few at a time ahead of its decisions, never all of them at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from exception_bot.runner import _read_ahead


def test_reads_stay_a_bounded_distance_ahead_in_order() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def read(n: int) -> int:
        with lock:
            started.append(n)
        return n * n

    consumed = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        for n, result in enumerate(_read_ahead(pool, read, range(100), depth=8)):
            assert result == n * n
            consumed += 1
            with lock:
                assert len(started) <= consumed + 8  # submitted, not yet handed out
    assert consumed == 100
    assert sorted(started) == list(range(100))


def test_nothing_to_read() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(_read_ahead(pool, str, [], depth=4)) == []
