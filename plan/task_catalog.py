"""The Task catalog: every Task page of the Istio docs and every ambient user guide, with
what the lab needs to run it (plan/tasks.yaml), checked when it is read.

A page's settings are context keys (`needs`) and Istio settings in istioctl's `--set` syntax
(`istio`). `Task.context()` is what `make task NAME=<page> APPLY=1` writes into cdk.json: the
keys any page sets go back to their defaults first, so a page's state does not depend on the
page done before it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from plan import facts
from plan.config import DEFAULTS
from plan.istio_settings import IstioSettings, Schema, SettingsError, with_assignments

CATALOG = Path(__file__).parent / "tasks.yaml"
DOCS_URL = "https://istio.io/latest/docs/{page}/"
VERDICTS = ("runs", "settings", "cannot", "reading")
# Sections of docs/tasks.md, by the start of a page's path.
SECTIONS: Mapping[str, str] = {
    "tasks/traffic-management/": "Traffic management",
    "tasks/security/": "Security",
    "tasks/observability/": "Observability",
    "tasks/policy-enforcement/": "Policy enforcement and extensibility",
    "tasks/extensibility/": "Policy enforcement and extensibility",
    "ambient/usage/": "Ambient user guides",
}


class CatalogError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    """Context keys and Istio settings (istioctl paths) a page or a tab needs."""

    needs: Mapping[str, Any] = field(default_factory=dict)
    istio: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.needs or self.istio)

    def istio_tree(self) -> dict[str, Any]:
        return with_assignments({}, self.istio, Schema.of(facts.SUPPORTED_ISTIO_MINORS[0]))

    def describe(self) -> str:
        # As -c takes them: true and false in JSON's spelling.
        parts = [
            f"`{key}={json.dumps(value) if isinstance(value, bool) else value}`"
            for key, value in self.needs.items()
        ]
        parts += [f"`{assignment}`" for assignment in self.istio]
        return ", ".join(parts)


# What a damaging cleanup step does to the lab (tests/doctor reproduces each on a lab's state).
CLEANUP_EFFECTS = (
    "uninstall-purge",
    "reinstall-default",
    "delete-gateway-api-crds",
    "delete-istio-system",
    "delete-lab-route",
)


@dataclass(frozen=True)
class Cleanup:
    damaging: str
    instead: str
    effects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    page: str
    title: str
    verdict: str
    settings: Settings = field(default_factory=Settings)
    tabs: Mapping[str, Settings] = field(default_factory=dict)
    differs: tuple[str, ...] = ()
    cleanup: Cleanup | None = None
    reason: str = ""

    @property
    def url(self) -> str:
        return DOCS_URL.format(page=self.page)

    @property
    def section(self) -> str:
        return next(name for prefix, name in SECTIONS.items() if self.page.startswith(prefix))

    def settings_for(self, tab: str | None) -> Settings:
        if tab is None:
            return self.settings
        if tab not in self.tabs:
            known = ", ".join(self.tabs) or "none"
            raise CatalogError(f"{self.page} has no tab {tab!r} with settings of its own ({known})")
        return self.tabs[tab]

    def context(self, tab: str | None = None) -> dict[str, Any]:
        """The context keys to set for this page (or tab): every key a page of the catalog
        sets, at its default unless this one needs it."""
        settings = self.settings_for(tab)
        keys = {key: DEFAULTS[key] for key in task_keys()}
        return {**keys, **settings.needs, "istio": settings.istio_tree()}


@functools.cache
def load(path: Path = CATALOG) -> tuple[Task, ...]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    tasks = tuple(_task(entry) for entry in entries)
    pages = [t.page for t in tasks]
    duplicates = sorted({p for p in pages if pages.count(p) > 1})
    if duplicates:
        raise CatalogError(f"pages listed twice: {', '.join(duplicates)}")
    return tasks


def task_keys(tasks: tuple[Task, ...] | None = None) -> list[str]:
    """The context keys some page needs, plus `istio`, in DEFAULTS order."""
    tasks = load() if tasks is None else tasks
    used = {key for t in tasks for s in (t.settings, *t.tabs.values()) for key in s.needs}
    return [key for key in DEFAULTS if key in used or key == "istio"]


def find(name: str, tasks: tuple[Task, ...] | None = None) -> Task:
    """The page whose path is `name` or ends with `/name`."""
    tasks = load() if tasks is None else tasks
    found = [t for t in tasks if t.page == name or t.page.endswith(f"/{name}")]
    if len(found) == 1:
        return found[0]
    if not found:
        raise CatalogError(f"no Task page {name!r}; `make task` lists them")
    names = ", ".join(short_name(t, tasks) for t in found)
    raise CatalogError(f"{name!r} names several pages: {names}")


def short_name(task: Task, tasks: tuple[Task, ...] | None = None) -> str:
    """The shortest end of the page's path that names only it."""
    tasks = load() if tasks is None else tasks
    parts = task.page.split("/")
    for count in range(1, len(parts) + 1):
        name = "/".join(parts[-count:])
        if sum(1 for t in tasks if t.page == name or t.page.endswith(f"/{name}")) == 1:
            return name
    return task.page


def _settings(entry: Mapping[str, Any], where: str) -> Settings:
    needs = dict(entry.get("needs") or {})
    unknown = sorted(set(needs) - set(DEFAULTS) - {"istio"})
    if unknown or "istio" in needs:
        raise CatalogError(f"{where}: needs names {', '.join(unknown) or 'istio'}, not a lab key")
    settings = Settings(needs, tuple(entry.get("istio") or ()))
    try:
        IstioSettings.parse(settings.istio_tree(), facts.SUPPORTED_ISTIO_MINORS[0])
    except SettingsError as error:
        raise CatalogError(f"{where}: {'; '.join(error.problems)}") from None
    return settings


def _task(entry: Mapping[str, Any]) -> Task:
    page = entry.get("page", "")
    known = {"page", "title", "verdict", "needs", "istio", "tabs", "differs", "cleanup", "reason"}
    extra = sorted(set(entry) - known)
    if extra:
        raise CatalogError(f"{page}: unknown fields {', '.join(extra)}")
    if not any(page.startswith(prefix) for prefix in SECTIONS):
        raise CatalogError(f"{page!r}: not under {', '.join(SECTIONS)}")
    verdict = entry.get("verdict")
    if verdict not in VERDICTS:
        raise CatalogError(f"{page}: verdict {verdict!r}, expected one of {', '.join(VERDICTS)}")
    settings = _settings(entry, page)
    tabs = {
        name: _settings(tab, f"{page} tab {name}")
        for name, tab in (entry.get("tabs") or {}).items()
    }
    if verdict == "settings" and not settings:
        raise CatalogError(f"{page}: verdict settings names no needs or istio settings")
    if verdict != "settings" and settings:
        raise CatalogError(f"{page}: only a `settings` page has needs or istio settings")
    if (verdict == "cannot") != bool(entry.get("reason")):
        raise CatalogError(f"{page}: a reason goes with verdict cannot, and only there")
    cleanup = entry.get("cleanup")
    if cleanup is not None and set(cleanup) != {"damaging", "instead", "effects"}:
        raise CatalogError(f"{page}: cleanup needs `damaging`, `instead` and `effects`")
    if cleanup is not None and not set(cleanup["effects"]) <= set(CLEANUP_EFFECTS):
        raise CatalogError(f"{page}: cleanup effects are {', '.join(CLEANUP_EFFECTS)}")
    if not entry.get("title"):
        raise CatalogError(f"{page}: no title")
    return Task(
        page=page,
        title=entry["title"],
        verdict=verdict,
        settings=settings,
        tabs=tabs,
        differs=tuple(entry.get("differs") or ()),
        cleanup=(
            Cleanup(cleanup["damaging"], cleanup["instead"], tuple(cleanup["effects"]))
            if cleanup
            else None
        ),
        reason=entry.get("reason", ""),
    )
