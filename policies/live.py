"""The policy a running gateway serves, swapped whole and atomically on reload."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from policies.compiled import CompiledPolicy
from policies.compiler import DetectorFactory, compile_policy
from policies.loader import load_policy

log = logging.getLogger("guardgate.policy")


class LivePolicy:
    """Serves one `CompiledPolicy`; a failed reload logs the located problems and keeps the old one."""

    def __init__(self, path: Path, factory: DetectorFactory) -> None:
        self.path = Path(path)
        self._factory = factory
        self._lock = threading.Lock()
        self._current = self._load()
        log.info("policy %s loaded from %s, version %s", self._current.policy.name, self.path,
                 self._current.short_version)

    @property
    def current(self) -> CompiledPolicy:
        return self._current

    def _load(self) -> CompiledPolicy:
        return compile_policy(load_policy(self.path), str(self.path), self._factory)

    def reload(self) -> CompiledPolicy:
        """Load and compile the file again; on any error raise it and keep serving the old policy."""
        with self._lock:
            fresh = self._load()
            old, self._current = self._current, fresh
        log.info("policy reloaded from %s: version %s -> %s", self.path, old.short_version, fresh.short_version)
        return fresh
