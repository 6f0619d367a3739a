# One image for every service, the CLI, the scheduler and the Vertex AI pipeline steps. It runs the
# compiled JavaScript (`npm run build`) with production dependencies only: no tsx, TypeScript or
# test tool. Pick the process with the command, e.g.
#   docker run IMAGE node services/lander/dist/main.js
#   docker run IMAGE node cli/dist/main.js status
#   docker run IMAGE node services/trainer/dist/components/main.js --help
# Cloud Run: MLOPS_TRANSPORT=http makes a service answer Eventarc's CloudEvents on $PORT.
# test/image/runtime-stage.test.ts rebuilds the last stage from this file without Docker.

FROM node:20-bookworm-slim AS toolchain
# better-sqlite3 compiles from source where no prebuilt binary can be downloaded.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY shared/kernel/package.json shared/kernel/
COPY shared/adapters-local/package.json shared/adapters-local/
COPY shared/adapters-gcp/package.json shared/adapters-gcp/
COPY shared/platform/package.json shared/platform/
COPY shared/synthetic/package.json shared/synthetic/
COPY shared/gbdt/package.json shared/gbdt/
COPY cli/package.json cli/
COPY bench/package.json bench/
COPY dataform/package.json dataform/
COPY services/sales-gen/package.json services/sales-gen/
COPY services/click-gen/package.json services/click-gen/
COPY services/startup-gen/package.json services/startup-gen/
COPY services/lander/package.json services/lander/
COPY services/transformer/package.json services/transformer/
COPY services/trainer/package.json services/trainer/
COPY services/dashboard/package.json services/dashboard/
# The `mlops` bin, so that npm links node_modules/.bin/mlops to it.
COPY cli/bin cli/bin

# Production dependencies, from the manifests alone (this layer changes only with them).
FROM toolchain AS deps
RUN npm ci --omit=dev

# Every workspace's src/ compiled into its dist/.
FROM toolchain AS build
RUN npm ci
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production MLOPS_HOME=/data
WORKDIR /app
# The manifests and every node_modules folder, the workspaces' own included. @mlops/testing and the
# stand-ins are dev-only: neither is copied.
COPY --from=deps /app ./
COPY --from=build /app/shared/kernel/dist shared/kernel/dist
COPY --from=build /app/shared/adapters-local/dist shared/adapters-local/dist
COPY --from=build /app/shared/adapters-gcp/dist shared/adapters-gcp/dist
COPY --from=build /app/shared/platform/dist shared/platform/dist
COPY --from=build /app/shared/synthetic/dist shared/synthetic/dist
COPY --from=build /app/shared/gbdt/dist shared/gbdt/dist
COPY --from=build /app/cli/dist cli/dist
COPY --from=build /app/services/sales-gen/dist services/sales-gen/dist
COPY --from=build /app/services/click-gen/dist services/click-gen/dist
COPY --from=build /app/services/startup-gen/dist services/startup-gen/dist
COPY --from=build /app/services/lander/dist services/lander/dist
COPY --from=build /app/services/transformer/dist services/transformer/dist
COPY --from=build /app/services/trainer/dist services/trainer/dist
COPY --from=build /app/services/dashboard/dist services/dashboard/dist
# What the compiled code reads at run time: the dashboard's page and the Dataform project.
COPY services/dashboard/public services/dashboard/public
COPY dataform dataform
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
CMD ["node", "cli/dist/main.js", "--help"]
