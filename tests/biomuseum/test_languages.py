import pytest

from biomuseum import languages


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("en", "en"),
        ("pt-br", "pt-BR"),
        ("ZH-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("de-CH-1996", "de-CH-1996"),
    ],
)
def test_canonical_tags_take_their_registered_case(written, canonical):
    assert languages.canonical(written) == canonical


@pytest.mark.parametrize("bad", ["", "e", "english!", "pt_BR", "en-", "-en", "x" * 40, "fr-FRA-", "12", "en-u-ca-x"])
def test_malformed_tags_are_refused(bad):
    with pytest.raises(languages.MalformedTag):
        languages.canonical(bad)


def test_lookup_falls_back_tag_by_tag_then_to_the_default(settings):
    settings.CATALOGUE_LANGUAGES = ["en", "pt", "pt-BR", "fr"]
    settings.CATALOGUE_DEFAULT_LANGUAGE = "en"
    assert languages.from_param("pt-BR") == languages.Language("pt-BR", ("pt-BR", "pt", "en"))
    assert languages.from_param("pt-PT") == languages.Language("pt", ("pt", "en"))
    assert languages.from_param("xx").tag == "en"  # well-formed, unsupported: the default


@pytest.mark.parametrize(
    ("header", "tag"),
    [
        ("pt-BR,pt;q=0.9,en;q=0.8", "pt-BR"),
        ("fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5", "fr"),
        ("xx, de;q=0.1", "de"),
        ("de;q=0.5, es", "es"),  # quality before order
        ("en;q=0, ja", "ja"),  # q=0 means "not this one"
        ("*", "en"),
        ("", "en"),
        ("!!!, ;;;, de;q=nope, fr", "fr"),  # what is not a tag is skipped, not refused
    ],
)
def test_accept_language_chooses_the_best_supported_language(settings, header, tag):
    settings.CATALOGUE_LANGUAGES = ["en", "fr", "es", "de", "ja", "pt", "pt-BR"]
    assert languages.from_header(header).tag == tag


def test_a_huge_header_is_read_only_so_far(settings):
    settings.CATALOGUE_LANGUAGES = ["en", "fr"]
    assert languages.resolve(None, "xx, " * 5000 + "fr").tag == "en"  # "fr" lies beyond what is read
