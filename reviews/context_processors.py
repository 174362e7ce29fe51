"""The count of what waits for a person, for the control room's navigation on every admin page.
Lazy: counted only when a page shows the navigation (staff users), in one query plus the
channels' gates."""

from django.utils.functional import SimpleLazyObject

from reviews.waiting import waiting_counts


def waiting(request):
    return {"vg_waiting": SimpleLazyObject(waiting_counts)}
