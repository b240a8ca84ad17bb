# Holdfast control plane.
#
#   docker build -t holdfast .
#   docker run -d --name holdfast -p 7420:7420 -v holdfast-data:/data holdfast
#
# State (embedded database, keys, admin token) lives in the /data volume. To manage this machine's
# own engine (a Server of kind `local`), also mount its socket and join the group that owns it:
#   -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)"
# Set DATABASE_URL to use an external PostgreSQL instead of the embedded store.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so source edits reuse the cached npm layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# Build, drop dev dependencies, then gather what runs: compiled code plus the data files found
# beside it at run time (CRDs, SQL migrations, the built dashboard).
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && mkdir -p /out \
 && cp -r package.json package-lock.json node_modules dist bin crds /out/ \
 && for asset in store/migrations dashboard/dist; do \
      if [ -e "$asset" ]; then mkdir -p "/out/$(dirname "$asset")" && cp -r "$asset" "/out/$asset"; fi; \
    done

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# GitOps runs git on the control plane: ssh:// remotes need the OpenSSH client, and spec.verify
# checks GPG signatures with gnupg (SSH signatures with ssh-keygen).
RUN apt-get update \
 && apt-get install -y --no-install-recommends git gnupg openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ ./
# The image's unprivileged `node` user owns the data directory.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 7420
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7420/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `serve` stops cleanly on SIGTERM (docker stop). Other commands run the same way:
#   docker run --rm holdfast --help
ENTRYPOINT ["/app/bin/holdfast.js"]
CMD ["serve", "--listen", "0.0.0.0:7420", "--data-dir", "/data"]
