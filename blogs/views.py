from drf_spectacular.utils import extend_schema, extend_schema_view

from biomuseum.pagecache import CachePolicy
from biomuseum.pagination import KeysetPagination
from biomuseum.queryparams import DetailParams
from biomuseum.viewsets import ContentViewSet

from . import selectors, services
from .models import Post
from .serializers import PostDetailSerializer, PostListParams, PostListSerializer, PostWriteSerializer


class PostPagination(KeysetPagination):
    ordering = ("-published_at", "-id")


@extend_schema_view(
    list=extend_schema(parameters=[PostListParams]),
    create=extend_schema(request=PostWriteSerializer, responses={201: PostDetailSerializer}),
    partial_update=extend_schema(request=PostWriteSerializer, responses={200: PostDetailSerializer}),
)
class PostViewSet(ContentViewSet):
    """Blog posts. Anyone reads what is published and due; staff with model permissions write."""

    queryset = Post.objects.all()
    pagination_class = PostPagination
    list_serializer_class = PostListSerializer
    detail_serializer_class = PostDetailSerializer
    write_serializer_class = PostWriteSerializer
    list_params = PostListParams
    page_cache = {
        "list": CachePolicy(families=("posts",), params=PostListParams, expires=selectors.next_publication_at),
        "retrieve": CachePolicy(
            families=("posts", "organisms"), params=DetailParams, expires=selectors.next_publication_at
        ),
    }

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.post_detail_queryset()
        return Post.objects.all()

    def list_queryset(self, params: dict):
        return selectors.post_list(tag=params.get("tag", ""), search=params.get("search", ""))

    def staff_detail_queryset(self):
        return selectors.post_detail_queryset(include_unpublished=True)

    def perform_create(self, serializer):
        return services.post_create(author=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        return services.post_update(post=serializer.instance, user=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.post_delete(post=instance, user=self.request.user)
