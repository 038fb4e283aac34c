"""The `claims` command line (installed as claimsengine.cli)."""
