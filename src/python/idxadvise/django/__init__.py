"""The Django app of idxadvise: add ``"idxadvise.django"`` to ``INSTALLED_APPS`` for
``python manage.py idxadvise check|analyze|verify``. No models, no migrations, no URLs."""
