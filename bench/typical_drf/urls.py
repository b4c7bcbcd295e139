from django.urls import include, path
from rest_framework import routers, serializers, viewsets

from .models import Organism


class OrganismSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organism
        fields = "__all__"


class OrganismViewSet(viewsets.ModelViewSet):
    # BioMuseum's public order, so both read the same rows through the same index.
    queryset = Organism.objects.filter(is_published=True).order_by("scientific_name")
    serializer_class = OrganismSerializer
    lookup_field = "slug"


router = routers.DefaultRouter()
router.register("organisms", OrganismViewSet)

urlpatterns = [path("api/v1/", include(router.urls))]
