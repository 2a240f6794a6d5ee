"""CLI commands, one module each; every module registers itself on :mod:`hounsfield.cli`'s apps."""
