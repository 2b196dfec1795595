# SkyPanel: the web process and the worker share this image (`skypanel serve`, `skypanel worker`).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/skypanel \
 && /opt/skypanel/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/skypanel/bin/pip install --no-cache-dir .

FROM python:3.11-slim
# Invoices are drawn with fpdf2 (pure Python): the slim image needs no system libraries.
RUN useradd --system --uid 10001 --home-dir /var/lib/skypanel --create-home skypanel
COPY --from=build /opt/skypanel /opt/skypanel
ENV PATH=/opt/skypanel/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SKYPANEL_ENV=production \
    SKYPANEL_DATA_DIR=/var/lib/skypanel
USER skypanel
WORKDIR /var/lib/skypanel
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["skypanel"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
