"""How long narration takes to speak, and how much a scene can hold: the one place the reading
speed is written.

Plain Python, no Django: the writer (scripts/generate_storyboard.py) imports it too. Before the
narration is made its length is estimated from its words; after, the review page measures the
audio file. A scene's narration may run over its length a little (the assembly holds the last
frame), but not past NARRATION_MAX_RATIO times it: the cut would come out minutes long.
"""

# A text-to-speech voice reads about 150 words a minute.
WORDS_PER_SECOND = 2.5
NARRATION_MAX_RATIO = 2


def narration_words(text):
    return len((text or "").split())


def narration_seconds(text):
    """The estimated seconds it takes to speak `text`."""
    return narration_words(text) / WORDS_PER_SECOND


def narration_word_budget(seconds):
    """About how many words fit a scene of `seconds` seconds."""
    return max(1, round(seconds * WORDS_PER_SECOND))


def narration_fit_problems(scenes):
    """[(path, message)] for scenes whose narration cannot fit: estimated longer than
    NARRATION_MAX_RATIO times the scene's duration."""
    problems = []
    for index, scene in enumerate(scenes):
        duration, text = scene.get("duration"), scene.get("narration")
        if not isinstance(duration, int | float) or not isinstance(text, str):
            continue
        seconds = narration_seconds(text)
        if seconds > NARRATION_MAX_RATIO * duration:
            problems.append(
                (
                    f"scenes[{index}].narration",
                    f"scene {scene.get('id') or index + 1}: {narration_words(text)} words take "
                    f"about {seconds:.0f} s to speak, the scene is {duration:g} s: keep it under "
                    f"{narration_word_budget(NARRATION_MAX_RATIO * duration)} words (about "
                    f"{narration_word_budget(duration)} fit), or make the scene longer",
                )
            )
    return problems


def narration_trimmed(text, seconds):
    """`text` cut to the words that fit a scene of `seconds` seconds, ending as a sentence."""
    words = (text or "").split()
    budget = narration_word_budget(seconds)
    if len(words) <= budget:
        return text
    return " ".join(words[:budget]).rstrip(",;:") + "."
