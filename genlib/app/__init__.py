"""The app as files: iterations and HEAD, snapshots, materialized layer files, registry.yaml and
the data services a registry implies."""
