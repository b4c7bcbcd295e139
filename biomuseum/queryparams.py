"""Query-string validation shared by the public endpoints.

Unknown parameters are a 400 (a typo in a filter must not silently return everything);
tracking parameters that links pick up on the way are ignored everywhere. An empty value means "not set"
(`?search=` from an empty search box, `?kingdom=` from a filter left at "any"), as if it were absent.
"""

from django.http import QueryDict
from rest_framework import serializers

TRACKING_PREFIXES = ("utm_",)
TRACKING_PARAMS = frozenset({"fbclid", "gclid", "msclkid", "mc_cid", "mc_eid", "_"})
PAGINATION_PARAMS = frozenset({"cursor", "page_size"})
PREVIEW_PARAM = "preview"  # a preview token (biomuseum/previews.py): in no page-cache key, never cached


def is_tracking_param(name: str) -> bool:
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


class QueryParamsSerializer(serializers.Serializer):
    """Validates a query string: the declared parameters, `fields`, pagination, nothing else."""

    allow_pagination = True

    def __init__(self, query: QueryDict | None = None, **kwargs):
        self._query = query if query is not None else QueryDict()
        data = {key: self._query.getlist(key)[-1] for key in self._query if self._query.getlist(key)[-1] != ""}
        super().__init__(data=data, **kwargs)

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["fields"] = serializers.CharField(
            required=False, max_length=500, help_text="Comma-separated names of the fields to return."
        )
        return fields

    def validate(self, attrs: dict) -> dict:
        allowed = set(self.fields) | (PAGINATION_PARAMS if self.allow_pagination else set())
        unknown = sorted(key for key in self._query if key not in allowed and not is_tracking_param(key))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown query parameter."] for name in unknown})
        return attrs

    @classmethod
    def parse(cls, query: QueryDict) -> dict:
        if not query:  # most requests: what an empty query gives is the same every time (no field has a default)
            empty = cls.__dict__.get("_parsed_empty")
            if empty is None:
                params = cls(QueryDict())
                params.is_valid(raise_exception=True)
                empty = cls._parsed_empty = dict(params.validated_data)
            return dict(empty)
        params = cls(query)
        params.is_valid(raise_exception=True)
        return params.validated_data


def parse_field_list(raw: str | None, available: list[str]) -> list[str] | None:
    """`fields=a,b` as a list, each checked against what the representation has."""
    if not raw:
        return None
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in names if name not in available]
    if unknown:
        raise serializers.ValidationError(
            {"fields": [f"Unknown field(s): {', '.join(unknown)}. Available: {', '.join(available)}."]}
        )
    return names


class DetailParams(QueryParamsSerializer):
    """A detail page takes `fields`, and a preview token."""

    allow_pagination = False
    preview = serializers.CharField(
        required=False, max_length=200,
        help_text="A token from the admin's Preview button: this record as the public will see it, published or "
        "not (answered `private, no-store`; 403 when the token is forged or expired, 404 for another record).",
    )  # fmt: skip
