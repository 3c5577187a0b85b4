"""Run in a project copy (the working folder): prints ``run NAME`` for each registered pipeline
whose file inputs all exist, ``skip NAME`` for the others (they need data a user provides).

    python benchmarks/harness/runnable_pipelines.py     # from the project copy
"""

from pathlib import Path

from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from ml_on_aws.datasets.internals import filepath

bootstrap_project(Path.cwd())
with KedroSession.create() as session:
    catalog = session.load_context().catalog
    for name, pipeline in pipelines.items():
        inputs = [catalog.get(i) for i in pipeline.inputs() if not i.startswith("params:") and i != "parameters"]
        files = [d for d in inputs if filepath(d) is not None]  # not the registry, memory
        print(("run " if all(d.exists() for d in files) else "skip ") + name)
