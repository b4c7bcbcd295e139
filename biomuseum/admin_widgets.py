"""Admin display pieces both apps use: image previews and status badges."""

from django.utils.html import format_html

STATUS_COLOURS = {"pending": "#8a6d3b", "processing": "#31708f", "ready": "#3c763d", "failed": "#a94442"}


def image_preview(image, size: int = 80) -> str:
    if image is None or not image.original:
        return "—"
    return format_html(
        '<img src="{}" alt="{}" style="max-width:{}px;max-height:{}px;object-fit:cover;border-radius:3px">',
        image.smallest_url(),
        image.alt_text,
        size,
        size,
    )


def status_badge(status: str, error: str = "") -> str:
    return format_html(
        '<span title="{}" style="color:#fff;background:{};padding:1px 6px;border-radius:8px">{}</span>',
        error,
        STATUS_COLOURS.get(status, "#777"),
        status,
    )
