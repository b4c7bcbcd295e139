from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from biomuseum.pagecache import CachePolicy
from biomuseum.pagination import KeysetPagination
from biomuseum.queryparams import DetailParams, parse_field_list
from biomuseum.viewsets import ContentViewSet

from . import selectors, services
from .models import Post
from .serializers import PostDetailSerializer, PostListParams, PostListSerializer, PostWriteSerializer


class PostPagination(KeysetPagination):
    ordering = ("-published_at", "-id")


class PostViewSet(ContentViewSet):
    """Blog posts. Anyone reads what is published and due; staff with model permissions write."""

    queryset = Post.objects.all()
    pagination_class = PostPagination
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

    def get_serializer_class(self):
        if self.action in ("create", "partial_update"):
            return PostWriteSerializer
        return PostDetailSerializer if self.action == "retrieve" else PostListSerializer

    def _detail(self, post: Post) -> dict:
        """Staff see what they wrote, published or not."""
        post = Post.objects.select_related("author").prefetch_related("tags", "related_organisms").get(pk=post.pk)
        return self.represent(PostDetailSerializer, post)

    @extend_schema(parameters=[PostListParams])
    def list(self, request, *args, **kwargs):
        params = PostListParams.parse(request.query_params)
        fields = parse_field_list(params.get("fields"), PostListSerializer.Meta.fields)
        page = self.paginate_queryset(selectors.post_list(tag=params.get("tag", ""), search=params.get("search", "")))
        return self.get_paginated_response(self.represent(PostListSerializer, page, many=True, fields=fields))

    @extend_schema(parameters=[DetailParams])
    def retrieve(self, request, *args, **kwargs):
        params = DetailParams.parse(request.query_params)
        fields = parse_field_list(params.get("fields"), PostDetailSerializer.Meta.fields)
        return Response(self.represent(PostDetailSerializer, self.get_object(), fields=fields))

    @extend_schema(request=PostWriteSerializer, responses={201: PostDetailSerializer})
    def create(self, request, *args, **kwargs):
        serializer = PostWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = services.post_create(author=request.user, **serializer.validated_data)
        return Response(self._detail(post), status=status.HTTP_201_CREATED)

    @extend_schema(request=PostWriteSerializer, responses={200: PostDetailSerializer})
    def partial_update(self, request, *args, **kwargs):
        post = self.get_object()
        serializer = PostWriteSerializer(post, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.post_update(post=post, user=request.user, **serializer.validated_data)
        return Response(self._detail(post))

    def perform_destroy(self, instance):
        services.post_delete(post=instance, user=self.request.user)
