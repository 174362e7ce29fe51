"""The local writer of generate_storyboard.py: a storyboard drafted offline, at no cost, from the
words of the topic, the story direction and the channel's brief.

Deterministic (the same input always gives the same draft) and valid by construction: YouTube's
limits are met with core.text.youtube_text_limits' fitting functions, and every scene names
assets that exist. Varied enough for a demo: the subject, the settings (chosen by the words
that call for them), the camera moves, the narration beats and the title pattern
all follow the input.
"""

from __future__ import annotations

import hashlib
import re

from core.text import youtube_text_limits
from core.text.channel_brief import brief_description
from core.text.narration import narration_trimmed

STOPWORDS = set(
    "a an and the of in on at to for with from by about into over under how why what who when "
    "where is are was were be been it its this that these those their them they we you our your "
    "my me i as or but not no so very more most than then there here up down out off some any "
    "all each every secret life story stories video tell show make keep focus tone calm".split()
)
# Settings the local writer picks from: (keywords that call for it, environment prompt, sfx).
SETTINGS = [
    (("river", "stream", "water", "lake", "pond", "fish", "frog", "axolotl", "axolotls", "swim"),
     "a clear shallow river bed with smooth stones and drifting weed, wide shot, no animals",
     "running water, soft bubbles"),
    (("ocean", "sea", "reef", "coral", "whale", "shark", "beach", "shore", "tide"),
     "a sunlit coral reef in clear blue water, wide shot, no animals", "underwater ambience"),
    (("forest", "tree", "trees", "wood", "woods", "moss", "fern", "owl", "deer"),
     "an ancient mossy forest floor with ferns and fallen logs, wide shot, no animals",
     "wind through leaves, distant birdsong"),
    (("city", "street", "urban", "night", "neon", "town", "rooftop"),
     "a quiet city street at dusk with warm window lights, wide shot, no people",
     "distant traffic, a light breeze"),
    (("snow", "ice", "winter", "arctic", "polar", "cold", "mountain"),
     "a snowy pine forest under a pale winter sky, wide shot, no animals",
     "cold wind, creaking snow"),
    (("desert", "sand", "dune", "dunes", "cactus", "heat", "dry"),
     "rolling desert dunes at golden hour, wide shot, no animals", "dry wind over sand"),
    (("cave", "caves", "dark", "underground", "bat", "bats", "mine"),
     "a limestone cave lit by a shaft of daylight, wide shot, no animals",
     "dripping water, hollow echo"),
    (("meadow", "flower", "flowers", "bee", "bees", "butterfly", "spring", "garden"),
     "a sunlit wildflower meadow humming with life, wide shot, no animals",
     "buzzing insects, birdsong"),
    (("jungle", "rainforest", "tropical", "monkey", "parrot", "rain"),
     "a dense green rainforest with hanging vines and mist, wide shot, no animals",
     "rain on leaves, tropical birds"),
    (("farm", "field", "barn", "harvest", "village", "countryside"),
     "a rolling green farm field after rain with a wooden fence, wide shot, no animals",
     "a gentle breeze, a distant rooster"),
    (("space", "star", "stars", "planet", "moon", "sky", "night"),
     "a clear night sky full of stars above a dark hill, wide shot", "quiet night ambience"),
    (("history", "ancient", "ruins", "castle", "temple", "museum", "old"),
     "sunlit stone ruins overgrown with ivy, wide shot, no people", "wind, distant birds"),
]  # fmt: skip
MOTIONS = [
    "slow dolly in on {subject}", "gentle pan left following {subject}",
    "slow pull back to reveal {subject} in its surroundings", "tracking shot beside {subject}",
    "slow crane up over {subject}", "close, slow push in as {subject} turns its head",
    "static wide shot, {subject} moves through the frame", "slow pan right across the scene",
]  # fmt: skip
TITLE_PATTERNS = ["{Topic}", "{Topic}: A Closer Look", "Inside {Topic}", "{Topic}, Up Close"]
OPENINGS = [
    "Few stories are as quiet, or as remarkable, as {topic}.",
    "This is a film about {topic}, told slowly, from up close.",
    "Look closer: {topic} is stranger and gentler than it seems.",
]
BEATS = [
    "Watch closely. {Subject} has its own rhythm, its own patient way of living.",
    "Here, every small movement of {subject} has a reason.",
    "Most people never notice {subject}. That is exactly how it survives.",
    "The light changes, and {subject} changes with it.",
    "Nothing here is hurried. {Subject} takes its time, and so do we.",
    "Small details tell the story: a pause, a turn, a careful step.",
    "Around {subject}, the whole place keeps its own quiet schedule.",
    "Every day here is a little different, and {subject} knows it.",
]
CLOSINGS = [
    "And so {topic} goes on, just out of sight, until we look again.",
    "That is {topic}: small, patient, and easy to miss.",
    "The day ends. {Subject} rests, and the story waits for tomorrow.",
]


def _seed(*parts):
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def _words(text):
    return [word for word in re.findall(r"[a-zA-Z][a-zA-Z'-]*", text.lower())
            if word not in STOPWORDS and len(word) > 2]  # fmt: skip


def _slug(text, fallback):
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")
    return slug or fallback


def _title_case(text):
    small = {"a", "an", "and", "of", "the", "in", "on", "at", "to", "for", "with", "or"}
    words = text.split()
    return " ".join(
        word if (index and word.lower() in small) else word[:1].upper() + word[1:]
        for index, word in enumerate(words)
    )


def _pick_settings(words, seed, count):
    scored = sorted(
        range(len(SETTINGS)),
        key=lambda index: (
            -sum(word in SETTINGS[index][0] for word in words),
            (seed >> (index % 48)) % 997 + index,
        ),  # fmt: skip
    )
    return [SETTINGS[index] for index in scored[:count]]


INSTRUCTION_OPENERS = re.compile(
    r"^(please\s+)?(focus (on|upon)|show( how)?|explain|tell( about)?|talk about|cover|"
    r"emphasi[sz]e|highlight|about|make it about|start with|end with)\s+",
    re.IGNORECASE,
)
STYLE_WORDS = {"tone", "style", "music", "pace", "pacing", "voice", "mood", "length"}
BEAT_FROM_DIRECTION = [
    "Then there is the question of {clause}.",
    "Look closer at {clause}.",
    "And here is the remarkable part: {clause}.",
]


def _story_clauses(direction):
    """The direction's clauses that say what happens (not how it sounds), as plain phrases."""
    clauses = []
    for clause in re.split(r"[.;,!?]+", direction):
        clause = INSTRUCTION_OPENERS.sub("", clause.strip())
        if clause and not STYLE_WORDS & set(clause.lower().split()):
            clauses.append(youtube_text_limits.description_fit(clause, 300))
    return clauses


def _subject(topic_words):
    """The topic's likely subject: its first plural word, else its first word; singular."""
    word = next((w for w in topic_words if w.endswith("s") and not w.endswith("ss")),
                topic_words[0])  # fmt: skip
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def draft_locally(request):
    """A valid storyboard from the topic's and direction's words: same input, same draft."""
    topic, direction, brief = request.topic, request.direction, request.brief
    seed = _seed(topic, direction, str(request.scenes))
    topic_words = _words(topic) or ["subject"]
    words = topic_words + _words(direction)
    subject = _subject(topic_words)
    subject_id = _slug(subject, "subject")
    settings = _pick_settings(words, seed, 3 if request.scenes >= 6 else 2)
    environments = [(f"place{index + 1}", prompt, sfx)
                    for index, (_, prompt, sfx) in enumerate(settings)]  # fmt: skip
    article = "an" if subject[:1] in "aeiou" else "a"
    assets = [
        {"id": subject_id, "kind": "character",
         "prompt": f"{article} {subject}, photorealistic, full body, natural pose, isolated on a "
                   "plain background"},
        *({"id": asset_id, "kind": "environment", "prompt": prompt}
          for asset_id, prompt, _ in environments),
    ]  # fmt: skip
    clauses = _story_clauses(direction)
    names = {"topic": topic, "subject": f"the {subject}", "Subject": f"The {subject}"}
    narrations = [OPENINGS[seed % len(OPENINGS)].format(**names)]
    for index in range(request.scenes - 2):
        if index < len(clauses):
            template = BEAT_FROM_DIRECTION[((seed >> 9) + index) % len(BEAT_FROM_DIRECTION)]
            narrations.append(template.format(clause=clauses[index]))
        else:
            narrations.append(BEATS[((seed >> 3) + index) % len(BEATS)].format(**names))
    narrations.append(CLOSINGS[(seed >> 5) % len(CLOSINGS)].format(**names))
    scenes = []
    for index, narration in enumerate(narrations):
        environment_id, _, sfx = environments[index % len(environments)]
        scene = {"id": f"s{index + 1:02d}"}
        if index == len(narrations) // 2 and len(environments) > 1:  # one side-by-side scene
            scene["split"] = [subject_id, environments[(index + 1) % len(environments)][0]]
        else:
            scene["composite"] = {"environment": environment_id, "character": subject_id}
        scene["motion"] = MOTIONS[((seed >> 7) + index) % len(MOTIONS)].format(**names)
        # Written to the scene's length: a long topic or direction must not make a long scene.
        scene["narration"] = narration_trimmed(narration, brief["clip_seconds"])
        scene["sfx"] = sfx
        scene["duration"] = brief["clip_seconds"]
        scenes.append(scene)
    title = youtube_text_limits.title_fit(
        TITLE_PATTERNS[(seed >> 11) % len(TITLE_PATTERNS)].format(Topic=_title_case(topic))
    )
    summary = f"A short film about {topic}" + (f": {', '.join(clauses)}." if clauses else ".")
    description = youtube_text_limits.description_fit(summary, request.description_bytes)
    tags = youtube_text_limits.tags_fit(
        [*brief["default_tags"], topic.lower(), *dict.fromkeys(words)]
    )
    return {
        "title": title,
        "channel": request.channel,
        "atmosphere": brief["visual_style"] or "cinematic documentary look, soft natural light",
        "description": brief_description(brief["description_template"], description),
        "tags": tags,
        "thumbnail": "s01",
        "assets": assets,
        "scenes": scenes,
    }
