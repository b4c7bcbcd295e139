import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "biomuseum.settings")

django_application = get_wsgi_application()

from biomuseum.pagecache import PageCacheApp  # noqa: E402 - needs Django set up
from ops.wsgi import RequestContextApp  # noqa: E402

# Public API pages are answered from the cache before Django builds a request; outside it all,
# every request gets its id, timing, access line and metrics (cache hits included).
application = RequestContextApp(PageCacheApp(django_application))
