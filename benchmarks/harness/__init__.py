"""The benchmark harness behind ``benchmarks/run.py``, one concern a module:

- :mod:`.paths`: where the harness reads and writes (results, README, scratch copies) and the
  interpreter it runs;
- :mod:`.machine`: the machine a run was measured on;
- :mod:`.measure`: wall time, CPU time and peak memory of a child process tree, project and
  baseline side by side;
- :mod:`.sides`: the throwaway project copy and the two sides' commands (``kedro run`` and
  ``baseline.py``), the pipelines a copy can run (:mod:`.runnable_pipelines`, run in the copy)
  and the batch inference probe;
- :mod:`.figures`: what the measurements say: scaling exponents and the targets;
- :mod:`.readme`: the results as tables in ``benchmarks/README.md``.

The modules import ``scale_data`` from ``benchmarks/``, which is on ``sys.path`` when
``benchmarks/run.py`` runs (the tests put it there).
"""
