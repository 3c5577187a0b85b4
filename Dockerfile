# One image for SageMaker training, processing and serving (docs/container.md):
#   docker build -t ml-on-aws .
#   docker run -v "$PWD/opt_ml:/opt/ml" ml-on-aws train     # or: serve | process <pipeline>
# Without Docker Hub, make the base image first: docker/make-offline-base-image.sh
ARG BASE_IMAGE=python:3.11-slim-bookworm
# checkov:skip=CKV_DOCKER_7:the base is the ARG above, a pinned tag (checkov cannot resolve ARGs)
# checkov:skip=CKV_DOCKER_2:SageMaker probes GET /ping itself; training and processing containers serve nothing
# checkov:skip=CKV_DOCKER_3:user app exists (docker run --user app); root stays the default, SageMaker's /opt/ml is root-owned

# ---- deps: the locked runtime dependencies into /opt/venv, from the lock file alone ----------
FROM ${BASE_IMAGE} AS deps
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
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project --compile-bytecode
COPY docker/slim-venv.sh /usr/local/bin/slim-venv
RUN slim-venv /opt/venv

# ---- project: the package itself (non-editable); only its own files go on -------------------
FROM deps AS project
COPY README.md ./
COPY src ./src
RUN uv sync --frozen --no-dev --no-editable --compile-bytecode
WORKDIR /opt/venv
RUN mkdir /project \
 && cp -a --parents lib/python3*/site-packages/ml_on_aws lib/python3*/site-packages/ml_on_aws-*.dist-info \
          bin/ml-on-aws /project/

# ---- runtime: the interpreter, the environment and the configuration, nothing else ----------
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="ml-on-aws" \
      org.opencontainers.image.description="Kedro pipelines and prediction server for SageMaker training, processing and endpoints"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DO_NOT_TRACK=1 \
    KEDRO_DISABLE_TELEMETRY=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    GIT_PYTHON_REFRESH=quiet \
    ML_ON_AWS_PROJECT_DIR=/opt/program \
    ML_ON_AWS_OPT_ML=/opt/ml \
    ML_ON_AWS_HOST=0.0.0.0
# An unprivileged user for running outside SageMaker (`docker run --user app`); the default stays
# root because SageMaker creates /opt/ml/{model,output,...} as root and the jobs must write there.
RUN useradd --system --uid 1000 --home-dir /opt/program --shell /usr/sbin/nologin app \
 && mkdir -p /opt/ml/model /opt/ml/input/data /opt/ml/input/config /opt/ml/output/data /opt/program/src \
 && chown -R app /opt/ml
# Two layers: the dependencies (unchanged by a code change, so cached) and the project's files.
COPY --from=deps /opt/venv /opt/venv
COPY --from=project /project/ /opt/venv/
WORKDIR /opt/program
COPY pyproject.toml ./
COPY conf ./conf
EXPOSE 8080
ENTRYPOINT ["python", "-m", "ml_on_aws.container"]
CMD ["--help"]
