"""The `claims` console script: a thin shell over the SDK."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="claimsengine")
def main() -> None:
    """claims: a smart-contract engine for health-insurance claims."""
