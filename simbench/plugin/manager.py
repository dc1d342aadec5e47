"""Plugin discovery through the ``simbench`` entry-point group, guarded.

Every plugin is loaded separately: one that fails to import, or whose hook
raises or returns something invalid, is recorded as a :class:`PluginRecord`
with its error and the others keep working.  Strict mode turns any failure
into :class:`PluginLoadError`.  Built-in plugins (those distributed by the
``simbench`` distribution itself) always load, even with autoload disabled.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Callable

import pluggy

from simbench.errors import PluginLoadError, SimbenchError, UnknownNameError
from simbench.harness.names import check_name, check_suite_name
from simbench.plugin import spec

ENTRY_POINT_GROUP = "simbench"
#: set to 1 to make any plugin failure fatal (same as ``--strict-plugins``)
ENV_STRICT = "SIMBENCH_STRICT_PLUGINS"
#: set to 1 to load only the built-in plugins (third-party autoload off)
ENV_DISABLE_AUTOLOAD = "SIMBENCH_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_DISTRIBUTION = "simbench"


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


@dataclass
class PluginRecord:
    """One entry point as discovered: where it comes from and how loading went."""

    name: str
    distribution: str
    version: str
    module: str
    builtin: bool
    status: str = "loaded"  # loaded | failed | disabled
    error: str = ""
    provides: list[str] = field(default_factory=list)


@dataclass
class Registry:
    """Everything the loaded plugins provide, by kind and name."""

    methods: dict[str, type] = field(default_factory=dict)
    suites: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    origin: dict[tuple[str, str], PluginRecord] = field(default_factory=dict)
    plugins: list[PluginRecord] = field(default_factory=list)
    #: how it was loaded (so that worker processes load the same plugins); None: from the environment
    strict: bool | None = None
    autoload: bool | None = None

    def method(self, name: str) -> type:
        return self._get("method", self.methods, name)

    def suite(self, name: str) -> Any:
        return self._get("suite", self.suites, name)

    def metric(self, name: str) -> Any:
        return self._get("metric", self.metrics, name)

    def suite_group(self, name: str) -> list[Any]:
        """The suite called ``name``, or every suite of the group ``name/…`` (e.g.
        ``motion`` → ``motion/static``, ``motion/medium``, …) in registration order."""
        if name in self.suites:
            return [self.suites[name]]
        members = [s for key, s in self.suites.items() if key.startswith(f"{name}/")]
        if not members:
            groups = {key.split("/", 1)[0] for key in self.suites if "/" in key}
            raise UnknownNameError("suite", name, [*self.suites, *groups])
        return members

    @staticmethod
    def _get(kind: str, table: dict[str, Any], name: str) -> Any:
        if name not in table:
            raise UnknownNameError(kind, name, table)
        return table[name]

    def failures(self) -> list[PluginRecord]:
        return [p for p in self.plugins if p.status == "failed"]

    def distributions(self) -> dict[str, str]:
        """Distribution → version of every loaded plugin (for provenance)."""
        return {p.distribution: p.version for p in self.plugins if p.status == "loaded"}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def _validate_method(obj: Any) -> str:
    from simbench.method import Method

    if not (isinstance(obj, type) and issubclass(obj, Method)):
        return f"simbench_methods returned {obj!r}, not a subclass of simbench.Method"
    if not getattr(obj, "name", None) or not getattr(obj, "modalities", None):
        return f"method class {obj.__name__} must set `name` and `modalities`"
    return _unsafe(check_name, "method", obj.name)


def _unsafe(check: Any, *args: Any) -> str:
    """The problem with a name used as a file name, or ''."""
    try:
        check(*args)
    except SimbenchError as exc:
        return str(exc)
    return ""


def _validate_suite(obj: Any) -> str:
    from simbench.suites.base import Suite

    if not isinstance(obj, Suite):
        return f"simbench_suites returned {obj!r}, not a simbench.Suite"
    return _unsafe(check_suite_name, obj.name)


def _validate_metric(obj: Any) -> str:
    from simbench.metrics.base import Metric

    return "" if isinstance(obj, Metric) else f"simbench_metrics returned {obj!r}, not a simbench.Metric"


_KINDS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("method", "simbench_methods", _validate_method),
    ("suite", "simbench_suites", _validate_suite),
    ("metric", "simbench_metrics", _validate_metric),
)


class PluginManager:
    """Loads plugins once and builds the :class:`Registry`."""

    def __init__(self, strict: bool | None = None, autoload: bool | None = None) -> None:
        self.strict = env_flag(ENV_STRICT) if strict is None else strict
        self.autoload = (not env_flag(ENV_DISABLE_AUTOLOAD)) if autoload is None else autoload
        self.pm = pluggy.PluginManager(spec.PROJECT)
        self.pm.add_hookspecs(spec)

    def load(self) -> Registry:
        registry = Registry(strict=self.strict, autoload=self.autoload)
        from simbench import metrics as core_metrics
        from simbench import suites as core_suites

        for module in (core_suites, core_metrics):
            record = PluginRecord(name=module.__name__, distribution=BUILTIN_DISTRIBUTION,
                                  version=_version(BUILTIN_DISTRIBUTION), module=module.__name__, builtin=True)
            registry.plugins.append(record)
            self._register(registry, record, module)
        # built-ins first, so a third party can never shadow a built-in name
        found = [(ep, *_distribution(ep)) for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)]
        for ep, dist, version in sorted(found, key=lambda e: (not _is_builtin(e[1]), e[0].name)):
            record = PluginRecord(name=ep.name, distribution=dist, version=version, module=ep.value,
                                  builtin=_is_builtin(dist))
            registry.plugins.append(record)
            if not (record.builtin or self.autoload):
                record.status = "disabled"
                record.error = f"third-party autoload disabled by {ENV_DISABLE_AUTOLOAD}"
                continue
            try:
                module = ep.load()
            except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything on import
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._fail(registry, record, f"import failed: {_describe(exc)}")
                continue
            self._register(registry, record, module)
        return registry

    def _register(self, registry: Registry, record: PluginRecord, module: ModuleType) -> None:
        try:
            self.pm.register(module, name=record.name if not record.builtin else f"builtin:{record.name}")
        except Exception as exc:  # noqa: BLE001 - pluggy validation errors
            self._fail(registry, record, f"registration failed: {_describe(exc)}")
            return
        unknown = [n for n in dir(module) if n.startswith("simbench_")
                   and self.pm.parse_hookimpl_opts(module, n) is not None and not hasattr(spec, n)]
        if unknown:
            self._fail(registry, record, f"unknown hook(s) {', '.join(unknown)}; known: "
                       + ", ".join(hook for _, hook, _ in _KINDS))
            return
        for kind, hook_name, validate in _KINDS:
            impls = [i for i in getattr(self.pm.hook, hook_name).get_hookimpls() if i.plugin is module]
            if not impls:
                continue
            try:
                provided = list(impls[0].function() or [])
            except Exception as exc:  # noqa: BLE001 - third-party code
                self._fail(registry, record, f"{hook_name}() raised {_describe(exc)}")
                return
            for obj in provided:
                problem = validate(obj)
                if problem:
                    self._fail(registry, record, problem)
                    return
                self._add(registry, record, kind, obj)

    def _add(self, registry: Registry, record: PluginRecord, kind: str, obj: Any) -> None:
        table = {"method": registry.methods, "suite": registry.suites, "metric": registry.metrics}[kind]
        name = obj.name
        if name in table:
            first = registry.origin[(kind, name)]
            self._fail(registry, record,
                       f"{kind} name {name!r} is already provided by {first.distribution} ({first.name}); ignored")
            return
        table[name] = obj
        registry.origin[(kind, name)] = record
        record.provides.append(f"{kind}:{name}")

    def _fail(self, registry: Registry, record: PluginRecord, message: str) -> None:
        record.status = "failed"
        record.error = message
        if self.strict:
            raise PluginLoadError(
                f"plugin {record.name!r} from {record.distribution} {record.version} failed: {message}"
                f" (strict plugin loading is on; unset {ENV_STRICT} / drop --strict-plugins to continue without it)")


def _distribution(ep: metadata.EntryPoint) -> tuple[str, str]:
    """(name, version) of the distribution that declares ``ep`` ("?" if unknown), its metadata parsed once
    (each ``Distribution.name`` or ``.version`` parses the whole metadata file again)."""
    if ep.dist is None:
        return "?", "?"
    meta = ep.dist.metadata
    return meta["Name"], meta["Version"]


def _is_builtin(distribution: str) -> bool:
    return distribution.lower().replace("_", "-") == BUILTIN_DISTRIBUTION


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "0+unknown"
