# exception-bot serve: GitLab's webhooks answered in seconds, with the full pass on a schedule
# (docs/how-to/webhooks.md). Build from a checkout of this repository:
#
#   docker build -t exception-bot .
#   docker run --rm -e GITLAB_URL -e GITLAB_TOKEN -e EXCEPTION_BOT_WEBHOOK_SECRET \
#       -v "$PWD/config/exception-bot.yml:/etc/exception-bot/exception-bot.yml:ro" \
#       -p 127.0.0.1:8080:8080 exception-bot
#
# It speaks plain HTTP: put it behind a TLS proxy (deploy/docker-compose.yml, Caddy).

# The package and its dependencies as wheels, built from the checkout: the image that runs
# keeps neither the sources nor a compiler nor pip's cache.
FROM python:3.11-slim AS build
WORKDIR /src
# exception_bot/defaults/exception-bot.yml links to config/exception-bot.yml: both go in
COPY pyproject.toml README.md ./
COPY config ./config
COPY exception_bot ./exception_bot
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EXCEPTION_BOT_CONFIG=/etc/exception-bot/exception-bot.yml
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels exception-bot \
    && rm -rf /wheels \
    && groupadd --system --gid 10001 exception-bot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/exception-bot \
       --create-home --shell /usr/sbin/nologin exception-bot
# A config's state_file goes here (a volume in deploy/docker-compose.yml)
WORKDIR /var/lib/exception-bot
# Not root: the service needs no privilege, and a port above 1024
USER exception-bot
EXPOSE 8080
# 200 while the last full pass and the GitLab connection are fine, 503 with the reason
# otherwise (exception_bot/service/health.py); the slim image has no curl
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["exception-bot"]
CMD ["serve", "--host", "0.0.0.0"]
