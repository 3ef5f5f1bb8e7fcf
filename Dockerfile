# syntax=docker/dockerfile:1
# The computenet operator image: a wheel built from this tree, installed with its dependencies into
# a virtual environment, copied onto a slim Python base and run as a non-root numeric user.
#
#   docker build -t computenet:dev .
#   docker run --rm computenet:dev --help
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/computenet \
 && /opt/computenet/bin/pip install /wheels/*.whl \
 && /opt/computenet/bin/computenet --help >/dev/null

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="computenet" \
      org.opencontainers.image.description="Kubernetes operator federating many clusters into one compute pool" \
      org.opencontainers.image.licenses="Apache-2.0"
# The same base image and path as in the build stage, so the venv's interpreter links stay valid.
COPY --from=build /opt/computenet /opt/computenet
ENV PATH=/opt/computenet/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# A numeric non-root user, so Kubernetes can verify runAsNonRoot; it owns nothing in the image.
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080 8081
ENTRYPOINT ["computenet"]
CMD ["run"]
