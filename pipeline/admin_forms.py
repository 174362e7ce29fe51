"""The admin's "New video" form: a topic for the writer (pipeline.drafting)."""

from django import forms

from channels_app.models import Channel, Priority
from core.text.channel_brief import SCENE_COUNT_MAX, SCENE_COUNT_MIN
from pipeline.drafting import DIRECTION_MAX_CHARACTERS, TOPIC_MAX_CHARACTERS


class NewVideoForm(forms.Form):
    """The admin's way to start a video: a topic for the writer (pipeline.drafting)."""

    channel = forms.ModelChoiceField(queryset=Channel.objects.filter(is_active=True))
    topic = forms.CharField(
        max_length=TOPIC_MAX_CHARACTERS,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        help_text=f"What the video is about, up to {TOPIC_MAX_CHARACTERS:,} characters; the "
        "writer drafts the storyboard from it.",
    )
    direction = forms.CharField(
        label="Story direction",
        required=False,
        max_length=DIRECTION_MAX_CHARACTERS,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text=f"Optional, up to {DIRECTION_MAX_CHARACTERS:,} characters: the angle, the "
        "beats, how it ends.",
    )
    priority = forms.ChoiceField(
        choices=[("", "The channel's default"), *Priority.choices], required=False
    )
    scenes = forms.IntegerField(
        min_value=SCENE_COUNT_MIN,
        max_value=SCENE_COUNT_MAX,
        required=False,
        help_text=f"{SCENE_COUNT_MIN}-{SCENE_COUNT_MAX}; empty: the channel brief's scene count.",
    )
    queue = forms.BooleanField(
        label="Queue it as soon as it is drafted",
        required=False,
        help_text="Unticked, the draft waits in Draft for you to read, edit and queue it.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No maxlength in the page: the browser would cut a pasted text without a word. The form
        # refuses it instead, saying how long it is and what to do.
        for name, where in (("topic", "put the details in Story direction"),
                            ("direction", "keep the beats that matter")):  # fmt: skip
            field = self.fields[name]
            field.widget.attrs.pop("maxlength", None)
            field.error_messages["max_length"] = (
                f"{field.label or name.capitalize()} is %(show_value)d characters; the writer "
                f"takes at most %(limit_value)d. Shorten it ({where}); nothing was cut."
            )
