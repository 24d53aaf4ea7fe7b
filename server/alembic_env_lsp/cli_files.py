"""Reading env scripts and configs as Python would, and writing fixes back safely."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path


class UsageError(Exception):
    """Bad input from the user: one line on stderr, exit code 2."""


@dataclass
class FileText:
    path: Path
    text: str
    bom: bool
    encoding: str = "utf-8"


def read_text(path: Path) -> FileText:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory") from None
    except OSError as error:
        raise UsageError(f"{path}: cannot read ({error.strerror or error})") from None
    bom = data.startswith(b"\xef\xbb\xbf")
    encoding = _declared_encoding(data) or "utf-8"
    try:
        text = data.decode(
            "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
        )
    except (UnicodeDecodeError, LookupError) as error:
        reason = (
            f"not valid {encoding}"
            if isinstance(error, UnicodeDecodeError)
            else f"unknown encoding {encoding!r}"
        )
        position = f" (byte {error.start})" if isinstance(error, UnicodeDecodeError) else ""
        raise UsageError(f"{path}: {reason}{position}") from None
    return FileText(path, text, bom, encoding)


def _declared_encoding(data: bytes) -> str | None:
    """PEP 263 coding cookie on the first two lines."""
    for line in data.splitlines()[:2]:
        match = re.match(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", line)
        if match:
            return match.group(1).decode("ascii", "replace")
    return None


def write_text_atomically(original: FileText, new_text: str) -> None:
    """Temp file + rename: a crash never leaves half a file; keeps encoding, BOM and mode."""
    path = Path(
        os.path.realpath(original.path)
    )  # through a symlink: keep the link, update its target

    data = new_text.encode(
        original.encoding if original.encoding.lower() not in ("utf8",) else "utf-8"
    )
    if original.bom and not data.startswith(b"\xef\xbb\xbf"):  # a utf-8-sig cookie writes its own
        data = b"\xef\xbb\xbf" + data
    mode = path.stat().st_mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
