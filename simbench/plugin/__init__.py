"""pluggy integration: the hook marker for plugin authors, specs and the manager."""
from simbench.plugin.spec import hookimpl, hookspec

__all__ = ["hookimpl", "hookspec"]
