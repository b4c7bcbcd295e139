"""Which language a catalogue response speaks: the `lang` parameter, else the Accept-Language header, matched
against the languages the site answers in (settings.CATALOGUE_LANGUAGES) by RFC 4647 lookup.

A response speaks exactly one supported language, so a page cache keyed on it holds at most one copy of a
page per supported language, whatever the headers say. Within that language a name falls back along
`Language.chain`: `pt-BR`, then `pt`, then the site's default language (then, the caller's last resort,
the scientific name).
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

LANG_PARAM = "lang"
MAX_TAG_LENGTH = 35  # RFC 5646 section 4.4.1: what an implementation must at least accept
MAX_HEADER_ENTRIES = 20  # an Accept-Language header beyond this says nothing more, only costs
# RFC 5646 well-formedness for what naming a language needs: language (2-3 letters, or 4-8 registered),
# an optional script (4 letters), an optional region (2 letters or 3 digits), variants. Extensions and
# private use (`-u-`, `-x-`) are refused rather than half-understood.
TAG = re.compile(
    r"(?P<language>[a-z]{2,3}|[a-z]{5,8})(?:-(?P<script>[a-z]{4}))?(?:-(?P<region>[a-z]{2}|[0-9]{3}))?"
    r"(?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)",
    re.IGNORECASE,
)
QUALITY = re.compile(r"q=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)", re.IGNORECASE)


class MalformedTag(ValueError):
    pass


def canonical(tag: str) -> str:
    """`tag` in its registered case (`pt-br` -> `pt-BR`, `ZH-hant` -> `zh-Hant`); MalformedTag if it is not a
    well-formed BCP 47 language tag."""
    match = TAG.fullmatch(tag.strip()) if len(tag) <= MAX_TAG_LENGTH else None
    if match is None:
        raise MalformedTag(f"{tag[:40]!r} is not a BCP 47 language tag (such as en, fr, pt-BR, zh-Hant).")
    parts = [match["language"].lower()]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    parts += [variant.lower() for variant in match["variants"].split("-") if variant]
    return "-".join(parts)


def truncations(tag: str) -> list[str]:
    """RFC 4647 lookup order: `zh-Hant-TW`, `zh-Hant`, `zh`."""
    parts = tag.split("-")
    return ["-".join(parts[:end]) for end in range(len(parts), 0, -1)]


@dataclass(frozen=True)
class Language:
    """The language a response speaks (`tag`, supported), and the languages a name is looked for in, in order."""

    tag: str
    chain: tuple[str, ...]

    @property
    def is_default(self) -> bool:
        return self.tag == default_language()


def default_language() -> str:
    return _configured()[0]


@lru_cache(maxsize=1)
def _configured() -> tuple[str, frozenset[str]]:
    default = canonical(settings.CATALOGUE_DEFAULT_LANGUAGE)
    return default, frozenset({default, *(canonical(tag) for tag in settings.CATALOGUE_LANGUAGES)})


@receiver(setting_changed)
def _forget_configuration(setting: str, **kwargs) -> None:
    if setting in ("CATALOGUE_LANGUAGES", "CATALOGUE_DEFAULT_LANGUAGE"):
        _configured.cache_clear()
        from_header.cache_clear()


def _supported_match(tag: str) -> str | None:
    supported = _configured()[1]
    return next((candidate for candidate in truncations(tag) if candidate in supported), None)


def _language(tag: str) -> Language:
    """Names are looked for in every truncation of the tag, supported or not (they vary no cache key)."""
    return Language(tag, tuple(dict.fromkeys([*truncations(tag), default_language()])))


def from_param(value: str) -> Language:
    """The language `?lang=` asks for: its best supported match, else the default. MalformedTag (a 400) if the
    value is no language tag at all."""
    return _language(_supported_match(canonical(value)) or default_language())


@lru_cache(maxsize=1024)
def from_header(header: str) -> Language:
    """The best supported language an Accept-Language header accepts, by quality then order; the default when
    it accepts none (or only `*`). Entries that are not language tags are skipped: a browser's header is no
    request to refuse."""
    ranked = []
    for position, entry in enumerate(header.split(",")[:MAX_HEADER_ENTRIES]):
        tag, _, parameters = entry.partition(";")
        quality = QUALITY.fullmatch(parameters.strip().replace(" ", "")) if parameters else None
        if parameters and quality is None:
            continue
        weight = float(quality[1]) if quality else 1.0
        try:
            match = _supported_match(canonical(tag)) if weight > 0 and tag.strip() != "*" else None
        except MalformedTag:
            continue
        if match:
            ranked.append((-weight, position, match))
    return _language(min(ranked)[2] if ranked else default_language())


def resolve(lang: str | None, accept_language: str) -> Language:
    """`lang` when given (MalformedTag if it is malformed), else the header's choice."""
    return from_param(lang) if lang else from_header(accept_language[:1000])
