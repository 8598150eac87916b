"""
What ``heygen-async render`` renders: photos, folders, globs, URLs, manifests.

Everything is read and checked here, before a single request is sent: each
input becomes a :class:`Job` holding a validated
:class:`~heygen_async.VideoRequest`, a stable tag (the batch journal matches
jobs across runs by request and tag) and a safe, unique output file name. Any
problem is an :class:`InputError` naming the file or manifest line, and the
command exits 2 having paid for nothing.

A manifest is a CSV file (one header row) or JSON Lines (one object per
line). Keys are :class:`~heygen_async.VideoRequest` fields; nested ones are
written ``voice_settings.speed`` or given as a JSON object
(``{"speed": 1.1}``). ``image_path`` is relative to the manifest's folder and
``name`` sets the output file name. Empty cells are filled from the command
line options. A script without a voice is fine on rows with an
``avatar_id``: the avatar speaks in its own voice.

Problems are reported all at once, never in rounds: every bad row of every
manifest (unreadable lines, unknown columns, bad values, missing photos,
invalid requests) is listed, identical problems on many lines folded into
one line each.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from heygen_async import VideoRequest, check_upload
from heygen_async._converter import field_kinds

from .names import unique_names


__all__ = [
    "Defaults",
    "InputError",
    "Job",
    "collect",
    "collect_all",
    "fold_problems",
]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
MANIFEST_SUFFIXES = frozenset({".csv", ".jsonl", ".ndjson"})
_LINES_SHOWN = 10  # line numbers listed for one problem shared by many lines
_LOCATED = re.compile(r"(?P<file>.+?) line (?P<line>\d+): (?P<problem>.+)", re.DOTALL)
# Derived from VideoRequest's fields, so a new field is a manifest column too.
_KINDS = field_kinds(VideoRequest)
_NESTED: Mapping[str, tuple[type[Any], Mapping[str, type]]] = {
    name: (kind, field_kinds(kind)) for name, kind in _KINDS.items() if attrs.has(kind)
}
_SCALARS: Mapping[str, type] = {
    name: kind for name, kind in _KINDS.items() if name not in _NESTED
}
_EXTRA_COLUMNS = frozenset({"name"})
_SPEECH = ("script", "audio_url", "audio_asset_id")
_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "off"})


class InputError(ValueError):
    """An input the CLI cannot use; the message names the file or line."""


@attrs.frozen(kw_only=True)
class Defaults:
    """
    Request fields from the command line, for inputs that leave them empty.

    *title* may contain ``{name}``, replaced by the input's name.
    """

    script: str | None = None
    voice_id: str | None = None
    audio_url: str | None = None
    title: str | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None


@attrs.frozen(kw_only=True)
class Job:
    """
    One video to render.

    Attributes:
        tag: Stable label, also the batch tag: the photo path as given, or
            ``manifest.csv#name``.
        request: The validated request.
        name: The output file name (safe and unique), e.g. ``ada.mp4``.
        where: Where it came from, for messages.
    """

    tag: str
    request: VideoRequest
    name: str
    where: str


@attrs.frozen
class _Draft:
    tag: str
    fields: dict[str, Any]
    stem: str
    where: str
    photo: Path | None = None  # resolved path of a photo input, to skip repeats


def collect(
    inputs: Sequence[str], defaults: Defaults, *, cwd: Path | None = None
) -> list[Job]:
    """
    Turn command-line inputs into jobs, checking everything first.

    Raises:
        InputError: Any input is missing, unreadable, not a PNG/JPEG, or a
            manifest row is invalid; every problem found is listed.
    """
    jobs, errors = collect_all(inputs, defaults, cwd=cwd)
    if errors:
        raise InputError(fold_problems(errors))
    return jobs


def collect_all(
    inputs: Sequence[str], defaults: Defaults, *, cwd: Path | None = None
) -> tuple[list[Job], list[str]]:
    """
    The jobs of every good input, and a problem line for every bad one.

    ``--dry-run`` checks the good jobs further (voice ids) and lists every
    problem of both kinds at once.
    """
    base = cwd or Path.cwd()
    if not inputs:
        msg = "nothing to render: pass photos, folders, globs or a manifest"
        raise InputError(msg)
    errors: list[str] = []
    drafts: list[_Draft] = []
    seen: set[Path] = set()
    requests: list[VideoRequest] = []
    for raw in inputs:
        found: list[str] = []
        try:
            for draft in _expand(raw, base, found):
                if draft.photo is not None:
                    if draft.photo in seen:
                        continue  # the same photo via a folder and a glob
                    seen.add(draft.photo)
                # Checked even when other rows failed: a bad row must not
                # hide another behind it.
                try:
                    requests.append(_request(draft, defaults))
                except InputError as exc:
                    found.append(str(exc))
                    continue
                drafts.append(draft)
        except InputError as exc:
            found.append(str(exc))
        errors += sorted(found, key=_line_number)
    names = unique_names([d.stem for d in drafts], [_suffix(d.fields) for d in drafts])
    jobs = [
        Job(tag=draft.tag, request=request, name=name, where=draft.where)
        for draft, request, name in zip(drafts, requests, names, strict=True)
    ]
    return jobs, errors


def _line_number(error: str) -> int:
    found = _LOCATED.match(error)
    return int(found["line"]) if found else 0


def fold_problems(errors: Sequence[str]) -> str:
    """
    Every problem, one per line; one problem on many lines of a file is one line.

    ``m.csv line 2: x`` and ``m.csv line 9: x`` become ``m.csv lines 2, 9: x``,
    so a manifest whose every row lacks a voice says so once.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for error in (line for text in errors for line in text.splitlines()):
        found = _LOCATED.fullmatch(error)
        if found is None:
            groups.setdefault((error, ""), [])
            continue
        key = (found["file"], found["problem"])
        groups.setdefault(key, []).append(found["line"])
    out = []
    for (where, problem), lines in groups.items():
        if not lines:
            out.append(where)
            continue
        shown = ", ".join(lines[:_LINES_SHOWN])
        more = len(lines) - _LINES_SHOWN
        label = "line" if len(lines) == 1 else "lines"
        tail = f" and {more} more" if more > 0 else ""
        out.append(f"{where} {label} {shown}{tail}: {problem}")
    return "\n".join(out)


def _expand(raw: str, base: Path, errors: list[str]) -> Iterator[_Draft]:
    if raw.startswith(("https://", "http://")):
        stem = _stem_of(raw)
        yield _Draft(tag=raw, fields={"image_url": raw}, stem=stem, where=raw)
        return
    path = base / raw
    if path.is_dir():
        found = sorted(
            entry
            for entry in path.iterdir()
            if entry.suffix.lower() in IMAGE_SUFFIXES
            and entry.is_file()
            and not entry.name.startswith(".")
        )
        if not found:
            msg = f"{raw}: no PNG or JPEG files in this folder"
            raise InputError(msg)
        for entry in found:
            yield _photo(os.path.join(raw, entry.name), base)
        return
    if path.suffix.lower() in MANIFEST_SUFFIXES:
        yield from _manifest(raw, path, errors)
        return
    if not path.exists() and any(char in raw for char in "*?["):
        matches = sorted(
            match
            for match in glob.glob(raw, root_dir=base, recursive=True)
            if Path(match).suffix.lower() in IMAGE_SUFFIXES
        )
        if not matches:
            msg = f"{raw}: no PNG or JPEG files match this pattern"
            raise InputError(msg)
        for match in matches:
            yield _photo(match, base)
        return
    yield _photo(raw, base)


def _photo(raw: str, base: Path) -> _Draft:
    tag = os.path.normpath(raw)
    path = base / raw
    check_image(path, tag)
    return _Draft(
        tag=tag,
        fields={"image_path": path},
        stem=Path(raw).stem,
        where=tag,
        photo=path.resolve(),
    )


def check_image(path: Path, label: str) -> None:
    """Raise :class:`InputError` unless *path* is a readable PNG or JPEG."""
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        kind = f"{suffix} files" if suffix else "files without an extension"
        msg = f"{label}: unsupported image type ({kind}); use PNG or JPEG"
        raise InputError(msg)
    try:
        check_upload(path, images_only=True)
    except FileNotFoundError:
        msg = f"{label}: no such file"
        raise InputError(msg) from None
    except OSError as exc:
        msg = f"{label}: cannot read it ({exc.strerror or exc})"
        raise InputError(msg) from None
    except ValueError as exc:
        raise InputError(f"{label}: {exc}") from None


# -- manifests ---------------------------------------------------------------


def _manifest(raw: str, path: Path, errors: list[str]) -> Iterator[_Draft]:
    """The valid rows of a manifest; every bad row's problems go to *errors*."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        msg = f"{raw}: no such file"
        raise InputError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{raw}: cannot read it ({exc})"
        raise InputError(msg) from None
    found: list[str] = []
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(raw, text, found)
    else:
        rows = _jsonl(raw, text, found)
    drafts: list[_Draft] = []
    for line, row in rows:
        draft = _row(row, f"{raw} line {line}", raw, path.parent, found)
        if draft is not None:
            drafts.append(draft)
    errors.extend(found)
    if not drafts and not found:
        msg = f"{raw}: the manifest has no rows"
        raise InputError(msg)
    yield from drafts


def _csv_rows(
    raw: str, text: str, errors: list[str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    lines = _Counted(text.splitlines(keepends=True))
    reader = csv.DictReader(lines)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        errors.append(f"{raw} line 1: cannot read the header ({exc})")
        return
    if len(header) == 1 and ";" in header[0]:
        errors.append(
            f"{raw}: the header {_shown(header[0])} is one column with semicolons "
            "in it; manifests are comma-separated (save as 'CSV UTF-8 "
            "(comma delimited)', or replace ';' with ',')"
        )
        return
    rows = iter(reader)
    while True:
        start = lines.read + 1  # reader.line_num skips a row it failed on
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a cell over csv.field_size_limit()
            errors.append(f"{raw} line {start}: cannot read this row ({exc})")
            continue
        if None in row:
            errors.append(f"{raw} line {start}: more cells than header columns")
            continue
        cells = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        if any(cells.values()):
            yield start, {k: v for k, v in cells.items() if v}


class _Counted:
    """Lines handed out one by one, counting how many were read."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = iter(lines)
        self.read = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.read += 1
        return line


def _jsonl(
    raw: str, text: str, errors: list[str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            errors.append(f"{raw} line {number}: not valid JSON ({exc.args[0]})")
            continue
        except RecursionError:
            errors.append(f"{raw} line {number}: not valid JSON (nested too deeply)")
            continue
        if not isinstance(row, dict):
            errors.append(f"{raw} line {number}: expected a JSON object")
            continue
        fields = {k: v for k, v in row.items() if v is not None and v != ""}
        if fields:
            yield number, fields


def _shown(value: object) -> str:
    """A bad value for a message: short, and never a deep container's repr."""
    if isinstance(value, dict | list):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _row(
    row: Mapping[str, Any], where: str, raw: str, folder: Path, errors: list[str]
) -> _Draft | None:
    """A row's draft, or ``None`` with each of its problems added to *errors*."""
    problems: list[str] = []
    fields, nested = _columns(row, where, problems)
    for head, values in nested.items():
        cls, kinds = _NESTED[head]
        unknown = sorted(set(values) - set(kinds))
        if unknown:
            problems.append(f"{where}: unknown {head} key(s) {', '.join(unknown)}")
            continue
        try:
            typed = {
                k: _coerce(v, kinds[k], f"{head}.{k}", where) for k, v in values.items()
            }
            fields[head] = cls(**typed)
        except InputError as exc:
            problems.append(str(exc))
        except (TypeError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
    name = fields.pop("name", None)
    image = fields.get("image_path")
    if image is not None:
        path = Path(image) if Path(image).is_absolute() else folder / image
        try:
            check_image(path, f"{where}: {image}")
        except InputError as exc:
            problems.append(str(exc))
        fields["image_path"] = path
    if problems:
        errors.extend(problems)
        return None
    reference = (
        name
        or image
        or fields.get("image_url")
        or fields.get("image_asset_id")
        or fields.get("avatar_id")
        or where.rsplit(" ", 1)[-1]
    )
    stem = name or _stem_of(str(reference)) or fields.get("title") or "video"
    return _Draft(tag=f"{raw}#{reference}", fields=fields, stem=stem, where=where)


def _columns(
    row: Mapping[str, Any], where: str, problems: list[str]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A row's plain fields and nested objects; bad cells go to *problems*."""
    fields: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in row.items():
        head, dot, sub = key.partition(".")
        try:
            if head in _NESTED and dot:
                kinds = _NESTED[head][1]
                if sub not in kinds:
                    msg = f"{where}: unknown column {key!r}"
                    raise InputError(msg)
                nested.setdefault(head, {})[sub] = _coerce(
                    value, kinds[sub], key, where
                )
            elif head in _NESTED:
                nested.setdefault(head, {}).update(_object(value, key, where))
            elif key in _SCALARS or key in _EXTRA_COLUMNS:
                fields[key] = _coerce(value, _SCALARS.get(key, str), key, where)
            else:
                known = ", ".join(sorted({*_SCALARS, *_NESTED, *_EXTRA_COLUMNS}))
                msg = f"{where}: unknown column {_shown(key)} (known: {known})"
                if ";" in key:
                    msg += "; manifests are comma-separated, not semicolon"
                raise InputError(msg)
        except InputError as exc:
            problems.append(str(exc))
    return fields, nested


def _object(value: Any, key: str, where: str) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            msg = (
                f'{where}: column {key!r} must be a JSON object, e.g. {{"speed": 1.1}}'
            )
            raise InputError(msg) from None
    if not isinstance(value, dict):
        msg = f"{where}: {key!r} must be an object"
        raise InputError(msg)
    return value


def _coerce(value: Any, kind: type, key: str, where: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        msg = f"{where}: {key} must be true or false; got {_shown(value)}"
        raise InputError(msg)
    if kind is float:
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            return float(str(value))
        except (ValueError, OverflowError):
            msg = f"{where}: {key} must be a number; got {_shown(value)}"
            raise InputError(msg) from None
    if not isinstance(value, str):
        msg = f"{where}: {key} must be text; got {_shown(value)}"
        raise InputError(msg)
    return value


def _stem_of(reference: str) -> str:
    tail = reference.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return Path(tail).stem


# -- requests -----------------------------------------------------------------


def _request(draft: _Draft, defaults: Defaults) -> VideoRequest:
    fields = dict(draft.fields)
    where = draft.where
    if not any(fields.get(k) is not None for k in _SPEECH):
        if defaults.script is not None:
            fields["script"] = defaults.script
        elif defaults.audio_url is not None:
            fields["audio_url"] = defaults.audio_url
        else:
            msg = (
                f"{where}: nothing to say: pass --script, --script-file or "
                "--audio-url (or a script / audio_url column)"
            )
            raise InputError(msg)
    voiceless = fields.get("script") is not None and not fields.get("voice_id")
    if voiceless and fields.get("avatar_id") is None:
        # Only an avatar has a voice of its own (the schema's default voice).
        if defaults.voice_id is None:
            msg = (
                f"{where}: a script needs a voice: pass --voice-id or add a "
                "voice_id column (list voices with 'heygen-async voices')"
            )
            raise InputError(msg)
        fields["voice_id"] = defaults.voice_id
    elif voiceless and defaults.voice_id is not None:
        fields["voice_id"] = defaults.voice_id
    for key in ("resolution", "aspect_ratio"):
        if fields.get(key) is None and getattr(defaults, key) is not None:
            fields[key] = getattr(defaults, key)
    if fields.get("title") is None:
        template = defaults.title if defaults.title is not None else "{name}"
        fields["title"] = template.replace("{name}", draft.stem)
    try:
        return VideoRequest(**fields)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: {exc}") from None


def _suffix(fields: Mapping[str, Any]) -> str:
    return ".webm" if fields.get("output_format") == "webm" else ".mp4"
