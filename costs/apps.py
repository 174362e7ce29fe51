from django.apps import AppConfig


class CostsConfig(AppConfig):
    name = "costs"
    verbose_name = "Costs and quota"
    default_auto_field = "django.db.models.BigAutoField"
