"""The blog's API: posts, and the newsletter's public endpoints."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from biomuseum.pagecache import CachePolicy
from biomuseum.pagination import KeysetPagination
from biomuseum.queryparams import DetailParams
from biomuseum.renderers import FastJSONRenderer
from biomuseum.throttles import PolicyThrottle, RateLimitHeadersMixin
from biomuseum.viewsets import ContentViewSet

from . import selectors, services
from .models import Post, Subscriber, SubscriberStatus
from .notifications import read_token
from .serializers import (
    PostDetailSerializer,
    PostListParams,
    PostListSerializer,
    PostWriteSerializer,
    SubscribeSerializer,
    TokenSerializer,
)


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


# --- the newsletter: subscribe, confirm, unsubscribe (one-click, RFC 8058), open to anyone ---

ACCEPTED = "If the address can receive mail, a message to confirm the subscription is on its way."
BAD_LINK = "This link is invalid or has expired."
UNSUBSCRIBED_SINCE = "This address unsubscribed after the link was sent; subscribe again for a new one."


class SubscribeThrottle(PolicyThrottle):
    policies = ("subscribe-ip", "subscribe-address")


class SubscriptionLinkThrottle(PolicyThrottle):
    policies = ("subscription-link",)


AcceptedSerializer = inline_serializer("SubscriptionAccepted", {"detail": serializers.CharField()})
StatusSerializer = inline_serializer("SubscriptionStatus", {"status": serializers.CharField()})
TOKEN = OpenApiParameter(
    "token",
    {"type": "string", "maxLength": TokenSerializer().fields["token"].max_length},
    required=True,
    description="From the link in the email.",
)


class PublicEndpoint(RateLimitHeadersMixin, APIView):
    """Open to anyone; no session, so no CSRF dance for links clicked in a mail client."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    def subscriber_from(self, request, purpose: str, max_age: int | None = None) -> Subscriber:
        raw = request.query_params.get("token") or (request.data.get("token") if hasattr(request.data, "get") else None)
        serializer = TokenSerializer(data={"token": raw})
        serializer.is_valid(raise_exception=True)
        subscriber = read_token(serializer.validated_data["token"], purpose, max_age=max_age)
        if subscriber is None:
            raise ValidationError({"token": [BAD_LINK]})
        return subscriber


class SubscribeView(PublicEndpoint):
    throttle_classes = [SubscribeThrottle]

    @extend_schema(
        request=SubscribeSerializer, responses={202: inline_serializer("Accepted", {"detail": serializers.CharField()})}
    )
    def post(self, request):
        """Ask for the blog by email. The answer is the same whether the address is new or known."""
        serializer = SubscribeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.subscriber_subscribe(email=serializer.validated_data["email"])
        return Response({"detail": ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class ConfirmView(PublicEndpoint):
    """Consent takes a deliberate act: the link (GET, HEAD: what mail scanners send) only shows where the
    address stands, with a button for a person; the POST confirms. A link sent before an unsubscribe
    confirms nothing (subscribing again sends a new one)."""

    throttle_classes = [SubscriptionLinkThrottle]
    renderer_classes = [FastJSONRenderer, TemplateHTMLRenderer]
    template_name = "blogs/confirm_page.html"

    @extend_schema(parameters=[TOKEN], responses={200: StatusSerializer})
    def get(self, request):
        """Where the confirmation link leads: the address's status; changes nothing (POST to confirm)."""
        subscriber = self.subscriber_from(request, "confirm", max_age=settings.SUBSCRIPTION_CONFIRM_MAX_AGE)
        body = {"status": subscriber.status}
        if _wants_html(request):  # the page's button posts the token back
            body["token"] = request.query_params.get("token", "")
        return Response(body)

    @extend_schema(parameters=[TOKEN], request=None, responses={200: StatusSerializer})
    def post(self, request):
        """Confirm the subscription (the button on the link's page, or a frontend's own)."""
        subscriber = self.subscriber_from(request, "confirm", max_age=settings.SUBSCRIPTION_CONFIRM_MAX_AGE)
        subscriber = services.subscriber_confirm(subscriber=subscriber)
        if subscriber.status != SubscriberStatus.CONFIRMED:
            raise ValidationError({"token": [UNSUBSCRIBED_SINCE]})
        return Response({"status": subscriber.status})


def _wants_html(request) -> bool:
    return isinstance(getattr(request, "accepted_renderer", None), TemplateHTMLRenderer)


class UnsubscribeView(PublicEndpoint):
    throttle_classes = [SubscriptionLinkThrottle]

    @extend_schema(parameters=[TOKEN], responses={200: StatusSerializer})
    def get(self, request):
        """Where the link leads: says whether the address is subscribed; changes nothing (scanners follow links)."""
        subscriber = self.subscriber_from(request, "unsubscribe")
        return Response({"status": subscriber.status})

    @extend_schema(parameters=[TOKEN], request=None, responses={200: StatusSerializer})
    def post(self, request):
        """Unsubscribe: one click from the mail client (List-Unsubscribe-Post) or the page."""
        subscriber = self.subscriber_from(request, "unsubscribe")
        services.subscriber_unsubscribe(subscriber=subscriber)
        return Response({"status": "unsubscribed"})
