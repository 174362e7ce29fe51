"""YouTube's limits on a video's title, description and tags: the one place they are written.

YouTube refuses a videos.insert whose metadata breaks them (HTTP 400 invalidTitle,
invalidDescription, invalidTags, as the YouTube Data API v3 documents), after the whole video
has been made and paid for. So the storyboard parser, the writer (scripts/generate_storyboard.py)
and the channel file check them up front, with these functions.

Plain Python, no Django: the scripts import it too. Each *_problems function returns a list of
messages without a field path (empty when the value is fine); callers put the path in front:

    description: 5,202 bytes, YouTube allows 5,000 (UTF-8)
"""

TITLE_MAX_CHARACTERS = 100
DESCRIPTION_MAX_BYTES = 5000
TAGS_MAX_CHARACTERS = 500
FORBIDDEN_CHARACTERS = "<>"
# The upload adds one tag of its own, "videogen-<32 hex digits>", which reconciliation looks
# for (pipeline/integrations/youtube_metadata.py): the tags a person or the writer chooses must
# leave room for it and its comma, or the upload has to drop some of theirs.
UPLOAD_MARKER_TAG_CHARACTERS = len("videogen-") + 32
TAGS_RESERVED_FOR_UPLOAD = UPLOAD_MARKER_TAG_CHARACTERS + 1
TAGS_MAX_CHOSEN_CHARACTERS = TAGS_MAX_CHARACTERS - TAGS_RESERVED_FOR_UPLOAD


def _forbidden_problems(text):
    found = [character for character in FORBIDDEN_CHARACTERS if character in text]
    if not found:
        return []
    position = min(text.index(character) for character in found) + 1
    shown = " and ".join(repr(character) for character in found)
    return [f"contains {shown} (first at character {position}); YouTube refuses < and >"]


def title_problems(title):
    """1-100 characters (as YouTube counts them: Unicode characters), no < or >."""
    if not isinstance(title, str) or not title.strip():
        return ["must not be empty; YouTube needs a title of 1-100 characters"]
    problems = []
    if len(title) > TITLE_MAX_CHARACTERS:
        problems.append(f"{len(title):,} characters, YouTube allows 1-{TITLE_MAX_CHARACTERS:,}")
    return problems + _forbidden_problems(title)


def description_bytes(description):
    return len(description.encode("utf-8"))


def description_problems(description):
    """At most 5,000 bytes in UTF-8 (an "é" counts 2, most emoji 4), no < or >."""
    if not description:
        return []
    problems = []
    size = description_bytes(description)
    if size > DESCRIPTION_MAX_BYTES:
        problems.append(f"{size:,} bytes, YouTube allows {DESCRIPTION_MAX_BYTES:,} (UTF-8)")
    return problems + _forbidden_problems(description)


def tag_counted_length(tag):
    """A tag as YouTube counts it: its characters, plus 2 (its quotes) when it has a space."""
    return len(tag) + (2 if " " in tag else 0)


def tags_counted_length(tags):
    """All tags as YouTube counts them: each tag's length, a comma between tags, +2 per tag with
    a space. ["nature documentary", "pokemon"] counts 20 + 1 + 7 = 28."""
    tags = list(tags)
    return sum(tag_counted_length(tag) for tag in tags) + max(len(tags) - 1, 0)


def tags_problems(tags, *, reserve_upload_marker=True):
    """Tags within YouTube's 500 characters; by default leaving room for the upload's marker."""
    problems = []
    counted = tags_counted_length(tags)
    allowed = TAGS_MAX_CHOSEN_CHARACTERS if reserve_upload_marker else TAGS_MAX_CHARACTERS
    if counted > allowed:
        room = (
            f" ({TAGS_MAX_CHARACTERS:,} less {TAGS_RESERVED_FOR_UPLOAD} for the tag the upload "
            "adds)"
            if reserve_upload_marker
            else ""
        )
        problems.append(
            f"{counted:,} characters as YouTube counts them (each tag's length, a comma between "
            f"tags, 2 more for a tag with a space), {allowed:,} allowed{room}"
        )
    return problems


# --- Fitting text within the limits (for drafts made by construction) -----------------------


def title_fit(text):
    """Text cut at a word boundary to at most 100 characters, < and > removed."""
    text = " ".join(_without_forbidden(text).split())
    if len(text) <= TITLE_MAX_CHARACTERS:
        return text
    cut = text[: TITLE_MAX_CHARACTERS + 1].rsplit(" ", 1)[0]
    return (
        cut if cut and len(cut) <= TITLE_MAX_CHARACTERS else text[:TITLE_MAX_CHARACTERS]
    ).strip()


def description_fit(text, max_bytes=DESCRIPTION_MAX_BYTES):
    """Text cut at a word boundary to at most max_bytes of UTF-8, < and > removed."""
    text = _without_forbidden(text).strip()
    if description_bytes(text) <= max_bytes:
        return text
    cut = text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
    shorter = cut.rsplit(" ", 1)[0]
    return (shorter or cut).rstrip()


def tags_fit(tags, *, reserve_upload_marker=True):
    """The first tags (repeats and empty ones left out) that fit within the limit together."""
    allowed = TAGS_MAX_CHOSEN_CHARACTERS if reserve_upload_marker else TAGS_MAX_CHARACTERS
    kept = []
    for tag in dict.fromkeys(" ".join(tag.split()) for tag in tags):
        if tag and tags_counted_length([*kept, tag]) <= allowed:
            kept.append(tag)
    return kept


def _without_forbidden(text):
    return "".join(character for character in text if character not in FORBIDDEN_CHARACTERS)


# YouTube's video categories that a video may be assigned (videoCategories.list, assignable, for
# the US region): the channel file names one by number, people read it by name.
CATEGORY_NAMES = {
    "1": "Film & Animation",
    "2": "Autos & Vehicles",
    "10": "Music",
    "15": "Pets & Animals",
    "17": "Sports",
    "19": "Travel & Events",
    "20": "Gaming",
    "22": "People & Blogs",
    "23": "Comedy",
    "24": "Entertainment",
    "25": "News & Politics",
    "26": "Howto & Style",
    "27": "Education",
    "28": "Science & Technology",
    "29": "Nonprofits & Activism",
}


def category_label(category_id):
    """ "Pets & Animals (15)"; an unknown number as "category 99"."""
    name = CATEGORY_NAMES.get(str(category_id))
    return f"{name} ({category_id})" if name else f"category {category_id}"
