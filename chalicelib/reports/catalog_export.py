"""Catalogue downloads of one kind as json, csv or html (seed 003: "csv, html, or json")."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from chalicelib.reports.rendering import Rendered, csv_cell, csv_text, templates
from chalicelib.shops.catalog import CatalogKind, columns


class CatalogExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["json", "csv", "html"] = "json"


class CatalogExportOut(BaseModel):
    """The json format."""

    shop_id: str
    kind: str
    count: int
    data: list[dict[str, Any]]


def render(shop_id: str, shop_name: str, kind: CatalogKind, entries: list[dict[str, Any]],
           fmt: Literal["json", "csv", "html"]) -> Rendered:
    name = f"catalog-{kind.value}"
    if fmt == "csv":
        cols = columns(kind)
        rows = [cols, *([csv_cell(entry.get(col)) for col in cols] for entry in entries)]
        return Rendered(csv_text(rows), "text/csv; charset=utf-8", f"{name}.csv")
    if fmt == "html":
        html = templates().get_template("catalog.html").render(shop_name=shop_name, kind=kind.value,
                                                               columns=columns(kind), entries=entries)
        return Rendered(html, "text/html; charset=utf-8", f"{name}.html")
    out = CatalogExportOut(shop_id=shop_id, kind=kind.value, count=len(entries), data=entries)
    return Rendered(json.dumps(out.model_dump(mode="json"), separators=(",", ":")), "application/json", f"{name}.json")
