"""The package's own small model registry: ``hrnet.MODELS`` and ``hrnet.build``.

It mirrors the shape of mmengine's registry (``type`` plus keyword arguments) without depending on it, so
configs written for the core read the same as OpenMMLab configs.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

T = TypeVar("T")


class Registry:
    """A name → class (or builder function) table."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: dict[str, Callable[..., Any]] = {}

    def register(self, obj: T | None = None, *, name: str | None = None) -> T | Callable[[T], T]:
        """Register ``obj`` under its ``__name__`` (or ``name``); usable as a bare or called decorator."""

        def add(target: T) -> T:
            key = name or target.__name__  # type: ignore[attr-defined]
            if key in self._entries and self._entries[key] is not target:
                raise KeyError(f"{key!r} is already registered in {self.name}")
            self._entries[key] = target  # type: ignore[assignment]
            return target

        return add(obj) if obj is not None else add

    def get(self, key: str) -> Callable[..., Any]:
        if key not in self._entries:
            raise ValueError(f"unknown {self.name} type {key!r}; expected one of {sorted(self._entries)}")
        return self._entries[key]

    def build(self, cfg: dict[str, Any]) -> Any:
        if not isinstance(cfg, dict) or "type" not in cfg:
            raise ValueError(f"expected a dict with a 'type' key, got {cfg!r}")
        kwargs = dict(cfg)
        return self.get(kwargs.pop("type"))(**kwargs)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def __iter__(self):
        return iter(sorted(self._entries))

    def __repr__(self) -> str:
        return f"Registry({self.name!r}, {sorted(self._entries)})"


MODELS = Registry("models")


def build(cfg: dict[str, Any]) -> Any:
    """Build a registered module from ``dict(type=..., **kwargs)``."""
    return MODELS.build(cfg)
