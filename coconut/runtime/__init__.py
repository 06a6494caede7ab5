"""Runtime: struct layout, the PEP 523 hook, the compile driver and its caches."""
