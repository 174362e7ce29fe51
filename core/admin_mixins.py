"""What the admin apps share."""


class ReadOnlyAdminMixin:
    """Records written only by services (tasks' timelines, costs, reviews, the audit log...):
    viewable, never added, changed or deleted in the admin, superusers included."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
