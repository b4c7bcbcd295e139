"""Links from the admin to the public frontend (FRONTEND_URL), the JavaScript site that reads the API.

This server has no public pages of its own: its `/` is a 404 and a record's API URL is JSON. So the admin's
"View site" and "View on site" lead to the frontend, and are hidden when FRONTEND_URL is unset.
"""

from urllib.parse import quote

from django.conf import settings


def frontend_url(path: str = "/") -> str | None:
    return f"{settings.FRONTEND_URL}{path}" if settings.FRONTEND_URL else None


class ViewOnFrontendMixin:
    """For a ModelAdmin of records with a slug: "View on site" opens the record's frontend page.

    `frontend_path_setting` names the setting with the page's path (`{slug}` filled in). Only records the
    public can see get the link: the frontend has no page for a draft.
    """

    frontend_path_setting: str

    def is_on_frontend(self, obj) -> bool:
        return obj.shows_publicly()

    def view_on_site(self, obj) -> str | None:
        if not settings.FRONTEND_URL or not self.is_on_frontend(obj):
            return None
        return frontend_url(getattr(settings, self.frontend_path_setting).format(slug=quote(obj.slug)))
