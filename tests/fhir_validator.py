"""Validate a FHIR Bundle strictly: the Bundle and every resource in it validate with the
``fhir.resources`` R4B models, full URLs are unique, and every reference in the bundle
resolves to one of its entries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "reference" and isinstance(child, str):
                yield child
            else:
                yield from _references(child)
    elif isinstance(value, list):
        for child in value:
            yield from _references(child)


def assert_valid_bundle(text: str) -> dict[str, Any]:
    """The bundle as JSON, once it validates and its references resolve."""
    Bundle.model_validate_json(text)
    data: dict[str, Any] = json.loads(text)
    urls = [entry["fullUrl"] for entry in data["entry"]]
    assert len(urls) == len(set(urls)), "two entries share a fullUrl"
    for entry in data["entry"]:
        resource = entry["resource"]
        model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert model.id == resource["id"]
        assert entry["fullUrl"].startswith("urn:uuid:")
    dangling = sorted(set(_references(data)) - set(urls))
    assert not dangling, f"references that resolve to no entry: {dangling}"
    return data
