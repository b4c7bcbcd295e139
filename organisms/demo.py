"""Demo and benchmark content: the real catalogue shipped in demo_data/, and synthetic bulk records."""

import json
import random
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from blogs.markup import render_markdown
from blogs.models import Post, PostStatus
from blogs.services import tags_from_names

from .models import Organism

ORGANISMS_FILE = Path(__file__).resolve().parent / "demo_data" / "organisms.json"
POSTS_FILE = Path(__file__).resolve().parent.parent / "blogs" / "demo_data" / "posts.json"

SYNTHETIC_LINEAGES = [
    ("Animalia", "Chordata", "Mammalia", "Rodentia", "Muridae"),
    ("Animalia", "Chordata", "Aves", "Passeriformes", "Fringillidae"),
    ("Animalia", "Chordata", "Reptilia", "Squamata", "Lacertidae"),
    ("Animalia", "Chordata", "Amphibia", "Anura", "Hylidae"),
    ("Animalia", "Chordata", "Actinopterygii", "Cypriniformes", "Cyprinidae"),
    ("Animalia", "Arthropoda", "Insecta", "Coleoptera", "Carabidae"),
    ("Animalia", "Arthropoda", "Insecta", "Lepidoptera", "Nymphalidae"),
    ("Animalia", "Mollusca", "Gastropoda", "Stylommatophora", "Helicidae"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Asterales", "Asteraceae"),
    ("Plantae", "Tracheophyta", "Liliopsida", "Asparagales", "Orchidaceae"),
    ("Plantae", "Bryophyta", "Bryopsida", "Hypnales", "Hypnaceae"),
    ("Fungi", "Basidiomycota", "Agaricomycetes", "Agaricales", "Agaricaceae"),
    ("Fungi", "Ascomycota", "Lecanoromycetes", "Lecanorales", "Parmeliaceae"),
]
SYLLABLES = [
    "ba",
    "ce",
    "di",
    "fo",
    "gu",
    "la",
    "me",
    "ni",
    "po",
    "ru",
    "sa",
    "te",
    "vi",
    "xo",
    "zu",
    "ka",
    "le",
    "mi",
    "no",
    "pu",
]
ADJECTIVES = ["lesser", "greater", "spotted", "banded", "pale", "dusky", "northern", "southern", "alpine", "coastal"]
NOUNS = [
    "shrew",
    "finch",
    "lizard",
    "treefrog",
    "minnow",
    "beetle",
    "butterfly",
    "snail",
    "daisy",
    "orchid",
    "moss",
    "mushroom",
    "lichen",
]


def _latinish(number: int) -> str:
    letters = []
    while True:
        number, digit = divmod(number, len(SYLLABLES))
        letters.append(SYLLABLES[digit])
        if not number:
            return "".join(letters)


def _editorial_author():
    user, _ = get_user_model().objects.get_or_create(
        username="editorial", defaults={"first_name": "Museum", "last_name": "Editorial", "is_active": False}
    )
    return user


@transaction.atomic
def load_catalogue() -> tuple[int, int]:
    """The real species and posts; running it again changes nothing. Returns (organisms, posts) created."""
    created_organisms = 0
    for record in json.loads(ORGANISMS_FILE.read_text()):
        fields = {
            "common_name": record["common_name"],
            "kingdom": record["kingdom"],
            "phylum": record["phylum"],
            "class_name": record["class"],
            "order_name": record["order"],
            "family": record["family"],
            "genus": record["genus"],
            "conservation_status": record["conservation_status"],
            "habitat": record["habitat"],
            "distribution": record["distribution"],
            "description": record["description"],
            "is_published": True,
        }
        _, created = Organism.objects.get_or_create(
            scientific_name=record["scientific_name"], defaults={**fields, "slug": slugify(record["scientific_name"])}
        )
        created_organisms += created

    created_posts = 0
    author = _editorial_author()
    now = timezone.now()
    for record in json.loads(POSTS_FILE.read_text()):
        slug = slugify(record["title"])[:160]
        if Post.objects.filter(slug=slug).exists():
            continue
        published_at = (now - timedelta(days=record["days_ago"])).replace(microsecond=0)
        post = Post.objects.create(
            slug=slug,
            title=record["title"],
            excerpt=record["excerpt"],
            body=record["body"],
            author=author,
            status=PostStatus.DRAFT if record.get("draft") else PostStatus.PUBLISHED,
            published_at=None if record.get("draft") else published_at,
            notifications_queued_at=now,  # demo posts are never announced to subscribers
        )
        post.tags.set(tags_from_names(record["tags"]))
        post.related_organisms.set(Organism.objects.filter(scientific_name__in=record["related_organisms"]))
        created_posts += 1
    return created_organisms, created_posts


def synthetic_organisms(count: int, batch_size: int = 5000) -> int:
    """`count` generated records with unique names; already present ones are left alone."""
    rng = random.Random(20261123)
    statuses = [code for code, _ in Organism._meta.get_field("conservation_status").choices]
    synthetic = Organism.objects.filter(slug__startswith="synthetic-")
    existing = synthetic.count()
    for start in range(existing, count, batch_size):
        batch = []
        for index in range(start, min(start + batch_size, count)):
            kingdom, phylum, class_name, order_name, family = SYNTHETIC_LINEAGES[index % len(SYNTHETIC_LINEAGES)]
            genus = _latinish(index // 40 + 400).capitalize()
            scientific_name = f"{genus} {_latinish(index + 8000)}ensis"
            batch.append(
                Organism(
                    slug=f"synthetic-{slugify(scientific_name)}",
                    common_name=f"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(NOUNS)} {index}",
                    scientific_name=scientific_name,
                    kingdom=kingdom,
                    phylum=phylum,
                    class_name=class_name,
                    order_name=order_name,
                    family=family,
                    genus=genus,
                    conservation_status=rng.choice(statuses),
                    habitat="Generated for load testing.",
                    distribution="Nowhere: a synthetic record.",
                    description="A synthetic record generated to measure the catalogue at scale.",
                    is_published=True,
                )
            )
        Organism.objects.bulk_create(batch, ignore_conflicts=True)
    return synthetic.count() - existing


def synthetic_posts(count: int, batch_size: int = 2000) -> int:
    """`count` generated published posts spread over the past years."""
    body = "## A generated post\n\nWritten to measure the blog at scale. *Nothing here is real.*"
    body_html = render_markdown(body)
    author = _editorial_author()
    now = timezone.now()
    synthetic = Post.objects.filter(slug__startswith="synthetic-post-")
    existing = synthetic.count()
    for start in range(existing, count, batch_size):
        batch = [
            Post(
                slug=f"synthetic-post-{index}",
                title=f"Generated post {index}",
                excerpt="A synthetic post for load testing.",
                body=body,
                body_html=body_html,
                author=author,
                status=PostStatus.PUBLISHED,
                published_at=now - timedelta(hours=index + 1),
                notifications_queued_at=now,
            )
            for index in range(start, min(start + batch_size, count))
        ]
        Post.objects.bulk_create(batch, ignore_conflicts=True)
    return synthetic.count() - existing
