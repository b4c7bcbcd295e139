from django.urls import path

from . import views

urlpatterns = [
    path("health/", views.health, name="ops-health"),
    path("ready/", views.ready, name="ops-ready"),
    path("pools/", views.pool_stats, name="ops-pools"),
    path("metrics", views.prometheus_metrics, name="ops-metrics"),
]
