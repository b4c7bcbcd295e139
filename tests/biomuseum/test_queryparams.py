"""biomuseum/queryparams.py on its own: declared parameters typed, unknown ones refused, empty values unset,
tracking parameters ignored, repeated parameters read once."""

from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from biomuseum.pagecache.routes import Route, canonical_query
from biomuseum.queryparams import (
    PAGINATION_PARAMS,
    TRACKING_PARAMS,
    DetailParams,
    QueryParamsSerializer,
    is_tracking_param,
    parse_field_list,
)

UNKNOWN = ["Unknown query parameter."]


class ThingParams(QueryParamsSerializer):
    count = serializers.IntegerField(required=False, min_value=1, max_value=50)
    flag = serializers.BooleanField(required=False)
    kind = serializers.ChoiceField(choices=["plant", "animal"], required=False)
    name = serializers.CharField(required=False, max_length=10)


class SearchParams(QueryParamsSerializer):
    allow_pagination = False
    q = serializers.CharField(max_length=100)


def parse(params: type[QueryParamsSerializer], query: str) -> dict:
    return params.parse(QueryDict(query))


def refusal(params: type[QueryParamsSerializer], query: str) -> dict:
    with pytest.raises(ValidationError) as caught:
        parse(params, query)
    return caught.value.detail


# --- declared parameters ---


def test_parse_returns_the_declared_parameters_typed():
    assert parse(ThingParams, "count=3&flag=true&kind=plant&name=Kiwi") == {
        "count": 3,
        "flag": True,
        "kind": "plant",
        "name": "Kiwi",
    }


def test_parse_of_nothing_is_nothing():
    assert parse(ThingParams, "") == {}
    params = ThingParams()  # no query at all
    assert params.is_valid(), params.errors
    assert params.validated_data == {}


@pytest.mark.parametrize(
    "query, field",
    [
        ("count=abc", "count"),
        ("count=1.5", "count"),
        ("count=0", "count"),
        ("count=51", "count"),
        ("flag=maybe", "flag"),
        ("kind=fungus", "kind"),
        ("name=" + "x" * 11, "name"),
        ("fields=" + "a" * 501, "fields"),
    ],
)
def test_parse_refuses_a_value_of_the_wrong_type_or_range(query, field):
    detail = refusal(ThingParams, query)
    assert list(detail) == [field]
    assert detail[field] != UNKNOWN


def test_parse_refuses_a_missing_required_parameter():
    assert "q" in refusal(SearchParams, "")
    assert "q" in refusal(SearchParams, "")  # every time: a refusal is never remembered as the empty answer
    assert parse(SearchParams, "q=kea") == {"q": "kea"}


def test_parse_of_an_empty_query_validates_once_and_hands_out_a_fresh_dict():
    class Counted(QueryParamsSerializer):
        name = serializers.CharField(required=False)
        made = 0

        def __init__(self, *args, **kwargs):
            type(self).made += 1
            super().__init__(*args, **kwargs)

    first = parse(Counted, "")
    first["name"] = "changed by a caller"
    assert parse(Counted, "") == {} and Counted.made == 1
    assert parse(Counted, "name=kea") == {"name": "kea"} and Counted.made == 2


# --- unknown parameters ---


def test_unknown_parameter_is_refused_with_the_documented_error():
    assert refusal(ThingParams, "count=2&colour=red") == {"colour": UNKNOWN}


def test_every_unknown_parameter_is_named_at_once():
    detail = refusal(ThingParams, "zeta=1&count=2&alpha=1&Count=3")
    assert detail == {"Count": UNKNOWN, "alpha": UNKNOWN, "zeta": UNKNOWN}


def test_misspelt_parameter_is_refused_even_when_empty():
    """A typo must not silently return everything, whatever value it carries."""
    assert refusal(ThingParams, "cuont=") == {"cuont": UNKNOWN}


def test_unknown_parameter_with_an_empty_name_is_refused():
    assert refusal(ThingParams, "=x") == {"": UNKNOWN}


def test_fields_is_accepted_by_every_query_serializer():
    assert parse(ThingParams, "fields=slug,url") == {"fields": "slug,url"}
    assert parse(DetailParams, "fields=slug") == {"fields": "slug"}
    assert parse(SearchParams, "q=a&fields=slug") == {"q": "a", "fields": "slug"}


def test_pagination_parameters_are_accepted_on_lists_but_left_to_the_paginator():
    assert {"cursor", "page_size"} == PAGINATION_PARAMS
    # The paginator validates them; here they are allowed through, unread.
    assert parse(ThingParams, "cursor=anything&page_size=abc") == {}


@pytest.mark.parametrize("params, query", [(DetailParams, ""), (SearchParams, "q=a&")])
def test_pagination_parameters_are_refused_where_there_are_no_pages(params, query):
    detail = refusal(params, query + "cursor=abc&page_size=5")
    assert detail == {"cursor": UNKNOWN, "page_size": UNKNOWN}


def test_detail_params_take_only_fields():
    assert refusal(DetailParams, "fields=slug&search=kiwi") == {"search": UNKNOWN}


# --- empty values ---


def test_empty_values_are_as_if_absent():
    assert parse(ThingParams, "count=&flag=&kind=&name=&fields=") == {}


def test_empty_value_does_not_meet_a_required_parameter():
    assert "q" in refusal(SearchParams, "q=")


def test_empty_value_is_not_validated_as_a_value():
    """`?kind=` from a filter left at "any" is no choice at all, not an invalid one."""
    assert parse(ThingParams, "kind=&count=4") == {"count": 4}


# --- tracking parameters ---


@pytest.mark.parametrize(
    "name", ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_", "fbclid", "gclid", "msclkid", "_"]
)
def test_is_tracking_param_recognises_what_links_pick_up(name):
    assert is_tracking_param(name)


@pytest.mark.parametrize("name", ["utm", "UTM_source", "xutm_source", "fbclid2", "source", "__", "cursor", "fields"])
def test_is_tracking_param_leaves_everything_else(name):
    assert not is_tracking_param(name)


def test_tracking_parameters_are_ignored_not_refused_and_not_returned():
    query = "count=2&utm_source=news&utm_campaign=spring&fbclid=abc&gclid=1&msclkid=2&mc_cid=3&mc_eid=4&_=1700"
    assert parse(ThingParams, query) == {"count": 2}
    assert parse(DetailParams, query.replace("count=2&", "")) == {}


def test_tracking_param_set_is_what_is_documented():
    assert {"fbclid", "gclid", "msclkid", "mc_cid", "mc_eid", "_"} == TRACKING_PARAMS


# --- repeated parameters ---


def test_repeated_parameter_last_value_wins():
    assert parse(ThingParams, "count=1&count=2") == {"count": 2}
    assert parse(ThingParams, "kind=plant&kind=animal") == {"kind": "animal"}


def test_repeated_parameter_only_the_last_value_is_validated():
    assert parse(ThingParams, "count=abc&count=2") == {"count": 2}
    assert "count" in refusal(ThingParams, "count=2&count=abc")


def test_repeated_parameter_with_an_empty_last_value_is_unset():
    assert parse(ThingParams, "count=2&count=") == {}


class SearchList(QueryParamsSerializer):
    search = serializers.CharField(required=False)


def read_through_the_page_cache(query: str) -> dict:
    """The query as the page cache rewrites it before Django renders a cacheable page, then parsed."""
    route = Route(name="thing-list", policy=None, allowed=frozenset(SearchList().fields))
    kept = canonical_query(route, {"QUERY_STRING": query})
    return SearchList.parse(QueryDict(urlencode(kept)))


@pytest.mark.parametrize("query", ["search=kiwi&search=kea", "search=&search=kiwi", "search=&search=", "search=kiwi"])
def test_repeated_parameter_means_the_same_with_and_without_the_page_cache(query):
    assert read_through_the_page_cache(query) == parse(SearchList, query)


def test_repeated_parameter_with_an_empty_last_value_means_the_same_with_and_without_the_page_cache():
    query = "search=kiwi&search="
    assert read_through_the_page_cache(query) == parse(SearchList, query)


# --- parse_field_list ---


def test_parse_field_list_absent_or_empty_is_every_field():
    assert parse_field_list(None, ["slug", "url"]) is None
    assert parse_field_list("", ["slug", "url"]) is None


def test_parse_field_list_strips_and_skips_blanks_in_the_order_asked():
    assert parse_field_list(" url , slug,,", ["slug", "url", "name"]) == ["url", "slug"]


def test_parse_field_list_refuses_unknown_names_and_lists_the_available_ones():
    with pytest.raises(ValidationError) as caught:
        parse_field_list("slug,colour,size", ["slug", "url"])
    (message,) = caught.value.detail["fields"]
    assert "colour, size" in message
    assert "Available: slug, url." in message


def test_parse_field_list_names_are_case_sensitive():
    with pytest.raises(ValidationError):
        parse_field_list("Slug", ["slug"])
