"""The stages of the ML run, one package each (``nodes.py`` pure functions, ``pipeline.py`` the
wiring), registered in ``pipeline_registry.py``. Part of the ML core: the stages import ``core`` and
libraries, never ``datasets`` (I/O is the catalog's), AWS or the Kedro integration.
"""
