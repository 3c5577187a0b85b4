#!/bin/sh
# Remove what a runtime never loads from a virtual environment (about 160 MB):
# the test suites of the large scientific packages, C headers and Cython sources, pyarrow's
# Flight RPC library (this project reads and writes Parquet and CSV, not Flight) and
# MLflow's web UI bundle (the image runs pipelines and the prediction server, not `mlflow ui`).
# Usage: slim-venv.sh VENV_DIR
set -eu
site="$(echo "$1"/lib/python3*/site-packages)"
cd "$site"
for package in pandas numpy scipy sklearn matplotlib pyarrow; do
  find "$package" -depth -type d -name tests -exec rm -rf {} +
done
rm -rf pyarrow/include pyarrow/src pyarrow/_pyarrow_cpp_tests.* \
       pyarrow/libarrow_flight.so* pyarrow/_flight.* pyarrow/libarrow_python_flight.so* pyarrow/flight.py \
       mlflow/server/js
find pyarrow numpy scipy sklearn pandas \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' \) -delete
# Fail the build, not a job, if something removed here was needed after all.
"$1/bin/python" -c "import pyarrow.parquet, pyarrow.dataset, pandas, scipy.stats, sklearn.ensemble, matplotlib.pyplot, mlflow.sklearn"
