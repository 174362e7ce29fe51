"""The board moves other apps act on, registered by name, and who a Notion user is here.

A card moved to Approved asks for a review decision, which belongs to reviews; so does the
mapping of Notion users to Django users. reviews registers both (reviews/notion_board_actions.py,
from ReviewsConfig.ready), so notion_actions performs them without pipeline importing reviews.
A move with nothing registered is refused like any move the mover may not make; a mover with no
resolver registered is an unknown person.
"""

# name -> perform(task, user, notes); raising one of _refusals refuses the move with its message.
_performers = {}
_refusals = {}
_resolver = []


def board_move_register(name, perform, *, refusals=()):
    """Let a card move named `name` run `perform(task, user, notes)`; `refusals` are the
    exceptions by which it says no (their message is shown on the card)."""
    _performers[name] = perform
    _refusals[name] = tuple(refusals)


def board_move_perform(name, task, user, notes):
    try:
        perform = _performers[name]
    except KeyError:
        raise LookupError(f"no board move {name!r} is registered") from None
    perform(task, user, notes)


def board_move_refusals():
    """Every exception a registered move refuses with."""
    return tuple({error for errors in _refusals.values() for error in errors})


def notion_user_resolver_register(resolve):
    """`resolve(notion_user_id)` -> the Django user a Notion user acts as, or None."""
    _resolver[:] = [resolve]


def notion_user_resolve(notion_user_id):
    return _resolver[0](notion_user_id) if _resolver else None
