"""idxadvise: PostgreSQL index advisor for Django teams.

The wheel ships the ``idxadvise`` binary in the environment's scripts folder; this package finds
it (:func:`find_binary`) and holds the Django app ``idxadvise.django`` (the ``manage.py
idxadvise`` command). No dependency beyond Django, and Django only for the app.
"""

import os
import shutil
import sys
import sysconfig

__all__ = ["find_binary", "BinaryNotFound"]


class BinaryNotFound(FileNotFoundError):
    """The ``idxadvise`` binary installed with this package could not be found."""


def _exe_name():
    return "idxadvise.exe" if os.name == "nt" else "idxadvise"


def _candidates():
    name = _exe_name()
    seen = []
    # The scripts folder of this environment (a venv, uv's or pipx's tool environment), then the
    # user scheme (`pip install --user`), then next to the running interpreter.
    dirs = [sysconfig.get_path("scripts")]
    user_scheme = {"nt": "nt_user", "posix": "posix_user"}.get(os.name)
    if user_scheme:
        try:
            dirs.append(sysconfig.get_path("scripts", scheme=user_scheme))
        except KeyError:
            pass
    dirs.append(os.path.dirname(sys.executable))
    for d in dirs:
        if d and d not in seen:
            seen.append(d)
            yield os.path.join(d, name)


def find_binary():
    """The path of the ``idxadvise`` binary: ``$IDXADVISE_BIN`` when set, else the one installed
    with this package, else the first on ``PATH``. Raises :class:`BinaryNotFound`."""
    override = os.environ.get("IDXADVISE_BIN")
    if override:
        if os.path.isfile(override) and os.access(override, os.X_OK):
            return override
        raise BinaryNotFound("IDXADVISE_BIN=%r is not an executable file" % override)
    for path in _candidates():
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    on_path = shutil.which(_exe_name())
    if on_path:
        return on_path
    raise BinaryNotFound(
        "the idxadvise binary was not found next to this Python (%s)\n"
        "(reinstall with `pip install idxadvise`, or set IDXADVISE_BIN to its path)" % sys.executable
    )
