#!/bin/sh
# Remove what a runtime never loads from a virtual environment (about 170 MB):
# the test suites of the large scientific packages, C headers and Cython sources, pyarrow's
# Flight RPC and Substrait libraries (this project reads and writes Parquet and CSV only) and
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
       pyarrow/libarrow_substrait.so* pyarrow/_substrait.* pyarrow/substrait.py \
       mlflow/server/js
find pyarrow numpy scipy sklearn pandas \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' \) -delete
