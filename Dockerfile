# One image for SageMaker training, processing and serving (docs/container.md):
#   docker build -t ml-on-aws .
#   docker run -v "$PWD/opt_ml:/opt/ml" ml-on-aws train     # or: serve | process <pipeline>
# Without Docker Hub, make the base image first: docker/make-offline-base-image.sh
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---- build: the locked runtime dependencies, then the project, into /opt/venv ----------------
FROM ${BASE_IMAGE} AS build
ARG UV_VERSION=0.13.9
# UV_NATIVE_TLS: trust the system CA store (needed behind a TLS-inspecting proxy, harmless elsewhere).
ENV UV_NATIVE_TLS=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python3 -m pip install --quiet --root-user-action=ignore "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies first, from the lock file alone: a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project --compile-bytecode
COPY docker/slim-venv.sh /usr/local/bin/slim-venv
RUN slim-venv /opt/venv
# Then the project itself, as a regular (non-editable) install.
COPY README.md ./
COPY src ./src
RUN uv sync --frozen --no-dev --no-editable --compile-bytecode

# ---- runtime: the interpreter, the environment and the configuration, nothing else ----------
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="ml-on-aws" \
      org.opencontainers.image.description="Kedro pipelines and prediction server for SageMaker training, processing and endpoints"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DO_NOT_TRACK=1 \
    KEDRO_DISABLE_TELEMETRY=1 \
    MLFLOW_ENABLE_TELEMETRY=false \
    ML_ON_AWS_PROJECT_DIR=/opt/program \
    ML_ON_AWS_OPT_ML=/opt/ml \
    ML_ON_AWS_HOST=0.0.0.0
# An unprivileged user for running outside SageMaker (`docker run --user app`); the default stays
# root because SageMaker creates /opt/ml/{model,output,...} as root and the jobs must write there.
RUN useradd --system --uid 1000 --home-dir /opt/program --shell /usr/sbin/nologin app \
 && mkdir -p /opt/ml/model /opt/ml/input/data /opt/ml/input/config /opt/ml/output/data /opt/program/src \
 && chown -R app /opt/ml
COPY --from=build /opt/venv /opt/venv
WORKDIR /opt/program
COPY pyproject.toml ./
COPY conf ./conf
EXPOSE 8080
ENTRYPOINT ["python", "-m", "ml_on_aws.sagemaker"]
CMD ["--help"]
