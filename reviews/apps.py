from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews and audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The review decisions pipeline runs without importing reviews: the final gate's check
        # of the cut every upload sends, and the Notion board's Approve move.
        from pipeline.upload_guard import upload_guard_register
        from reviews.notion_board_actions import notion_board_actions_register
        from reviews.reviewer_checks import approved_cut_only

        upload_guard_register(approved_cut_only)
        notion_board_actions_register()
