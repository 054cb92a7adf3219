"""Python 3.10+/3.11 compatibility shim for OpenStack Congress 11.0.0.

Congress 11.0.0 (the last release, 2020) was written for Python <= 3.8 and
uses two things that later Pythons removed:

* the ABC aliases on the ``collections`` module (``collections.MutableSet``,
  ``collections.Hashable``, ...), removed in Python 3.10: for example
  ``congress/datalog/utility.py`` subclasses ``collections.MutableSet`` at
  import time, so ``congress-server`` cannot even start without them;
* ``inspect.getargspec``, removed in Python 3.11, called by the datasource
  action code (``datasource_driver.py``, ``datasource_utils.py``).

This module puts both back, only where they are missing, and does nothing
else.  It is imported at interpreter start-up by a one-line ``.pth`` file
(``import congress_py311_compat``) that install-congress.sh places in the
Congress virtualenv's site-packages, next to this file, so it affects that
virtualenv only.  It must stay cheap and must never raise.
"""

from __future__ import annotations

import collections
import collections.abc
import inspect

__all__ = ["ALIASED", "patch"]

#: names that patch() added to ``collections`` (filled at import time)
ALIASED: list[str] = []


class _ArgSpec(tuple):
    """Stand-in for the removed ``inspect.ArgSpec`` named tuple."""

    __slots__ = ()
    _fields = ("args", "varargs", "keywords", "defaults")

    def __new__(cls, args, varargs, keywords, defaults):
        return tuple.__new__(cls, (args, varargs, keywords, defaults))

    args = property(lambda self: self[0])
    varargs = property(lambda self: self[1])
    keywords = property(lambda self: self[2])
    defaults = property(lambda self: self[3])

    def __repr__(self):
        return "ArgSpec(args=%r, varargs=%r, keywords=%r, defaults=%r)" % tuple(self)


def _getargspec(func):
    """``inspect.getargspec`` as it was, built on ``inspect.getfullargspec``.

    Unlike the original it does not refuse functions with keyword-only
    arguments or annotations; those parts are simply not reported.
    """
    full = inspect.getfullargspec(func)
    return _ArgSpec(full.args, full.varargs, full.varkw, full.defaults)


def patch() -> list[str]:
    """Add the missing aliases; return the names added by this call."""
    added = []
    for name in collections.abc.__all__:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
            added.append(name)
    if not hasattr(inspect, "getargspec"):
        inspect.ArgSpec = _ArgSpec
        inspect.getargspec = _getargspec
        added.append("inspect.getargspec")
    return added


try:
    ALIASED.extend(patch())
except Exception:  # pragma: no cover - a .pth import must never break start-up
    pass
