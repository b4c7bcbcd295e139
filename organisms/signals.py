"""Page-cache invalidation for the catalogue.

Signals rather than service calls because every path must invalidate: services,
the admin's forms and inlines, the shell, imports. Only writes the public can see
count (biomuseum.publicstate), and a transaction bumps once, after it commits.
"""

from biomuseum.publicstate import invalidate_on_writes

from .models import Organism, OrganismImage, Taxon, VernacularName


def connect() -> None:
    for model in (Organism, OrganismImage, Taxon, VernacularName):
        invalidate_on_writes(model, "organisms")
