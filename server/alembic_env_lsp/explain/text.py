"""Small text helpers shared by the explain modules."""

from __future__ import annotations

import re


def short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def first_sentence(message: str, limit: int = 80) -> str:
    match = re.match(r"(.+?[.;:])(\s|$)", message)
    text = match.group(1) if match else message
    return short(text, limit)


def md(text: str) -> str:
    return text.replace("`", "'")
