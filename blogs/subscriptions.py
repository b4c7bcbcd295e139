"""The newsletter's public endpoints: subscribe, confirm, unsubscribe (one-click, RFC 8058)."""

import ipaddress

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from biomuseum.renderers import FastJSONRenderer
from biomuseum.serializers import StrictInputMixin
from biomuseum.throttles import PolicyThrottle, RateLimitHeadersMixin

from . import services
from .models import Subscriber, SubscriberStatus
from .notifications import read_token

ACCEPTED = "If the address can receive mail, a message to confirm the subscription is on its way."
BAD_LINK = "This link is invalid or has expired."
UNSUBSCRIBED_SINCE = "This address unsubscribed after the link was sent; subscribe again for a new one."


class SubscribeThrottle(PolicyThrottle):
    policies = ("subscribe-ip", "subscribe-address")


class SubscriptionLinkThrottle(PolicyThrottle):
    policies = ("subscription-link",)


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
