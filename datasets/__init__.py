"""Suite manifests (``<suite>.json``), installed as the data package ``simbench_datasets``."""
