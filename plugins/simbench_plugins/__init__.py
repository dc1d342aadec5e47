"""simbench's built-in methods, each a plugin registered through the ``simbench``
entry-point group exactly like a third-party method."""
