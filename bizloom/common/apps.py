from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "bizloom.common"
    label = "common"
