import ipaddress

from rest_framework import serializers

from biomuseum.queryparams import QueryParamsSerializer
from biomuseum.serializers import FieldsBuiltOnceMixin, ProcessedImageSerializer, SparseFieldsMixin, StrictInputMixin
from biomuseum.slugs import UniqueSlugMixin
from organisms.models import Organism
from organisms.serializers import OrganismSummarySerializer

from .models import Post, PostStatus, byline
from .selectors import cover_of


class CoverSerializer(ProcessedImageSerializer):
    credit = serializers.CharField(read_only=True)


class PostListSerializer(SparseFieldsMixin, FieldsBuiltOnceMixin, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="post-detail", lookup_field="slug")
    author = serializers.SerializerMethodField()
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    cover = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ["slug", "url", "title", "excerpt", "author", "published_at", "tags", "cover"]

    def get_author(self, post) -> str | None:
        return None if post.author is None else byline(post.author)

    def get_cover(self, post) -> CoverSerializer(allow_null=True):
        cover = cover_of(post)
        return CoverSerializer(cover, context=self.context).data if cover else None


class RelatedPostSerializer(FieldsBuiltOnceMixin, serializers.ModelSerializer):
    # Shown on the detail of each organism the post is about (registered in BlogsConfig.ready).
    url = serializers.HyperlinkedIdentityField(view_name="post-detail", lookup_field="slug")

    class Meta:
        model = Post
        fields = ["slug", "url", "title", "excerpt", "published_at"]


class RelatedOrganismSerializer(OrganismSummarySerializer):
    pass  # the same fields under the name the OpenAPI schema gives a post's species


class PostDetailSerializer(PostListSerializer):
    related_organisms = RelatedOrganismSerializer(many=True, read_only=True)

    class Meta(PostListSerializer.Meta):
        fields = [*PostListSerializer.Meta.fields, "body_html", "related_organisms", "updated_at"]


MAX_RELATED_ORGANISMS = 50


class CappedManyRelatedField(serializers.ManyRelatedField):
    """A list of related records with a cap checked before any is looked up (one query per item)."""

    def __init__(self, *, max_items: int, **kwargs):
        self.max_items = max_items
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, list) and len(data) > self.max_items:
            raise serializers.ValidationError(f"At most {self.max_items} items.")
        return super().to_internal_value(data)


class PostWriteSerializer(UniqueSlugMixin, StrictInputMixin, serializers.ModelSerializer):
    """What staff may set. The author, the rendered HTML and timestamps are the server's."""

    slug_taken_message = "A post with this slug already exists."

    slug = serializers.SlugField(max_length=160, required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, max_length=20, help_text="Tag names."
    )
    related_organisms = CappedManyRelatedField(
        child_relation=serializers.SlugRelatedField(slug_field="slug", queryset=Organism.objects.all()),
        max_items=MAX_RELATED_ORGANISMS,
        required=False,
        help_text=f"Slugs of the species the post is about (at most {MAX_RELATED_ORGANISMS}).",
    )
    status = serializers.ChoiceField(choices=PostStatus.choices, required=False)

    class Meta:
        model = Post
        fields = ["slug", "title", "excerpt", "body", "status", "published_at", "tags", "related_organisms"]


class PostListParams(QueryParamsSerializer):
    search = serializers.CharField(required=False, max_length=200)
    tag = serializers.SlugField(required=False, max_length=60)


class SubscribeSerializer(StrictInputMixin, serializers.Serializer):
    email = serializers.EmailField(max_length=254)

    def validate_email(self, value: str) -> str:
        """A newsletter goes to a mailbox on a named domain: not to an address literal (`[192.0.2.1]`, an
        internal host by number), nor to a name without a dot (`localhost`, an intranet host)."""
        domain = value.rpartition("@")[2].strip().lower().rstrip(".")
        if domain.startswith("[") or "." not in domain or _is_ip(domain):
            raise serializers.ValidationError("Enter an address on a public domain name.")
        return value


def _is_ip(domain: str) -> bool:
    try:
        ipaddress.ip_address(domain)
    except ValueError:
        return False
    return True


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=1000)
