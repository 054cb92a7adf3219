"""Python 3.10+/3.11 compatibility shim for OpenStack Congress 11.0.0.

Congress 11.0.0 (the last release, 2020) was written for Python <= 3.8 and
uses two things that later Pythons removed:

* the ABC aliases on the ``collections`` module (``collections.MutableSet``,
  ``collections.Hashable``, ...), removed in Python 3.10: for example
  ``congress/datalog/utility.py`` subclasses ``collections.MutableSet`` at
  import time, so ``congress-server`` cannot even start without them;
* ``inspect.getargspec``, removed in Python 3.11, called by the datasource
  action code (``datasource_driver.py``, ``datasource_utils.py``).

This module puts both back, only where they are missing.

It also makes Congress's synchronisers run at the configured period.  Their
periodic tasks are declared with
``@periodics.periodic(spacing=cfg.CONF.datasource_sync_period)`` (and
``cfg.CONF.dse.time_to_resub``), evaluated when the module is imported, before
congress-server has read congress.conf: every node re-synchronises at the
options' defaults (60 s), whatever the file says.  futurist reads a task's
spacing from the function's ``_periodic_spacing`` attribute whenever it
schedules the task, so the fix sets that attribute from the parsed
configuration in the synchroniser's ``start()``, just before Congress builds
its ``PeriodicWorker`` (see LATE_SPACING).  An import hook applies it when the
two synchroniser modules are first imported.

And it lets Congress's RequestContext (``congress/context.py``, made for every request
with auth_strategy keystone) run on today's oslo.context: Congress passes ``user=`` and
``tenant=`` to oslo.context's constructor, which oslo.context 4.0 stopped accepting (every
authenticated request failed with a 500), and declares ``project_id`` read-only, which the
constructor now sets (see request_context_compat; applied by the same hook).

It is imported at interpreter start-up by a one-line ``.pth`` file
(``import congress_py311_compat``) that install-congress.sh places in the
Congress virtualenv's site-packages, next to this file, so it affects that
virtualenv only.  It must stay cheap and must never raise.
"""

from __future__ import annotations

import collections
import collections.abc
import functools
import importlib.abc
import importlib.machinery
import inspect
import sys

__all__ = ["AFTER_IMPORT", "ALIASED", "LATE_SPACING", "patch"]

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


#: {module: {class: {periodic method: option path in cfg.CONF}}}: the periodic tasks whose
#: spacing Congress 11.0.0 fixes at import time, and the option each one should follow.
LATE_SPACING = {
    "congress.synchronizer.policy_rule_synchronizer": {
        "PolicyRuleSynchronizer": {
            "synchronize_all_policies": ("datasource_sync_period",),
            "synchronize_rules": ("datasource_sync_period",),
        },
    },
    "congress.synchronizer.datasource_synchronizer": {
        "DatasourceSynchronizer": {
            "synchronize_all_datasources": ("datasource_sync_period",),
            "_check_resub_all": ("dse", "time_to_resub"),
        },
    },
}


def _configured(path: tuple[str, ...]):
    from oslo_config import cfg  # Congress has loaded it (and parsed congress.conf) by now

    value = cfg.CONF
    for name in path:
        value = getattr(value, name)
    return value


def respace_on_start(cls, tasks: dict[str, tuple[str, ...]]) -> None:
    """Make ``cls.start`` set each periodic task's spacing from the configuration first."""
    start = cls.start

    @functools.wraps(start)
    def start_with_configured_spacing(self, *args, **kwargs):
        for method, option in tasks.items():
            task = getattr(cls, method, None)
            if task is not None and hasattr(task, "_periodic_spacing"):
                task._periodic_spacing = _configured(option)
        return start(self, *args, **kwargs)

    cls.start = start_with_configured_spacing


def _respace(module, classes) -> None:
    for cls_name, tasks in classes.items():
        respace_on_start(getattr(module, cls_name), tasks)


def request_context_compat(module) -> None:
    """congress.context.RequestContext on oslo.context >= 4: its constructor takes ``user`` and
    ``tenant`` again (as user_id and project_id), and Congress's ``user_id``, ``project_id`` and
    ``tenant_id`` properties read and write the ``user`` and ``tenant`` attributes Congress keeps."""
    from oslo_context import context as oslo

    base = oslo.RequestContext
    if "user" not in inspect.signature(base.__init__).parameters:
        init = base.__init__

        @functools.wraps(init)
        def init_with_old_names(self, *args, user=None, tenant=None, **kwargs):
            if user is not None:
                kwargs.setdefault("user_id", user)
            if tenant is not None:
                kwargs.setdefault("project_id", tenant)
            init(self, *args, **kwargs)

        base.__init__ = init_with_old_names
    for name, kept in (("user_id", "user"), ("project_id", "tenant"), ("tenant_id", "tenant")):
        setattr(module.RequestContext, name, property(lambda self, kept=kept: getattr(self, kept, None),
                                                      lambda self, value, kept=kept: setattr(self, kept, value)))


#: modules patched right after they are first imported: module name -> function(module)
AFTER_IMPORT = {name: functools.partial(_respace, classes=classes) for name, classes in LATE_SPACING.items()}
AFTER_IMPORT["congress.context"] = request_context_compat


class _PatchingLoader(importlib.abc.Loader):
    """Loads an AFTER_IMPORT module with its own loader, then patches it."""

    def __init__(self, loader, after):
        self._loader, self._after = loader, after

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._after(module)


class _PatchingFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in AFTER_IMPORT:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader, AFTER_IMPORT[fullname])
        return spec


try:
    ALIASED.extend(patch())
    sys.meta_path.insert(0, _PatchingFinder())
except Exception:  # pragma: no cover - a .pth import must never break start-up
    pass
