"""Celery tasks of the YouTube integration (thin: ids in, a service call)."""

from celery import shared_task

from pipeline.integrations import youtube_captions, youtube_reconcile


# A status query per unknown upload: seconds. Meant for beat (e.g. every 10 minutes).
@shared_task(name="pipeline.youtube_reconcile_uploads", soft_time_limit=240, time_limit=300)
def youtube_reconcile_uploads():
    youtube_reconcile.uploads_reconcile()


# Caption tracks that could not be sent with their video, when their retry time has come.
@shared_task(name="pipeline.youtube_captions_retry", soft_time_limit=240, time_limit=300)
def youtube_captions_retry():
    youtube_captions.captions_retry_due()
