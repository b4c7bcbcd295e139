import pytest

from biomuseum.textfold import fold


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("Kākāpō", "kakapo"),
        ("Grey-headed  Albatross", "grey headed albatross"),
        ("Großtrappe", "grosstrappe"),
        ("ÉLAN", "elan"),
        ("Ørn", "orn"),
        ("Œil-de-bœuf", "oeil de boeuf"),
        ("  Felis   concolor ", "felis concolor"),
        ("北极熊", "北极熊"),  # scripts without case or accents stay as they are
        ("", ""),
    ],
)
def test_fold_drops_case_accents_and_punctuation(written, folded):
    assert fold(written) == folded


def test_fold_is_idempotent():
    for text in ["Kākāpō", "Œil-de-bœuf", "Straße", "ǅemal"]:
        assert fold(fold(text)) == fold(text)
