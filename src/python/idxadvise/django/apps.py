from django.apps import AppConfig


class IdxadviseConfig(AppConfig):
    """``idxadvise.django``: only the ``idxadvise`` management command."""

    name = "idxadvise.django"
    label = "idxadvise"
    verbose_name = "idxadvise"
