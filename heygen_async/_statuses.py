"""
Reading the bulk status endpoint row by row.

``GET /v3/videos/statuses`` answers about up to 100 videos a page. One odd
row must not hide the others (the poll loop would stall on every video in
the chunk): a page is decoded in one call, and when that fails each row is
decoded on its own; what did not decode is collected into one
:class:`~heygen_async.UndecodableRowsError` that still carries every row
that did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ._config import MAX_STATUS_IDS
from ._converter import WireConverter, error_fields
from ._http import last_request_id, page_of
from ._models import StatusItem
from .exceptions import ResponseValidationError, UndecodableRowsError


__all__ = ["STATUSES", "read_statuses"]

STATUSES = "/v3/videos/statuses"
_NOT_A_ROW = object()

FetchPage = Callable[[Mapping[str, str | int]], Awaitable[Any]]
"""``GET`` one page of :data:`STATUSES` with these query parameters."""


async def read_statuses(
    ids: list[str], fetch_page: FetchPage, converter: WireConverter
) -> list[StatusItem]:
    """Where each of *ids* is, asking 100 per request (see the module doc)."""
    rows = _StatusRows(converter)
    for start in range(0, len(ids), MAX_STATUS_IDS):
        await _read_chunk(ids[start : start + MAX_STATUS_IDS], rows, fetch_page)
    return rows.result()


async def _read_chunk(ids: list[str], rows: _StatusRows, fetch_page: FetchPage) -> None:
    """Read every page about up to 100 *ids* into *rows*."""
    asked = set(ids)
    params: dict[str, str | int] = {"video_ids": ",".join(ids)}
    tokens: set[str] = set()
    field = "$.next_token"  # endless pages: give up on the rest
    for _ in range(len(ids) + 1):
        body: Any = None
        try:
            body = await fetch_page(params)
            page, token = page_of(body, f"GET {STATUSES}")
        except ResponseValidationError:
            # Not JSON, not an object, or no list of rows: nothing to read.
            field = "$.data" if isinstance(body, dict) else "$"
            break
        rows.add_page(page, asked, last_request_id())
        if token is None or asked <= rows.answered:
            return
        if token in tokens:
            break  # a loop: the rest will never come
        tokens.add(token)
        params = {**params, "token": token}
    unread = [i for i in ids if i not in rows.answered]
    rows.problem([field], last_request_id(), unread)


class _StatusRows:
    """What the bulk status pages said, read row by row. Strictly private."""

    def __init__(self, converter: WireConverter) -> None:
        self._converter = converter
        self.items: list[StatusItem] = []
        self.answered: set[str] = set()
        self.bad_ids: list[str] = []
        self.fields: list[str] = []
        self.request_id: str | None = None

    def add_page(
        self, page: list[Any], asked: set[str], request_id: str | None
    ) -> None:
        """
        Decode a page at once; row by row only when that fails or when some
        row is not a fresh answer about an asked id (the common page costs
        one structuring call, not one per row).
        """
        answered = self.answered
        ids = [row.get("video_id") if isinstance(row, dict) else None for row in page]
        fresh = set(ids)
        if len(fresh) == len(ids) and fresh <= asked and not fresh & answered:
            try:
                items = self._converter.structure(page, list[StatusItem])
            except ResponseValidationError:
                pass  # some row is odd: find it below, one row at a time
            else:
                self.items.extend(items)
                answered.update(fresh)  # type: ignore[arg-type]
                return
        for row in page:
            self.add(row, asked, request_id)

    def add(self, row: Any, asked: set[str], request_id: str | None) -> None:
        """Decode one row; a row we cannot read becomes a problem, not a crash."""
        video_id = row.get("video_id") if isinstance(row, dict) else _NOT_A_ROW
        if video_id is None:
            return  # a batch item whose video does not exist yet
        if not isinstance(video_id, str):
            field = "$.data[]" if video_id is _NOT_A_ROW else "$.data[].video_id"
            self.problem([field], request_id, [])
            return
        if video_id not in asked or video_id in self.answered:
            return  # not ours, or a repeat
        self.answered.add(video_id)
        try:
            item = self._converter.structure(row, StatusItem)
        except ResponseValidationError as exc:
            fields = error_fields(exc, cl=StatusItem, path="$.data[]")
            self.problem(fields, request_id, [video_id])
        else:
            self.items.append(item)

    def problem(
        self, fields: list[str], request_id: str | None, video_ids: list[str]
    ) -> None:
        """Note fields that did not decode and the videos left unread."""
        if not self.fields:
            self.request_id = request_id
        self.fields.extend(f for f in fields if f not in self.fields)
        self.bad_ids.extend(video_ids)
        self.answered.update(video_ids)

    def result(self) -> list[StatusItem]:
        """The decoded rows, or an error carrying them when some were not."""
        if not self.fields:
            return self.items
        raise UndecodableRowsError(
            route=f"GET {STATUSES}",
            fields=self.fields,
            request_id=self.request_id,
            items=self.items,
            video_ids=self.bad_ids,
        )
