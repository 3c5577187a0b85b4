"""The ML core's shared ground: the typed configuration (:mod:`.config`: the schema of
``parameters.yml`` and the error types every layer reports with), the model format (:mod:`.mlflow_models`:
an MLflow model directory with skops files), predictions from a fitted model (:mod:`.predictions`),
safe tar extraction (:mod:`.archives`), the project's git commit (:mod:`.git`) and how text a
table's encoding cannot decode is marked when it is loaded (:mod:`.decoding`). It is the bottom
layer: it imports no other package of the project, no AWS library and no Kedro.
"""
