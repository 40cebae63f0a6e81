# finsent's services (crawler, worker, alerts, api, scheduler) share one image.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1
WORKDIR /app
# CPU torch wheel first so the project's loose torch range does not pull CUDA builds.
ARG TORCH_SPEC="torch==2.13.0"
ARG TORCH_INDEX="https://download.pytorch.org/whl/cpu"
RUN pip install --index-url ${TORCH_INDEX} "${TORCH_SPEC}"
COPY pyproject.toml README.md ./
COPY finsent ./finsent
COPY ingest ./ingest
COPY stream ./stream
COPY models ./models
COPY alerts ./alerts
COPY storage ./storage
COPY dashboards ./dashboards
RUN pip install . && useradd --create-home --uid 10001 finsent && mkdir -p /var/lib/finsent \
    && chown finsent /var/lib/finsent
USER finsent
EXPOSE 8000 9108
CMD ["finsent", "--help"]
