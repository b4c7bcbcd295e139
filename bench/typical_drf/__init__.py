"""The reference a miss is measured against: the app a Django team writes first, over BioMuseum's organisms.

`ModelViewSet` + `ModelSerializer` with every field, `PageNumberPagination` (OFFSET and COUNT), Django's
default middleware, no cache; the same table, database and connection pool as BioMuseum, served by the same
gunicorn.conf.py. It is not part of the product: `bench/run.py` starts it beside BioMuseum.
"""
