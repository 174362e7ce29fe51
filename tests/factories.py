from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from channels_app.models import Channel
from pipeline.models import VideoTask

SAMPLE_STORYBOARD = {
    "title": "The Secret Life of Bulbasaur",
    "channel": "pokechannel1",
    "atmosphere": "misty golden-hour forest",
    "assets": [
        {"id": "bulbasaur", "kind": "character", "prompt": "Bulbasaur, photorealistic"},
        {"id": "forest", "kind": "environment", "prompt": "ancient mossy forest floor"},
    ],
    "scenes": [
        {
            "id": "s01",
            "composite": {"environment": "forest", "character": "bulbasaur"},
            "motion": "slow dolly in",
            "narration": "In the heart of the forest, something stirs.",
            "sfx": "wind through leaves",
            "duration": 5,
        }
    ],
}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.django.Password("correct horse battery staple")


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"channel{n}")
    name = factory.LazyAttribute(lambda c: f"Channel {c.id}")
    budget_daily_usd = Decimal("50.00")
    budget_weekly_usd = Decimal("300.00")
    providers = factory.LazyFunction(
        lambda: {"image": "local", "video": "local", "voice": "local", "upload": "local"}
    )


class VideoTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VideoTask

    channel = factory.SubFactory(ChannelFactory)
    title = factory.Sequence(lambda n: f"Video {n}")
    storyboard = factory.LazyFunction(lambda: dict(SAMPLE_STORYBOARD))


def reviewer_user(username="rita"):
    """A user in the Reviewers group (the review permission), made once per name."""
    from django.contrib.auth.models import Group

    ensure_reviewers_group()
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name="Reviewers"))
    return user


def ensure_reviewers_group():
    """The group comes from migration reviews 0003, but a transactional test (here or anywhere in
    the suite) ends with a flush that empties every table, migration data included; post_migrate
    brings back permissions, not groups. The migration's own function puts it back (idempotent)."""
    import importlib

    from django.apps import apps

    importlib.import_module("reviews.migrations.0003_reviewers_group").create_group(apps, None)
