"""The Darwin Core vocabulary BioMuseum reads and writes: row types, terms, and how their values map onto the
catalogue's. One module, so the import and the export cannot disagree on a term.

Sources: the Darwin Core text guide (https://dwc.tdwg.org/text/), the Darwin Core terms
(https://dwc.tdwg.org/terms/), GBIF's extensions (https://rs.gbif.org/extension/gbif/1.0/), GBIF's vocabularies
for rank, taxonomic status and threat status (https://rs.gbif.org/vocabulary/gbif/).
"""

DWC = "http://rs.tdwg.org/dwc/terms/"
DC = "http://purl.org/dc/terms/"
GBIF = "http://rs.gbif.org/terms/1.0/"

# Row types (meta.xml's rowType).
TAXON = f"{DWC}Taxon"
VERNACULAR_NAME = f"{GBIF}VernacularName"
DISTRIBUTION = f"{GBIF}Distribution"
DESCRIPTION = f"{GBIF}Description"
IDENTIFIER = f"{GBIF}Identifier"

# Short name -> term URI, for every term BioMuseum reads or writes. A plain CSV's header uses the short names
# (or the URIs); an archive's meta.xml the URIs.
TERMS = {
    **{
        name: f"{DWC}{name}"
        for name in (
            "taxonID",
            "parentNameUsageID",
            "acceptedNameUsageID",
            "scientificName",
            "scientificNameAuthorship",
            "taxonRank",
            "taxonomicStatus",
            "kingdom",
            "phylum",
            "class",
            "order",
            "family",
            "genus",
            "vernacularName",
            "locality",
            "countryCode",
            "occurrenceStatus",
            "establishmentMeans",
        )
    },  # fmt: skip
    "language": f"{DC}language",
    "description": f"{DC}description",
    "type": f"{DC}type",
    "identifier": f"{DC}identifier",
    "title": f"{DC}title",
    "source": f"{DC}source",
    "isPreferredName": f"{GBIF}isPreferredName",
    "threatStatus": f"{GBIF}threatStatus",
}
SHORT_NAMES = {uri: name for name, uri in TERMS.items()}

# The classification columns a row may carry instead of (or beside) parentNameUsageID, highest first, with the
# rank each names.
CLASSIFICATION = {"kingdom": "kingdom", "phylum": "phylum", "class": "class", "order": "order",
                  "family": "family", "genus": "genus"}  # fmt: skip

# taxonomicStatus values (GBIF's vocabulary, lower case) -> accepted or synonym. Anything else is refused.
ACCEPTED_STATUSES = {"accepted", "valid", "provisionally accepted", "doubtful"}
SYNONYM_STATUSES = {
    "synonym", "heterotypic synonym", "homotypic synonym", "homotypicsynonym", "heterotypicsynonym",
    "proparte synonym", "proparte_synonym", "misapplied", "objective synonym", "subjective synonym", "invalid",
}  # fmt: skip

# Description types (GBIF's DescriptionType vocabulary) that carry an organism's text fields.
DESCRIPTION_TYPES = {"general": "description", "habitat": "habitat"}

# External identifiers, written as URLs in the Identifier extension (and recognised as a taxonID):
# Taxon field -> URL prefix.
IDENTIFIER_URLS = {
    "gbif_key": "https://www.gbif.org/species/",
    "inaturalist_id": "https://www.inaturalist.org/taxa/",
    "col_id": "https://www.catalogueoflife.org/data/taxon/",
}

# The taxonID an export gives a taxon that was not imported (it has no source_id of its own).
LOCAL_ID_PREFIX = "biomuseum:taxon:"
