import io

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from biomuseum.images import ImageStatus
from blogs.models import CoverImage, Post, PostStatus, Tag
from organisms.models import ConservationStatus, Organism, OrganismImage
from organisms.services import place_in_tree


def jpeg_bytes(width: int = 64, height: int = 48, colour: str = "green") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG")
    return buffer.getvalue()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def permissions(self, create, extracted, **kwargs):
        """`permissions=["organisms.add_organism", ...]`"""
        if create and extracted:
            for dotted in extracted:
                app_label, codename = dotted.split(".")
                self.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        if create:
            self.save()


class OrganismFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organism

    scientific_name = factory.Sequence(lambda n: f"Testgenus species{n}")
    slug = factory.Sequence(lambda n: f"testgenus-species{n}")
    common_name = factory.Sequence(lambda n: f"Test creature {n}")
    kingdom = "Animalia"
    phylum = "Chordata"
    class_name = "Mammalia"
    order_name = "Carnivora"
    family = "Felidae"
    genus = "Testgenus"
    conservation_status = ConservationStatus.LEAST_CONCERN
    is_published = True

    @classmethod
    def _create(cls, model_class, *args, placed: bool = True, **kwargs):
        """In the taxon tree, as the services put every organism, in one transaction (`placed=False`: not)."""
        with transaction.atomic():
            organism = super()._create(model_class, *args, **kwargs)
            if placed:
                place_in_tree([organism])
        return organism


class OrganismImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrganismImage

    organism = factory.SubFactory(OrganismFactory)
    original = factory.LazyFunction(lambda: SimpleUploadedFile("photo.jpg", jpeg_bytes(), content_type="image/jpeg"))
    alt_text = "A test photograph"
    status = ImageStatus.READY
    renditions = factory.LazyFunction(
        lambda: [
            {"url": "/media/r/a-320.webp", "width": 320, "height": 240, "format": "webp", "bytes": 1000},
            {"url": "/media/r/a-640.webp", "width": 640, "height": 480, "format": "webp", "bytes": 3000},
            {"url": "/media/r/a-320.jpg", "width": 320, "height": 240, "format": "jpeg", "bytes": 2000},
        ]
    )


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag {n}")
    slug = factory.Sequence(lambda n: f"tag-{n}")


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Post number {n}")
    slug = factory.Sequence(lambda n: f"post-number-{n}")
    excerpt = "A short excerpt."
    body = "## Hello\n\nSome *text*."
    status = PostStatus.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(days=1))
    author = factory.SubFactory(UserFactory)
    notifications_queued_at = None


class CoverImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoverImage

    post = factory.SubFactory(PostFactory)
    original = factory.LazyFunction(lambda: SimpleUploadedFile("cover.jpg", jpeg_bytes(), content_type="image/jpeg"))
    alt_text = "A test cover"
    credit = "Test photographer"
    status = ImageStatus.READY
    renditions = factory.LazyFunction(
        lambda: [
            {"url": "/media/r/c-640.webp", "width": 640, "height": 480, "format": "webp", "bytes": 3000},
            {"url": "/media/r/c-320.webp", "width": 320, "height": 240, "format": "webp", "bytes": 1000},
        ]
    )
