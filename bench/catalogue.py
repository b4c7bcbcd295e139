"""The URLs the scenarios request, found on the running BioMuseum, and the responses the references replay."""

import base64
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from .load import KeepAliveClient, header, http_get

HEALTH = "/ops/health/"
READY = "/ops/ready/"
LIST = "/api/v1/organisms/"
POSTS = "/api/v1/posts/"
TAXA = "/api/v1/taxa/"
PREFERRED_DETAIL = "/api/v1/organisms/panthera-uncia/"  # a real species with related posts
DEEP_ROWS = 50_000
WALK_PAGE_SIZE = 100
TAIL_PER_PAGE = 2  # organism details taken from each walked page for the long tail (1,000 in all)

# What visitors type: common and rare words, names with numbers, no match at all (organisms/demo/synthetic.py
# names species "Spotted beetle 4264"; "wolf" is only in a vernacular name, "Tasmanian wolf").
SEARCHES = ["leopard", "shrew", "spotted orchid", "panthera", "beetle 4264", "lichen", "ursus", "wolf", "unicorn"]
AUTOCOMPLETES = ["pa", "pan", "panth", "les", "lesser sh", "orc", "bu", "snow", "ka", "gre"]
# Headers that belong to one connection or one moment, not to the response a reference should replay.
UNCAPTURED_HEADERS = {"connection", "date", "keep-alive", "server", "transfer-encoding"}


@dataclass(frozen=True)
class Catalogue:
    probe: str  # what cold start waits for: readiness when the app has it, otherwise liveness
    detail: str
    deep: str
    mixed: list[str]
    searches: list[str]
    autocompletes: list[str]
    taxa: dict[str, dict]  # rank -> the taxon chosen for the ?taxon= rows: id, name, published organisms
    taxon_filters: dict[str, str]  # rank -> the organism list filtered by that taxon
    taxon_details: list[str]  # a genus's page and one of its species'
    walk_seconds: float
    tail: list[str] = field(default_factory=list)  # organism details across the catalogue: the long tail

    @property
    def replayed(self) -> list[str]:
        """Every target a reference must answer: the throughput scenarios' URLs."""
        return list(dict.fromkeys([HEALTH, LIST, self.detail, self.deep, *self.mixed]))

    @property
    def memory_mix(self) -> list[str]:
        """Cached and uncached reads, many distinct URLs: what a leak would show on."""
        mix = [*self.mixed, self.deep, *self.searches, *self.autocompletes, *self.taxon_filters.values()]
        mix += self.taxon_details
        return list(dict.fromkeys(mix))

    def as_dict(self) -> dict:
        return asdict(self)


def discover(port: int, time_limit: float = 300.0) -> Catalogue:
    """Follows the API's own links, as a client would: slugs from the first page, a cursor 50,000 rows deep,
    and the taxa to filter by."""
    probe = HEALTH if http_get(port, READY).status == 404 else READY  # a 503 may only mean "not warm yet"
    client = KeepAliveClient(port)
    try:
        first = _json(client, LIST)
        slugs = [row["slug"] for row in first["results"]]
        detail = PREFERRED_DETAIL if client.get(PREFERRED_DETAIL)[0] == 200 else f"{LIST}{slugs[0]}/"
        started = time.monotonic()
        tail: list[str] = []
        target = f"{LIST}?page_size={WALK_PAGE_SIZE}"
        for _ in range(DEEP_ROWS // WALK_PAGE_SIZE):
            if time.monotonic() - started > time_limit:
                raise RuntimeError(f"walking {DEEP_ROWS:,} rows deep took over {time_limit:.0f}s")
            page = _json(client, target)
            tail += [f"{LIST}{row['slug']}/" for row in page["results"][:: WALK_PAGE_SIZE // TAIL_PER_PAGE]]
            next_link = page["next"]
            if not next_link:
                raise RuntimeError(f"the organism list ends before {DEEP_ROWS:,} rows: is the database seeded?")
            target = target_of(next_link)
        walk_seconds = time.monotonic() - started
        deep = _without_param(target, "page_size")  # the default page size, like page 1
        if client.get(deep)[0] != 200:
            raise RuntimeError(f"the deep page {deep} does not answer 200")
        details = [f"{LIST}{slug}/" for slug in slugs[1:5]]
        taxa = {rank: _largest_taxon(client, rank) for rank in ("kingdom", "family", "genus")}
        species = _json(client, f"{TAXA}?{urlencode({'parent': taxa['genus']['id'], 'rank': 'species'})}")
        taxon_details = [f"{TAXA}{taxa['genus']['id']}/", f"{TAXA}{species['results'][0]['id']}/"]
    finally:
        client.close()
    mixed = [
        LIST,
        target_of(first["next"]),
        detail,
        *details,
        f"{LIST}?{urlencode({'search': SEARCHES[0]})}",
        f"{LIST}autocomplete/?{urlencode({'q': AUTOCOMPLETES[1]})}",
        POSTS,
        HEALTH,
    ]
    return Catalogue(
        probe=probe,
        detail=detail,
        deep=deep,
        mixed=mixed,
        searches=[f"{LIST}?{urlencode({'search': term})}" for term in SEARCHES],
        autocompletes=[f"{LIST}autocomplete/?{urlencode({'q': prefix})}" for prefix in AUTOCOMPLETES],
        taxa=taxa,
        taxon_filters={rank: f"{LIST}?{urlencode({'taxon': taxon['id']})}" for rank, taxon in taxa.items()},
        taxon_details=taxon_details,
        walk_seconds=walk_seconds,
        tail=tail,
    )


def _largest_taxon(client: KeepAliveClient, rank: str) -> dict:
    """Of the first page of taxa of `rank` (up to 100, by name), the one with the most published organisms
    beneath it, as its detail page counts them: the heaviest `?taxon=` filter a visitor is likely to meet."""
    listed = _json(client, f"{TAXA}?{urlencode({'rank': rank, 'page_size': 100})}")["results"]
    counted = [_json(client, f"{TAXA}{taxon['id']}/") for taxon in listed]
    largest = max(counted, key=lambda taxon: taxon["organism_count"])
    if not largest["organism_count"]:
        raise RuntimeError(f"no {rank} among the first {len(listed)} has a published organism: is the tree built?")
    return {"id": largest["id"], "name": largest["scientific_name"], "organisms": largest["organism_count"]}


def capture(port: int, targets: list[str], path: Path) -> tuple[dict[str, tuple[str, bytes]], dict[str, str]]:
    """Saves BioMuseum's answer to each target (after a warm-up request) for the bare WSGI reference.

    Returns {target: (content type, body)} for nginx, and {target: X-Cache header} of the repeated request.
    """
    responses = []
    files = {}
    cache_status = {}
    for target in targets:
        http_get(port, target)  # warm-up: what the scenarios measure is the repeated request
        response = http_get(port, target)
        if response.status != 200:
            raise RuntimeError(f"{target} answered {response.status}: {response.body[:300]!r}")
        headers = [(name, value) for name, value in response.headers if name.lower() not in UNCAPTURED_HEADERS]
        responses.append(
            {
                "target": target,
                "status": response.status,
                "reason": response.reason,
                "headers": headers,
                "body": base64.b64encode(response.body).decode("ascii"),
            }
        )
        content_type = header(response, "Content-Type") or ""
        files[target] = (content_type, response.body)
        cache_status[target] = header(response, "X-Cache") or "none"
    path.write_text(json.dumps({"responses": responses}, indent=1))
    return files, cache_status


def target_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _without_param(target: str, name: str) -> str:
    parts = urlsplit(target)
    query = urlencode([(key, value) for key, value in parse_qsl(parts.query) if key != name])
    return f"{parts.path}?{query}" if query else parts.path


def _json(client: KeepAliveClient, target: str) -> dict:
    response, _ = client.fetch(target)
    if response.status != 200:
        raise RuntimeError(f"{target} answered {response.status}: {response.body[:300]!r}")
    return json.loads(response.body)
