"""Darwin Core: checklists imported into the taxon tree and the catalogue exported as a Darwin Core Archive."""
