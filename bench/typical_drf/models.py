from django.db import models


class Organism(models.Model):
    """BioMuseum's organisms table as a team's own model would declare it (not managed: BioMuseum's migrations
    made it)."""

    slug = models.SlugField(max_length=140, unique=True)
    common_name = models.CharField(max_length=200)
    scientific_name = models.CharField(max_length=200, unique=True)
    kingdom = models.CharField(max_length=80)
    phylum = models.CharField(max_length=80, blank=True)
    class_name = models.CharField(max_length=80, blank=True)
    order_name = models.CharField(max_length=80, blank=True)
    family = models.CharField(max_length=80, blank=True)
    genus = models.CharField(max_length=80, blank=True)
    conservation_status = models.CharField(max_length=2)
    habitat = models.TextField(blank=True)
    distribution = models.TextField(blank=True)
    description = models.TextField(blank=True)
    is_published = models.BooleanField(default=False)
    taxon_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "organisms_organism"

    def __str__(self) -> str:
        return self.scientific_name
