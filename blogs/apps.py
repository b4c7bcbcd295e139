from django.apps import AppConfig


class BlogsConfig(AppConfig):
    name = "blogs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from organisms import related

        from . import selectors, serializers, signals

        signals.connect()
        related.register(
            related.RelatedContent(
                name="related_posts",
                field=lambda: serializers.RelatedPostSerializer(source="posts", many=True, read_only=True),
                prefetch=selectors.organism_posts_prefetch,
                families=("posts",),
                expires=selectors.next_publication_at,
            )
        )
