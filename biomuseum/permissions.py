from rest_framework.permissions import SAFE_METHODS, BasePermission, DjangoModelPermissions


class StaffModelPermissionsOrReadOnly(BasePermission):
    """Anyone may read; a write needs a staff account holding the model's add/change/delete permission."""

    _model_permissions = DjangoModelPermissions()

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS or not self._view_handles(request, view):
            return True  # reads are public; a method the view lacks gets its 405, not a 401
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        return self._model_permissions.has_permission(request, view)

    @staticmethod
    def _view_handles(request, view) -> bool:
        method = request.method.lower()
        return method in view.http_method_names and hasattr(view, method)


def staff_with(*permissions: str) -> type[BasePermission]:
    """A permission class: a staff account holding every named model permission ("app.codename")."""

    class StaffWith(BasePermission):
        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.is_staff and user.has_perms(permissions))

    StaffWith.__name__ = f"StaffWith({', '.join(permissions)})"
    return StaffWith
