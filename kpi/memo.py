"""Parts of a report that many filter choices share, kept in the process between reports.

A report for a new period or source recomputes little that another report has not already
worked out: the feedback by month (which no filter but the period touches), the appointments,
the cube's and the live referrals' groups by month for a source, the median and 90th percentile
of each month. ``Memo`` keeps those parts, each
under the data version (the newest loaded file in the run ledger) and as_of, so a new load makes
every old entry unreachable, as the dashboard's cache does with whole reports. A report cuts the
months it shows from a part, which is exact: the parts are grouped by month and a period is
whole months.

The dashboard gives ``build_report`` one memo per warehouse; ``sis kpis`` and tests pass none,
and a test checks that reports are identical either way. Entries are small (a few thousand
grouped rows at most) and the oldest go first beyond ``size``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class Memo:
    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The kept value of `key`, or compute() kept (two threads may both compute one
        missing key: the values are equal, the last is kept)."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
            self.misses += 1
        value = compute()
        self.put(key, value)
        return value

    def known(self, key: Hashable) -> Any:  # noqa: ANN401 - whatever was kept
        """The kept value of `key`, or None."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
            return None

    def put(self, key: Hashable, value: Any) -> None:  # noqa: ANN401
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class Scope:
    """A memo as one report sees it: every key under the report's data version and as_of.
    Without a memo, nothing is kept and ``active`` is False."""

    def __init__(self, memo: Memo | None, version: object, as_of: object) -> None:
        self.memo, self._prefix = memo, (version, as_of)
        self.active = memo is not None and version is not None

    def get(self, key: tuple, compute: Callable[[], T]) -> T:
        if not self.active:
            return compute()
        return self.memo.get(self._prefix + key, compute)

    def known(self, key: tuple) -> Any:  # noqa: ANN401
        return self.memo.known(self._prefix + key) if self.active else None

    def put(self, key: tuple, value: Any) -> None:  # noqa: ANN401
        if self.active:
            self.memo.put(self._prefix + key, value)


NO_MEMO = Scope(None, None, None)  # keeps nothing: every part is computed for its report
