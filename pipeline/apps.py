from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Pipeline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The YouTube uploader registers itself as an upload provider of the step table.
        import pipeline.integrations.youtube  # noqa: F401
        from pipeline.integrations.notion_push import on_task_changed_listener
        from pipeline.transitions import on_task_changed

        # Every change a board shows marks the task's card for a (coalesced) push.
        if on_task_changed_listener not in _registered:
            on_task_changed(on_task_changed_listener)
            _registered.append(on_task_changed_listener)


_registered = []
